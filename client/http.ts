/**
 * What every version's client shares below the typed calls: the bearer token, TMF Error bodies as
 * typed errors, and safe retries.
 *
 * Retries (docs/client.md, "Safe retries"): a request is retried on a network error, a 5xx, a 429 or a 409
 * IDEMPOTENCY_KEY_IN_USE only when repeating it cannot do anything twice: GET, HEAD and DELETE;
 * POST when it carries an Idempotency-Key (the client sends one on every create); PATCH when it
 * carries If-Match (a repeat of an applied change then fails with a conflict instead of applying
 * twice). At most `maxAttempts` tries, with `backoff` awaited between them.
 */

/** The fields of a TMF Error body the client reads. */
export interface TmfErrorBody {
  code?: string;
  reason?: string;
  message?: string;
  status?: string;
  [key: string]: unknown;
}

/** A TMF Error answer (4xx/5xx), with its status and the body's code, reason and message. */
export class TmfApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly reason: string;
  readonly body: TmfErrorBody | undefined;

  constructor(status: number, body: TmfErrorBody | undefined) {
    const reason = body?.reason ?? `HTTP ${status}`;
    super(body?.message ?? reason);
    this.name = 'TmfApiError';
    this.status = status;
    this.code = body?.code ?? String(status);
    this.reason = reason;
    this.body = body;
  }
}

/**
 * The cart changed since it was read (412 Precondition Failed on If-Match) or a concurrent change
 * won (409): read it again, re-apply the change, retry.
 */
export class ConflictError extends TmfApiError {
  constructor(status: number, body: TmfErrorBody | undefined) {
    super(status, body);
    this.name = 'ConflictError';
  }
}

/** The typed error for an answer: ConflictError for 412 and version conflicts, else TmfApiError. */
export function errorOf(status: number, body: unknown): TmfApiError {
  const tmf = body !== null && typeof body === 'object' ? (body as TmfErrorBody) : undefined;
  if (status === 412 || (status === 409 && tmf?.code === 'CONFLICT')) return new ConflictError(status, tmf);
  return new TmfApiError(status, tmf);
}

export interface RetryOptions {
  /** Tries in all, the first included (default 4; 1 turns retries off). */
  maxAttempts?: number;
  /**
   * Awaited before try number `attempt + 1` (attempt counts from 1). Default: exponential from
   * 100 ms up to 2 s with full jitter, or the answer's Retry-After when it is longer.
   */
  backoff?: (attempt: number, retryAfterMs: number | undefined) => Promise<void>;
}

export interface TransportOptions {
  /** A bearer token, or a function that gives the current one (called for every request). */
  token?: string | (() => string | Promise<string>) | undefined;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: (request: Request) => Promise<Response>;
  retry?: RetryOptions;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export const defaultBackoff = (attempt: number, retryAfterMs: number | undefined): Promise<void> => {
  const exp = Math.min(2000, 100 * 2 ** (attempt - 1));
  return sleep(Math.max(retryAfterMs ?? 0, Math.random() * exp));
};

/** Whether repeating this request cannot apply anything twice. */
export function isSafeToRetry(request: Request): boolean {
  switch (request.method) {
    case 'GET':
    case 'HEAD':
    case 'DELETE':
      return true;
    case 'POST':
      return request.headers.has('Idempotency-Key');
    case 'PATCH':
      return request.headers.has('If-Match');
    default:
      return false;
  }
}

async function isRetryableAnswer(response: Response): Promise<boolean> {
  if (response.status >= 500 || response.status === 429) return true;
  if (response.status !== 409) return false;
  try {
    const body = (await response.clone().json()) as TmfErrorBody;
    return body.code === 'IDEMPOTENCY_KEY_IN_USE';
  } catch {
    return false;
  }
}

function retryAfterMs(response: Response | undefined): number | undefined {
  const value = response?.headers.get('Retry-After');
  if (value === null || value === undefined || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value) * 1000, 30_000);
}

/** A fetch that adds the bearer token and retries what is safe to retry. */
export function transport(options: TransportOptions): (request: Request) => Promise<Response> {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 4);
  const backoff = options.retry?.backoff ?? defaultBackoff;
  return async (request: Request): Promise<Response> => {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    if (token !== undefined) request.headers.set('Authorization', `Bearer ${token}`);
    const retryable = isSafeToRetry(request);
    for (let attempt = 1; ; attempt++) {
      const last = !retryable || attempt >= maxAttempts;
      // A body can be sent once: every try but the last sends a copy.
      const attemptRequest = last ? request : request.clone();
      let response: Response | undefined;
      try {
        response = await send(attemptRequest);
      } catch (e) {
        if (last) throw e;
      }
      if (response !== undefined && (last || !(await isRetryableAnswer(response)))) return response;
      if (response?.body) await response.body.cancel();
      await backoff(attempt, retryAfterMs(response));
    }
  };
}
