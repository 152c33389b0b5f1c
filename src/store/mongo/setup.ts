/** Reaching the server at start-up, and the indexes every start makes sure of (idempotently). */
import { MongoServerError, type Collection, type Db, type MongoClient } from 'mongodb';
import { storeUnavailable } from '../../errors.js';
import { ttlGraceSeconds, type SubscriptionDoc } from './documents.js';
import { isUnavailable, notImplemented, redact } from './errors.js';
import type { MongoOptions } from './store.js';

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export async function connect(client: MongoClient, options: MongoOptions): Promise<void> {
  const deadline = Date.now() + (options.startTimeoutMS ?? 5000);
  for (;;) {
    try {
      await client.connect();
      await client.db(options.dbName).command({ ping: 1 });
      return;
    } catch (e) {
      if (!isUnavailable(e) || Date.now() >= deadline) {
        await client.close().catch(() => undefined);
        const why = e instanceof Error ? e.message : String(e);
        throw storeUnavailable(`cannot reach MongoDB at ${redact(options.uri)}: ${why}`);
      }
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
  }
}

/**
 * A subscription is unique per owner: (owner, callback, query). Earlier versions had one index on
 * (callback, query) for everyone and no top-level owner; at every start (idempotently) the owner
 * is copied up from the stored subscription where it is missing, the per-owner index is created,
 * and only then the old index dropped, so no duplicate can slip in between.
 */
async function subscriptionIndex(subscriptions: Collection<SubscriptionDoc>): Promise<void> {
  for (const row of await subscriptions.find({ owner: { $exists: false } }).toArray()) {
    const owner = (row.doc as { owner?: unknown }).owner;
    await subscriptions.updateOne(
      { _id: row._id },
      { $set: { owner: typeof owner === 'string' ? owner : '' } },
    );
  }
  await subscriptions.createIndex(
    { owner: 1, callback: 1, query: 1 },
    { name: 'ownerCallbackQuery', unique: true },
  );
  try {
    await subscriptions.dropIndex('callbackQuery');
  } catch (e) {
    // Already gone (IndexNotFound, or NamespaceNotFound on an empty database).
    if (!(e instanceof MongoServerError && (e.code === 27 || e.code === 26))) throw e;
  }
}

export async function createIndexes(db: Db, ttl: boolean): Promise<void> {
  const carts = db.collection('carts');
  // One at a time: FerretDB creates the collections on the way.
  await carts.createIndex({ 'doc.href': 1 }, { name: 'href' });
  await carts.createIndex({ 'doc.relatedParty.id': 1 }, { name: 'relatedPartyId' });
  await carts.createIndex({ 'doc.cartItem.productOffering.id': 1 }, { name: 'productOfferingId' });
  await carts.createIndex({ '_m.pending.0.eventId': 1 }, { name: 'outbox' });
  try {
    await carts.createIndex(
      { '_m.expiresAt': 1 },
      ttl ? { name: 'expiresAt', expireAfterSeconds: ttlGraceSeconds } : { name: 'expiresAt' },
    );
  } catch (e) {
    // An index of that name with the other option stays as it is (IndexOptionsConflict).
    if (e instanceof MongoServerError && (e.code === 85 || e.code === 86)) {
      // keep it
    } else if (ttl && notImplemented(e)) {
      // FerretDB has no TTL indexes (NotImplemented): purgeExpired is the sweep there.
      await carts.createIndex({ '_m.expiresAt': 1 }, { name: 'expiresAt' });
    } else throw e;
  }
  await db.collection('deliveries').createIndex({ subscriptionId: 1, cartId: 1, seq: 1 }, { name: 'queue' });
  await db.collection('deliveries').createIndex({ subscriptionId: 1, seq: 1 }, { name: 'window' });
  await db.collection('delivered').createIndex({ deliveredAt: 1 }, { name: 'deliveredAt' });
  await subscriptionIndex(db.collection<SubscriptionDoc>('subscriptions'));
  await db.collection('deadLetters').createIndex({ deadAt: 1, eventId: 1 }, { name: 'deadAt' });
  await db.collection('idempotencyKeys').createIndex({ expiresAt: 1 }, { name: 'expiresAt' });
}
