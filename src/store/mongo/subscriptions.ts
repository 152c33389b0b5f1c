/** Hub subscriptions: one document each, unique per (owner, callback, query). */
import { alreadyExists } from '../../errors.js';
import type { StoredSubscription, SubscriptionMethods } from '../store.js';
import type { MongoState, SubscriptionDoc } from './documents.js';
import { decodeDocument, encodeDocument } from './encoding.js';
import { guard, isDuplicateKey } from './errors.js';

const subscriptionOf = (row: SubscriptionDoc | null): StoredSubscription | undefined =>
  row ? (decodeDocument(row.doc) as unknown as StoredSubscription) : undefined;

// The owner travels inside doc (the whole stored subscription), as in SQLite.
async function createSubscription(s: MongoState, sub: StoredSubscription): Promise<StoredSubscription> {
  try {
    await s.subscriptions.insertOne({
      _id: sub.id,
      owner: sub.owner ?? '',
      callback: sub.callback,
      query: sub.query ?? '',
      doc: encodeDocument(sub),
    });
  } catch (e) {
    if (isDuplicateKey(e)) throw alreadyExists();
    throw e;
  }
  return sub;
}

// Its deliveries go even when the subscription is already gone: those left by a deletion
// interrupted between the two, or by routing with a list read just before it, are removed by the
// dispatcher's maintenance through this call (as in SQLite).
async function deleteSubscription(s: MongoState, id: string): Promise<boolean> {
  const result = await s.subscriptions.deleteOne({ _id: id });
  await s.deliveries.deleteMany({ subscriptionId: id });
  return result.deletedCount > 0;
}

export function subscriptionMethods(s: MongoState): SubscriptionMethods {
  return {
    createSubscription: (sub) => guard(() => createSubscription(s, sub)),
    findSubscription: (callback, query, owner) =>
      guard(async () =>
        subscriptionOf(await s.subscriptions.findOne({ owner: owner ?? '', callback, query })),
      ),
    getSubscription: (id) => guard(async () => subscriptionOf(await s.subscriptions.findOne({ _id: id }))),
    listSubscriptions: (owner) =>
      guard(async () =>
        (
          await s.subscriptions
            .find(owner === undefined ? {} : { 'doc.owner': owner })
            .sort({ _id: 1 })
            .toArray()
        ).map((row) => decodeDocument(row.doc) as unknown as StoredSubscription),
      ),
    deleteSubscription: (id) => guard(() => deleteSubscription(s, id)),
  };
}
