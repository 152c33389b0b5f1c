/**
 * The one error catalogue. Each public code is defined once, with the HTTP status it is answered
 * with and its default reason; every error is made by a named factory below, so each reason and
 * message is written once. Domain and store code throw these; only src/http/errors.ts turns one
 * into an HTTP answer (TMF Error body, Retry-After, mapping foreign errors onto a code).
 *
 * Internal signals are not codes: VersionConflict (below) tells the cart service to read again
 * and never reaches a client.
 */
export const errorCatalogue = {
  BAD_REQUEST: { status: 400, reason: 'Invalid request' }, // malformed JSON, schema violation, bad query
  UNAUTHORIZED: { status: 401, reason: 'Unauthorized' },
  FORBIDDEN: { status: 403, reason: 'Forbidden' },
  NOT_FOUND: { status: 404, reason: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, reason: 'Method not allowed' },
  CONFLICT: { status: 409, reason: 'Conflict' }, // duplicate subscription, failed JSON Patch test, too many version conflicts
  PRECONDITION_FAILED: { status: 412, reason: 'Precondition failed' }, // If-Match did not match
  // The first request with this Idempotency-Key is still in flight elsewhere.
  IDEMPOTENCY_KEY_IN_USE: { status: 409, reason: 'Idempotency-Key in use' },
  // This Idempotency-Key was used with a different request.
  IDEMPOTENCY_KEY_REUSED: { status: 422, reason: 'Idempotency-Key reused' },
  REQUEST_TIMEOUT: { status: 408, reason: 'Request timeout' }, // Node's own: the request did not arrive in time
  PAYLOAD_TOO_LARGE: { status: 413, reason: 'Payload too large' },
  URI_TOO_LONG: { status: 414, reason: 'URI too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, reason: 'Unsupported media type' },
  TOO_MANY_REQUESTS: { status: 429, reason: 'Too many requests' },
  // Node's own: request line and headers over its limit.
  HEADERS_TOO_LARGE: { status: 431, reason: 'Request header fields too large' },
  STORE_UNAVAILABLE: { status: 503, reason: 'Store unavailable' },
  // Not the store: a dependency such as the JWKS, a timeout, shutting down.
  SERVICE_UNAVAILABLE: { status: 503, reason: 'Service unavailable' },
  INTERNAL: { status: 500, reason: 'Internal error' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

interface ErrorOptions {
  /** Instead of the code's default reason. */
  reason?: string;
  /**
   * Set where the error is raised, by code that knows the failed operation stored nothing (the
   * SQLite write queue gave up waiting for the lock before its transaction began, or the
   * transaction rolled back). An Idempotency-Key held by the request is then given up at once
   * instead of staying taken for its lease (src/http/idempotency.ts). Never inferred from the code.
   */
  nothingStored?: boolean;
}

/** An error a client is answered with. Made by the factories below (and errors.ts's subclasses). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly reason: string;
  readonly nothingStored: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.reason = options.reason ?? errorCatalogue[code].reason;
    this.nothingStored = options.nothingStored ?? false;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/**
 * Internal: the version a conditional write expected is no longer current (someone else wrote
 * first). The cart service reads again and retries, or gives up with keptChanging; it is not a
 * public code, and if it ever escaped, the HTTP layer would answer it as any unexpected error.
 */
export class VersionConflict extends Error {
  constructor(readonly id: string) {
    super(`Cart ${id} changed concurrently`);
    this.name = 'VersionConflict';
  }
}

export const versionConflict = (id: string): VersionConflict => new VersionConflict(id);

/**
 * The one style of an error message about a field: `<field>: <problem>`, the field named as a
 * client writes it (`cartItem[0].quantity`, a query parameter by its name).
 */
export const fieldProblem = (field: string, problem: string): string => `${field}: ${problem}`;

/** A field's name as a client writes it, from its path segments: cartItem, 0, quantity -> cartItem[0].quantity. */
export const fieldName = (segments: readonly string[]): string =>
  segments.reduce((name, s) => (/^\d+$/.test(s) ? `${name}[${s}]` : name === '' ? s : `${name}.${s}`), '');

/** The segments of a JSON Pointer (RFC 6901). */
export const pointerSegments = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .replace(/^\//, '')
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));

const bad = (reason: string, message: string): AppError => new AppError('BAD_REQUEST', message, { reason });
const deeperThan = (what: string, max: number): string =>
  `${what} nests arrays and objects deeper than ${max} levels`;

// --- 400: the request ---------------------------------------------------------------------------

/** A request the validator refused (the message names the field). */
export const invalidRequest = (message: string): AppError => new AppError('BAD_REQUEST', message);
export const malformedRequest = (): AppError => bad('Malformed request', 'The request is not valid HTTP/1.1');
export const malformedJson = (): AppError => bad('Malformed JSON', 'The request body is not valid JSON');
export const invalidUtf8 = (): AppError => bad('Invalid UTF-8', 'The request body is not valid UTF-8 text');
export const jsonTooDeep = (max: number): AppError =>
  bad('JSON too deep', deeperThan('The request body', max));
export const missingBody = (method: string): AppError =>
  bad('Missing body', fieldProblem('the body', `is required for ${method}`));
export const forbiddenAttributeName = (message: string): AppError => bad('Forbidden attribute name', message);
export const invalidIdempotencyKey = (problem: string): AppError =>
  bad('Invalid Idempotency-Key', `The Idempotency-Key header ${problem}`);
export const idempotencyKeyNeedsCaller = (): AppError =>
  bad(
    'Idempotency-Key needs a caller',
    'The token names no caller (no "sub" claim, and no owner claim), so an Idempotency-Key cannot be kept apart from other callers\' keys; send the request without one, or with a token that has a "sub"',
  );

// --- 400: queries -------------------------------------------------------------------------------

export const invalidQueryParameter = (message: string): AppError => bad('Invalid query parameter', message);
export const invalidRegex = (message: string): AppError => bad('Invalid regex', message);
export const queryTooExpensive = (message: string): AppError => bad('Query too expensive', message);
export const invalidSubscriptionQuery = (message: string): AppError =>
  bad('Invalid subscription query', message);

// --- 400: carts, patches, subscriptions ---------------------------------------------------------

export const invalidShoppingCart = (message: string): AppError => bad('Invalid shopping cart', message);
/** A field the domain refuses, e.g. a price: reason `Invalid <path>`, message `<path>: <problem>`. */
export const invalidField = (path: string, problem: string): AppError =>
  bad(`Invalid ${path}`, fieldProblem(path, problem));
export const invalidValidFor = (field: string, problem: string): AppError =>
  bad('Invalid validFor', fieldProblem(field, problem));
export const invalidRelatedParty = (message: string): AppError => bad('Invalid related party', message);
export const cartTooDeep = (max: number): AppError =>
  bad('Cart too deep', deeperThan('The patched cart', max));
export const readOnlyAttribute = (message: string): AppError => bad('Read-only attribute', message);
export const invalidPatch = (message: string): AppError => bad('Invalid patch', message);
export const invalidMergePatch = (message: string): AppError => bad('Invalid merge patch', message);
export const invalidJsonPatch = (message: string): AppError => bad('Invalid JSON Patch', message);
export const invalidJsonPatchQuery = (message: string): AppError => bad('Invalid JSON Patch Query', message);
export const invalidCallback = (problem: string): AppError =>
  bad('Invalid callback', fieldProblem('callback', problem));

// --- 401, 403 -----------------------------------------------------------------------------------

export const unauthorized = (message: string): AppError => new AppError('UNAUTHORIZED', message);
export const forbidden = (message: string): AppError => new AppError('FORBIDDEN', message);
export const cartForAnotherParty = (owner: string): AppError =>
  forbidden(`relatedParty must name party ${owner}: a cart cannot be created for another party`);
export const cartHandedOver = (owner: string): AppError =>
  forbidden(`relatedParty must keep party ${owner}: a cart cannot be handed to another party`);

// --- 404, 405 -----------------------------------------------------------------------------------

export const cartNotFound = (id: string): AppError =>
  new AppError('NOT_FOUND', `No shopping cart with id ${id}`);
export const subscriptionNotFound = (id: string): AppError =>
  new AppError('NOT_FOUND', `No subscription with id ${id}`);
export const noResourceAt = (path: string): AppError => new AppError('NOT_FOUND', `No resource at ${path}`);
/** Not found, as a validator says it. */
export const notFound = (message: string): AppError => new AppError('NOT_FOUND', message);
export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]): AppError =>
  new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; it allows ${allowed.join(', ')}`);

// --- 408, 409, 412, 422 -------------------------------------------------------------------------

export const requestTimeout = (): AppError =>
  new AppError('REQUEST_TIMEOUT', 'The request did not arrive in time');
export const alreadyExists = (): AppError => new AppError('CONFLICT', 'The resource already exists');
export const keptChanging = (id: string): AppError =>
  new AppError('CONFLICT', `${id} kept changing concurrently; try again`);
export const duplicateSubscription = (): AppError =>
  new AppError('CONFLICT', 'A subscription with this callback and query exists', {
    reason: 'Duplicate subscription',
  });
export const jsonPatchTestFailed = (path: string): AppError =>
  new AppError('CONFLICT', `test at ${path} did not hold`, { reason: 'JSON Patch test failed' });
export const idempotencyKeyContended = (key: string): AppError =>
  new AppError('CONFLICT', `Idempotency key ${key} is contended`);
export const idempotencyKeyInUse = (message: string): AppError =>
  new AppError('IDEMPOTENCY_KEY_IN_USE', message);
export const idempotencyKeyReused = (): AppError =>
  new AppError(
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was already used with a different request; use a new key for a new request',
  );
/** If-Match names another version than the current one (of cart `id`, when it is known). */
export const preconditionFailed = (id?: string): AppError =>
  new AppError(
    'PRECONDITION_FAILED',
    id === undefined
      ? 'If-Match names no current version'
      : `If-Match does not name the current version of ${id}`,
  );

// --- 413, 414, 415, 429, 431 --------------------------------------------------------------------

export const payloadTooLarge = (): AppError =>
  new AppError('PAYLOAD_TOO_LARGE', 'The request body is over the size limit');
export const uriTooLong = (message: string): AppError => new AppError('URI_TOO_LONG', message);
export const unsupportedMediaType = (message: string): AppError =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', message);
export const tooManyRequests = (perMinute: number): AppError =>
  new AppError(
    'TOO_MANY_REQUESTS',
    `Over ${perMinute} requests per minute from this client; see Retry-After`,
  );
export const headersTooLarge = (): AppError =>
  new AppError(
    'HEADERS_TOO_LARGE',
    'The request line and headers are over the size limit (a URL that long is refused too)',
  );

// --- 500, 503 -----------------------------------------------------------------------------------

export const internalError = (message = 'The server could not handle the request'): AppError =>
  new AppError('INTERNAL', message);
export const storeUnavailable = (message: string, options: { nothingStored?: boolean } = {}): AppError =>
  new AppError('STORE_UNAVAILABLE', message, options);
export const serviceUnavailable = (message: string): AppError => new AppError('SERVICE_UNAVAILABLE', message);
export const shuttingDown = (): AppError =>
  new AppError('SERVICE_UNAVAILABLE', 'This instance is shutting down', { reason: 'Shutting down' });
