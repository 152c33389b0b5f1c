/**
 * The process: load config, open store, serve, and shut down cleanly on SIGTERM/SIGINT.
 *
 * With CLUSTER_WORKERS=N (N > 1) this process is a primary that forks N workers sharing one port
 * (node:cluster), restarts a worker that dies unexpectedly, forwards SIGTERM/SIGINT to the
 * workers and exits once they all have. Each worker is the single-process server below.
 *
 * Notifications: one worker at a time delivers (NOTIFY_DISPATCHER=true, given by the primary to
 * the first worker and to whichever replaces it); the others tell it about their writes through
 * the primary (cluster IPC), so it does not wait for its next poll.
 */
import cluster, { type Worker } from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { entryPointUrls } from './http/served-apis.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startServer } from './server.js';
import { openStore } from './store/open-store.js';

const signals = ['SIGTERM', 'SIGINT'] as const;

/** Past the grace period, the time left for the store and the logs before the process gives up. */
const closeMarginMs = 5_000;

const hostForUrl = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

function exitOnCrash(logger: Logger): void {
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
}

/** The cluster message that says "a write happened" (worker -> primary -> delivering worker). */
const nudgeMessage = 'tmf663:nudge';

/** At most one nudge message per this many ms from a worker (writes in between share it). */
const nudgeEveryMs = 2;

async function runServer(config: Config, logger: Logger): Promise<void> {
  // Signals are taken from the start: in a cluster the primary may forward SIGTERM as soon as this
  // worker's port is open, before start-up has finished, and Node's default would kill the worker
  // mid-start (the primary then reports a failed stop). A stop asked for during start-up runs as
  // soon as the server is up.
  let requested: string | undefined;
  let stop = (reason: string): void => {
    requested ??= reason;
  };
  for (const signal of signals)
    process.on(signal, () => {
      stop(signal);
    });
  // A worker whose primary is gone has nobody to restart or stop it: stop now.
  if (cluster.isWorker)
    process.on('disconnect', () => {
      stop('primary gone');
    });

  const store = await openStore(config);
  let nudgeTimer: NodeJS.Timeout | undefined;
  const remoteNudge = (): void => {
    if (nudgeTimer || !process.send) return;
    nudgeTimer = setTimeout(() => {
      nudgeTimer = undefined;
      if (process.connected) process.send?.(nudgeMessage);
    }, nudgeEveryMs);
  };
  const running = await startServer(config, store, { logger, remoteNudge });
  if (config.events.dispatcher) {
    logger.info('delivering notifications');
    process.on('message', (message) => {
      if (message === nudgeMessage) running.dispatcher.nudge();
    });
  }
  logger.info(
    { url: running.url, api: entryPointUrls(running.url).join(' '), store: store.name },
    'listening',
  );

  let stopping = false;
  stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, graceMs: config.process.shutdownGraceMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.process.shutdownGraceMs + closeMarginMs);
    deadline.unref();
    running
      .close()
      .then(() => store.close())
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  if (requested !== undefined) stop(requested);
}

function runPrimary(config: Config, logger: Logger): void {
  const wanted = config.process.clusterWorkers;
  let stopping = false;
  let failed = false;
  let announced = false;
  const listening = new Set<number>();
  const restarts: number[] = [];
  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);

  // One worker delivers notifications (one dispatcher per store is enough, and more would only
  // compete for the same rows); the primary passes the others' nudges to it.
  const delivers = config.events.dispatcher;
  let dispatcherId: number | undefined;
  const fork = (): void => {
    const role = delivers && dispatcherId === undefined;
    const worker = cluster.fork({ NOTIFY_DISPATCHER: role ? 'true' : 'false' });
    if (role) dispatcherId = worker.id;
    worker.on('message', (message) => {
      if (message !== nudgeMessage || dispatcherId === undefined) return;
      const target = cluster.workers?.[dispatcherId];
      if (target?.isConnected()) target.send(nudgeMessage);
    });
    logger.info({ workerPid: worker.process.pid, delivers: role }, 'worker started');
  };

  cluster.on('listening', (worker, address) => {
    logger.info({ workerPid: worker.process.pid, port: address.port }, 'worker listening');
    listening.add(worker.id);
    if (!announced && listening.size >= wanted) {
      announced = true;
      const url = `http://${hostForUrl(config.http.host)}:${address.port}`;
      logger.info({ url, api: entryPointUrls(url).join(' '), workers: wanted }, 'listening');
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const pid = worker.process.pid;
    listening.delete(worker.id);
    if (worker.id === dispatcherId) dispatcherId = undefined; // its replacement takes the role
    if (stopping) {
      if (code !== 0) failed = true;
      logger.info({ workerPid: pid, code, signal }, 'worker stopped');
      if (live().length === 0) {
        logger.info('stopped');
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    logger.error({ workerPid: pid, code, signal }, 'worker died; starting another');
    // A worker that keeps dying (bad config, store down) must not be restarted forever.
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && (restarts[0] ?? now) < now - 60_000) restarts.shift();
    if (restarts.length > 5 * wanted) {
      logger.fatal({ restarts: restarts.length }, 'workers keep dying; giving up');
      failed = true;
      stopAll('crash loop');
      return;
    }
    fork();
  });

  const stopAll = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, workers: live().length }, 'shutting down workers');
    const workers = live();
    if (workers.length === 0) process.exit(failed ? 1 : 0);
    for (const w of workers) w.process.kill('SIGTERM');
    const deadline = setTimeout(
      () => {
        logger.error('workers did not stop in time; killing them');
        for (const w of live()) w.process.kill('SIGKILL');
        process.exit(1);
      },
      config.process.shutdownGraceMs + 2 * closeMarginMs,
    );
    deadline.unref();
  };
  for (const signal of signals)
    process.on(signal, () => {
      stopAll(signal);
    });

  logger.info({ workers: wanted }, 'starting workers');
  for (let i = 0; i < wanted; i++) fork();
}

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const primary = config.process.clusterWorkers > 1 && cluster.isPrimary;
  const logger = createLogger(config.process.logLevel, undefined, {
    role: primary ? 'primary' : cluster.isWorker ? 'worker' : 'server',
  });
  exitOnCrash(logger);
  if (primary) {
    runPrimary(config, logger);
    return;
  }
  runServer(config, logger).catch((err: unknown) => {
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  });
}

main();
