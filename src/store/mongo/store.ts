/**
 * The MongoDB store (also tested on FerretDB, which speaks the same wire protocol).
 *
 * Atomicity without transactions: MongoDB writes one document atomically, and FerretDB has no
 * transactions at all, so everything a cart write must commit together lives in the cart's own
 * document: `{ _id, doc, _m: { version, createdAt, updatedAt, expiresAt, deleted, pending, dates } }`.
 * - `doc` is the TMF document (keys escaped, nested arrays wrapped: encoding.ts).
 * - `_m.pending` is the cart's outbox: its events in order, pushed by the same update that
 *   changes the cart (transactional outbox without a transaction).
 * - A delete is a soft delete (`_m.deleted`, version bumped, delete event pushed), so the event
 *   cannot be lost; routeOutbox removes the document once its events are routed, and
 *   purgeExpired sweeps the rest.
 * - Writes are conditional updates on `_m.version` (optimistic concurrency); when nothing
 *   matched, a second read tells a VersionConflict from NOT_FOUND.
 * - `_m.dates` holds the epoch ms of every date-time string per path, so date filters compare
 *   numbers (offsets differ between documents; see encoding.ts and filter.ts).
 * Every read excludes deleted carts and carts expired at the caller's clock, whatever the server's
 * TTL sweep has done so far.
 *
 * Routing: events leave a cart's outbox one at a time, oldest first: deliveries are inserted
 * idempotently (their _id is event + subscriber, duplicates ignored), then the event is popped
 * with a filter that it is still the first one, so two routers never lose or reorder an event.
 * Each routed event takes the next number of a global counter as `seq`: deliveries of one cart
 * are numbered in the order they were routed, which is the cart's order.
 *
 * FerretDB 1.24 (SQLite backend) does NOT apply a conditional update atomically: it finds the
 * matching document, then writes the updated document back by _id, so two connections updating
 * one document at once both "succeed" and one change is lost (measured: 20 concurrent
 * compare-and-set writers, 20 successes, version +2). This store therefore also serialises its
 * own writes per cart inside the process (writeLock). That makes one server process on FerretDB
 * safe; several processes on one FerretDB are not. On MongoDB, single-document updates are
 * atomic and the version filter alone protects any number of processes.
 *
 * The parts: encoding.ts (the document layout) and filter.ts (the query compiler), documents.ts
 * (collections and shared state), errors.ts, setup.ts (connecting, indexes), carts.ts and
 * list.ts, outbox.ts (routing), deliveries.ts, subscriptions.ts, idempotency.ts; the write lock
 * is src/keyed-lock.ts.
 */
import { MongoClient } from 'mongodb';
import type { Store } from '../store.js';
import { cartMethods } from './carts.js';
import { eventMethods } from './deliveries.js';
import type {
  CartDoc,
  CounterDoc,
  DeadLetterDoc,
  DeliveredDoc,
  DeliveryDoc,
  IdempotencyDoc,
  MongoState,
  SubscriptionDoc,
} from './documents.js';
import { guard, isUnavailable, unavailable } from './errors.js';
import { idempotencyMethods } from './idempotency.js';
import { keyedLock, type KeyedLock } from '../../keyed-lock.js';
import { connect, createIndexes } from './setup.js';
import { subscriptionMethods } from './subscriptions.js';

export interface MongoOptions {
  uri: string;
  dbName: string;
  /** How long an operation waits for a reachable server before it fails (503). Default 2500. */
  serverSelectionTimeoutMS?: number;
  /** How long opening the store keeps trying to reach the server. Default 5000. */
  startTimeoutMS?: number;
  /**
   * Let MongoDB's TTL monitor remove expired carts (an hour after they expired). Default true.
   * It acts on the server's clock, so tests that read at an injected clock in the past turn it
   * off. FerretDB has no TTL indexes; purgeExpired is the sweep either way.
   */
  ttlIndex?: boolean;
  /**
   * Serialises the routing's writes to a cart document with the API's writes to it when routing
   * runs on another connection (the dispatcher's worker thread asks the API's thread for its
   * lock; see the module comment on FerretDB). Default: this store's own per-cart lock.
   */
  cartLock?: KeyedLock;
}

export async function openMongoStore(options: MongoOptions): Promise<Store> {
  const client = new MongoClient(options.uri, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 2500,
    connectTimeoutMS: 5000,
    // A hung server (not a dead one) must not hold a request forever.
    socketTimeoutMS: 30_000,
    // JSON semantics, as the SQLite store has them: an undefined member is left out.
    ignoreUndefined: true,
    appName: 'tmf663-shopping-cart',
  });
  await connect(client, options);
  const db = client.db(options.dbName);
  try {
    await createIndexes(db, options.ttlIndex ?? true);
  } catch (e) {
    await client.close().catch(() => undefined);
    throw isUnavailable(e) ? unavailable(e) : e;
  }

  const writeLock = keyedLock();
  const s: MongoState = {
    db,
    carts: db.collection<CartDoc>('carts'),
    deliveries: db.collection<DeliveryDoc>('deliveries'),
    deadLetters: db.collection<DeadLetterDoc>('deadLetters'),
    subscriptions: db.collection<SubscriptionDoc>('subscriptions'),
    counters: db.collection<CounterDoc>('counters'),
    delivered: db.collection<DeliveredDoc>('delivered'),
    idempotencyKeys: db.collection<IdempotencyDoc>('idempotencyKeys'),
    writeLock,
    cartLock: options.cartLock ?? writeLock,
    groupFirst: undefined,
  };
  return {
    name: 'mongodb',
    location: {
      store: 'mongodb',
      uri: options.uri,
      dbName: options.dbName,
      ttlIndex: options.ttlIndex ?? true,
    },
    ...cartMethods(s),
    ...subscriptionMethods(s),
    ...eventMethods(s),
    ...idempotencyMethods(s),
    ping: () =>
      guard(async () => {
        await db.command({ ping: 1 });
      }),
    close: () => client.close(),
  };
}
