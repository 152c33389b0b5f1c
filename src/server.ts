/**
 * Wires a running server from a configuration: store, services, app, purge sweep. main.ts
 * calls it for the process; tests call it to get a real server on a free port.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ulid } from 'ulid';
import { createApp } from './app.js';
import { createCartService } from './cart/cart-service.js';
import type { Config } from './config.js';
import { createDispatcher, type Dispatcher } from './events/dispatcher.js';
import type { Store } from './store/store.js';

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  server: Server;
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

export interface StartOptions {
  now?: () => Date;
  newId?: () => string;
  validateResponses?: boolean;
  logError?: (err: unknown) => void;
  /** Dispatcher tuning for tests (fast retries). */
  notifyBackoffMs?: number;
  notifyPollMs?: number;
  /** Graceful shutdown: how long in-flight deliveries may take. */
  graceMs?: number;
}

export async function startServer(
  config: Config,
  store: Store,
  options: StartOptions = {},
): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? (() => ulid());
  const logError =
    options.logError ??
    ((err: unknown) => {
      console.error(err);
    });
  const dispatcher = createDispatcher({
    store,
    now,
    maxAttempts: config.notifyMaxAttempts,
    timeoutMs: config.notifyTimeoutMs,
    denyPrivate: config.notifyDenyPrivate,
    ...(options.notifyBackoffMs === undefined ? {} : { baseBackoffMs: options.notifyBackoffMs }),
    ...(options.notifyPollMs === undefined ? {} : { pollMs: options.notifyPollMs }),
    onError: logError,
  });
  const carts = createCartService({
    store,
    now,
    newId,
    roundingMode: config.roundingMode,
    cartTtlMs: config.cartTtlMs,
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
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => {
      if (err) reject(err);
      else resolve(s);
    });
  });
  const purge = setInterval(() => {
    store.purgeExpired(now().getTime()).catch(() => undefined);
  }, config.purgeIntervalMs);
  purge.unref();
  dispatcher.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    server,
    dispatcher,
    close: async () => {
      clearInterval(purge);
      // Stop taking requests and let those in flight finish, then drain the notifier.
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      });
      await dispatcher.stop(options.graceMs ?? 10_000);
    },
  };
}
