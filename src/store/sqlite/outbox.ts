/**
 * The transactional outbox and the delivery queue: events recorded with the cart write, routed
 * into per-subscriber deliveries, settled as delivered, retried or dead-lettered, then pruned.
 */
import type { ShoppingCart } from '../../api-types.js';
import type {
  CartTimes,
  DeadLetter,
  Delivery,
  EventMethods,
  OutboxRecord,
  RouteTarget,
  Settlement,
} from '../store.js';
import { run } from './errors.js';
import { eventTimeOf, parsedOnce, toDelivery } from './rows.js';
import type { SqliteState } from './statements.js';

/** At most this many rows move or go in one transaction, so the write lock is held briefly. */
const capChunk = 2000;

// An event is for the subscriptions that exist when it happens: with none there is nobody to
// tell, and nothing is recorded. Asked inside the write's transaction, so it is exact even
// across processes sharing the file.
// `doc` and `json`: the document this write just serialised, when there is one.
export function writeOutbox(s: SqliteState, events: OutboxRecord[], doc?: ShoppingCart, json?: string): void {
  if (events.length === 0 || s.stmt.anySubscription.get() === undefined) return;
  for (const e of events) {
    const cartTimes = e.cartTimes === undefined ? null : JSON.stringify(e.cartTimes);
    s.stmt.insertOutbox.run({ ...e, body: eventText(e, doc, json), cartTimes });
  }
}

/**
 * An event's text. Its cart, when it is the document this write just serialised (`json`), is
 * spliced in as that text rather than serialised a second time: the envelope (buildEvent) ends
 * with `event: { shoppingCart }`, and a member replaced in a spread keeps its place.
 */
function eventText(e: OutboxRecord, doc: ShoppingCart | undefined, json: string | undefined): string {
  const inner = e.body.event as Record<string, unknown> | undefined;
  if (
    doc === undefined ||
    json === undefined ||
    inner?.shoppingCart !== doc ||
    Object.keys(inner).length !== 1
  )
    return JSON.stringify(e.body);
  const head = JSON.stringify({ ...e.body, event: 0 });
  const tail = '"event":0}';
  if (!head.endsWith(tail)) return JSON.stringify(e.body);
  return `${head.slice(0, -tail.length)}"event":{"shoppingCart":${json}}}`;
}

function route(
  s: SqliteState,
  fn: (event: OutboxRecord) => RouteTarget[],
  max: number,
  made: Delivery[] | undefined,
): number {
  const { stmt } = s;
  const rows = stmt.outbox.all(max);
  for (const row of rows) {
    const body = parsedOnce(row.body);
    const event: OutboxRecord = {
      eventId: row.event_id,
      cartId: row.cart_id,
      eventType: row.event_type,
      ...(row.cart_times === null ? {} : { cartTimes: JSON.parse(row.cart_times) as CartTimes }),
      // Parsed only if routing looks inside (a payload filter or fields).
      get body(): Record<string, unknown> {
        return body() as Record<string, unknown>;
      },
    };
    const targets = fn(event);
    const eventTime = targets.length > 0 && made ? eventTimeOf(row.body) : undefined;
    for (const target of targets) {
      const text = target.body === undefined ? row.body : JSON.stringify(target.body);
      const inserted = stmt.insertDelivery.run({
        eventId: event.eventId,
        subscriptionId: target.subscriptionId,
        cartId: event.cartId,
        eventType: event.eventType,
        body: text,
      });
      if (made && inserted.changes > 0) {
        made.push(
          toDelivery({
            seq: Number(inserted.lastInsertRowid),
            event_id: event.eventId,
            subscription_id: target.subscriptionId,
            cart_id: event.cartId,
            event_type: event.eventType,
            body: text,
            attempts: 0,
            next_attempt_at: 0,
            event_time: eventTime ?? null,
          }),
        );
      }
    }
    stmt.deleteOutbox.run(row.seq);
  }
  return rows.length;
}

function capBacklog(
  s: SqliteState,
  subscriptionId: string,
  keep: number,
  dead: { lastError: string; deadAt: string },
): Delivery[] {
  const { stmt } = s;
  const cutoff = stmt.capCutoff.get(subscriptionId, keep);
  if (cutoff === undefined) return [];
  const rows = stmt.overCap.all(subscriptionId, cutoff, capChunk);
  for (const row of rows) {
    stmt.insertDead.run({ ...row, ...dead });
    stmt.deleteSeq.run(row.seq);
  }
  return rows.map(toDelivery);
}

function deadLetter(
  s: SqliteState,
  eventId: string,
  subscriptionId: string,
  dead: { attempts: number; lastError: string; deadAt: string },
): void {
  const row = s.stmt.deliveryRow.get(eventId, subscriptionId);
  if (!row) return;
  s.stmt.insertDead.run({ ...row, ...dead });
  s.stmt.completeDelivery.run(eventId, subscriptionId);
}

function eventTransactions(s: SqliteState) {
  const { db, stmt } = s;
  const dead = db.transaction(
    (eventId: string, subscriptionId: string, attempts: number, lastError: string, deadAt: string): void => {
      deadLetter(s, eventId, subscriptionId, { attempts, lastError, deadAt });
    },
  );
  const settleRows = (list: Settlement[]): void => {
    for (const x of list) {
      if (x.kind === 'delivered') {
        stmt.insertDelivered.run(x.attempts, x.at, x.eventId, x.subscriptionId);
        stmt.completeDelivery.run(x.eventId, x.subscriptionId);
      } else if (x.kind === 'retry') {
        stmt.retryDelivery.run(x.attempts, x.nextAttemptAt, x.eventId, x.subscriptionId);
      } else {
        dead(x.eventId, x.subscriptionId, x.attempts, x.lastError, x.at);
      }
    }
  };
  return {
    route: db.transaction((fn: (event: OutboxRecord) => RouteTarget[], max: number, made?: Delivery[]) =>
      route(s, fn, max, made),
    ),
    settleRows,
    capBacklog: db.transaction((subscriptionId: string, keep: number, lastError: string, deadAt: string) =>
      capBacklog(s, subscriptionId, keep, { lastError, deadAt }),
    ),
    prune: db.transaction((deliveredBefore: string, deadBefore: string, max: number) => ({
      delivered: stmt.pruneDelivered.run(deliveredBefore, max).changes,
      dead: stmt.pruneDead.run(deadBefore, max).changes,
    })),
    deadLetter: dead,
  };
}

/**
 * The Store's event methods. The dispatcher's writes join the group commit: they share the commit
 * (and its fsync) of the request writes of the same event-loop turn instead of blocking the loop
 * for their own, and, like every write, take the write lock the right way.
 */
export function eventMethods(s: SqliteState): EventMethods {
  const { stmt, queue } = s;
  const tx = eventTransactions(s);
  return {
    // An empty outbox is seen by a read: a write would take the write lock for nothing, and a
    // writer of another process (the API's, in the delivery thread's case) would wait for it.
    routeOutbox: (fn, max, routed) =>
      run(() => stmt.anyOutbox.get()).then((any) =>
        any === undefined
          ? 0
          : queue.write(() => {
              const made: Delivery[] | undefined = routed ? [] : undefined;
              const moved = tx.route(fn, max, made);
              if (made && made.length > 0) routed?.(made);
              return moved;
            }),
      ),
    pendingAfter: (subscriptionId, afterSeq, max) =>
      run(() => stmt.window.all(subscriptionId, afterSeq, max).map(toDelivery)),
    settleDeliveries: (list) =>
      list.length === 0
        ? Promise.resolve()
        : queue.write(() => {
            tx.settleRows(list);
          }),
    backlog: () =>
      run(() =>
        stmt.backlog.all().map((r) => ({
          subscriptionId: r.subscription_id,
          pending: r.n,
          oldestEventTime: stmt.eventTimeAt.get(r.first) ?? undefined,
        })),
      ),
    capBacklog: (subscriptionId, keep, lastError, now) =>
      queue.write(() => tx.capBacklog(subscriptionId, keep, lastError, now)),
    pruneEventRecords: (deliveredBefore, deadBefore, max) =>
      queue.write(() => tx.prune(deliveredBefore, deadBefore, max)),
    eventRecordCounts: () => run(() => stmt.counts.get() ?? { outbox: 0, pending: 0, delivered: 0, dead: 0 }),
    dueDeliveries: (nowMs, max) => run(() => stmt.due.all(nowMs, max).map(toDelivery)),
    completeDelivery: (eventId, subscriptionId) =>
      queue.write(() => {
        tx.settleRows([
          { kind: 'delivered', eventId, subscriptionId, attempts: 1, at: new Date().toISOString() },
        ]);
      }),
    retryDelivery: (eventId, subscriptionId, attempts, nextAttemptAt) =>
      queue.write(() => {
        stmt.retryDelivery.run(attempts, nextAttemptAt, eventId, subscriptionId);
      }),
    deadLetter: (eventId, subscriptionId, attempts, lastError, now) =>
      queue.write(() => {
        tx.deadLetter(eventId, subscriptionId, attempts, lastError, now);
      }),
    listDeadLetters: () =>
      run(() =>
        stmt.deadLetters.all().map(
          (r): DeadLetter => ({
            ...toDelivery({ ...r, next_attempt_at: Date.parse(r.dead_at) }),
            lastError: r.last_error,
            deadAt: r.dead_at,
          }),
        ),
      ),
    pendingDeliveries: () => run(() => stmt.pending.get()?.n ?? 0),
  };
}
