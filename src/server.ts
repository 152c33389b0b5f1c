/**
 * Wires a running server from a configuration: logger, metrics, store (timed), services, app,
 * purge sweep, notifier, server timeouts and a graceful close. main.ts calls it for the process;
 * tests call it to get a real server on a free port.
 */
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Express } from 'express';
import { createApp, type AppDeps } from './app.js';
import { newUlid } from './ids.js';
import { createCartService } from './cart/cart-service.js';
import type { Config } from './config/config.js';
import { startDispatchThread } from './events/dispatch-thread.js';
import { createDispatcher, type DeadReason, type Dispatcher } from './events/dispatcher.js';
import { clientErrorResponse } from './http/errors.js';
import { routeTemplate } from './http/served-apis.js';
import { createSubscriptionService } from './hub/subscription-service.js';
import { createHealth } from './observability/health.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Store } from './store/store.js';

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  server: Server;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: Metrics;
  /**
   * Stops taking connections, lets requests in flight finish (up to the grace period, then
   * drops their connections), and drains the notifier. The store stays open (its owner closes it).
   */
  close(): Promise<void>;
}

export interface StartOptions {
  now?: () => Date;
  newId?: () => string;
  validateResponses?: boolean;
  logError?: (err: unknown, context?: { requestId?: string | undefined }) => void;
  /** Where logs go; default: a pino logger on stdout at LOG_LEVEL. */
  logger?: Logger;
  /** Dispatcher tuning for tests (fast retries). */
  notifyBackoffMs?: number;
  notifyPollMs?: number;
  /** Graceful shutdown: how long in-flight requests and deliveries may take (SHUTDOWN_GRACE_MS). */
  graceMs?: number;
  /**
   * With NOTIFY_DISPATCHER=false: called after each write instead of nudging a dispatcher here
   * (a cluster worker tells the worker that delivers).
   */
  remoteNudge?: () => void;
}

/** A dispatcher for a process that does not deliver: writes only tell whoever does. */
function remoteDispatcher(nudge: () => void): Dispatcher {
  return {
    nudge,
    start: () => undefined,
    stop: () => Promise.resolve(),
    runOnce: () => Promise.resolve(),
    maintain: () => Promise.resolve(),
    inFlight: () => 0,
  };
}

type LogError = NonNullable<StartOptions['logError']>;

/** The notifier of this process: a delivery thread, one in this thread, or one that only tells whoever delivers. */
function createNotifier(
  config: Config,
  store: Store,
  now: () => Date,
  options: StartOptions,
  report: { metrics: Metrics; logger: Logger; logError: LogError },
): Dispatcher {
  const { metrics, logger, logError } = report;
  const tuning = {
    maxAttempts: config.events.maxAttempts,
    timeoutMs: config.events.timeoutMs,
    denyPrivate: config.events.denyPrivate,
    maxInFlightPerSubscriber: config.events.concurrency,
    maxPending: config.events.maxPending,
    deliveredRetentionMs: config.events.deliveredRetentionMs,
    deadLetterRetentionMs: config.events.deadLetterRetentionMs,
    ...(options.notifyBackoffMs === undefined ? {} : { baseBackoffMs: options.notifyBackoffMs }),
    ...(options.notifyPollMs === undefined ? {} : { pollMs: options.notifyPollMs }),
  };
  const hooks = {
    onDelivered: (d: { subscriptionId: string; eventType: string }, latencyMs: number | undefined) => {
      metrics.delivered(d, latencyMs);
    },
    onRetry: (
      d: { subscriptionId: string; eventType: string; eventId: string; attempts: number },
      error: string,
    ) => {
      metrics.retried(d);
      logger.warn(
        { eventId: d.eventId, subscriptionId: d.subscriptionId, attempts: d.attempts, error },
        'notification failed, will retry',
      );
    },
    onDeadLetter: (
      d: { subscriptionId: string; eventType: string; eventId: string; attempts: number },
      error: string,
      reason: DeadReason,
    ) => {
      metrics.deadLettered(d, reason);
      if (reason === 'backlog') return; // one line per cut (onCapped), not one per event
      logger.error(
        { eventId: d.eventId, subscriptionId: d.subscriptionId, attempts: d.attempts, reason, error },
        'notification dead-lettered',
      );
    },
    onCapped: (subscriptionId: string, count: number) => {
      logger.error(
        { subscriptionId, count, maxPending: config.events.maxPending },
        'subscriber backlog over NOTIFY_MAX_PENDING: oldest notifications dead-lettered',
      );
    },
    onError: (err: unknown) => {
      logError(err);
    },
  };
  // Delivery runs in its own thread with its own store connection, so it never takes the API's
  // event loop; an in-memory database cannot be shared, so there it runs here (unit tests).
  return !config.events.dispatcher
    ? remoteDispatcher(options.remoteNudge ?? (() => undefined))
    : store.location
      ? startDispatchThread({ store, now, dispatcher: tuning, nice: config.events.threadNice, ...hooks })
      : createDispatcher({ store, now, ...tuning, ...hooks });
}

/** The auth options of the app: present only with AUTH_MODE=jwt. */
function authOf(config: Config): Pick<AppDeps, 'auth'> {
  if (config.auth.mode !== 'jwt') return {};
  const { jwksUrl, secret, issuer, audience, ownerClaim } = config.auth;
  return { auth: { jwksUrl, secret, issuer, audience, ownerClaim } };
}

/** The HTTP server on the configured port, with Node's limits and the draining behaviour set. */
async function listen(app: Express, config: Config, draining: () => boolean): Promise<Server> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.http.port, config.http.host, (err?: Error) => {
      if (err) reject(err);
      else resolve(s);
    });
  });
  // While draining, a keep-alive connection is closed as soon as its answer is out.
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.once('finish', () => {
      if (draining())
        setImmediate(() => {
          server.closeIdleConnections();
        });
    });
  });
  // A request Node's parser refuses (bad request line, headers or URL over its limit, too slow)
  // gets a TMF Error too, when the socket can still take an answer.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (
      err.code === 'ECONNRESET' ||
      !socket.writable ||
      (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
    ) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err));
  });
  // Node's own limits: the whole request must arrive within the timeout, headers sooner.
  server.requestTimeout = config.http.requestTimeoutMs;
  server.headersTimeout = Math.min(60_000, config.http.requestTimeoutMs);
  return server;
}

/** The periodic sweep of expired carts and idempotency keys. */
function startPurge(config: Config, store: Store, now: () => Date, logger: Logger): NodeJS.Timeout {
  const purge = setInterval(() => {
    store.purgeExpired(now().getTime()).catch((err: unknown) => {
      logger.warn({ err }, 'purge of expired carts failed');
    });
    store.purgeIdempotencyKeys(now().getTime()).catch((err: unknown) => {
      logger.warn({ err }, 'purge of expired idempotency keys failed');
    });
  }, config.carts.purgeIntervalMs);
  purge.unref();
  return purge;
}

/**
 * Stops taking connections; idle keep-alive ones close now, busy ones when their answer is
 * sent, and whatever is still running after the grace period is cut off. Then the notifier
 * drains in what is left of the grace period.
 */
async function drain(server: Server, dispatcher: Dispatcher, graceMs: number, logger: Logger): Promise<void> {
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      logger.warn('grace period over: closing the connections still open');
      server.closeAllConnections();
    }, graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
  await dispatcher.stop(Math.max(0, graceMs - (Date.now() - started)));
}

export async function startServer(
  config: Config,
  rawStore: Store,
  options: StartOptions = {},
): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? newUlid;
  const logger = options.logger ?? createLogger(config.process.logLevel);
  const logError =
    options.logError ??
    ((err: unknown, context?: { requestId?: string | undefined }) => {
      logger.error({ err, requestId: context?.requestId }, 'unexpected error');
    });
  const graceMs = options.graceMs ?? config.process.shutdownGraceMs;
  const metrics = createMetrics(routeTemplate);
  const store = metrics.instrumentStore(rawStore);
  const dispatcher = createNotifier(config, store, now, options, { metrics, logger, logError });
  let draining = false;
  const carts = createCartService({
    store,
    now,
    newId,
    roundingMode: config.carts.roundingMode,
    cartTtlMs: config.carts.ttlMs,
    maxDepth: config.http.jsonMaxDepth,
    afterWrite: () => {
      dispatcher.nudge();
    },
  });
  const app = createApp({
    store,
    carts,
    newId,
    publicBaseUrl: config.http.publicBaseUrl,
    bodyLimit: config.http.bodyLimit,
    maxPageSize: config.http.maxPageSize,
    validateResponses: options.validateResponses ?? false,
    logError,
    ...authOf(config),
    corsOrigins: config.http.corsOrigins,
    trustProxy: config.http.trustProxy,
    jsonMaxDepth: config.http.jsonMaxDepth,
    rateLimitPerMin: config.http.rateLimitPerMin,
    requestTimeoutMs: config.http.requestTimeoutMs,
    idempotencyTtlMs: config.http.idempotencyTtlMs,
    now,
    logger,
    metrics,
    health: createHealth(store, () => draining),
    subscriptions: createSubscriptionService({ store, newId }),
  });
  const server = await listen(app, config, () => draining);
  const purge = startPurge(config, store, now, logger);
  dispatcher.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    server,
    dispatcher,
    logger,
    metrics,
    close: () => {
      closing ??= (async () => {
        draining = true;
        clearInterval(purge);
        await drain(server, dispatcher, graceMs, logger);
      })();
      return closing;
    },
  };
}
