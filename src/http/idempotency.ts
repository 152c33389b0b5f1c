/**
 * Idempotency-Key on the creating operations (POST /shoppingCart, POST /hub), after the IETF
 * httpapi draft "The Idempotency-Key HTTP Header Field": a retried create answers what the first
 * one answered instead of creating again. The algorithm (docs/api.md, "Safe retries"):
 *
 * 1. No header: the request runs as ever. A malformed key is a 400.
 * 2. The key is looked up for the caller (under owner isolation the party, else the token's subject,
 *    when authentication is on; everyone otherwise; a token naming neither is a 400) together with a fingerprint of the operation and its body (key order ignored).
 * 3. A request of this process holding the key: a different fingerprint is a 422 at once; the
 *    same one waits for that request and takes its outcome (its answer, or its refusal; after a
 *    4xx, which created nothing, it goes on at step 4).
 * 4. The store claims the key atomically (exactly one of any number of concurrent claims wins,
 *    across processes too):
 *    - claimed: the request runs, and its answer decides the record. 2xx: the answer (status,
 *      Location, ETag, Content-Type, body) is stored for IDEMPOTENCY_TTL before it is sent.
 *      4xx: nothing was created, the key is given up and a retry runs afresh; so is a 5xx whose
 *      error is marked `nothingStored` where it was raised (AppError). Any other 5xx (such as
 *      the request deadline passing while the handler runs): whether something was created is
 *      unknown, so the key stays taken until its lease ends.
 *    - held with another fingerprint: 422 IDEMPOTENCY_KEY_REUSED.
 *    - held and answered: the stored answer is sent again, with `Idempotent-Replayed: true`.
 *    - held, not answered (in flight in another process, or after a 5xx): 409
 *      IDEMPOTENCY_KEY_IN_USE with Retry-After; retry later.
 * A claim's lease is twice the request timeout: a request cannot still be running after that.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  idempotencyKeyInUse as inUse,
  idempotencyKeyNeedsCaller,
  idempotencyKeyReused as reused,
  invalidIdempotencyKey as invalidKey,
  type AppError,
} from '../errors.js';
import type { IdempotencyClaim, RememberedAnswer, Store } from '../store/store.js';
import { idempotencyKeyHeader } from '../spec/document.js';
import { principalOf } from './auth.js';
import { matchedOperation } from './matched-operation.js';

export const replayedHeader = 'Idempotent-Replayed';

export interface IdempotencyOptions {
  store: Store;
  now: () => Date;
  /** Makes the token that marks one request's claim. */
  newToken: () => string;
  /** How long a completed key and its answer are kept (IDEMPOTENCY_TTL). */
  retentionMs: number;
  /** The request timeout; a claim's lease is twice as long. */
  requestTimeoutMs: number;
  /**
   * Names the API version in the fingerprint (v4: none, as always): a key used on one version
   * and replayed on another is a different operation, never the other version's answer.
   */
  apiVersion?: string;
}

/** The headers a remembered answer keeps. */
const keptHeaders = ['Location', 'ETag', 'Content-Type'];

/**
 * The key from the header: a Structured Fields string as the draft defines it ("abc", with \\
 * and \" escapes), or, as many APIs accept, the bare value. 1 to 255 printable ASCII characters.
 */
export function parseIdempotencyKey(header: string): string {
  const text = header.trim();
  let key = text;
  if (text.startsWith('"')) {
    const m = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(text);
    if (!m?.[1]) throw invalidKey('is not a valid quoted string');
    key = m[1].replace(/\\(["\\])/g, '$1');
  }
  if (key.length === 0 || key.length > 255) throw invalidKey('must be 1 to 255 characters long');
  if (!/^[\x20-\x7e]+$/.test(key)) throw invalidKey('must be printable ASCII');
  return key;
}

/** JSON with object keys sorted at every level: equal documents give equal texts. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const fingerprintOf = (operation: string, body: unknown): string =>
  createHash('sha256')
    .update(operation)
    .update('\n')
    .update(canonicalJson(body ?? null))
    .digest('base64url');

/**
 * Who the key belongs to: keys of different callers never meet. Under owner isolation the party
 * (the owner claim) is the caller, as it is for carts; otherwise the token's subject. A token with
 * neither cannot be told apart from another such token, so its key is refused rather than shared.
 */
function scopeOf(req: Request): string {
  const principal = principalOf(req);
  if (principal === undefined) return '';
  if (principal.owner !== undefined) return `owner:${principal.owner}`;
  if (principal.subject !== undefined && principal.subject !== '') return `sub:${principal.subject}`;
  throw idempotencyKeyNeedsCaller();
}

function replay(res: Response, answer: RememberedAnswer): void {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.setHeader(replayedHeader, 'true');
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.end(answer.body);
}

const bodyText = (chunk: unknown): string =>
  typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';

/** How a request holding a key ended, for the requests of this process that waited for it. */
type Outcome = { answer: RememberedAnswer } | { error: AppError } | { retry: true };

/** A key this request holds: whose, which, the token of its claim, and when the claim's lease ends. */
interface Holding {
  scope: string;
  key: string;
  token: string;
  leaseEnd: number;
}

/**
 * Gives a key up. The failure that makes a request give its key up may keep the store from
 * taking the release too (the SQLite write lock still held by another process): then the
 * release is tried again in the background, every 250 ms, until it is taken or the lease ends
 * anyway; the answer does not wait for it, and retries meanwhile get 409 with Retry-After.
 */
async function release(options: IdempotencyOptions, { scope, key, token, leaseEnd }: Holding): Promise<void> {
  const { store } = options;
  try {
    await store.releaseIdempotencyKey(scope, key, token);
  } catch {
    const again = (): void => {
      if (options.now().getTime() >= leaseEnd) return;
      store.releaseIdempotencyKey(scope, key, token).catch(() => {
        setTimeout(again, 250).unref();
      });
    };
    setTimeout(again, 250).unref();
  }
}

/**
 * What the answer about to be sent means for the key: the outcome for the requests waiting for
 * it, and what to write to the store (`settle`) before the answer goes out.
 */
function concludeHolding(
  options: IdempotencyOptions,
  holding: Holding,
  res: Response,
  body: unknown,
): { outcome: Outcome; settle: () => Promise<unknown> } {
  const status = res.statusCode;
  if (status >= 200 && status < 300) {
    const headers: Record<string, string> = {};
    for (const name of keptHeaders) {
      const value = res.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    const answer: RememberedAnswer = { status, headers, body: bodyText(body) };
    const expiresAt = options.now().getTime() + options.retentionMs;
    const { scope, key, token } = holding;
    return {
      outcome: { answer },
      settle: () => options.store.completeIdempotencyKey(scope, key, token, answer, expiresAt),
    };
  }
  if (status < 500 || (res.locals.error as AppError | undefined)?.nothingStored === true) {
    // A 4xx created nothing; nor did a 5xx whose error says so where it was raised (the
    // SQLite lock timeout before the transaction began): a retry runs afresh at once.
    return { outcome: { retry: true }, settle: () => release(options, holding) };
  }
  return {
    outcome: { error: inUse('The first request with this Idempotency-Key failed; retry later') },
    settle: () => Promise.resolve(),
  };
}

/**
 * Lets the request run while holding the key: its answer is stored (2xx) before it is sent,
 * or the key given up (4xx) or kept until its lease ends (5xx); `finish` runs either way.
 */
function runHolding(
  options: IdempotencyOptions,
  holding: Holding,
  res: Response,
  next: NextFunction,
  finish: (outcome: Outcome) => void,
): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    res.end = end as Response['end'];
    const { outcome, settle } = concludeHolding(options, holding, res, args[0]);
    // The answer goes out whatever happens to the record: if storing it failed, the created
    // resource is still real and the caller should hear about it; the key then stays taken
    // until its lease ends, so a retry meanwhile gets 409 instead of a second resource.
    settle()
      .catch(() => undefined)
      .finally(() => {
        finish(outcome);
        end(...args);
      });
    return res;
  }) as Response['end'];
  // A request that ends without an answer (the connection dropped and nothing was sent) must
  // not keep the requests waiting for it; finishing twice is harmless.
  res.once('close', () => {
    finish({
      error: inUse('The first request with this Idempotency-Key ended without an answer; retry later'),
    });
  });
  next();
}

export function idempotency(options: IdempotencyOptions): RequestHandler {
  const { store } = options;
  /**
   * Requests of this process holding a key. Later ones with that key wait for the holder and
   * take its outcome: its answer, its refusal, or (it created nothing) another round.
   */
  const inFlight = new Map<string, { fingerprint: string; done: Promise<Outcome> }>();

  const handle = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    // The operations a key applies to: the creating ones whose document declares the header.
    const match = matchedOperation(req);
    const header = req.get(idempotencyKeyHeader);
    if (req.method !== 'POST' || match?.operation.idempotencyKey !== true || header === undefined) {
      next();
      return;
    }
    const operation = `${req.method} ${match.route.path}`;
    const key = parseIdempotencyKey(header);
    const scope = scopeOf(req);
    const fingerprint = fingerprintOf(
      options.apiVersion === undefined ? operation : `${options.apiVersion} ${operation}`,
      req.body,
    );
    const local = JSON.stringify([scope, key]);

    const conclude = (outcome: Outcome): boolean => {
      if ('answer' in outcome) {
        replay(res, outcome.answer);
        return true;
      }
      if ('error' in outcome) {
        if (outcome.error.code === 'IDEMPOTENCY_KEY_IN_USE') res.setHeader('Retry-After', '1');
        throw outcome.error;
      }
      return false;
    };

    // Another round only after a holder created nothing (4xx) or failed to reach the store.
    for (let round = 0; round < 10; round++) {
      const holder = inFlight.get(local);
      if (holder) {
        if (holder.fingerprint !== fingerprint) throw reused();
        if (conclude(await holder.done)) return;
        continue;
      }
      let finish: (outcome: Outcome) => void = () => undefined;
      const done = new Promise<Outcome>((resolve) => {
        finish = (outcome) => {
          if (inFlight.get(local)?.done === done) inFlight.delete(local);
          resolve(outcome);
        };
      });
      inFlight.set(local, { fingerprint, done });
      const token = options.newToken();
      let claim: IdempotencyClaim;
      const nowMs = options.now().getTime();
      const lease = nowMs + 2 * options.requestTimeoutMs;
      try {
        claim = await store.claimIdempotencyKey({ scope, key, fingerprint, token, expiresAt: lease }, nowMs);
      } catch (e) {
        finish({ retry: true });
        throw e;
      }
      if (claim.claimed) {
        runHolding(options, { scope, key, token, leaseEnd: lease }, res, next, finish);
        return;
      }
      const { record } = claim;
      const outcome: Outcome =
        record.fingerprint !== fingerprint
          ? { error: reused() }
          : record.answer !== undefined
            ? { answer: record.answer }
            : { error: inUse('A request with this Idempotency-Key is still in progress; retry later') };
      finish(outcome);
      if (conclude(outcome)) return;
    }
    res.setHeader('Retry-After', '1');
    throw inUse('Requests with this Idempotency-Key keep failing; retry later');
  };

  return (req, res, next) => {
    handle(req, res, next).catch(next);
  };
}
