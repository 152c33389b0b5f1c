/**
 * The store interface: what the cart service needs from a database, shaped so that both the
 * embedded SQLite store and MongoDB implement it naturally (documents keyed by id, a version
 * counter for optimistic concurrency, queries compiled from the TMF630 AST).
 */
import type { ShoppingCart, EventSubscription } from '../api-types.js';
import type { ListQuery, RecordTimes } from '../query/ast.js';

/** A cart as stored: the TMF document plus metadata that never appears in the representation. */
export interface StoredCart {
  readonly doc: ShoppingCart;
  /**
   * The document as JSON text, when the store has it at hand (SQLite keeps documents as text):
   * answers send it as it is instead of parsing and re-serialising an unchanged document.
   */
  readonly json?: string;
  /** Starts at 1, +1 on every write. The ETag is derived from it. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * A hub subscription as stored: the representation plus, under owner isolation, the party that
 * created it (never shown to clients; see src/http/hub-routes.ts).
 */
export interface StoredSubscription extends EventSubscription {
  owner?: string;
  /** The API version it was created on, whose shape its events take; absent: v4. */
  apiVersion?: ApiVersionName;
}

/** The TMF663 versions served over the one store. */
export type ApiVersionName = 'v4' | 'v5';

/**
 * A notification as the store records it, in the same atomic write as the cart change
 * (transactional outbox). The events module builds these (src/events/types.ts: OutboxEvent).
 */
export interface OutboxRecord {
  eventId: string;
  cartId: string;
  eventType: string;
  /** The full event envelope as it will be sent. */
  body: Record<string, unknown>;
  /**
   * The cart's times as the event leaves it (a delete: as they were), which v5's shape shows as
   * creationDate and lastUpdate; absent in records written before they were kept.
   */
  cartTimes?: CartTimes;
}

/**
 * Where routing sends one event: a subscriber, and the body shaped for it (narrowed by the
 * subscription's `fields`). Without `body` the subscriber gets the event exactly as recorded, and
 * a store can copy the recorded text instead of serialising it again.
 */
export interface RouteTarget {
  subscriptionId: string;
  body?: Record<string, unknown>;
}

/** An event waiting for delivery to one subscriber. */
export interface Delivery {
  eventId: string;
  subscriptionId: string;
  cartId: string;
  /** Routing order: per subscriber, a later event of a cart has a higher number. */
  seq: number;
  eventType: string;
  /** The event's `eventTime` (when the change was committed), when the store has it at hand. */
  eventTime?: string;
  body: Record<string, unknown>;
  /** The body as JSON text, when the store keeps it as text (sent as is, never re-serialised). */
  json?: string;
  attempts: number;
  /** Epoch ms before which the dispatcher leaves it alone. */
  nextAttemptAt: number;
}

export interface DeadLetter extends Delivery {
  lastError: string;
  deadAt: string;
}

/** What became of one delivery attempt, recorded with others in one write (settleDeliveries). */
export type Settlement =
  | { kind: 'delivered'; eventId: string; subscriptionId: string; attempts: number; at: string }
  | { kind: 'retry'; eventId: string; subscriptionId: string; attempts: number; nextAttemptAt: number }
  | {
      kind: 'dead';
      eventId: string;
      subscriptionId: string;
      attempts: number;
      lastError: string;
      at: string;
    };

/** One subscriber's queue: how many deliveries wait, and the oldest one's event time. */
export interface SubscriberBacklog {
  subscriptionId: string;
  pending: number;
  oldestEventTime: string | undefined;
}

/** How many event records the store holds, by kind (retention keeps these flat). */
export interface EventRecordCounts {
  /** Events not routed yet. */
  outbox: number;
  pending: number;
  delivered: number;
  dead: number;
}

/** How to open another connection to the same data (the dispatcher's worker thread does). */
export type StoreLocation =
  | { store: 'sqlite'; path: string }
  | { store: 'mongodb'; uri: string; dbName: string; ttlIndex: boolean };

/**
 * When a cart was created and last written (WriteMeta.now of those writes), as the store keeps
 * them beside the document; queries name them by metadata paths (src/query/ast.ts).
 */
export type CartTimes = RecordTimes;

export interface ListResult {
  items: ShoppingCart[];
  /**
   * Each item's times, in the order of `items`, when the query asked for them (`withTimes`; the v5
   * view shows them as creationDate and lastUpdate). A store may also send them unasked.
   */
  times?: CartTimes[];
  /** The same items as JSON texts, when the store has them at hand and nothing was projected. */
  json?: string[];
  /** Every match, ignoring offset and limit (X-Total-Count). */
  total: number;
}

export interface WriteMeta {
  /**
   * Time of the write, injected by the caller, as Date.toISOString() spells it (the one spelling
   * in which metadata filters and sorting may compare it as text: src/store/mongo/filter.ts).
   */
  now: string;
  /** Epoch ms after which the cart is gone (validFor.endDateTime), if any. */
  expiresAt: number | undefined;
}

/**
 * The answer remembered for an Idempotency-Key (src/http/idempotency.ts): what the first request
 * with that key answered, sent again as it is to every retry.
 */
export interface RememberedAnswer {
  status: number;
  /** The headers that make the answer: Location, ETag, Content-Type. */
  headers: Record<string, string>;
  /** The body exactly as it was sent. */
  body: string;
}

/** One Idempotency-Key as stored: claimed by a request in flight, or done with its answer. */
export interface IdempotencyRecord {
  /** Who may use the key: the caller when authentication is on, '' for everyone otherwise. */
  scope: string;
  key: string;
  /** A digest of the operation and its body: the same key with a different one is refused. */
  fingerprint: string;
  /** The claim of the request that holds it: only that request completes or releases it. */
  token: string;
  /** Absent while the first request is in flight. */
  answer?: RememberedAnswer | undefined;
  /** Epoch ms after which the record is gone: the claim's lease, then the retention time. */
  expiresAt: number;
}

export type IdempotencyClaim = { claimed: true } | { claimed: false; record: IdempotencyRecord };

/**
 * What a write makes of the cart it read (Store.updateCart): nothing, a new version with its
 * events, or the cart's deletion with its events.
 */
export type CartWrite =
  | { kind: 'none' }
  | { kind: 'replace'; doc: ShoppingCart; meta: WriteMeta; events: OutboxRecord[] }
  | { kind: 'delete'; events: OutboxRecord[] };

export interface Store {
  readonly name: string;
  /** Where the data lives, when another connection can reach it (not an in-memory database). */
  readonly location?: StoreLocation;
  /**
   * Runs `fn` holding this connection's lock on one cart document, when the store has one (the
   * MongoDB store serialises writes per cart; routing on another connection borrows it).
   */
  lockCart?<T>(id: string, fn: () => Promise<T>): Promise<T>;

  /** Inserts a new cart at version 1 with its events, atomically. */
  createCart(doc: ShoppingCart, meta: WriteMeta, events: OutboxRecord[]): Promise<StoredCart>;
  /** The live cart, or undefined when unknown, deleted or expired at `nowMs`. */
  getCart(id: string, nowMs: number): Promise<StoredCart | undefined>;
  /** Filters, sorts, pages and projects in the database. Expired carts are never listed. */
  listCarts(query: ListQuery, nowMs: number): Promise<ListResult>;
  /**
   * Replaces the cart if its version is still `expectedVersion`, with its events, atomically.
   * Throws a VersionConflict (src/errors.ts) when the version moved on, NOT_FOUND when the cart is gone.
   */
  replaceCart(
    id: string,
    expectedVersion: number,
    doc: ShoppingCart,
    meta: WriteMeta,
    events: OutboxRecord[],
  ): Promise<StoredCart>;
  /**
   * Deletes the cart (only at `expectedVersion` when given), with its events, atomically.
   * Returns false when there was no live cart; throws a VersionConflict on a version mismatch.
   */
  deleteCart(
    id: string,
    expectedVersion: number | undefined,
    nowMs: number,
    events: OutboxRecord[],
  ): Promise<boolean>;
  /**
   * Optional, for a store whose writers take turns (SQLite, across processes too): reads the live
   * cart and writes what `decide` makes of it in one transaction, so no other writer can come
   * between the read and the write and version conflicts cannot happen. `decide` is synchronous,
   * may run more than once (a batch tried again) and may throw: then nothing is written and the
   * call rejects with that error. Throws NOT_FOUND when there is no live cart at `nowMs`. Resolves
   * with what was written and the cart as stored after the write (as read for 'none', 'delete').
   */
  updateCart?(
    id: string,
    nowMs: number,
    decide: (current: StoredCart) => CartWrite,
  ): Promise<{ cart: StoredCart; written: CartWrite['kind'] }>;
  /** Removes carts expired at `nowMs`; returns how many. */
  purgeExpired(nowMs: number): Promise<number>;

  /**
   * Throws CONFLICT when the same owner (or, without one, the admin side) already has a
   * subscription with this callback and query: uniqueness is per owner, so one tenant's
   * subscription neither blocks nor reveals another's.
   */
  createSubscription(sub: StoredSubscription): Promise<StoredSubscription>;
  /** The subscription of `owner` (undefined: one without an owner) with this callback and query. */
  findSubscription(callback: string, query: string, owner?: string): Promise<StoredSubscription | undefined>;
  getSubscription(id: string): Promise<StoredSubscription | undefined>;
  /** Every subscription by id; with `owner`, only those that party created. */
  listSubscriptions(owner?: string): Promise<StoredSubscription[]>;
  /**
   * Deletes the subscription and its pending deliveries; false when it did not exist. A store that
   * deletes the deliveries in a second step also deletes those left of a subscription already
   * gone (maintenance asks for each subscription in the backlog that is no longer stored).
   */
  deleteSubscription(id: string): Promise<boolean>;

  /**
   * Fans recorded events out into per-subscriber deliveries (`route` picks the subscribers and
   * shapes the body for each) and removes them from the outbox; returns how many events it moved.
   * A store may hand `route` an event whose body is parsed only if `route` reads it.
   */
  routeOutbox(
    route: (event: OutboxRecord) => RouteTarget[],
    max: number,
    /** Receives the deliveries made, as stored, so the caller need not read them back. */
    routed?: (deliveries: Delivery[]) => void,
  ): Promise<number>;
  /**
   * A subscriber's pending deliveries with a routing number above `afterSeq`, in routing order
   * (the dispatcher's read window; due or not).
   */
  pendingAfter(subscriptionId: string, afterSeq: number, max: number): Promise<Delivery[]>;
  /**
   * Records many outcomes in one write: delivered ones leave the queue for the delivered record
   * (without their body), retried ones wait until nextAttemptAt, dead ones become dead letters.
   * An outcome for a delivery that is no longer pending is ignored.
   */
  settleDeliveries(settlements: Settlement[]): Promise<void>;
  /** Every subscriber with pending deliveries. */
  backlog(): Promise<SubscriberBacklog[]>;
  /**
   * Dead-letters a subscriber's oldest pending deliveries beyond the newest `keep`, with
   * `lastError`; returns those it moved. Beyond the newest `keep` when it starts: in several
   * writes, so deliveries arriving meanwhile are left for the next call.
   */
  capBacklog(subscriptionId: string, keep: number, lastError: string, now: string): Promise<Delivery[]>;
  /**
   * Removes delivered records older than `deliveredBefore` and dead letters older than
   * `deadBefore` (ISO times), at most `max` of each; returns how many of each went.
   */
  pruneEventRecords(
    deliveredBefore: string,
    deadBefore: string,
    max: number,
  ): Promise<{ delivered: number; dead: number }>;
  eventRecordCounts(): Promise<EventRecordCounts>;
  /**
   * Deliveries due at `nowMs`, at most one per (subscription, cart) — the oldest — so that
   * per-cart order holds for each subscriber.
   */
  dueDeliveries(nowMs: number, max: number): Promise<Delivery[]>;
  completeDelivery(eventId: string, subscriptionId: string): Promise<void>;
  retryDelivery(
    eventId: string,
    subscriptionId: string,
    attempts: number,
    nextAttemptAt: number,
  ): Promise<void>;
  deadLetter(
    eventId: string,
    subscriptionId: string,
    attempts: number,
    lastError: string,
    now: string,
  ): Promise<void>;
  listDeadLetters(): Promise<DeadLetter[]>;
  pendingDeliveries(): Promise<number>;

  /**
   * Takes the key for a request (its record is inserted with the request's token and fingerprint,
   * no answer, expiring at the lease), atomically: of any number of concurrent claims of one key
   * exactly one succeeds. A record expired at `nowMs` counts as absent. Otherwise returns the
   * record that holds the key.
   */
  claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<IdempotencyClaim>;
  /** Records the answer and the retention expiry, if `token` still holds the key; says whether. */
  completeIdempotencyKey(
    scope: string,
    key: string,
    token: string,
    answer: RememberedAnswer,
    expiresAt: number,
  ): Promise<boolean>;
  /** Gives the key up (the request failed and created nothing), if `token` still holds it. */
  releaseIdempotencyKey(scope: string, key: string, token: string): Promise<void>;
  /** Removes the records expired at `nowMs`; returns how many. */
  purgeIdempotencyKeys(nowMs: number): Promise<number>;

  /** Throws STORE_UNAVAILABLE when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The Store's methods by concern: what each adapter's parts provide (optional ones may be left out). */
export type CartMethods = Pick<
  Store,
  | 'lockCart'
  | 'createCart'
  | 'getCart'
  | 'listCarts'
  | 'replaceCart'
  | 'deleteCart'
  | 'updateCart'
  | 'purgeExpired'
>;
export type SubscriptionMethods = Pick<
  Store,
  'createSubscription' | 'findSubscription' | 'getSubscription' | 'listSubscriptions' | 'deleteSubscription'
>;
export type EventMethods = Pick<
  Store,
  | 'routeOutbox'
  | 'pendingAfter'
  | 'settleDeliveries'
  | 'backlog'
  | 'capBacklog'
  | 'pruneEventRecords'
  | 'eventRecordCounts'
  | 'dueDeliveries'
  | 'completeDelivery'
  | 'retryDelivery'
  | 'deadLetter'
  | 'listDeadLetters'
  | 'pendingDeliveries'
>;
export type IdempotencyMethods = Pick<
  Store,
  'claimIdempotencyKey' | 'completeIdempotencyKey' | 'releaseIdempotencyKey' | 'purgeIdempotencyKeys'
>;
