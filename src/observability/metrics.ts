/**
 * Prometheus metrics on a registry of their own (one per app, so tests can build many): HTTP
 * durations by route template, cart writes, store latency, notification outcomes and queue depth,
 * and the process defaults (event loop lag, memory, CPU, GC).
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Delivery, Store } from '../store/store.js';

export interface Metrics {
  registry: Registry;
  /** Times HTTP requests (install early). */
  httpMetrics: RequestHandler;
  /** The store with every method timed and cart writes counted. */
  instrumentStore(store: Store): Store;
  /** Dispatcher hooks (onDelivered/onRetry/onDeadLetter). */
  delivered(d: Delivery): void;
  retried(d: Delivery): void;
  deadLettered(d: Delivery): void;
}

const base = '/tmf-api/shoppingCart/v4';

/** Route templates, never raw ids: the label set stays small whatever clients send. */
const routes: [RegExp, string][] = [
  [/^\/health\/?$/, '/health'],
  [/^\/ready\/?$/, '/ready'],
  [/^\/metrics\/?$/, '/metrics'],
  [/^\/?$/, `${base}/`],
  [/^\/shoppingCart\/?$/, `${base}/shoppingCart`],
  [/^\/shoppingCart\/[^/]+\/?$/, `${base}/shoppingCart/:id`],
  [/^\/hub\/?$/, `${base}/hub`],
  [/^\/hub\/[^/]+\/?$/, `${base}/hub/:id`],
  [/^\/openapi\.json$/, `${base}/openapi.json`],
  [/^\/docs(\/.*)?$/, `${base}/docs`],
];

export function routeTemplate(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const inApi = path === base || path.startsWith(`${base}/`);
  const rest = inApi ? path.slice(base.length) : path;
  for (const [re, template] of routes) {
    const isApiRoute = template.startsWith(base);
    if (isApiRoute === inApi && re.test(rest)) return template;
  }
  return 'unmatched';
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const cartsCreated = new Counter({
    name: 'tmf663_carts_created_total',
    help: 'Shopping carts created',
    registers: [registry],
  });
  const cartsUpdated = new Counter({
    name: 'tmf663_carts_updated_total',
    help: 'Shopping cart updates committed',
    registers: [registry],
  });
  const cartsDeleted = new Counter({
    name: 'tmf663_carts_deleted_total',
    help: 'Shopping carts deleted',
    registers: [registry],
  });
  const cartsPurged = new Counter({
    name: 'tmf663_carts_purged_total',
    help: 'Expired shopping carts purged',
    registers: [registry],
  });
  const storeDuration = new Histogram({
    name: 'tmf663_store_operation_duration_seconds',
    help: 'Store operation duration by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'tmf663_notification_deliveries_total',
    help: 'Notifications delivered (2xx from the listener)',
    labelNames: ['eventType'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'tmf663_notification_retries_total',
    help: 'Notification attempts that failed and were scheduled again',
    labelNames: ['eventType'] as const,
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'tmf663_notification_dead_letters_total',
    help: 'Notifications given up after the last attempt',
    labelNames: ['eventType'] as const,
    registers: [registry],
  });
  let instrumented: Store | undefined;
  new Gauge({
    name: 'tmf663_notification_queue_depth',
    help: 'Notifications waiting for delivery',
    registers: [registry],
    async collect() {
      if (!instrumented) return;
      try {
        this.set(await instrumented.pendingDeliveries());
      } catch {
        // The store is down: /ready says so; keep the last value rather than fail the scrape.
      }
    },
  });

  const httpMetrics: RequestHandler = (req, res, next) => {
    const end = httpDuration.startTimer();
    res.once('close', () => {
      end({ method: req.method, route: routeTemplate(req.originalUrl), status: String(res.statusCode) });
    });
    next();
  };

  const afterWrite: Partial<Record<keyof Store, (result: unknown) => void>> = {
    createCart: () => {
      cartsCreated.inc();
    },
    replaceCart: () => {
      cartsUpdated.inc();
    },
    deleteCart: (gone) => {
      if (gone === true) cartsDeleted.inc();
    },
    updateCart: (result) => {
      const { written } = result as { written: string };
      if (written === 'replace') cartsUpdated.inc();
      if (written === 'delete') cartsDeleted.inc();
    },
    purgeExpired: (count) => {
      if (typeof count === 'number' && count > 0) cartsPurged.inc(count);
    },
  };

  const instrumentStore = (store: Store): Store => {
    const wrapped = new Map<PropertyKey, unknown>();
    const proxy = new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        let w = wrapped.get(prop);
        if (!w) {
          const fn = value as (...args: unknown[]) => unknown;
          const counted = afterWrite[prop as keyof Store];
          // Keeps a method's shape: a promise is timed when it settles, a plain value at once.
          w = (...args: unknown[]): unknown => {
            const end = storeDuration.startTimer({ operation: prop });
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
    instrumented = proxy;
    return proxy;
  };

  return {
    registry,
    httpMetrics,
    instrumentStore,
    delivered: (d) => {
      deliveries.inc({ eventType: d.eventType });
    },
    retried: (d) => {
      retries.inc({ eventType: d.eventType });
    },
    deadLettered: (d) => {
      deadLetters.inc({ eventType: d.eventType });
    },
  };
}
