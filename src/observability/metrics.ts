/**
 * Prometheus metrics on a registry of their own (one per app, so tests can build many): HTTP
 * durations by route template, cart writes, store latency, notification outcomes and queue depth,
 * and the process defaults (event loop lag, memory, CPU, GC).
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store, SubscriberBacklog } from '../store/store.js';

/** What the metrics need to know of a delivery. */
interface DeliveryLabels {
  subscriptionId: string;
  eventType: string;
}

export interface Metrics {
  registry: Registry;
  /** Times HTTP requests (install early). */
  httpMetrics: RequestHandler;
  /** The store with every method timed and cart writes counted. */
  instrumentStore(store: Store): Store;
  /** Dispatcher hooks (onDelivered/onRetry/onDeadLetter). */
  delivered(d: DeliveryLabels, latencyMs: number | undefined): void;
  retried(d: DeliveryLabels): void;
  /** `reason`: `attempts` (NOTIFY_MAX_ATTEMPTS) or `backlog` (NOTIFY_MAX_PENDING). */
  deadLettered(d: DeliveryLabels, reason: string): void;
}

/** The route templates below one prefix ('' for the server's root), each with the pattern of the rest of the path. */
export interface RouteTemplates {
  prefix: string;
  routes: readonly { pattern: RegExp; template: string }[];
}

/**
 * The route template of a URL: the longest prefix it is under decides which templates apply
 * (an API's, or the root's), then the first whose pattern matches the rest; else `unmatched`.
 */
export function routeTemplater(mounts: readonly RouteTemplates[]): (url: string) => string {
  const longestFirst = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  return (url) => {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const mount = longestFirst.find(
      (m) => m.prefix === '' || path === m.prefix || path.startsWith(`${m.prefix}/`),
    );
    const rest = mount === undefined ? path : path.slice(mount.prefix.length);
    return mount?.routes.find((r) => r.pattern.test(rest))?.template ?? 'unmatched';
  };
}

/** The counters and histograms the server updates, on `registry`. */
function instruments(registry: Registry) {
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    cartsCreated: counter('tmf663_carts_created_total', 'Shopping carts created'),
    cartsUpdated: counter('tmf663_carts_updated_total', 'Shopping cart updates committed'),
    cartsDeleted: counter('tmf663_carts_deleted_total', 'Shopping carts deleted'),
    cartsPurged: counter('tmf663_carts_purged_total', 'Expired shopping carts purged'),
    storeDuration: new Histogram({
      name: 'tmf663_store_operation_duration_seconds',
      help: 'Store operation duration by operation and outcome',
      labelNames: ['operation', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    deliveries: counter(
      'tmf663_notification_deliveries_total',
      'Notifications delivered (2xx from the listener)',
      ['eventType'] as const,
    ),
    retries: counter(
      'tmf663_notification_retries_total',
      'Notification attempts that failed and were scheduled again',
      ['eventType'] as const,
    ),
    deadLetters: counter(
      'tmf663_notification_dead_letters_total',
      'Notifications given up: after the last attempt, or set aside by the per-subscriber backlog cap',
      ['eventType', 'reason'] as const,
    ),
    latency: new Histogram({
      name: 'tmf663_notification_delivery_latency_seconds',
      help: "From the event's time (the write) to the subscriber's 2xx answer, per subscription",
      labelNames: ['subscription'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}
type Instruments = ReturnType<typeof instruments>;

/**
 * The gauges read from the store at scrape time (exact whichever process delivers); `store` is
 * the instrumented store once there is one. A store that is down keeps the last values rather
 * than fail the scrape (/ready says so).
 */
function storeGauges(registry: Registry, store: () => Store | undefined): void {
  new Gauge({
    name: 'tmf663_notification_queue_depth',
    help: 'Notifications waiting for delivery',
    registers: [registry],
    async collect() {
      const s = store();
      if (!s) return;
      try {
        this.set(await s.pendingDeliveries());
      } catch {
        // The store is down.
      }
    },
  });

  // Per subscriber: the two gauges are collected together; they share one read of the backlog.
  let backlogRead: Promise<SubscriberBacklog[]> | undefined;
  const readBacklog = (): Promise<SubscriberBacklog[]> => {
    const s = store();
    if (!s) return Promise.resolve([]);
    backlogRead ??= s.backlog().finally(() => {
      setImmediate(() => {
        backlogRead = undefined;
      });
    });
    return backlogRead;
  };
  /** A gauge per subscription from the backlog rows; `valueOf` undefined leaves a row out. */
  const perSubscription = (
    name: string,
    help: string,
    valueOf: (row: SubscriberBacklog, now: number) => number | undefined,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ['subscription'] as const,
      registers: [registry],
      async collect() {
        try {
          const rows = await readBacklog();
          this.reset();
          const now = Date.now();
          for (const r of rows) {
            const value = valueOf(r, now);
            if (value !== undefined) this.set({ subscription: r.subscriptionId }, value);
          }
        } catch {
          // The store is down.
        }
      },
    });
  };
  perSubscription(
    'tmf663_notification_backlog',
    'Deliveries waiting, per subscription (routed, not yet delivered or dead)',
    (r) => r.pending,
  );
  perSubscription(
    'tmf663_notification_oldest_pending_seconds',
    "Age of each subscription's oldest waiting delivery (from its event's time)",
    (r, now) => {
      const t = r.oldestEventTime === undefined ? Number.NaN : Date.parse(r.oldestEventTime);
      return Number.isNaN(t) ? undefined : Math.max(0, (now - t) / 1000);
    },
  );
  new Gauge({
    name: 'tmf663_notification_records',
    help: 'Event records held by the store: outbox (not routed), pending, delivered, dead',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const s = store();
      if (!s) return;
      try {
        const counts = await s.eventRecordCounts();
        for (const [kind, n] of Object.entries(counts) as [string, number][]) this.set({ kind }, n);
      } catch {
        // The store is down.
      }
    },
  });
}

/** What each writing store method adds to the cart counters, from its result. */
function cartCounts(m: Instruments): Partial<Record<keyof Store, (result: unknown) => void>> {
  return {
    createCart: () => {
      m.cartsCreated.inc();
    },
    replaceCart: () => {
      m.cartsUpdated.inc();
    },
    deleteCart: (gone) => {
      if (gone === true) m.cartsDeleted.inc();
    },
    updateCart: (result) => {
      const { written } = result as { written: string };
      if (written === 'replace') m.cartsUpdated.inc();
      if (written === 'delete') m.cartsDeleted.inc();
    },
    purgeExpired: (count) => {
      if (typeof count === 'number' && count > 0) m.cartsPurged.inc(count);
    },
  };
}

/** The store with every method timed (storeDuration) and its writes counted. */
function timedStore(store: Store, m: Instruments): Store {
  const counts = cartCounts(m);
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let w = wrapped.get(prop);
      if (!w) {
        const fn = value as (...args: unknown[]) => unknown;
        const counted = counts[prop as keyof Store];
        // Keeps a method's shape: a promise is timed when it settles, a plain value at once.
        w = (...args: unknown[]): unknown => {
          const end = m.storeDuration.startTimer({ operation: prop });
          const ok = (result: unknown): unknown => {
            end({ outcome: 'ok' });
            counted?.(result);
            return result;
          };
          const failed = (e: unknown): never => {
            end({ outcome: 'error' });
            throw e;
          };
          let result: unknown;
          try {
            result = fn.apply(target, args);
          } catch (e) {
            return failed(e);
          }
          return result instanceof Promise ? result.then(ok, failed) : ok(result);
        };
        wrapped.set(prop, w);
      }
      return w;
    },
  });
}

/** `routeTemplate` labels each request's duration with its route template (src/http/served-apis.ts). */
export function createMetrics(routeTemplate: (url: string) => string): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const m = instruments(registry);
  let instrumented: Store | undefined;
  storeGauges(registry, () => instrumented);

  return {
    registry,
    httpMetrics: (req, res, next) => {
      const end = m.httpDuration.startTimer();
      res.once('close', () => {
        end({ method: req.method, route: routeTemplate(req.originalUrl), status: String(res.statusCode) });
      });
      next();
    },
    instrumentStore: (store) => {
      instrumented = timedStore(store, m);
      return instrumented;
    },
    delivered: (d, latencyMs) => {
      m.deliveries.inc({ eventType: d.eventType });
      if (latencyMs !== undefined) m.latency.observe({ subscription: d.subscriptionId }, latencyMs / 1000);
    },
    retried: (d) => {
      m.retries.inc({ eventType: d.eventType });
    },
    deadLettered: (d, reason) => {
      m.deadLetters.inc({ eventType: d.eventType, reason });
    },
  };
}
