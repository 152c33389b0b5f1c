/**
 * The delivery queue and its records: due deliveries, settlements (delivered, retried, dead),
 * backlogs, caps, pruning and counts.
 */
import type { Collection, Filter } from 'mongodb';
import type {
  DeadLetter,
  Delivery,
  EventMethods,
  EventRecordCounts,
  Settlement,
  SubscriberBacklog,
} from '../store.js';
import {
  deliveryId,
  toDelivery,
  type DeadLetterDoc,
  type DeliveredDoc,
  type MongoState,
} from './documents.js';
import { guard, notImplemented } from './errors.js';
import { outboxCount, routeOutbox } from './outbox.js';

/** The oldest delivery of each (subscription, cart) that is due, oldest first. */
async function dueHeads(s: MongoState, nowMs: number, max: number): Promise<string[]> {
  if (s.groupFirst !== false) {
    try {
      const heads = await s.deliveries
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
      s.groupFirst = true;
      return heads.map((h) => h.id);
    } catch (e) {
      if (!notImplemented(e)) throw e;
      s.groupFirst = false;
    }
  }
  const rows = await s.deliveries
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
}

async function dueDeliveries(s: MongoState, nowMs: number, max: number): Promise<Delivery[]> {
  if (max <= 0) return [];
  const ids = await dueHeads(s, nowMs, max);
  if (ids.length === 0) return [];
  const rows = await s.deliveries.find({ _id: { $in: ids } }).toArray();
  const order = new Map(ids.map((id, i) => [id, i]));
  rows.sort((a, b) => (order.get(a._id) ?? 0) - (order.get(b._id) ?? 0));
  return rows.map(toDelivery);
}

async function deadLetter(
  s: MongoState,
  eventId: string,
  subscriptionId: string,
  attempts: number,
  lastError: string,
  deadAt: string,
): Promise<void> {
  const _id = deliveryId(eventId, subscriptionId);
  const row = await s.deliveries.findOne({ _id });
  if (!row) return;
  // Upsert first, then delete: a crash in between dead-letters it again, never loses it.
  await s.deadLetters.replaceOne({ _id }, { ...row, attempts, lastError, deadAt }, { upsert: true });
  await s.deliveries.deleteOne({ _id });
}

async function settleDeliveries(s: MongoState, list: Settlement[]): Promise<void> {
  if (list.length === 0) return;
  const ids = (kind: Settlement['kind']): string[] =>
    list.filter((x) => x.kind === kind).map((x) => deliveryId(x.eventId, x.subscriptionId));
  const done = [...ids('delivered'), ...ids('dead')];
  const rows = done.length === 0 ? [] : await s.deliveries.find({ _id: { $in: done } }).toArray();
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
  if (deliveredOps.length > 0) await s.delivered.bulkWrite(deliveredOps, { ordered: false });
  if (deadOps.length > 0) await s.deadLetters.bulkWrite(deadOps, { ordered: false });
  if (retryOps.length > 0) await s.deliveries.bulkWrite(retryOps, { ordered: false });
  if (rows.length > 0) await s.deliveries.deleteMany({ _id: { $in: rows.map((r) => r._id) } });
}

async function pendingAfter(
  s: MongoState,
  subscriptionId: string,
  afterSeq: number,
  max: number,
): Promise<Delivery[]> {
  return max <= 0
    ? []
    : (
        await s.deliveries
          .find({ subscriptionId, seq: { $gt: afterSeq } })
          .sort({ seq: 1 })
          .limit(max)
          .toArray()
      ).map(toDelivery);
}

async function backlog(s: MongoState): Promise<SubscriberBacklog[]> {
  const subs = (await s.deliveries.distinct('subscriptionId')).sort();
  const out: SubscriberBacklog[] = [];
  for (const subscriptionId of subs) {
    const pending = await s.deliveries.countDocuments({ subscriptionId });
    if (pending === 0) continue;
    const [oldest] = await s.deliveries.find({ subscriptionId }).sort({ seq: 1 }).limit(1).toArray();
    const time = oldest?.body.eventTime;
    out.push({ subscriptionId, pending, oldestEventTime: typeof time === 'string' ? time : undefined });
  }
  return out;
}

/** Deliveries moved to the dead letters per round trip of the backlog cap. */
const capChunk = 2000;

// The cut is found once: the deliveries beyond the newest `keep` then (more may arrive meanwhile,
// and are the next pass's); they move in chunks. One settled or moved by another process
// meanwhile is simply not there any more.
async function capBacklog(
  s: MongoState,
  subscriptionId: string,
  keep: number,
  lastError: string,
  deadAt: string,
): Promise<Delivery[]> {
  const [cutoff] = await s.deliveries
    .find({ subscriptionId }, { projection: { seq: 1 } })
    .sort({ seq: -1 })
    .skip(keep)
    .limit(1)
    .toArray();
  if (!cutoff) return [];
  const moved: Delivery[] = [];
  for (;;) {
    const rows = await s.deliveries
      .find({ subscriptionId, seq: { $lte: cutoff.seq } })
      .sort({ seq: 1 })
      .limit(capChunk)
      .toArray();
    if (rows.length === 0) return moved;
    await s.deadLetters.bulkWrite(
      rows.map((r) => ({
        replaceOne: { filter: { _id: r._id }, replacement: { ...r, lastError, deadAt }, upsert: true },
      })),
      { ordered: false },
    );
    await s.deliveries.deleteMany({ _id: { $in: rows.map((r) => r._id) } });
    moved.push(...rows.map(toDelivery));
    if (rows.length < capChunk) return moved;
  }
}

async function pruneEventRecords(
  s: MongoState,
  deliveredBefore: string,
  deadBefore: string,
  max: number,
): Promise<{ delivered: number; dead: number }> {
  const oldDelivered = await s.delivered
    .find({ deliveredAt: { $lt: deliveredBefore } }, { projection: { _id: 1 } })
    .limit(max)
    .toArray();
  const oldDead = await s.deadLetters
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
  return { delivered: await gone(s.delivered, oldDelivered), dead: await gone(s.deadLetters, oldDead) };
}

async function eventRecordCounts(s: MongoState): Promise<EventRecordCounts> {
  return {
    outbox: await outboxCount(s),
    pending: await s.deliveries.countDocuments({}),
    delivered: await s.delivered.countDocuments({}),
    dead: await s.deadLetters.countDocuments({}),
  };
}

async function pendingDeliveries(s: MongoState): Promise<number> {
  return (await s.deliveries.countDocuments({})) + (await outboxCount(s));
}

export function eventMethods(s: MongoState): EventMethods {
  return {
    routeOutbox: (route, max, routed) => guard(() => routeOutbox(s, route, max, routed)),
    pendingAfter: (subscriptionId, afterSeq, max) =>
      guard(() => pendingAfter(s, subscriptionId, afterSeq, max)),
    settleDeliveries: (list) => guard(() => settleDeliveries(s, list)),
    backlog: () => guard(() => backlog(s)),
    capBacklog: (subscriptionId, keep, lastError, now) =>
      guard(() => capBacklog(s, subscriptionId, keep, lastError, now)),
    pruneEventRecords: (deliveredBefore, deadBefore, max) =>
      guard(() => pruneEventRecords(s, deliveredBefore, deadBefore, max)),
    eventRecordCounts: () => guard(() => eventRecordCounts(s)),
    dueDeliveries: (nowMs, max) => guard(() => dueDeliveries(s, nowMs, max)),
    completeDelivery: (eventId, subscriptionId) =>
      guard(() =>
        settleDeliveries(s, [
          { kind: 'delivered', eventId, subscriptionId, attempts: 1, at: new Date().toISOString() },
        ]),
      ),
    retryDelivery: (eventId, subscriptionId, attempts, nextAttemptAt) =>
      guard(async () => {
        await s.deliveries.updateOne(
          { _id: deliveryId(eventId, subscriptionId) },
          { $set: { attempts, nextAttemptAt } },
        );
      }),
    deadLetter: (eventId, subscriptionId, attempts, lastError, now) =>
      guard(() => deadLetter(s, eventId, subscriptionId, attempts, lastError, now)),
    listDeadLetters: () =>
      guard(async () =>
        (await s.deadLetters.find({}).sort({ deadAt: 1, eventId: 1 }).toArray()).map(
          (r): DeadLetter => ({ ...toDelivery(r), lastError: r.lastError, deadAt: r.deadAt }),
        ),
      ),
    pendingDeliveries: () => guard(() => pendingDeliveries(s)),
  };
}
