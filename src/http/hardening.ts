/**
 * Protections in front of the API: request ids, security headers, CORS, URI and JSON depth
 * limits, per-IP rate limiting and a deadline for every request. Each refusal is an AppError, so
 * the one error handler answers it as a TMF Error.
 */
import { isUtf8 } from 'node:buffer';
import cors from 'cors';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { newUlid } from '../ids.js';
import { invalidUtf8, jsonTooDeep, serviceUnavailable, tooManyRequests, uriTooLong } from '../errors.js';
import { sendError } from './errors.js';

// ---------------------------------------------------------------------------------------------
// X-Request-ID

const requestIds = new WeakMap<Request, string>();

/** Accept a caller's id only if it is short and plain, so it is safe in logs and headers. */
const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export const requestIdOf = (req: Request): string | undefined => requestIds.get(req);

/** Takes a sane incoming X-Request-ID or makes a ULID; echoes it on the response. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('X-Request-ID');
    const id = incoming !== undefined && saneRequestId.test(incoming) ? incoming : newUlid();
    requestIds.set(req, id);
    res.setHeader('X-Request-ID', id);
    next();
  };
}

// ---------------------------------------------------------------------------------------------
// Security headers and CORS

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      // The API is often served over plain HTTP inside a cluster; do not force https sub-requests.
      directives: { 'upgrade-insecure-requests': null },
    },
  });
}

/** Headers a browser client needs to read from our answers. */
const exposedHeaders = [
  'Location',
  'ETag',
  'X-Total-Count',
  'X-Result-Count',
  'X-Request-ID',
  'Retry-After',
  'WWW-Authenticate',
  'Idempotent-Replayed',
];

export function corsPolicy(origins: string[]): RequestHandler {
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    exposedHeaders,
    maxAge: 600,
  });
}

// ---------------------------------------------------------------------------------------------
// URI length

/** Above this the request is refused with 414, whatever part of the URI is long. */
export const maxUriLength = 8192 + 1024;

/**
 * The query parser refuses a query over 8192 characters (414); this catches a long path too.
 * The limit leaves room for the base path next to a query just under the parser's limit.
 */
export function uriLengthLimit(max = maxUriLength): RequestHandler {
  return (req, _res, next) => {
    if (req.originalUrl.length > max) {
      next(uriTooLong(`The request URI is over ${max} characters`));
      return;
    }
    next();
  };
}

// ---------------------------------------------------------------------------------------------
// JSON depth

/**
 * The deepest nesting of arrays and objects in a JSON text, scanning bytes (strings skipped), so
 * that a hostile body is refused before JSON.parse and before any recursive code walks it.
 */
export function jsonDepth(text: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * A `verify` hook for express.json: refuses bodies that are not UTF-8 (RFC 8259 section 8.1:
 * decoding would silently store replacement characters) and bodies nested deeper than `max`,
 * both with 400.
 */
export function jsonDepthLimit(max: number): (req: Request, res: Response, body: Buffer) => void {
  return (_req, _res, body) => {
    if (!isUtf8(body)) {
      throw invalidUtf8();
    }
    if (jsonDepth(body) > max) {
      throw jsonTooDeep(max);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Rate limiting

/**
 * At most `perMinute` requests per client IP per minute (fixed window, in this process's
 * memory): over it, 429 with Retry-After and RateLimit headers.
 */
export function rateLimitPerIp(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, _res, next) => {
      next(tooManyRequests(perMinute));
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Request deadline

const timedOut = new WeakSet<Request>();

/**
 * Answers 503 when a handler has not started its answer within `ms`. The handler keeps running
 * (a write may still commit); whatever it tries to send afterwards is dropped.
 */
export function requestDeadline(ms: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      timedOut.add(req);
      res.setHeader('Connection', 'close');
      sendError(res, serviceUnavailable(`The request took longer than ${ms} ms`));
    }, ms);
    timer.unref();
    const clear = (): void => {
      clearTimeout(timer);
    };
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}

/** Drops the late errors of a handler whose request already got its 503. */
export function afterDeadline(): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent && timedOut.has(req)) return;
    next(err);
  };
}
