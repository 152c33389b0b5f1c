/**
 * The one place where errors become HTTP: the status of each code (from the catalogue,
 * src/errors.ts), the TMF Error body (`code` and `status` as strings, no stack traces), and
 * foreign errors (body-parser's, the validator's) mapped onto a code.
 */
import type { ErrorRequestHandler, Response } from 'express';
import type { TmfError } from '../api-types.js';
import {
  AppError,
  errorCatalogue,
  errorCodes,
  fieldName,
  fieldProblem,
  headersTooLarge,
  internalError,
  malformedJson,
  malformedRequest,
  methodNotAllowed as notAllowed,
  payloadTooLarge,
  pointerSegments,
  requestTimeout,
  type ErrorCode,
} from '../errors.js';

const statusOf = (code: ErrorCode): number => errorCatalogue[code].status;

/**
 * Answers a client should simply try again, with the seconds to wait (Retry-After): the store
 * could not be reached, or its write lock stayed taken by other processes past
 * SQLITE_LOCK_TIMEOUT_MS.
 */
export const retryAfterSeconds: Partial<Record<ErrorCode, number>> = {
  STORE_UNAVAILABLE: 1,
};

/** The code a foreign error's status is answered with (ours only ever raise the others). */
const codeOfStatus = new Map<number, ErrorCode>(
  errorCodes
    .filter(
      (c) => c !== 'SERVICE_UNAVAILABLE' && c !== 'IDEMPOTENCY_KEY_IN_USE' && c !== 'IDEMPOTENCY_KEY_REUSED',
    )
    .map((c) => [statusOf(c), c]),
);

/** Foreign errors keep the catalogue's reason for these codes; any other is answered as 'Error'. */
const foreignReasons: ReadonlySet<ErrorCode> = new Set([
  'BAD_REQUEST',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'UNSUPPORTED_MEDIA_TYPE',
]);

export const jsonType = 'application/json;charset=utf-8';

/** The app.locals / res.locals member naming the JSON media type of an API version's answers. */
const jsonTypeLocal = 'jsonType';

/** Makes every JSON answer from here on (errors included) carry `type` (v5: application/json). */
export const answerJsonAs = (res: Response, type: string): void => {
  res.locals[jsonTypeLocal] = type;
};

/** The JSON media type of this answer: its API version's, v4's by default. */
export const jsonTypeOf = (res: Response): string => {
  const type: unknown = res.locals[jsonTypeLocal];
  return typeof type === 'string' ? type : jsonType;
};

/** The TMF Error body of an AppError. */
export function errorBody(error: AppError): TmfError {
  return {
    '@type': 'Error',
    code: error.code,
    reason: error.reason,
    message: error.message,
    status: String(statusOf(error.code)),
  };
}

export function sendError(res: Response, error: AppError): void {
  const retryAfter = retryAfterSeconds[error.code];
  if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
  res.status(statusOf(error.code)).set('Content-Type', jsonType).json(errorBody(error));
}

/**
 * A method the resource at `path` does not serve: 405, with the Allow header RFC 9110 section
 * 15.5.6 requires naming the methods it does serve. The header is set on `res` here.
 */
export function methodNotAllowed(res: Response, method: string, path: string, allowed: string[]): AppError {
  res.setHeader('Allow', allowed.join(', '));
  return notAllowed(method, path, allowed);
}

/** What Node's HTTP parser reports (server 'clientError'), as an AppError. */
export function clientErrorOf(err: { code?: unknown }): AppError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return headersTooLarge();
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return requestTimeout();
    default:
      return malformedRequest();
  }
}

/**
 * A whole HTTP/1.1 answer for a request Node's parser refused before Express saw it: a TMF Error
 * body, and the connection closes (its bytes can no longer be trusted).
 */
export function clientErrorResponse(err: { code?: unknown }): string {
  const error = clientErrorOf(err);
  const status = statusOf(error.code);
  const text = JSON.stringify(errorBody(error));
  return (
    `HTTP/1.1 ${status} ${error.reason}\r\n` +
    `Content-Type: ${jsonType}\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\n` +
    'Connection: close\r\n\r\n' +
    text
  );
}

interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  message?: unknown;
  errors?: { path?: string; message?: string; errorCode?: string }[];
}

/**
 * One validator finding in the message style of every error (`<field>: <problem>`), the field
 * named as the client writes it: a body member as cartItem[0].quantity, a query parameter or a
 * header by its name. Paths that are not about the request's content (the validator puts its
 * route there for a media type it does not know) are left out.
 */
function describeValidatorError(d: { path?: string; message?: string; errorCode?: string }): string {
  const path = d.path ?? '';
  let problem = d.message ?? 'is invalid';
  const mediaType = /^unsupported media type (.*)$/.exec(problem);
  if (mediaType) {
    const type = mediaType[1] === undefined || mediaType[1] === 'undefined' ? 'none' : mediaType[1];
    return fieldProblem('Content-Type', `${type} is not a media type this operation accepts`);
  }
  const where = /^\/(body|query|headers|path)(?:\/(.*))?$/.exec(path);
  if (!where) return problem;
  const [, location, rest] = where;
  let segments = pointerSegments(rest === undefined ? '' : `/${rest}`);
  // "must have required property 'x'": the field is x, and it is required.
  const missing = /^must have required property '(.+)'$/.exec(problem);
  if (missing?.[1] !== undefined && location === 'body') {
    if (segments.at(-1) !== missing[1]) segments = [...segments, missing[1]];
    problem = 'is required';
  }
  if (location === 'headers') return fieldProblem(`header ${segments.join('.')}`, problem);
  if (segments.length === 0)
    return fieldProblem(location === 'body' ? 'the body' : (location ?? ''), problem);
  return fieldProblem(fieldName(segments), problem);
}

/** Turns anything thrown into an AppError: ours as they are, body-parser's and the validator's by status. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as HttpishError;
  if (e.type === 'entity.parse.failed') return malformedJson();
  if (e.type === 'entity.too.large') return payloadTooLarge();
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  const code = codeOfStatus.get(status);
  if (code === undefined || code === 'INTERNAL' || status >= 500) {
    return internalError();
  }
  const details = (e.errors ?? []).map(describeValidatorError).join('; ');
  const message = details || (typeof e.message === 'string' ? e.message : errorCatalogue.BAD_REQUEST.reason);
  return new AppError(code, message, foreignReasons.has(code) ? {} : { reason: 'Error' });
}

export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const appError = toAppError(err);
    if (appError.code === 'INTERNAL') log(err);
    // For the Idempotency-Key middleware, which sees the answer go out: did it store nothing?
    res.locals.error = appError;
    sendError(res, appError);
  };
}
