/**
 * The outbox dispatcher: at-least-once delivery of recorded events to hub subscribers. In the
 * server it runs in its own worker thread (dispatch-thread.ts) with its own store connection; this
 * module is the delivery logic itself and runs in whatever thread creates it.
 *
 * Cart writes record their events in the store in the same atomic write (the outbox); requests
 * never wait for delivery. The dispatcher (1) routes new outbox events to the subscriptions whose
 * query they match, as one delivery per subscriber, (2) keeps one lane per subscriber: a read
 * window of its oldest pending deliveries, grouped by cart, from which it POSTs the oldest of each
 * cart, many carts at once, (3) treats any 2xx as delivered, retries anything else with
 * exponential backoff and jitter, and dead-letters a delivery after the last attempt, and
 * (4) records outcomes in batches, and starts a cart's next event only once the previous
 * outcome is committed. Everything pending lives in the store, so a restart resumes where the
 * last process stopped; the windows are a cache of it.
 *
 * Isolation: each lane has its own in-flight limit and window, so a slow, failing or dead
 * subscriber only ever waits on itself. A lane over `maxPending` has its oldest deliveries
 * dead-lettered (reason "backlog") at the next maintenance pass; maintenance also prunes delivered
 * records and dead letters past their retention.
 */
import type { ShoppingCart } from '../api-types.js';
import type { Delivery, RouteTarget, Settlement, Store, StoredSubscription } from '../store/store.js';
import { ownsCart } from '../cart/access-policy.js';
import { assertPublicHost } from '../hub/callback.js';
import { RegexBudgetExceeded, withRegexBudget } from '../query/safe-regex.js';
import { createPoster } from './post.js';
import {
  parseSubscriptionQuery,
  shapeForSubscription,
  type SubscriptionQuery,
} from './subscription-query.js';

/** Why a delivery was given up. */
export type DeadReason = 'attempts' | 'backlog';

export interface DispatcherOptions {
  store: Store;
  now: () => Date;
  maxAttempts: number;
  timeoutMs: number;
  /** Refuse callbacks resolving to private, loopback or link-local addresses. */
  denyPrivate: boolean;
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often to look for work when nothing nudged the loop. */
  pollMs?: number;
  /** How long a nudge may wait, so that a burst of writes is routed in one round, not one each. */
  batchMs?: number;
  /** How long an outcome may wait for others to be recorded in the same write. */
  settleMs?: number;
  /** Most deliveries on their way at once to one subscriber (different carts). */
  maxInFlightPerSubscriber?: number;
  /** Most deliveries on their way at once in all. */
  maxInFlight?: number;
  /** Pending deliveries of one subscriber held in memory at once. */
  windowSize?: number;
  /** Events routed per store write. */
  routeBatch?: number;
  /** Pending deliveries per subscriber beyond which the oldest are dead-lettered. */
  maxPending?: number;
  /** How long delivered records and dead letters are kept. */
  deliveredRetentionMs?: number;
  deadLetterRetentionMs?: number;
  /** How often the backlog cap and retention are applied. */
  maintenanceMs?: number;
  /** How often each window is read again from the store from the start (other dispatchers). */
  reloadMs?: number;
  /** Largest callback answer read before the connection is dropped. */
  maxResponseBytes?: number;
  random?: () => number;
  /** `latencyMs`: from the event's time to the listener's answer, when the event time is known. */
  onDelivered?: (d: Delivery, latencyMs: number | undefined) => void;
  onRetry?: (d: Delivery, error: string) => void;
  onDeadLetter?: (d: Delivery, error: string, reason: DeadReason) => void;
  /** A subscriber's backlog was cut to the cap: `count` oldest deliveries dead-lettered. */
  onCapped?: (subscriptionId: string, count: number) => void;
  onError?: (err: unknown) => void;
}

export interface Dispatcher {
  /** Something was written: look for work now rather than at the next poll. */
  nudge(): void;
  start(): void;
  /** Stops picking up work and waits (up to graceMs) for deliveries in flight. */
  stop(graceMs: number): Promise<void>;
  /**
   * Routes everything waiting and delivers whatever is due until nothing more is, waiting for
   * each outcome to be recorded (tests, shutdown); retries not yet due stay for later.
   */
  runOnce(): Promise<void>;
  /** Applies the backlog cap and the retention now (tests). */
  maintain(): Promise<void>;
  inFlight(): number;
}

/** One subscriber's share of the work. */
interface Lane {
  sub: StoredSubscription;
  url: URL | undefined;
  /** Pending deliveries read from the store, per cart, oldest first (Map order: oldest cart first). */
  carts: Map<string, Delivery[]>;
  size: number;
  /** The highest routing number read into the window. */
  cursor: number;
  /** The last read found everything there was: newly routed deliveries may join directly. */
  caughtUp: boolean;
  /** Deliveries were routed while a read was under way: read again afterwards. */
  dirty: boolean;
  reading: boolean;
  /** Carts with a delivery on its way or its outcome not committed yet. */
  busy: Set<string>;
  inFlight: number;
  lastLoad: number;
}

interface Outcome {
  lane: Lane;
  delivery: Delivery;
  settlement: Settlement;
  error?: string;
  latencyMs?: number;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { store } = options;
  const pollMs = options.pollMs ?? 500;
  // Each round and each batch of outcomes is a store write, and on SQLite every write takes the
  // lock the API's writes need: a few ms of batching keeps those collisions rare.
  const batchMs = options.batchMs ?? 20;
  const settleMs = options.settleMs ?? 10;
  const perLane = options.maxInFlightPerSubscriber ?? 32;
  const maxInFlight = options.maxInFlight ?? 256;
  const windowSize = options.windowSize ?? 512;
  const routeBatch = options.routeBatch ?? 200;
  const maxPending = options.maxPending ?? 100_000;
  const deliveredRetentionMs = options.deliveredRetentionMs ?? 3_600_000;
  const deadRetentionMs = options.deadLetterRetentionMs ?? 7 * 86_400_000;
  const maintenanceMs = options.maintenanceMs ?? 5_000;
  const reloadMs = options.reloadMs ?? 30_000;
  const base = options.baseBackoffMs ?? 1000;
  const cap = options.maxBackoffMs ?? 5 * 60_000;
  const poster = createPoster({
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
  });
  const random = options.random ?? Math.random;
  const report = options.onError ?? (() => undefined);
  const nowMs = (): number => options.now().getTime();

  const lanes = new Map<string, Lane>();
  const parsed = new Map<string, SubscriptionQuery>();
  let inFlight = 0;
  let running = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let timerDue = 0;
  let round: Promise<number> | undefined;
  let again = false;
  let maintenance: NodeJS.Timeout | undefined;
  let maintaining: Promise<void> | undefined;
  let outcomes: Outcome[] = [];
  let flushing: Promise<void> | undefined;
  let idleWaiters: (() => void)[] = [];

  const queryOf = (sub: StoredSubscription): SubscriptionQuery => {
    const q = sub.query ?? '';
    let p = parsed.get(q);
    if (!p) {
      p = parseSubscriptionQuery(q);
      parsed.set(q, p);
    }
    return p;
  };

  const backoff = (attempts: number): number => {
    const exp = Math.min(cap, base * 2 ** (attempts - 1));
    return Math.round(exp / 2 + (random() * exp) / 2); // "equal jitter"
  };

  const newLane = (sub: StoredSubscription): Lane => {
    let url: URL | undefined;
    try {
      url = new URL(sub.callback);
    } catch {
      url = undefined;
    }
    return {
      sub,
      url,
      carts: new Map(),
      size: 0,
      cursor: 0,
      caughtUp: false,
      dirty: false,
      reading: false,
      busy: new Set(),
      inFlight: 0,
      lastLoad: Date.now(),
    };
  };

  const append = (lane: Lane, d: Delivery): void => {
    const queue = lane.carts.get(d.cartId);
    if (queue) queue.push(d);
    else lane.carts.set(d.cartId, [d]);
    lane.size++;
    if (d.seq > lane.cursor) lane.cursor = d.seq;
  };

  /** Forgets what the window holds except the deliveries on their way; the next read starts over. */
  const resetLane = (lane: Lane): void => {
    for (const [cartId, queue] of lane.carts) {
      if (lane.busy.has(cartId) && queue[0]) {
        lane.size -= queue.length - 1;
        queue.length = 1;
      } else {
        lane.size -= queue.length;
        lane.carts.delete(cartId);
      }
    }
    lane.cursor = 0;
    lane.caughtUp = false;
    lane.lastLoad = Date.now();
  };

  /** The subscriptions as stored now: new ones get a lane, removed ones lose theirs. */
  const refreshLanes = async (): Promise<StoredSubscription[]> => {
    const subs = await store.listSubscriptions();
    const ids = new Set<string>();
    for (const sub of subs) {
      ids.add(sub.id);
      const lane = lanes.get(sub.id);
      if (!lane) lanes.set(sub.id, newLane(sub));
      else if (lane.sub.callback !== sub.callback) {
        lane.sub = sub;
        lane.url = newLane(sub).url;
      }
    }
    for (const id of lanes.keys()) if (!ids.has(id)) lanes.delete(id);
    return subs;
  };

  /** Routed deliveries join their lane's window directly when it holds everything before them. */
  const onRouted = (made: Delivery[]): void => {
    for (const d of made) {
      const lane = lanes.get(d.subscriptionId);
      if (!lane) continue;
      if (lane.reading) lane.dirty = true;
      else if (lane.caughtUp && lane.size < windowSize && d.seq > lane.cursor) append(lane, d);
      else lane.caughtUp = false;
    }
  };

  const route = async (subs: StoredSubscription[]): Promise<number> =>
    store.routeOutbox(
      // Each event's routing has one regex budget (safe-regex.ts), so no event can hold the
      // thread; past it the event goes to the remaining subscribers unfiltered (at least once).
      (event) =>
        withRegexBudget(() => {
          const targets: RouteTarget[] = [];
          for (const sub of subs) {
            // Owner isolation, decided now (not when subscribing): a subscription with an owner
            // hears only of carts that name its owner in the event's own copy of the cart.
            if (sub.owner !== undefined) {
              const cart = (event.body.event as { shoppingCart?: ShoppingCart } | undefined)?.shoppingCart;
              if (cart === undefined || !ownsCart(cart, sub.owner)) continue;
            }
            // Without a body in the target the store copies the recorded text; nobody parses it.
            let shaped: ReturnType<typeof shapeForSubscription>;
            try {
              shaped = shapeForSubscription(queryOf(sub), event.eventType, () => event.body);
            } catch (e) {
              if (!(e instanceof RegexBudgetExceeded)) throw e;
              report(e);
              shaped = {};
            }
            if (shaped) targets.push({ subscriptionId: sub.id, ...shaped });
          }
          return targets;
        }),
      routeBatch,
      onRouted,
    );

  /** Reads more of a lane's queue when its window runs low. */
  const fill = async (lane: Lane): Promise<void> => {
    if (Date.now() - lane.lastLoad > reloadMs) resetLane(lane);
    while (!lane.caughtUp && !lane.reading && lane.size <= windowSize / 2) {
      lane.reading = true;
      lane.dirty = false;
      const want = windowSize - lane.size;
      let rows: Delivery[];
      try {
        rows = await store.pendingAfter(lane.sub.id, lane.cursor, want);
      } finally {
        lane.reading = false;
      }
      if (lanes.get(lane.sub.id) !== lane) return; // unsubscribed meanwhile
      for (const d of rows) {
        if (d.seq <= lane.cursor) continue;
        // After a reset, the delivery on its way is still the head of its cart.
        const queue = lane.carts.get(d.cartId);
        if (queue?.some((q) => q.eventId === d.eventId)) continue;
        append(lane, d);
      }
      // Fewer than asked is everything, unless routing added some while the read was under way.
      lane.caughtUp = rows.length < want && !lane.dirty;
    }
  };

  let retryTimer: NodeJS.Timeout | undefined;
  let retryDue = Number.POSITIVE_INFINITY;
  const wakeAt = (due: number): void => {
    if (!running || due >= retryDue) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryDue = due;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        retryDue = Number.POSITIVE_INFINITY;
        soon();
      },
      Math.max(0, due - nowMs()),
    );
    retryTimer.unref();
  };

  /** Something started and not finished (a send until its outcome is committed, a read, a flush). */
  let ops = 0;
  const done = (): void => {
    ops--;
    checkIdle();
  };
  function checkIdle(): void {
    if (ops !== 0 || round) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }
  const idle = (): Promise<void> =>
    ops === 0 && !round
      ? Promise.resolve()
      : new Promise((resolve) => {
          idleWaiters.push(resolve);
        });

  /** Starts the oldest due delivery of every free cart of the lane, up to its limits. */
  const pump = (lane: Lane): number => {
    if (stopping || !lane.url) return 0;
    const now = nowMs();
    let started = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const [cartId, queue] of lane.carts) {
      if (lane.inFlight >= perLane || inFlight >= maxInFlight) break;
      if (lane.busy.has(cartId)) continue;
      const d = queue[0];
      if (!d) continue;
      if (d.nextAttemptAt > now) {
        next = Math.min(next, d.nextAttemptAt);
        continue;
      }
      lane.busy.add(cartId);
      send(lane, lane.url, d);
      started++;
    }
    if (next !== Number.POSITIVE_INFINITY) wakeAt(next);
    if (!lane.caughtUp && lane.size <= windowSize / 2 && !lane.reading) {
      ops++;
      fill(lane)
        .then(() => {
          if (lanes.get(lane.sub.id) === lane) pump(lane);
        })
        .catch(report)
        .finally(done);
    }
    return started;
  };

  const send = (lane: Lane, url: URL, d: Delivery): void => {
    lane.inFlight++;
    inFlight++;
    ops++;
    void (async () => {
      let error: string | undefined;
      try {
        if (options.denyPrivate) await assertPublicHost(url);
        const status = await poster.post(url, d.json ?? JSON.stringify(d.body));
        if (status < 200 || status > 299) error = `callback answered ${status}`;
      } catch (e) {
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      const attempts = d.attempts + 1;
      const at = options.now();
      const key = { eventId: d.eventId, subscriptionId: d.subscriptionId, attempts };
      let settlement: Settlement;
      let latencyMs: number | undefined;
      if (error === undefined) {
        settlement = { kind: 'delivered', ...key, at: at.toISOString() };
        const t = d.eventTime === undefined ? Number.NaN : Date.parse(d.eventTime);
        if (!Number.isNaN(t)) latencyMs = Math.max(0, at.getTime() - t);
      } else if (attempts >= options.maxAttempts) {
        settlement = { kind: 'dead', ...key, lastError: error, at: at.toISOString() };
      } else {
        settlement = { kind: 'retry', ...key, nextAttemptAt: at.getTime() + backoff(attempts) };
      }
      lane.inFlight--;
      inFlight--;
      outcomes.push({
        lane,
        delivery: d,
        settlement,
        ...(error === undefined ? {} : { error }),
        ...(latencyMs === undefined ? {} : { latencyMs }),
      });
      flush();
    })();
  };

  /** Commits the outcomes gathered so far in one store write, then lets their carts move on. */
  const flush = (): void => {
    if (flushing) return;
    ops++;
    flushing = (async () => {
      // Outcomes of the next few ms share the write.
      await new Promise<void>((resolve) => setTimeout(resolve, settleMs));
      while (outcomes.length > 0) {
        const batch = outcomes;
        outcomes = [];
        let committed = true;
        try {
          await store.settleDeliveries(batch.map((o) => o.settlement));
        } catch (e) {
          committed = false;
          report(e);
        }
        const touched = new Set<Lane>();
        for (const o of batch) {
          const { lane, delivery: d, settlement: s } = o;
          touched.add(lane);
          if (!committed) {
            // Not recorded: it is sent again (at least once), after a pause.
            d.nextAttemptAt = nowMs() + base;
          } else if (s.kind === 'retry') {
            d.attempts = s.attempts;
            d.nextAttemptAt = s.nextAttemptAt;
            options.onRetry?.(d, o.error ?? '');
          } else {
            const queue = lane.carts.get(d.cartId);
            if (queue?.[0] === d) {
              queue.shift();
              lane.size--;
              if (queue.length === 0) lane.carts.delete(d.cartId);
            }
            d.attempts = s.attempts;
            if (s.kind === 'delivered') options.onDelivered?.(d, o.latencyMs);
            else options.onDeadLetter?.(d, o.error ?? '', 'attempts');
          }
          lane.busy.delete(d.cartId);
          ops--; // the send is over
        }
        for (const lane of touched) if (lanes.get(lane.sub.id) === lane) pump(lane);
      }
    })()
      .catch(report)
      .finally(() => {
        flushing = undefined;
        if (outcomes.length > 0) flush();
        done();
      });
  };

  /** One pass: the subscriptions, a batch of routing, then every lane reads and starts. */
  const doRound = async (): Promise<number> => {
    const subs = await refreshLanes();
    const routed = await route(subs);
    for (const lane of lanes.values()) {
      await fill(lane);
      pump(lane);
    }
    return routed;
  };

  const runRound = (): Promise<number> => {
    if (round) {
      again = true;
      return round;
    }
    const current = doRound()
      .catch((e: unknown) => {
        report(e);
        return 0;
      })
      .then((routed) => {
        // A full batch means more is waiting: another round soon.
        if (routed === routeBatch) again = true;
        return routed;
      })
      .finally(() => {
        round = undefined;
        if (again) {
          again = false;
          soon();
        }
        checkIdle();
      });
    round = current;
    return current;
  };

  function schedule(ms: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timerDue = Date.now() + ms;
    timer = setTimeout(() => {
      timer = undefined;
      void runRound().finally(() => {
        if (running && !timer) schedule(pollMs);
      });
    }, ms);
    timer.unref();
  }

  /** A round within batchMs: an earlier one already planned stands, a later one is moved up. */
  function soon(): void {
    if (timer && timerDue <= Date.now() + batchMs) return;
    schedule(batchMs);
  }

  const maintain = async (): Promise<void> => {
    if (maintaining) return maintaining;
    maintaining = (async () => {
      const now = options.now();
      // The cap: a subscriber that cannot keep up loses its oldest events to the dead letters,
      // counted and visible, rather than growing the store without end.
      for (const b of await store.backlog()) {
        if (b.pending <= maxPending) continue;
        const reason = `backlog over NOTIFY_MAX_PENDING (${maxPending}): the oldest events were set aside`;
        let count = 0;
        for (;;) {
          const moved = await store.capBacklog(b.subscriptionId, maxPending, reason, now.toISOString());
          for (const d of moved) options.onDeadLetter?.(d, reason, 'backlog');
          count += moved.length;
          if (moved.length === 0) break;
        }
        if (count > 0) options.onCapped?.(b.subscriptionId, count);
        const lane = lanes.get(b.subscriptionId);
        if (lane) resetLane(lane);
      }
      const deliveredBefore = new Date(now.getTime() - deliveredRetentionMs).toISOString();
      const deadBefore = new Date(now.getTime() - deadRetentionMs).toISOString();
      const chunk = 1000;
      for (;;) {
        const gone = await store.pruneEventRecords(deliveredBefore, deadBefore, chunk);
        if (gone.delivered < chunk && gone.dead < chunk) break;
      }
    })()
      .catch(report)
      .finally(() => {
        maintaining = undefined;
      });
    return maintaining;
  };

  return {
    nudge: () => {
      soon();
    },
    start: () => {
      running = true;
      stopping = false;
      schedule(0);
      maintenance = setInterval(() => {
        void maintain();
      }, maintenanceMs);
      maintenance.unref();
      void maintain();
    },
    stop: async (graceMs) => {
      running = false;
      stopping = true;
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      if (maintenance) clearInterval(maintenance);
      timer = undefined;
      // What is on its way finishes and its outcome is recorded; nothing new starts.
      const all = Promise.all([maintaining, idle()]);
      let t: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      if (t) clearTimeout(t);
      poster.close();
    },
    runOnce: async () => {
      // A round already under way may have read the clock and the queue before this call:
      // let it finish, so the rounds awaited below start after the call did.
      if (round) await round;
      for (;;) {
        const routed = await runRound();
        await idle();
        if (routed === routeBatch) continue; // more to route
        let started = 0;
        for (const lane of lanes.values()) started += pump(lane);
        if (started === 0 && ops === 0) break; // what is left is not due
        await idle();
      }
    },
    maintain,
    inFlight: () => inFlight,
  };
}
