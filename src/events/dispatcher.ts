/**
 * The outbox dispatcher: at-least-once delivery of recorded events to hub subscribers.
 *
 * Cart writes record their events in the store in the same atomic write (the outbox); requests
 * never wait for delivery. This loop (1) routes new outbox events to the subscriptions whose
 * query they match, as one delivery per subscriber, (2) POSTs due deliveries to the callback URL
 * exactly, oldest first per (subscriber, cart) so each subscriber sees a cart's events in order,
 * (3) treats any 2xx as delivered, retries anything else with exponential backoff and jitter,
 * and dead-letters a delivery after the last attempt. Everything pending lives in the store, so
 * a restart resumes where the last process stopped.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { EventSubscription, ShoppingCart } from '../api-types.js';
import type { Delivery, RouteTarget, Store } from '../store/store.js';
import { ownsCart } from '../cart/owners.js';
import { RegexBudgetExceeded, withRegexBudget } from '../query/safe-regex.js';
import { createPoster } from './post.js';
import {
  parseSubscriptionQuery,
  shapeForSubscription,
  type SubscriptionQuery,
} from './subscription-query.js';

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
  /** Most deliveries on their way at once, so slow listeners cannot take the process's CPU. */
  maxInFlight?: number;
  /** Largest callback answer read before the connection is dropped. */
  maxResponseBytes?: number;
  random?: () => number;
  onDelivered?: (d: Delivery) => void;
  onRetry?: (d: Delivery, error: string) => void;
  onDeadLetter?: (d: Delivery, error: string) => void;
  onError?: (err: unknown) => void;
}

export interface Dispatcher {
  /** Something was written: look for work now rather than at the next poll. */
  nudge(): void;
  start(): void;
  /** Stops picking up work and waits (up to graceMs) for deliveries in flight. */
  stop(graceMs: number): Promise<void>;
  /** Runs one routing and delivery round and waits for it (tests, shutdown). */
  runOnce(): Promise<void>;
  inFlight(): number;
}

const privateV4 = [
  [0x0a000000, 8], // 10/8
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0x7f000000, 8], // 127/8
  [0xa9fe0000, 16], // 169.254/16 link-local
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x00000000, 8],
] as const;

export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const n = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    return privateV4.some(([net, bits]) => n >>> (32 - bits) === net >>> (32 - bits));
  }
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:')) return isPrivateAddress(a.slice(7));
  return (
    a === '::1' ||
    a === '::' ||
    a.startsWith('fc') ||
    a.startsWith('fd') ||
    a.startsWith('fe8') ||
    a.startsWith('fe9') ||
    a.startsWith('fea') ||
    a.startsWith('feb')
  );
}

async function assertPublicHost(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addresses.some(isPrivateAddress))
    throw new Error(`callback host ${host} resolves to a private address`);
}

/** Lets the event loop run whatever is waiting (requests) before the caller goes on. */
const yieldToLoop = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { store } = options;
  const pollMs = options.pollMs ?? 500;
  const batchMs = options.batchMs ?? 20;
  const maxInFlight = options.maxInFlight ?? 32;
  const routeBatch = 25;
  const base = options.baseBackoffMs ?? 1000;
  const cap = options.maxBackoffMs ?? 5 * 60_000;
  const poster = createPoster({
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
  });
  /** Sends started back to back before the loop gets a turn, so a full round cannot hog it. */
  const startsPerTurn = 4;
  const random = options.random ?? Math.random;
  const report = options.onError ?? (() => undefined);

  const inFlight = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopping = false;
  let round: Promise<void> | undefined;
  let again = false;
  const parsed = new Map<string, SubscriptionQuery>();
  const settled = new Set<string>();

  const queryOf = (sub: EventSubscription): SubscriptionQuery => {
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

  const send = async (d: Delivery, callback: string): Promise<void> => {
    let error: string | undefined;
    try {
      const url = new URL(callback);
      if (options.denyPrivate) await assertPublicHost(url);
      const status = await poster.post(url, d.json ?? JSON.stringify(d.body));
      if (status < 200 || status > 299) error = `callback answered ${status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const attempts = d.attempts + 1;
    if (error === undefined) {
      await store.completeDelivery(d.eventId, d.subscriptionId);
      options.onDelivered?.(d);
    } else if (attempts >= options.maxAttempts) {
      await store.deadLetter(d.eventId, d.subscriptionId, attempts, error, options.now().toISOString());
      options.onDeadLetter?.(d, error);
    } else {
      await store.retryDelivery(
        d.eventId,
        d.subscriptionId,
        attempts,
        options.now().getTime() + backoff(attempts),
      );
      options.onRetry?.(d, error);
    }
  };

  const doRound = async (): Promise<void> => {
    const subs = await store.listSubscriptions();
    const byId = new Map(subs.map((s) => [s.id, s]));
    // A routing step holds the event loop (SQLite is synchronous), so it takes a few events at a
    // time and asks for another round when there were more: requests get the loop in between.
    // Each event's routing has one regex budget (safe-regex.ts), so no event can hold the loop;
    // past it the event goes to the remaining subscribers unfiltered (at least once, never lost).
    const routed = await store.routeOutbox(
      (event) =>
        withRegexBudget(() => {
          const targets: RouteTarget[] = [];
          for (const sub of subs) {
            // Owner isolation, decided now (not when subscribing): a subscription with an owner hears
            // only of carts that name its owner in the event's own copy of the cart.
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
    );
    if (routed === routeBatch) again = true;
    // Every slot taken (slow listeners): reading the queue now would only skip what it read.
    if (inFlight.size >= maxInFlight) return;
    // A delivery that finishes while dueDeliveries is reading may still be in its answer: what
    // was in flight when the read began, or settled since, is not sent again in this round.
    const busy = new Set(inFlight.keys());
    settled.clear();
    // The oldest due delivery of each (subscriber, cart) comes first, and those in flight are
    // among them, so free slots plus those in flight is as many as this round can use.
    const due = await store.dueDeliveries(options.now().getTime(), maxInFlight);
    let started = 0;
    for (const d of due) {
      if (inFlight.size >= maxInFlight) break; // the rest waits for a later round
      const key = `${d.subscriptionId}\u0000${d.cartId}`;
      if (busy.has(key) || inFlight.has(key) || settled.has(`${d.eventId}\u0000${d.subscriptionId}`))
        continue;
      const sub = byId.get(d.subscriptionId);
      if (!sub) {
        await store.completeDelivery(d.eventId, d.subscriptionId); // unsubscribed meanwhile
        continue;
      }
      if (started > 0 && started % startsPerTurn === 0) await yieldToLoop();
      if (stopping) break; // stop() is waiting for what is in flight; start nothing new
      started++;
      const p = send(d, sub.callback)
        .catch(report)
        .finally(() => {
          settled.add(`${d.eventId}\u0000${d.subscriptionId}`);
          inFlight.delete(key);
          soon(); // the next event of this cart may be due now
        });
      inFlight.set(key, p);
    }
  };

  const runRound = (): Promise<void> => {
    if (round) {
      again = true;
      return round;
    }
    round = doRound()
      .catch(report)
      .finally(() => {
        round = undefined;
        if (again) {
          again = false;
          soon();
        }
      });
    return round;
  };

  let timerDue = 0;
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

  return {
    nudge: () => {
      soon();
    },
    start: () => {
      running = true;
      stopping = false;
      schedule(0);
    },
    stop: async (graceMs) => {
      running = false;
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const all = Promise.all([round, ...inFlight.values()]).then(() => undefined);
      let t: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      if (t) clearTimeout(t);
      poster.close();
    },
    runOnce: async () => {
      // A round already under way may have read the clock and the queue before this call:
      // let it finish, so the round awaited below starts after the call did.
      if (round) await round;
      await runRound();
      await Promise.all(inFlight.values());
    },
    inFlight: () => inFlight.size,
  };
}
