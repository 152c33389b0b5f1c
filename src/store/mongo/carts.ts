/**
 * Cart reads and writes: each write one conditional update of the cart's document, its events
 * pushed onto the document's own outbox by the same update (see store.ts).
 */
import type { Filter, UpdateFilter } from 'mongodb';
import type { ShoppingCart } from '../../api-types.js';
import { alreadyExists, cartNotFound, internalError, versionConflict } from '../../errors.js';
import type { CartMethods, OutboxRecord, StoredCart, WriteMeta } from '../store.js';
import { dateShadow, decodeDocument, encodeDocument } from './encoding.js';
import { encodeEvent, isLive, live, toDate, type CartDoc, type MongoState } from './documents.js';
import { guard, isDuplicateKey } from './errors.js';
import { listCarts } from './list.js';

// An event is for the subscriptions that exist when it happens: with none there is nobody to
// tell, and nothing is recorded (as in SQLite). Without transactions the look is just before
// the write; a subscription made at the same moment may or may not see that write's event,
// as with any two concurrent requests.
async function recordable(s: MongoState, events: OutboxRecord[]): Promise<OutboxRecord[]> {
  return events.length > 0 && (await s.subscriptions.findOne({}, { projection: { _id: 1 } })) !== null
    ? events
    : [];
}

const metaProjection = { '_m.version': 1, '_m.deleted': 1, '_m.expiresAt': 1 } as const;

const readMeta = (s: MongoState, id: string) =>
  s.carts.findOne({ _id: id }, { projection: metaProjection }) as Promise<Pick<CartDoc, '_id' | '_m'> | null>;

async function createCart(
  s: MongoState,
  doc: ShoppingCart,
  meta: WriteMeta,
  events: OutboxRecord[],
): Promise<StoredCart> {
  const id = doc.id;
  if (typeof id !== 'string') throw internalError('A cart to store has no id');
  const stored = encodeDocument(doc);
  const expiresAt = toDate(meta.expiresAt);
  const dates = dateShadow(doc);
  const pending = (await recordable(s, events)).map(encodeEvent);
  try {
    await s.carts.insertOne({
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
    const reused = await s.carts.updateOne({ _id: id, '_m.deleted': true }, update);
    if (reused.matchedCount === 0) throw alreadyExists();
  }
  return { doc, version: 1, createdAt: meta.now, updatedAt: meta.now };
}

async function getCart(s: MongoState, id: string, nowMs: number): Promise<StoredCart | undefined> {
  const row = await s.carts.findOne(
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
}

async function replaceCart(
  s: MongoState,
  id: string,
  expected: number,
  doc: ShoppingCart,
  meta: WriteMeta,
  events: OutboxRecord[],
): Promise<StoredCart> {
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
  const recorded = await recordable(s, events);
  if (recorded.length > 0) update.$push = { '_m.pending': { $each: recorded.map(encodeEvent) } };
  // FerretDB 1.24 cannot project a findAndModify result, so the whole document comes back.
  const before = await s.carts.findOneAndUpdate({ _id: id, '_m.version': expected, ...live(nowMs) }, update, {
    returnDocument: 'before',
  });
  if (before) return { doc, version: expected + 1, createdAt: before._m.createdAt, updatedAt: meta.now };
  const current = await readMeta(s, id);
  if (!current || !isLive(current._m, nowMs)) throw cartNotFound(id);
  throw versionConflict(id);
}

async function deleteCart(
  s: MongoState,
  id: string,
  expected: number | undefined,
  nowMs: number,
  events: OutboxRecord[],
): Promise<boolean> {
  const update: UpdateFilter<CartDoc> = {
    $set: { '_m.deleted': true, '_m.updatedAt': new Date(nowMs).toISOString() },
    $inc: { '_m.version': 1 },
  };
  const recorded = await recordable(s, events);
  if (recorded.length > 0) update.$push = { '_m.pending': { $each: recorded.map(encodeEvent) } };
  for (let attempt = 1; ; attempt++) {
    const filter: Filter<CartDoc> = { _id: id, ...live(nowMs) };
    if (expected !== undefined) filter['_m.version'] = expected;
    const result = await s.carts.updateOne(filter, update);
    if (result.matchedCount === 1) return true;
    const current = await readMeta(s, id);
    if (!current || !isLive(current._m, nowMs)) return false;
    if (expected !== undefined || attempt >= 3) throw versionConflict(id);
    // Without an expected version, the cart appeared between the two reads: try again.
  }
}

async function purgeExpired(s: MongoState, nowMs: number): Promise<number> {
  const expired: Filter<CartDoc> = { '_m.expiresAt': { $lte: new Date(nowMs) }, '_m.deleted': false };
  const removed = await s.carts.deleteMany({ ...expired, '_m.pending': { $size: 0 } });
  // A cart whose events are not routed yet goes once they are (routeOutbox), like a deleted
  // one. Few carts expire with events still waiting: one at a time, under the cart's lock.
  const waiting = await s.carts.find(expired, { projection: { _id: 1 } }).toArray();
  let retired = 0;
  for (const { _id } of waiting) {
    const result = await s.writeLock(_id, () =>
      s.carts.updateOne({ _id, ...expired }, { $set: { '_m.deleted': true } }),
    );
    retired += result.modifiedCount;
  }
  // Deleted carts left behind by an interrupted routeOutbox (rare: one at a time, locked).
  const leftovers = await s.carts
    .find({ '_m.deleted': true, '_m.pending': { $size: 0 } }, { projection: { _id: 1 } })
    .toArray();
  for (const { _id } of leftovers) await removeIfDone(s, _id);
  return removed.deletedCount + retired;
}

/** Removes a deleted cart whose outbox is empty. */
export const removeIfDone = (s: MongoState, id: string): Promise<unknown> =>
  s.cartLock(id, () => s.carts.deleteOne({ _id: id, '_m.deleted': true, '_m.pending': { $size: 0 } }));

/** The Store's cart methods: writes to one cart take turns in this process (writeLock). */
export function cartMethods(s: MongoState): CartMethods {
  const { writeLock } = s;
  return {
    lockCart: (id, fn) => writeLock(id, fn),
    createCart: (doc, meta, events) =>
      guard(() => writeLock(doc.id ?? '', () => createCart(s, doc, meta, events))),
    getCart: (id, nowMs) => guard(() => getCart(s, id, nowMs)),
    listCarts: (query, nowMs) => guard(() => listCarts(s, query, nowMs)),
    replaceCart: (id, expected, doc, meta, events) =>
      guard(() => writeLock(id, () => replaceCart(s, id, expected, doc, meta, events))),
    deleteCart: (id, expected, nowMs, events) =>
      guard(() => writeLock(id, () => deleteCart(s, id, expected, nowMs, events))),
    purgeExpired: (nowMs) => guard(() => purgeExpired(s, nowMs)),
  };
}
