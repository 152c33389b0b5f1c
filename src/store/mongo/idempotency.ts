/** Idempotency-Key records: one document each, its _id made of the scope and the key. */
import { idempotencyKeyContended } from '../../errors.js';
import type { IdempotencyClaim, IdempotencyMethods, IdempotencyRecord } from '../store.js';
import { idempotencyId, type MongoState } from './documents.js';
import { guard, isDuplicateKey } from './errors.js';

/**
 * Inserting a document with the key's _id is the claim: the unique _id lets exactly one of any
 * number of concurrent inserts succeed, on MongoDB and FerretDB alike. An expired record is
 * removed (only that one, by its token) and the insert tried again. Callers hold writeLock on
 * the _id, because FerretDB's conditional delete is not atomic (see store.ts).
 */
async function claimIdempotencyKey(
  s: MongoState,
  record: IdempotencyRecord,
  nowMs: number,
): Promise<IdempotencyClaim> {
  const _id = idempotencyId(record.scope, record.key);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await s.idempotencyKeys.insertOne({ ...record, _id, answer: null });
      return { claimed: true };
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
    const held = await s.idempotencyKeys.findOne({ _id });
    if (held === null) continue; // released or purged in between: claim again
    if (held.expiresAt > nowMs) {
      const { _id: _, answer, ...rest } = held;
      return { claimed: false, record: { ...rest, answer: answer ?? undefined } };
    }
    await s.idempotencyKeys.deleteOne({ _id, token: held.token });
  }
  throw idempotencyKeyContended(record.key);
}

export function idempotencyMethods(s: MongoState): IdempotencyMethods {
  return {
    claimIdempotencyKey: (record, nowMs) =>
      guard(() =>
        s.writeLock(idempotencyId(record.scope, record.key), () => claimIdempotencyKey(s, record, nowMs)),
      ),
    completeIdempotencyKey: (scope, key, token, answer, expiresAt) =>
      guard(() =>
        s.writeLock(idempotencyId(scope, key), async () => {
          const result = await s.idempotencyKeys.updateOne(
            { _id: idempotencyId(scope, key), token, answer: null },
            { $set: { answer, expiresAt } },
          );
          return result.matchedCount > 0;
        }),
      ),
    releaseIdempotencyKey: (scope, key, token) =>
      guard(() =>
        s.writeLock(idempotencyId(scope, key), async () => {
          await s.idempotencyKeys.deleteOne({ _id: idempotencyId(scope, key), token, answer: null });
        }),
      ),
    purgeIdempotencyKeys: (nowMs) =>
      guard(async () => (await s.idempotencyKeys.deleteMany({ expiresAt: { $lte: nowMs } })).deletedCount),
  };
}
