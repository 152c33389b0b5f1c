/**
 * One error type for the whole server. Domain and store code throw AppError with a code from the
 * catalogue below; only src/http/errors.ts turns a code into an HTTP status and a TMF Error body.
 */
export const errorCodes = [
  'BAD_REQUEST', // malformed JSON, schema violation, bad query
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT', // duplicate subscription, failed JSON Patch test, too many version conflicts
  'VERSION_CONFLICT', // store: the version we read is no longer current (retried by the service)
  'PRECONDITION_FAILED', // If-Match did not match
  'IDEMPOTENCY_KEY_IN_USE', // the first request with this Idempotency-Key is still in flight elsewhere
  'IDEMPOTENCY_KEY_REUSED', // this Idempotency-Key was used with a different request
  'REQUEST_TIMEOUT', // Node's own: the request did not arrive in time
  'PAYLOAD_TOO_LARGE',
  'URI_TOO_LONG',
  'UNSUPPORTED_MEDIA_TYPE',
  'TOO_MANY_REQUESTS',
  'HEADERS_TOO_LARGE', // Node's own: request line and headers over its limit
  'STORE_UNAVAILABLE',
  'SERVICE_UNAVAILABLE', // not the store: a dependency such as the JWKS, a timeout, shutting down
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly reason: string;
  /**
   * Set where the error is raised, by code that knows the failed operation stored nothing (the
   * SQLite write queue gave up waiting for the lock before its transaction began, or the
   * transaction rolled back). An Idempotency-Key held by the request is then given up at once
   * instead of staying taken for its lease (src/http/idempotency.ts). Never inferred from the code.
   */
  readonly nothingStored: boolean;

  constructor(code: ErrorCode, reason: string, message?: string, options: { nothingStored?: boolean } = {}) {
    super(message ?? reason);
    this.name = 'AppError';
    this.code = code;
    this.reason = reason;
    this.nothingStored = options.nothingStored ?? false;
  }
}

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

export const badRequest = (reason: string, message?: string): AppError =>
  new AppError('BAD_REQUEST', reason, message);
export const notFound = (message: string): AppError => new AppError('NOT_FOUND', 'Not found', message);
export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
