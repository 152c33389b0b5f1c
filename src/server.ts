/**
 * Wires a running server from a configuration: logger, metrics, store (timed), services, app,
 * purge sweep, notifier, server timeouts and a graceful close. main.ts calls it for the process;
 * tests call it to get a real server on a free port.
 */
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createApp } from './app.js';
import { newUlid } from './ids.js';
import { createCartService } from './cart/cart-service.js';
import type { Config } from './config.js';
import { createDispatcher, type Dispatcher } from './events/dispatcher.js';
import { clientErrorResponse } from './http/errors.js';
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
}

export async function startServer(
  config: Config,
  rawStore: Store,
  options: StartOptions = {},
): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? newUlid;
  const logger = options.logger ?? createLogger(config.logLevel);
  const logError =
    options.logError ??
    ((err: unknown, context?: { requestId?: string | undefined }) => {
      logger.error({ err, requestId: context?.requestId }, 'unexpected error');
    });
  const graceMs = options.graceMs ?? config.shutdownGraceMs;
  const metrics = createMetrics();
  const store = metrics.instrumentStore(rawStore);
  const dispatcher = createDispatcher({
    store,
    now,
    maxAttempts: config.notifyMaxAttempts,
    timeoutMs: config.notifyTimeoutMs,
    denyPrivate: config.notifyDenyPrivate,
    ...(options.notifyBackoffMs === undefined ? {} : { baseBackoffMs: options.notifyBackoffMs }),
    ...(options.notifyPollMs === undefined ? {} : { pollMs: options.notifyPollMs }),
    onDelivered: (d) => {
      metrics.delivered(d);
    },
    onRetry: (d, error) => {
      metrics.retried(d);
      logger.warn(
        { eventId: d.eventId, subscriptionId: d.subscriptionId, attempts: d.attempts + 1, error },
        'notification failed, will retry',
      );
    },
    onDeadLetter: (d, error) => {
      metrics.deadLettered(d);
      logger.error(
        { eventId: d.eventId, subscriptionId: d.subscriptionId, attempts: d.attempts + 1, error },
        'notification dead-lettered',
      );
    },
    onError: (err) => {
      logError(err);
    },
  });
  let draining = false;
  const carts = createCartService({
    store,
    now,
    newId,
    roundingMode: config.roundingMode,
    cartTtlMs: config.cartTtlMs,
    maxDepth: config.jsonMaxDepth,
    afterWrite: () => {
      dispatcher.nudge();
    },
  });
  const app = createApp({
    store,
    carts,
    newId,
    publicBaseUrl: config.publicBaseUrl,
    bodyLimit: config.bodyLimit,
    maxPageSize: config.maxPageSize,
    validateResponses: options.validateResponses ?? false,
    logError,
    ...(config.authMode === 'jwt'
      ? {
          auth: {
            jwksUrl: config.authJwksUrl,
            secret: config.authSecret,
            issuer: config.authIssuer,
            audience: config.authAudience,
            ownerClaim: config.authOwnerClaim,
          },
        }
      : {}),
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    jsonMaxDepth: config.jsonMaxDepth,
    rateLimitPerMin: config.rateLimitPerMin,
    requestTimeoutMs: config.requestTimeoutMs,
    idempotencyTtlMs: config.idempotencyTtlMs,
    now,
    logger,
    metrics,
    draining: () => draining,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => {
      if (err) reject(err);
      else resolve(s);
    });
  });
  // While draining, a keep-alive connection is closed as soon as its answer is out.
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.once('finish', () => {
      if (draining)
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
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(60_000, config.requestTimeoutMs);
  const purge = setInterval(() => {
    store.purgeExpired(now().getTime()).catch((err: unknown) => {
      logger.warn({ err }, 'purge of expired carts failed');
    });
    store.purgeIdempotencyKeys(now().getTime()).catch((err: unknown) => {
      logger.warn({ err }, 'purge of expired idempotency keys failed');
    });
  }, config.purgeIntervalMs);
  purge.unref();
  dispatcher.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
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
        const started = Date.now();
        // Stop taking connections; idle keep-alive ones close now, busy ones when their answer
        // is sent, and whatever is still running after the grace period is cut off.
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
      })();
      return closing;
    },
  };
}
