/**
 * The transactional outbox and the delivery queue: events recorded with the cart write (main
 * file), routed into per-subscriber deliveries (events file, events-file.ts), settled as
 * delivered, retried or dead-lettered, then pruned.
 */
import type { ShoppingCart } from '../../api-types.js';
import type {
  CartTimes,
  DeadLetter,
  Delivery,
  EventMethods,
  EventRecordCounts,
  OutboxRecord,
  RouteTarget,
  Settlement,
} from '../store.js';
import { run } from './errors.js';
import { eventTimeOf, parsedOnce, toDelivery } from './rows.js';
import type { SqliteState } from './statements.js';

/** At most this many routed outbox rows go in one transaction, so the write lock is held briefly. */
const pruneChunk = 2000;

/**
 * At most this many deliveries move to the dead letters in one transaction of the backlog cap:
 * each carries its event body, and the transaction holds the delivery thread's event loop (11-29
 * ms for 250, measured on a queue of 2 x 105,000, up to 45 ms with a timed checkpoint; 60-145 ms
 * for the 2,000 it once was, which stalled the other subscribers' deliveries at every cut).
 */
const capChunk = 250;

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

/**
 * Routes the outbox rows above the cursor, inside a transaction of the events file, which holds
 * its write lock: the cursor is read, the deliveries inserted and the cursor advanced together,
 * so processes routing at once (CLUSTER_WORKERS) take turns, and a row routed twice anyway (a
 * lost commit) gives no second delivery (INSERT OR IGNORE on (event_id, subscription_id)).
 * The rows are read from the main file's latest commit. A seq is given under the main file's
 * write lock and the row commits before that lock passes on, so seq order is commit order: a
 * reader that sees a row sees every row of a lower seq that will ever exist, and the cursor
 * never passes a row still to come.
 */
function route(
  s: SqliteState,
  fn: (event: OutboxRecord) => RouteTarget[],
  max: number,
  made: Delivery[] | undefined,
): number {
  const { stmt } = s.ev;
  const rows = s.stmt.outbox.all(stmt.cursor.get() ?? 0, max);
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
  }
  const last = rows.at(-1);
  if (last) stmt.setCursor.run(last.seq);
  return rows.length;
}

/** Dead-letters the subscriber's oldest deliveries up to seq `cutoff`, at most capChunk of them. */
function capChunkUpTo(
  s: SqliteState,
  subscriptionId: string,
  cutoff: number,
  dead: { lastError: string; deadAt: string },
): Delivery[] {
  const { stmt } = s.ev;
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
  const { stmt } = s.ev;
  const row = stmt.deliveryRow.get(eventId, subscriptionId);
  if (!row) return;
  stmt.insertDead.run({ ...row, ...dead });
  stmt.completeDelivery.run(eventId, subscriptionId);
}

/** The events file's transactions. */
function eventTransactions(s: SqliteState) {
  const { db, stmt } = s.ev;
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
    capUpTo: db.transaction((subscriptionId: string, cutoff: number, lastError: string, deadAt: string) =>
      capChunkUpTo(s, subscriptionId, cutoff, { lastError, deadAt }),
    ),
    prune: db.transaction((deliveredBefore: string, deadBefore: string, max: number) => ({
      delivered: stmt.pruneDelivered.run(deliveredBefore, max).changes,
      dead: stmt.pruneDead.run(deadBefore, max).changes,
    })),
    deadLetter: dead,
  };
}

/** The outbox rows not yet routed, the pending deliveries and the records, as one count. */
function counts(s: SqliteState): EventRecordCounts {
  // The events file first (one statement: one snapshot), the outbox after: routing in between
  // makes rows count twice for a moment, never not at all.
  const c = s.ev.stmt.counts.get() ?? { cursor: 0, pending: 0, delivered: 0, dead: 0 };
  return {
    outbox: s.stmt.unrouted.get(c.cursor) ?? 0,
    pending: c.pending,
    delivered: c.delivered,
    dead: c.dead,
  };
}

/**
 * The outbox rows already routed leave the main file, in chunks (each its own transaction, so
 * the API's writes wait briefly at most), at each maintenance pass: rarely, where deleting them
 * as they were routed made the delivery thread write to the main file all the time.
 */
async function pruneRouted(s: SqliteState, max: number): Promise<void> {
  const { stmt } = s;
  // A cursor another connection can read is durable (events-file.ts): the rows it covers may go.
  const cursor = s.ev.stmt.cursor.get() ?? 0;
  for (;;) {
    const first = stmt.firstOutbox.get() ?? undefined;
    if (first === undefined || first > cursor) return;
    const gone = await s.queue.write(() => stmt.deleteRouted.run(cursor, max).changes);
    if (gone < max) return;
  }
}

/**
 * The Store's event methods. The dispatcher's writes join the group commit of the events file:
 * they share its commit (and fsync) with the other outcomes of the same event-loop turn, and,
 * like every write, take the write lock the right way.
 */
export function eventMethods(s: SqliteState): EventMethods {
  const { stmt, queue } = s.ev;
  const tx = eventTransactions(s);
  return {
    // An empty outbox is seen by a read: a write would take the write lock for nothing, and a
    // writer of another process would wait for it.
    routeOutbox: (fn, max, routed) =>
      run(() => s.stmt.anyOutbox.get(stmt.cursor.get() ?? 0)).then((any) =>
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
    // The cut is found once, by a read: the deliveries beyond the newest `keep` then (more may
    // arrive meanwhile, and are the next pass's). They move in small writes, each its own turn of
    // the event loop, so the other lanes' sends and outcomes go on in between. A delivery settled
    // or moved by another process meanwhile is simply not there any more.
    capBacklog: async (subscriptionId, keep, lastError, now) => {
      const cutoff = await run(() => stmt.capCutoff.get(subscriptionId, keep));
      if (cutoff === undefined) return [];
      const moved: Delivery[] = [];
      for (;;) {
        const chunk = await queue.write(() => tx.capUpTo(subscriptionId, cutoff, lastError, now));
        moved.push(...chunk);
        if (chunk.length < capChunk) return moved;
      }
    },
    pruneEventRecords: async (deliveredBefore, deadBefore, max) => {
      const gone = await queue.write(() => tx.prune(deliveredBefore, deadBefore, max));
      await pruneRouted(s, Math.max(max, pruneChunk));
      return gone;
    },
    eventRecordCounts: () => run(() => counts(s)),
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
    // Read at every metrics scrape: the delivered and dead-letter records are not counted here.
    pendingDeliveries: () =>
      run(() => {
        const c = stmt.pending.get() ?? { cursor: 0, pending: 0 };
        return c.pending + (s.stmt.unrouted.get(c.cursor) ?? 0);
      }),
  };
}
