/**
 * The MongoDB store (also tested on FerretDB, which speaks the same wire protocol).
 *
 * Atomicity without transactions: MongoDB writes one document atomically, and FerretDB has no
 * transactions at all, so everything a cart write must commit together lives in the cart's own
 * document: `{ _id, doc, _m: { version, createdAt, updatedAt, expiresAt, deleted, pending, dates } }`.
 * - `doc` is the TMF document (keys escaped, nested arrays wrapped: src/query/mongo.ts).
 * - `_m.pending` is the cart's outbox: its events in order, pushed by the same update that
 *   changes the cart (transactional outbox without a transaction).
 * - A delete is a soft delete (`_m.deleted`, version bumped, delete event pushed), so the event
 *   cannot be lost; routeOutbox removes the document once its events are routed, and
 *   purgeExpired sweeps the rest.
 * - Writes are conditional updates on `_m.version` (optimistic concurrency); when nothing
 *   matched, a second read tells a VersionConflict from NOT_FOUND.
 * - `_m.dates` holds the epoch ms of every date-time string per path, so date filters compare
 *   numbers (offsets differ between documents; see src/query/mongo.ts).
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
 */
import {
  MongoBulkWriteError,
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Db,
  type Filter,
  type UpdateFilter,
  type WriteError,
} from 'mongodb';
import type { ShoppingCart } from '../../api-types.js';
import {
  alreadyExists,
  cartNotFound,
  idempotencyKeyContended,
  internalError,
  queryTooExpensive,
  storeUnavailable,
  versionConflict,
} from '../../errors.js';
import type { Condition, ListQuery } from '../../query/ast.js';
import { compareForSort, matchesFilter, projectFields } from '../../query/evaluate.js';
import { regexScan } from '../../query/safe-regex.js';
import {
  compileFilter,
  compileProjection,
  compileSort,
  dateShadow,
  decodeDocument,
  encodeDocument,
  topLevelProjection,
} from './filter.js';
import type {
  DeadLetter,
  Delivery,
  IdempotencyClaim,
  IdempotencyRecord,
  EventRecordCounts,
  ListResult,
  OutboxRecord,
  RouteTarget,
  Settlement,
  Store,
  StoredCart,
  StoredSubscription,
  SubscriberBacklog,
  WriteMeta,
} from '../store.js';

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
  cartLock?: <T>(id: string, fn: () => Promise<T>) => Promise<T>;
}

type JsonObject = Record<string, unknown>;

interface PendingEvent {
  eventId: string;
  cartId: string;
  eventType: string;
  /** Encoded (src/query/mongo.ts). */
  body: JsonObject;
}

interface CartMeta {
  version: number;
  createdAt: string;
  updatedAt: string;
  expiresAt: Date | null;
  deleted: boolean;
  pending: PendingEvent[];
  dates: Record<string, number[]>;
}

interface CartDoc {
  _id: string;
  doc: JsonObject;
  _m: CartMeta;
}

interface DeliveryDoc {
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

interface DeadLetterDoc extends DeliveryDoc {
  lastError: string;
  deadAt: string;
}

interface SubscriptionDoc {
  _id: string;
  /** The owner, '' for none: the unique key is (owner, callback, query). */
  owner?: string;
  callback: string;
  query: string;
  doc: JsonObject;
}

/** An Idempotency-Key record; `_id` is idempotencyId(scope, key). */
interface IdempotencyDoc extends Omit<IdempotencyRecord, 'answer'> {
  _id: string;
  answer: IdempotencyRecord['answer'] | null;
}

/** One unambiguous string per (scope, key), whatever characters either holds. */
const idempotencyId = (scope: string, key: string): string => JSON.stringify([scope, key]);

interface DeliveredDoc {
  _id: string;
  eventId: string;
  subscriptionId: string;
  cartId: string;
  eventType: string;
  attempts: number;
  deliveredAt: string;
}

interface CounterDoc {
  _id: string;
  seq: number;
}

/**
 * On MongoDB, a TTL index removes expired carts an hour after they expired: not at once, because
 * a cart's last events may still wait in its outbox. purgeExpired is the exact sweep (it keeps
 * carts whose events are not routed yet); reads never depend on either.
 */
const ttlGraceSeconds = 3600;

// --- errors ---

/** Server error codes that mean "not reachable now" rather than "this request is wrong". */
const unavailableCodes = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);
const unavailableNames = new Set([
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoClientClosedError',
]);

function isUnavailable(e: unknown): boolean {
  if (
    e instanceof MongoNetworkError || // includes pool-cleared and network timeouts
    e instanceof MongoServerSelectionError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoTopologyClosedError ||
    e instanceof MongoServerClosedError ||
    e instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (e instanceof MongoServerError && typeof e.code === 'number' && unavailableCodes.has(e.code))
    return true;
  return e instanceof Error && unavailableNames.has(e.name);
}

const unavailable = (e: unknown): Error =>
  storeUnavailable(`MongoDB cannot be reached (${e instanceof Error ? e.name : 'error'})`);

/** Runs a store operation; a driver error that means "unreachable" becomes STORE_UNAVAILABLE. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // MaxTimeMSExpired: the query itself was too expensive, not the database unavailable.
    if (e instanceof MongoServerError && e.code === 50) {
      throw queryTooExpensive(
        `the query ran longer than ${listMaxTimeMs} ms in the database; add narrower conditions`,
      );
    }
    if (isUnavailable(e)) throw unavailable(e);
    throw e;
  }
}

const isDuplicateKey = (e: unknown): boolean => e instanceof MongoServerError && e.code === 11000;

/** An insertMany that failed only because some documents were there already. */
function onlyDuplicates(e: unknown): boolean {
  if (e instanceof MongoBulkWriteError) {
    const errors = ([] as WriteError[]).concat(e.writeErrors);
    return errors.length > 0 && errors.every((w) => w.code === 11000);
  }
  return isDuplicateKey(e);
}

const notImplemented = (e: unknown): boolean =>
  e instanceof MongoServerError && (e.code === 238 || e.codeName === 'NotImplemented');

const redact = (uri: string): string => uri.replace(/\/\/[^@/]*@/, '//***@');

// --- helpers ---

/** Carts that exist for readers at `nowMs`: not deleted, not expired. */
const live = (nowMs: number): Filter<CartDoc> => ({
  '_m.deleted': false,
  $or: [{ '_m.expiresAt': null }, { '_m.expiresAt': { $gt: new Date(nowMs) } }],
});

const isLive = (meta: Pick<CartMeta, 'deleted' | 'expiresAt'>, nowMs: number): boolean =>
  !meta.deleted && (meta.expiresAt === null || meta.expiresAt.getTime() > nowMs);

/** Carts with events in their outbox, by a range on the indexed first event id. */
const hasOutbox: Filter<CartDoc> = { '_m.pending.0.eventId': { $gte: '' } };

const toDate = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));

const encodeEvent = (e: OutboxRecord): PendingEvent => ({
  eventId: e.eventId,
  cartId: e.cartId,
  eventType: e.eventType,
  body: encodeDocument(e.body),
});

/** Unambiguous for any pair of ids (`:` and `%` in the event id are escaped). */
const deliveryId = (eventId: string, subscriptionId: string): string =>
  `${eventId.replaceAll('%', '%25').replaceAll(':', '%3A')}:${subscriptionId}`;

const toDelivery = (d: DeliveryDoc): Delivery => {
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

/**
 * Runs `fn` after every earlier call with the same key has finished (see the module comment on
 * FerretDB). Keys are forgotten once their queue is empty.
 */
function keyedLock(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release = (): void => undefined;
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => turn);
    tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function connect(client: MongoClient, options: MongoOptions): Promise<void> {
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

async function createIndexes(db: Db, ttl: boolean): Promise<void> {
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

/**
 * Longest a list query may run in MongoDB (maxTimeMS): its own regex engine (PCRE on MongoDB)
 * backtracks, and nothing else would stop a slow pattern there. Past it the client gets a 400.
 */
export const listMaxTimeMs = 5_000;

// --- the store ---

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

  const carts: Collection<CartDoc> = db.collection<CartDoc>('carts');
  const deliveries: Collection<DeliveryDoc> = db.collection<DeliveryDoc>('deliveries');
  const deadLetters: Collection<DeadLetterDoc> = db.collection<DeadLetterDoc>('deadLetters');
  const subscriptions: Collection<SubscriptionDoc> = db.collection<SubscriptionDoc>('subscriptions');
  const counters: Collection<CounterDoc> = db.collection<CounterDoc>('counters');

  // An event is for the subscriptions that exist when it happens: with none there is nobody to
  // tell, and nothing is recorded (as in SQLite). Without transactions the look is just before
  // the write; a subscription made at the same moment may or may not see that write's event,
  // as with any two concurrent requests.
  const recordable = async (events: OutboxRecord[]): Promise<OutboxRecord[]> =>
    events.length > 0 && (await subscriptions.findOne({}, { projection: { _id: 1 } })) !== null ? events : [];

  const writeLock = keyedLock();
  const cartLock = options.cartLock ?? writeLock;
  const delivered: Collection<DeliveredDoc> = db.collection<DeliveredDoc>('delivered');
  const counterKey = '\u0000counter';

  // "Oldest delivery per (subscription, cart)" is one aggregation with $first on MongoDB;
  // FerretDB 1.24 has no $first (NotImplemented), so there the heads are found by a scan.
  let groupFirst: boolean | undefined;

  const metaProjection = { '_m.version': 1, '_m.deleted': 1, '_m.expiresAt': 1 } as const;

  const readMeta = (id: string) =>
    carts.findOne({ _id: id }, { projection: metaProjection }) as Promise<Pick<CartDoc, '_id' | '_m'> | null>;

  const createCart = async (
    doc: ShoppingCart,
    meta: WriteMeta,
    events: OutboxRecord[],
  ): Promise<StoredCart> => {
    const id = doc.id;
    if (typeof id !== 'string') throw internalError('A cart to store has no id');
    const stored = encodeDocument(doc);
    const expiresAt = toDate(meta.expiresAt);
    const dates = dateShadow(doc);
    const pending = (await recordable(events)).map(encodeEvent);
    try {
      await carts.insertOne({
        _id: id,
        doc: stored,
        _m: {
          version: 1,
          createdAt: meta.now,
          updatedAt: meta.now,
          expiresAt,
          deleted: false,
          pending,
          dates,
        },
      });
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      // The id of a deleted cart whose events are still being routed may be used again (as in
      // SQLite, where the row is gone): its outbox stays, in order, ahead of the new events.
      const update: UpdateFilter<CartDoc> = {
        $set: {
          doc: stored,
          '_m.version': 1,
          '_m.createdAt': meta.now,
          '_m.updatedAt': meta.now,
          '_m.expiresAt': expiresAt,
          '_m.deleted': false,
          '_m.dates': dates,
        },
      };
      if (pending.length > 0) update.$push = { '_m.pending': { $each: pending } };
      const reused = await carts.updateOne({ _id: id, '_m.deleted': true }, update);
      if (reused.matchedCount === 0) throw alreadyExists();
    }
    return { doc, version: 1, createdAt: meta.now, updatedAt: meta.now };
  };

  const getCart = async (id: string, nowMs: number): Promise<StoredCart | undefined> => {
    const row = await carts.findOne(
      { _id: id, ...live(nowMs) },
      { projection: { doc: 1, '_m.version': 1, '_m.createdAt': 1, '_m.updatedAt': 1 } },
    );
    if (!row) return undefined;
    return {
      doc: decodeDocument(row.doc) as ShoppingCart,
      version: row._m.version,
      createdAt: row._m.createdAt,
      updatedAt: row._m.updatedAt,
    };
  };

  const replaceCart = async (
    id: string,
    expected: number,
    doc: ShoppingCart,
    meta: WriteMeta,
    events: OutboxRecord[],
  ): Promise<StoredCart> => {
    const nowMs = Date.parse(meta.now);
    const update: UpdateFilter<CartDoc> = {
      $set: {
        doc: encodeDocument(doc),
        '_m.version': expected + 1,
        '_m.updatedAt': meta.now,
        '_m.expiresAt': toDate(meta.expiresAt),
        '_m.dates': dateShadow(doc),
      },
    };
    const recorded = await recordable(events);
    if (recorded.length > 0) update.$push = { '_m.pending': { $each: recorded.map(encodeEvent) } };
    // FerretDB 1.24 cannot project a findAndModify result, so the whole document comes back.
    const before = await carts.findOneAndUpdate({ _id: id, '_m.version': expected, ...live(nowMs) }, update, {
      returnDocument: 'before',
    });
    if (before) return { doc, version: expected + 1, createdAt: before._m.createdAt, updatedAt: meta.now };
    const current = await readMeta(id);
    if (!current || !isLive(current._m, nowMs)) throw cartNotFound(id);
    throw versionConflict(id);
  };

  const deleteCart = async (
    id: string,
    expected: number | undefined,
    nowMs: number,
    events: OutboxRecord[],
  ): Promise<boolean> => {
    const update: UpdateFilter<CartDoc> = {
      $set: { '_m.deleted': true, '_m.updatedAt': new Date(nowMs).toISOString() },
      $inc: { '_m.version': 1 },
    };
    const recorded = await recordable(events);
    if (recorded.length > 0) update.$push = { '_m.pending': { $each: recorded.map(encodeEvent) } };
    for (let attempt = 1; ; attempt++) {
      const filter: Filter<CartDoc> = { _id: id, ...live(nowMs) };
      if (expected !== undefined) filter['_m.version'] = expected;
      const result = await carts.updateOne(filter, update);
      if (result.matchedCount === 1) return true;
      const current = await readMeta(id);
      if (!current || !isLive(current._m, nowMs)) return false;
      if (expected !== undefined || attempt >= 3) throw versionConflict(id);
      // Without an expected version, the cart appeared between the two reads: try again.
    }
  };

  const purgeExpired = async (nowMs: number): Promise<number> => {
    const expired: Filter<CartDoc> = { '_m.expiresAt': { $lte: new Date(nowMs) }, '_m.deleted': false };
    const removed = await carts.deleteMany({ ...expired, '_m.pending': { $size: 0 } });
    // A cart whose events are not routed yet goes once they are (routeOutbox), like a deleted
    // one. Few carts expire with events still waiting: one at a time, under the cart's lock.
    const waiting = await carts.find(expired, { projection: { _id: 1 } }).toArray();
    let retired = 0;
    for (const { _id } of waiting) {
      const result = await writeLock(_id, () =>
        carts.updateOne({ _id, ...expired }, { $set: { '_m.deleted': true } }),
      );
      retired += result.modifiedCount;
    }
    // Deleted carts left behind by an interrupted routeOutbox (rare: one at a time, locked).
    const leftovers = await carts
      .find({ '_m.deleted': true, '_m.pending': { $size: 0 } }, { projection: { _id: 1 } })
      .toArray();
    for (const { _id } of leftovers) await removeIfDone(_id);
    return removed.deletedCount + retired;
  };

  const listCarts = async (query: ListQuery, nowMs: number): Promise<ListResult> => {
    const plan = compileFilter(query.filter);
    const where: Filter<CartDoc> =
      Object.keys(plan.filter).length === 0
        ? live(nowMs)
        : { $and: [live(nowMs), plan.filter as Filter<CartDoc>] };
    const sort = compileSort(query.sort);
    const projection = compileProjection(query.fields) ?? { doc: 1 };
    const present = (stored: JsonObject): ShoppingCart => {
      const doc = decodeDocument(stored);
      return (query.fields === undefined ? doc : projectFields(doc, query.fields)) as ShoppingCart;
    };

    if (plan.residual.length === 0 && sort !== undefined) {
      const total = await carts.countDocuments(where, { maxTimeMS: listMaxTimeMs });
      // limit 0 means "no limit" to MongoDB.
      if (query.limit === 0 || query.offset >= total) return { items: [], total };
      const rows = await carts
        .find(where, { projection, sort, skip: query.offset, limit: query.limit, maxTimeMS: listMaxTimeMs })
        .toArray();
      return { items: rows.map((r) => present(r.doc)), total };
    }

    // What MongoDB cannot decide exactly is decided by the reference evaluator: read the members
    // it needs from every candidate, filter, sort and page here, then read the page.
    const residual: { conditions: Condition[] } = { conditions: plan.residual };
    const needed = [...plan.residual.map((c) => c.path), ...query.sort.map((k) => k.path)];
    const candidates = await carts
      .find(where, { projection: topLevelProjection(needed), maxTimeMS: listMaxTimeMs })
      .toArray();
    // In slices of at most one regex budget each, the loop turning between them (safe-regex.ts).
    const matches: { id: string; doc: JsonObject }[] = [];
    let next = 0;
    await regexScan((size) => {
      const slice = candidates
        .slice(next, next + size)
        .map((r) => ({ id: r._id, doc: decodeDocument(r.doc) }))
        .filter((c) => matchesFilter(residual, c.doc));
      matches.push(...slice);
      next = Math.min(next + size, candidates.length);
      return { taken: size, done: next >= candidates.length };
    });
    const byOrder = compareForSort(query.sort);
    matches.sort((a, b) => byOrder(a.doc, b.doc));
    const pageIds = matches.slice(query.offset, query.offset + query.limit).map((m) => m.id);
    if (pageIds.length === 0) return { items: [], total: matches.length };
    const rows = await carts.find({ _id: { $in: pageIds }, ...live(nowMs) }, { projection }).toArray();
    const byId = new Map(rows.map((r) => [r._id, r]));
    const items: ShoppingCart[] = [];
    for (const id of pageIds) {
      const row = byId.get(id);
      if (row) items.push(present(row.doc));
    }
    return { items, total: matches.length };
  };

  /** Removes a deleted cart whose outbox is empty. */
  const removeIfDone = (id: string): Promise<unknown> =>
    cartLock(id, () => carts.deleteOne({ _id: id, '_m.deleted': true, '_m.pending': { $size: 0 } }));

  const nextSeq = (): Promise<number> => writeLock(counterKey, incrementSeq);

  const incrementSeq = async (): Promise<number> => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const counter = await counters.findOneAndUpdate(
          { _id: 'deliveries' },
          { $inc: { seq: 1 } },
          { upsert: true, returnDocument: 'after' },
        );
        if (counter) return counter.seq;
      } catch (e) {
        // Two first-ever upserts raced; the loser finds the counter on the next try.
        if (!isDuplicateKey(e)) throw e;
      }
    }
    throw new Error('the delivery counter could not be incremented');
  };

  const routeOutbox = async (
    route: (event: OutboxRecord) => RouteTarget[],
    max: number,
    routed?: (deliveries: Delivery[]) => void,
  ): Promise<number> => {
    if (max <= 0) return 0;
    let moved = 0;
    const outboxProjection = { '_m.pending': 1, '_m.deleted': 1 } as const;
    type OutboxRow = { _id: string; _m: Pick<CartMeta, 'pending' | 'deleted'> };
    const rows = (await carts
      .find(hasOutbox, { projection: outboxProjection })
      .limit(max)
      .toArray()) as OutboxRow[];
    for (const row of rows) {
      if (moved >= max) break;
      let { pending, deleted } = row._m;
      while (pending.length > 0 && moved < max) {
        const [head] = pending;
        if (!head) break;
        let body: Record<string, unknown> | undefined;
        const event: OutboxRecord = {
          eventId: head.eventId,
          cartId: head.cartId,
          eventType: head.eventType,
          // Decoded only if routing looks inside (a payload filter or fields).
          get body(): Record<string, unknown> {
            body ??= decodeDocument(head.body);
            return body;
          },
        };
        const targets = route(event);
        if (targets.length > 0) {
          const seq = await nextSeq();
          const made: DeliveryDoc[] = targets.map((t) => ({
            _id: deliveryId(event.eventId, t.subscriptionId),
            eventId: event.eventId,
            subscriptionId: t.subscriptionId,
            cartId: event.cartId,
            seq,
            eventType: event.eventType,
            body: t.body === undefined ? head.body : encodeDocument(t.body),
            attempts: 0,
            nextAttemptAt: 0,
          }));
          let fresh = true;
          try {
            await deliveries.insertMany(made, { ordered: false });
          } catch (e) {
            // Routed before by a router that stopped before popping: the deliveries stand.
            if (!onlyDuplicates(e)) throw e;
            fresh = false;
          }
          if (fresh && routed) routed(made.map(toDelivery));
        }
        const popped = await cartLock(row._id, () =>
          carts.updateOne(
            { _id: row._id, '_m.pending.0.eventId': head.eventId },
            { $pop: { '_m.pending': -1 } },
          ),
        );
        if (popped.modifiedCount === 1) {
          moved += 1;
          pending = pending.slice(1);
        } else {
          // Another router moved it first: carry on from what the cart holds now.
          const fresh = (await carts.findOne(
            { _id: row._id },
            { projection: outboxProjection },
          )) as OutboxRow | null;
          pending = fresh?._m.pending ?? [];
          deleted = fresh?._m.deleted ?? false;
        }
      }
      if (pending.length === 0 && deleted) await removeIfDone(row._id);
    }
    return moved;
  };

  /** The oldest delivery of each (subscription, cart) that is due, oldest first. */
  const dueHeads = async (nowMs: number, max: number): Promise<string[]> => {
    if (groupFirst !== false) {
      try {
        const heads = await deliveries
          .aggregate<{ id: string }>([
            { $sort: { subscriptionId: 1, cartId: 1, seq: 1 } },
            {
              $group: {
                _id: { s: '$subscriptionId', c: '$cartId' },
                id: { $first: '$_id' },
                seq: { $first: '$seq' },
                due: { $first: '$nextAttemptAt' },
              },
            },
            { $match: { due: { $lte: nowMs } } },
            { $sort: { seq: 1, id: 1 } },
            { $limit: max },
          ])
          .toArray();
        groupFirst = true;
        return heads.map((h) => h.id);
      } catch (e) {
        if (!notImplemented(e)) throw e;
        groupFirst = false;
      }
    }
    const rows = await deliveries
      .find({}, { projection: { subscriptionId: 1, cartId: 1, seq: 1, nextAttemptAt: 1 } })
      .sort({ subscriptionId: 1, cartId: 1, seq: 1 })
      .toArray();
    const heads: { id: string; seq: number }[] = [];
    let previous: string | undefined;
    for (const r of rows) {
      const pair = JSON.stringify([r.subscriptionId, r.cartId]);
      if (pair === previous) continue;
      previous = pair;
      if (r.nextAttemptAt <= nowMs) heads.push({ id: r._id, seq: r.seq });
    }
    heads.sort((a, b) => a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return heads.slice(0, max).map((h) => h.id);
  };

  const dueDeliveries = async (nowMs: number, max: number): Promise<Delivery[]> => {
    if (max <= 0) return [];
    const ids = await dueHeads(nowMs, max);
    if (ids.length === 0) return [];
    const rows = await deliveries.find({ _id: { $in: ids } }).toArray();
    const order = new Map(ids.map((id, i) => [id, i]));
    rows.sort((a, b) => (order.get(a._id) ?? 0) - (order.get(b._id) ?? 0));
    return rows.map(toDelivery);
  };

  const deadLetter = async (
    eventId: string,
    subscriptionId: string,
    attempts: number,
    lastError: string,
    deadAt: string,
  ): Promise<void> => {
    const _id = deliveryId(eventId, subscriptionId);
    const row = await deliveries.findOne({ _id });
    if (!row) return;
    // Upsert first, then delete: a crash in between dead-letters it again, never loses it.
    await deadLetters.replaceOne({ _id }, { ...row, attempts, lastError, deadAt }, { upsert: true });
    await deliveries.deleteOne({ _id });
  };

  const subscriptionOf = (row: SubscriptionDoc | null): StoredSubscription | undefined =>
    row ? (decodeDocument(row.doc) as unknown as StoredSubscription) : undefined;
  const settleDeliveries = async (list: Settlement[]): Promise<void> => {
    if (list.length === 0) return;
    const ids = (kind: Settlement['kind']): string[] =>
      list.filter((x) => x.kind === kind).map((x) => deliveryId(x.eventId, x.subscriptionId));
    const done = [...ids('delivered'), ...ids('dead')];
    const rows = done.length === 0 ? [] : await deliveries.find({ _id: { $in: done } }).toArray();
    const byId = new Map(rows.map((r) => [r._id, r]));
    // Records first, then the queue: a crash in between delivers or dead-letters again, never loses.
    const deliveredOps = [];
    const deadOps = [];
    const retryOps = [];
    for (const x of list) {
      const _id = deliveryId(x.eventId, x.subscriptionId);
      const row = byId.get(_id);
      if (x.kind === 'retry') {
        retryOps.push({
          updateOne: {
            filter: { _id },
            update: { $set: { attempts: x.attempts, nextAttemptAt: x.nextAttemptAt } },
          },
        });
      } else if (!row) {
        continue; // no longer pending (unsubscribed, capped or settled by another dispatcher)
      } else if (x.kind === 'delivered') {
        const record: DeliveredDoc = {
          _id,
          eventId: row.eventId,
          subscriptionId: row.subscriptionId,
          cartId: row.cartId,
          eventType: row.eventType,
          attempts: x.attempts,
          deliveredAt: x.at,
        };
        deliveredOps.push({ replaceOne: { filter: { _id }, replacement: record, upsert: true } });
      } else {
        const record: DeadLetterDoc = { ...row, attempts: x.attempts, lastError: x.lastError, deadAt: x.at };
        deadOps.push({ replaceOne: { filter: { _id }, replacement: record, upsert: true } });
      }
    }
    if (deliveredOps.length > 0) await delivered.bulkWrite(deliveredOps, { ordered: false });
    if (deadOps.length > 0) await deadLetters.bulkWrite(deadOps, { ordered: false });
    if (retryOps.length > 0) await deliveries.bulkWrite(retryOps, { ordered: false });
    if (rows.length > 0) await deliveries.deleteMany({ _id: { $in: rows.map((r) => r._id) } });
  };

  const pendingAfter = async (subscriptionId: string, afterSeq: number, max: number): Promise<Delivery[]> =>
    max <= 0
      ? []
      : (
          await deliveries
            .find({ subscriptionId, seq: { $gt: afterSeq } })
            .sort({ seq: 1 })
            .limit(max)
            .toArray()
        ).map(toDelivery);

  const backlog = async (): Promise<SubscriberBacklog[]> => {
    const subs = (await deliveries.distinct('subscriptionId')).sort();
    const out: SubscriberBacklog[] = [];
    for (const subscriptionId of subs) {
      const pending = await deliveries.countDocuments({ subscriptionId });
      if (pending === 0) continue;
      const [oldest] = await deliveries.find({ subscriptionId }).sort({ seq: 1 }).limit(1).toArray();
      const time = oldest?.body.eventTime;
      out.push({ subscriptionId, pending, oldestEventTime: typeof time === 'string' ? time : undefined });
    }
    return out;
  };

  const capBacklog = async (
    subscriptionId: string,
    keep: number,
    lastError: string,
    deadAt: string,
  ): Promise<Delivery[]> => {
    const [cutoff] = await deliveries
      .find({ subscriptionId }, { projection: { seq: 1 } })
      .sort({ seq: -1 })
      .skip(keep)
      .limit(1)
      .toArray();
    if (!cutoff) return [];
    const rows = await deliveries
      .find({ subscriptionId, seq: { $lte: cutoff.seq } })
      .sort({ seq: 1 })
      .limit(2000)
      .toArray();
    if (rows.length === 0) return [];
    await deadLetters.bulkWrite(
      rows.map((r) => ({
        replaceOne: { filter: { _id: r._id }, replacement: { ...r, lastError, deadAt }, upsert: true },
      })),
      { ordered: false },
    );
    await deliveries.deleteMany({ _id: { $in: rows.map((r) => r._id) } });
    return rows.map(toDelivery);
  };

  const pruneEventRecords = async (
    deliveredBefore: string,
    deadBefore: string,
    max: number,
  ): Promise<{ delivered: number; dead: number }> => {
    const oldDelivered = await delivered
      .find({ deliveredAt: { $lt: deliveredBefore } }, { projection: { _id: 1 } })
      .limit(max)
      .toArray();
    const oldDead = await deadLetters
      .find({ deadAt: { $lt: deadBefore } }, { projection: { _id: 1 } })
      .limit(max)
      .toArray();
    const gone = async <T extends { _id: string }>(
      c: Collection<T>,
      rows: { _id: string }[],
    ): Promise<number> =>
      rows.length === 0
        ? 0
        : (await c.deleteMany({ _id: { $in: rows.map((r) => r._id) } } as Filter<T>)).deletedCount;
    return { delivered: await gone(delivered, oldDelivered), dead: await gone(deadLetters, oldDead) };
  };

  const outboxCount = async (): Promise<number> => {
    const [outbox] = await carts
      .aggregate<{
        n: number;
      }>([{ $match: hasOutbox }, { $unwind: '$_m.pending' }, { $count: 'n' }])
      .toArray();
    return outbox?.n ?? 0;
  };

  const eventRecordCounts = async (): Promise<EventRecordCounts> => ({
    outbox: await outboxCount(),
    pending: await deliveries.countDocuments({}),
    delivered: await delivered.countDocuments({}),
    dead: await deadLetters.countDocuments({}),
  });

  // The owner travels inside doc (the whole stored subscription), as in SQLite.
  const createSubscription = async (sub: StoredSubscription): Promise<StoredSubscription> => {
    try {
      await subscriptions.insertOne({
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
  };

  const deleteSubscription = async (id: string): Promise<boolean> => {
    const result = await subscriptions.deleteOne({ _id: id });
    if (result.deletedCount === 0) return false;
    await deliveries.deleteMany({ subscriptionId: id });
    return true;
  };

  const pendingDeliveries = async (): Promise<number> =>
    (await deliveries.countDocuments({})) + (await outboxCount());

  const idempotencyKeys = db.collection<IdempotencyDoc>('idempotencyKeys');

  /**
   * Inserting a document with the key's _id is the claim: the unique _id lets exactly one of any
   * number of concurrent inserts succeed, on MongoDB and FerretDB alike. An expired record is
   * removed (only that one, by its token) and the insert tried again. Callers hold writeLock on
   * the _id, because FerretDB's conditional delete is not atomic (see the top of this file).
   */
  const claimIdempotencyKey = async (record: IdempotencyRecord, nowMs: number): Promise<IdempotencyClaim> => {
    const _id = idempotencyId(record.scope, record.key);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await idempotencyKeys.insertOne({ ...record, _id, answer: null });
        return { claimed: true };
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
      }
      const held = await idempotencyKeys.findOne({ _id });
      if (held === null) continue; // released or purged in between: claim again
      if (held.expiresAt > nowMs) {
        const { _id: _, answer, ...rest } = held;
        return { claimed: false, record: { ...rest, answer: answer ?? undefined } };
      }
      await idempotencyKeys.deleteOne({ _id, token: held.token });
    }
    throw idempotencyKeyContended(record.key);
  };

  return {
    name: 'mongodb',
    location: {
      store: 'mongodb',
      uri: options.uri,
      dbName: options.dbName,
      ttlIndex: options.ttlIndex ?? true,
    },
    lockCart: (id, fn) => writeLock(id, fn),
    createCart: (doc, meta, events) =>
      guard(() => writeLock(doc.id ?? '', () => createCart(doc, meta, events))),
    getCart: (id, nowMs) => guard(() => getCart(id, nowMs)),
    listCarts: (query, nowMs) => guard(() => listCarts(query, nowMs)),
    replaceCart: (id, expected, doc, meta, events) =>
      guard(() => writeLock(id, () => replaceCart(id, expected, doc, meta, events))),
    deleteCart: (id, expected, nowMs, events) =>
      guard(() => writeLock(id, () => deleteCart(id, expected, nowMs, events))),
    purgeExpired: (nowMs) => guard(() => purgeExpired(nowMs)),

    createSubscription: (sub) => guard(() => createSubscription(sub)),
    findSubscription: (callback, query, owner) =>
      guard(async () => subscriptionOf(await subscriptions.findOne({ owner: owner ?? '', callback, query }))),
    getSubscription: (id) => guard(async () => subscriptionOf(await subscriptions.findOne({ _id: id }))),
    listSubscriptions: (owner) =>
      guard(async () =>
        (
          await subscriptions
            .find(owner === undefined ? {} : { 'doc.owner': owner })
            .sort({ _id: 1 })
            .toArray()
        ).map((row) => decodeDocument(row.doc) as unknown as StoredSubscription),
      ),
    deleteSubscription: (id) => guard(() => deleteSubscription(id)),

    routeOutbox: (route, max, routed) => guard(() => routeOutbox(route, max, routed)),
    pendingAfter: (subscriptionId, afterSeq, max) => guard(() => pendingAfter(subscriptionId, afterSeq, max)),
    settleDeliveries: (list) => guard(() => settleDeliveries(list)),
    backlog: () => guard(backlog),
    capBacklog: (subscriptionId, keep, lastError, now) =>
      guard(() => capBacklog(subscriptionId, keep, lastError, now)),
    pruneEventRecords: (deliveredBefore, deadBefore, max) =>
      guard(() => pruneEventRecords(deliveredBefore, deadBefore, max)),
    eventRecordCounts: () => guard(eventRecordCounts),
    dueDeliveries: (nowMs, max) => guard(() => dueDeliveries(nowMs, max)),
    completeDelivery: (eventId, subscriptionId) =>
      guard(() =>
        settleDeliveries([
          { kind: 'delivered', eventId, subscriptionId, attempts: 1, at: new Date().toISOString() },
        ]),
      ),
    retryDelivery: (eventId, subscriptionId, attempts, nextAttemptAt) =>
      guard(async () => {
        await deliveries.updateOne(
          { _id: deliveryId(eventId, subscriptionId) },
          { $set: { attempts, nextAttemptAt } },
        );
      }),
    deadLetter: (eventId, subscriptionId, attempts, lastError, now) =>
      guard(() => deadLetter(eventId, subscriptionId, attempts, lastError, now)),
    listDeadLetters: () =>
      guard(async () =>
        (await deadLetters.find({}).sort({ deadAt: 1, eventId: 1 }).toArray()).map(
          (r): DeadLetter => ({ ...toDelivery(r), lastError: r.lastError, deadAt: r.deadAt }),
        ),
      ),
    pendingDeliveries: () => guard(pendingDeliveries),

    claimIdempotencyKey: (record, nowMs) =>
      guard(() =>
        writeLock(idempotencyId(record.scope, record.key), () => claimIdempotencyKey(record, nowMs)),
      ),
    completeIdempotencyKey: (scope, key, token, answer, expiresAt) =>
      guard(() =>
        writeLock(idempotencyId(scope, key), async () => {
          const result = await idempotencyKeys.updateOne(
            { _id: idempotencyId(scope, key), token, answer: null },
            { $set: { answer, expiresAt } },
          );
          return result.matchedCount > 0;
        }),
      ),
    releaseIdempotencyKey: (scope, key, token) =>
      guard(() =>
        writeLock(idempotencyId(scope, key), async () => {
          await idempotencyKeys.deleteOne({ _id: idempotencyId(scope, key), token, answer: null });
        }),
      ),
    purgeIdempotencyKeys: (nowMs) =>
      guard(async () => (await idempotencyKeys.deleteMany({ expiresAt: { $lte: nowMs } })).deletedCount),

    ping: () =>
      guard(async () => {
        await db.command({ ping: 1 });
      }),
    close: () => client.close(),
  };
}
