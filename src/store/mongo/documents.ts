/**
 * The collections of the MongoDB store, their documents, and what the store's parts share
 * (MongoState). The cart document is `{ _id, doc, _m }` (see store.ts); `doc` and event bodies are
 * encoded (encoding.ts).
 */
import type { Collection, Db, Filter } from 'mongodb';
import type { CartTimes, Delivery, IdempotencyRecord, OutboxRecord } from '../store.js';
import { decodeDocument, encodeDocument, type JsonObject } from './encoding.js';
import type { KeyedLock } from '../../keyed-lock.js';

export interface PendingEvent {
  eventId: string;
  cartId: string;
  eventType: string;
  /** Encoded (encoding.ts). */
  body: JsonObject;
  /** OutboxRecord.cartTimes; absent in events recorded before they were kept. */
  cartTimes?: CartTimes;
}

export interface CartMeta {
  version: number;
  createdAt: string;
  updatedAt: string;
  expiresAt: Date | null;
  deleted: boolean;
  pending: PendingEvent[];
  dates: Record<string, number[]>;
}

export interface CartDoc {
  _id: string;
  doc: JsonObject;
  _m: CartMeta;
}

export interface DeliveryDoc {
  _id: string;
  eventId: string;
  subscriptionId: string;
  cartId: string;
  /** Routing order (global counter): per (subscription, cart), lower is older. */
  seq: number;
  eventType: string;
  body: JsonObject;
  attempts: number;
  nextAttemptAt: number;
}

export interface DeadLetterDoc extends DeliveryDoc {
  lastError: string;
  deadAt: string;
}

export interface SubscriptionDoc {
  _id: string;
  /** The owner, '' for none: the unique key is (owner, callback, query). */
  owner?: string;
  callback: string;
  query: string;
  doc: JsonObject;
}

/** An Idempotency-Key record; `_id` is idempotencyId(scope, key). */
export interface IdempotencyDoc extends Omit<IdempotencyRecord, 'answer'> {
  _id: string;
  answer: IdempotencyRecord['answer'] | null;
}

/** One unambiguous string per (scope, key), whatever characters either holds. */
export const idempotencyId = (scope: string, key: string): string => JSON.stringify([scope, key]);

export interface DeliveredDoc {
  _id: string;
  eventId: string;
  subscriptionId: string;
  cartId: string;
  eventType: string;
  attempts: number;
  deliveredAt: string;
}

export interface CounterDoc {
  _id: string;
  seq: number;
}

/**
 * On MongoDB, a TTL index removes expired carts an hour after they expired: not at once, because
 * a cart's last events may still wait in its outbox. purgeExpired is the exact sweep (it keeps
 * carts whose events are not routed yet); reads never depend on either.
 */
export const ttlGraceSeconds = 3600;

/** Carts that exist for readers at `nowMs`: not deleted, not expired. */
export const live = (nowMs: number): Filter<CartDoc> => ({
  '_m.deleted': false,
  $or: [{ '_m.expiresAt': null }, { '_m.expiresAt': { $gt: new Date(nowMs) } }],
});

export const isLive = (meta: Pick<CartMeta, 'deleted' | 'expiresAt'>, nowMs: number): boolean =>
  !meta.deleted && (meta.expiresAt === null || meta.expiresAt.getTime() > nowMs);

/** Carts with events in their outbox, by a range on the indexed first event id. */
export const hasOutbox: Filter<CartDoc> = { '_m.pending.0.eventId': { $gte: '' } };

export const toDate = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));

export const encodeEvent = (e: OutboxRecord): PendingEvent => ({
  eventId: e.eventId,
  cartId: e.cartId,
  eventType: e.eventType,
  body: encodeDocument(e.body),
  ...(e.cartTimes === undefined ? {} : { cartTimes: { ...e.cartTimes } }),
});

/** Unambiguous for any pair of ids (`:` and `%` in the event id are escaped). */
export const deliveryId = (eventId: string, subscriptionId: string): string =>
  `${eventId.replaceAll('%', '%25').replaceAll(':', '%3A')}:${subscriptionId}`;

export const toDelivery = (d: DeliveryDoc): Delivery => {
  const body = decodeDocument(d.body);
  const { eventTime } = body;
  return {
    eventId: d.eventId,
    subscriptionId: d.subscriptionId,
    cartId: d.cartId,
    seq: d.seq,
    eventType: d.eventType,
    ...(typeof eventTime === 'string' ? { eventTime } : {}),
    body,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt,
  };
};

/** What the store's parts share: the database, its collections and the per-key write locks. */
export interface MongoState {
  readonly db: Db;
  readonly carts: Collection<CartDoc>;
  readonly deliveries: Collection<DeliveryDoc>;
  readonly deadLetters: Collection<DeadLetterDoc>;
  readonly subscriptions: Collection<SubscriptionDoc>;
  readonly counters: Collection<CounterDoc>;
  readonly delivered: Collection<DeliveredDoc>;
  readonly idempotencyKeys: Collection<IdempotencyDoc>;
  /** This store's own per-key lock (see store.ts on FerretDB). */
  readonly writeLock: KeyedLock;
  /** The lock of cart documents: writeLock, or the API thread's when routing runs elsewhere. */
  readonly cartLock: KeyedLock;
  /**
   * "Oldest delivery per (subscription, cart)" is one aggregation with $first on MongoDB;
   * FerretDB 1.24 has no $first (NotImplemented), so there the heads are found by a scan.
   */
  groupFirst: boolean | undefined;
}
