/** Idempotency-Key records (table idempotency_keys): claimed, completed with the answer, purged. */
import type Database from 'better-sqlite3';
import { storeUnavailable } from '../../errors.js';
import type { IdempotencyClaim, IdempotencyMethods, IdempotencyRecord } from '../store.js';
import type { WriteQueue } from './write-queue.js';

interface IdempotencyRow {
  scope: string;
  key: string;
  fingerprint: string;
  token: string;
  answer: string | null;
  expires_at: number;
}

/** The Idempotency-Key records' statements (table idempotency_keys). */
function idempotencyStatements(db: Database.Database) {
  // One statement both inserts a new key and takes over an expired one, so two processes sharing
  // the file cannot both claim it: the row is there and live, or this statement wrote it.
  const claimRow = db.prepare(
    `INSERT INTO idempotency_keys (scope, key, fingerprint, token, answer, expires_at)
     VALUES (@scope, @key, @fingerprint, @token, NULL, @expiresAt)
     ON CONFLICT (scope, key) DO UPDATE SET
       fingerprint = excluded.fingerprint, token = excluded.token, answer = NULL,
       expires_at = excluded.expires_at
     WHERE idempotency_keys.expires_at <= @now`,
  );
  const get = db.prepare<[string, string], IdempotencyRow>(
    `SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?`,
  );
  return {
    claim: (record: IdempotencyRecord, nowMs: number): IdempotencyClaim => {
      const { scope, key, fingerprint, token, expiresAt } = record;
      if (claimRow.run({ scope, key, fingerprint, token, expiresAt, now: nowMs }).changes > 0)
        return { claimed: true };
      const row = get.get(scope, key);
      if (!row) throw storeUnavailable('Idempotency key vanished');
      return {
        claimed: false,
        record: {
          scope: row.scope,
          key: row.key,
          fingerprint: row.fingerprint,
          token: row.token,
          answer: row.answer === null ? undefined : (JSON.parse(row.answer) as IdempotencyRecord['answer']),
          expiresAt: row.expires_at,
        },
      };
    },
    complete: db.prepare(
      `UPDATE idempotency_keys SET answer = @answer, expires_at = @expiresAt
       WHERE scope = @scope AND key = @key AND token = @token AND answer IS NULL`,
    ),
    release: db.prepare(
      `DELETE FROM idempotency_keys WHERE scope = @scope AND key = @key AND token = @token AND answer IS NULL`,
    ),
    purge: db.prepare(`DELETE FROM idempotency_keys WHERE expires_at <= ?`),
  };
}

// Through the group commit, so a claim is durable before the create it guards starts, and
// an answer before it is sent.
export function idempotencyMethods(db: Database.Database, queue: WriteQueue): IdempotencyMethods {
  const idempotency = idempotencyStatements(db);
  return {
    claimIdempotencyKey: (record, nowMs) => queue.write(() => idempotency.claim(record, nowMs)),
    completeIdempotencyKey: (scope, key, token, answer, expiresAt) =>
      queue.write(
        () =>
          idempotency.complete.run({ scope, key, token, answer: JSON.stringify(answer), expiresAt }).changes >
          0,
      ),
    releaseIdempotencyKey: (scope, key, token) =>
      queue.write(() => {
        idempotency.release.run({ scope, key, token });
      }),
    purgeIdempotencyKeys: (nowMs) => queue.write(() => idempotency.purge.run(nowMs).changes),
  };
}
