/**
 * Routing: events leave a cart's outbox (`_m.pending`) one at a time, oldest first, into
 * per-subscriber deliveries numbered by a global counter (see store.ts).
 */
import type { Delivery, OutboxRecord, RouteTarget } from '../store.js';
import { removeIfDone } from './carts.js';
import { decodeDocument, encodeDocument } from './encoding.js';
import {
  deliveryId,
  hasOutbox,
  toDelivery,
  type CartMeta,
  type DeliveryDoc,
  type MongoState,
} from './documents.js';
import { isDuplicateKey, onlyDuplicates } from './errors.js';

const counterKey = '\u0000counter';

const nextSeq = (s: MongoState): Promise<number> => s.writeLock(counterKey, () => incrementSeq(s));

async function incrementSeq(s: MongoState): Promise<number> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const counter = await s.counters.findOneAndUpdate(
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
}

export async function routeOutbox(
  s: MongoState,
  route: (event: OutboxRecord) => RouteTarget[],
  max: number,
  routed?: (deliveries: Delivery[]) => void,
): Promise<number> {
  if (max <= 0) return 0;
  let moved = 0;
  const outboxProjection = { '_m.pending': 1, '_m.deleted': 1 } as const;
  type OutboxRow = { _id: string; _m: Pick<CartMeta, 'pending' | 'deleted'> };
  const rows = (await s.carts
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
        ...(head.cartTimes === undefined ? {} : { cartTimes: head.cartTimes }),
        // Decoded only if routing looks inside (a payload filter or fields).
        get body(): Record<string, unknown> {
          body ??= decodeDocument(head.body);
          return body;
        },
      };
      const targets = route(event);
      if (targets.length > 0) {
        const seq = await nextSeq(s);
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
          await s.deliveries.insertMany(made, { ordered: false });
        } catch (e) {
          // Routed before by a router that stopped before popping: the deliveries stand.
          if (!onlyDuplicates(e)) throw e;
          fresh = false;
        }
        if (fresh && routed) routed(made.map(toDelivery));
      }
      const popped = await s.cartLock(row._id, () =>
        s.carts.updateOne(
          { _id: row._id, '_m.pending.0.eventId': head.eventId },
          { $pop: { '_m.pending': -1 } },
        ),
      );
      if (popped.modifiedCount === 1) {
        moved += 1;
        pending = pending.slice(1);
      } else {
        // Another router moved it first: carry on from what the cart holds now.
        const fresh = (await s.carts.findOne(
          { _id: row._id },
          { projection: outboxProjection },
        )) as OutboxRow | null;
        pending = fresh?._m.pending ?? [];
        deleted = fresh?._m.deleted ?? false;
      }
    }
    if (pending.length === 0 && deleted) await removeIfDone(s, row._id);
  }
  return moved;
}

export async function outboxCount(s: MongoState): Promise<number> {
  const [outbox] = await s.carts
    .aggregate<{
      n: number;
    }>([{ $match: hasOutbox }, { $unwind: '$_m.pending' }, { $count: 'n' }])
    .toArray();
  return outbox?.n ?? 0;
}
