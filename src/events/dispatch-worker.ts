/**
 * The dispatcher's worker thread (started by dispatch-thread.ts): opens its own connection to the
 * store, runs the dispatcher, and talks to the API's thread only by messages: it is woken by
 * nudges, answers runOnce/maintain requests, and reports outcomes in batches (for metrics and
 * logs, which the API's thread owns) and errors. On MongoDB it borrows the API thread's per-cart
 * lock for the writes routing makes to cart documents (see src/store/mongo/store.ts on FerretDB).
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openMongoStore } from '../store/mongo/store.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { Store } from '../store/store.js';
import { createDispatcher } from './dispatcher.js';
import type { FromWorker, ToWorker, WorkerSetup } from './dispatch-thread.js';

const port = parentPort;
if (!port) throw new Error('dispatch-worker.ts runs only as a worker thread');
const setup = workerData as WorkerSetup;

/**
 * Delivery is background work: when the CPU is short, the API's thread goes first. This thread
 * runs `setup.nice` nice steps lower (NOTIFY_THREAD_NICE, default 5): it gets all of an idle
 * core, and about a quarter of one the API's thread wants too. A priority only ranks threads that
 * compete for the same CPU (the same cgroup in a container, the same session with autogroup).
 * docs/events.md has the measurements behind the default (a higher value starved delivery). On
 * Linux a priority set for pid 0 is the calling thread's own; elsewhere it would be the whole
 * process's, so there it is left alone.
 */
if (process.platform === 'linux' && setup.nice > 0) {
  try {
    setPriority(0, Math.min(19, getPriority(0) + setup.nice));
  } catch {
    // Not permitted here (a sandbox): delivery runs at the normal priority.
  }
}

const post = (message: FromWorker): void => {
  port.postMessage(message);
};
const errorMessage = (err: unknown): FromWorker => ({
  t: 'error',
  name: err instanceof Error ? err.name : 'Error',
  message: err instanceof Error ? err.message : String(err),
  ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
});

/** The API thread's clock minus this thread's, sent with every message (tests inject clocks). */
let offsetMs = setup.offsetMs;

let nextToken = 0;
const granted = new Map<number, () => void>();
/** Runs fn while the API thread holds its lock on cart `id` for this thread. */
const borrowLock = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
  const token = nextToken++;
  await new Promise<void>((resolve) => {
    granted.set(token, resolve);
    post({ t: 'lock', token, id });
  });
  try {
    return await fn();
  } finally {
    post({ t: 'unlock', token });
  }
};

const openOwnStore = async (): Promise<Store> => {
  const { location } = setup;
  if (location.store === 'sqlite') {
    // Its commits go to the events file (routing, outcomes), which always syncs them, off the
    // API's thread (src/store/sqlite/events-file.ts); its rare commits to the main file (routed
    // outbox rows pruned) skip their fsync: losing one in a power cut only means pruning again.
    // It also checkpoints both WALs, so that the API's commits rarely have to.
    return openSqliteStore({ path: location.path, synchronous: 'normal', checkpointEveryMs: 200 });
  }
  return openMongoStore({
    uri: location.uri,
    dbName: location.dbName,
    ttlIndex: location.ttlIndex,
    cartLock: borrowLock,
  });
};

// Outcomes go to the API thread in batches: one message per batch, not per delivery, with the
// deliveries summed up per subscription and event type.
let batch: Extract<FromWorker, { t: 'outcomes' }> = { t: 'outcomes', delivered: [], retried: [], dead: [] };
/** The batch's latencies per subscription and event type (the arrays batch.delivered holds). */
let latencies = new Map<string, number[]>();
let batchTimer: NodeJS.Timeout | undefined;
const sendOutcomes = (): void => {
  if (batchTimer) clearTimeout(batchTimer);
  batchTimer = undefined;
  if (batch.delivered.length + batch.retried.length + batch.dead.length === 0) return;
  post(batch);
  batch = { t: 'outcomes', delivered: [], retried: [], dead: [] };
  latencies = new Map();
};
const addDelivered = (subscriptionId: string, eventType: string, latencyMs: number): void => {
  const key = `${subscriptionId}\u0000${eventType}`;
  let list = latencies.get(key);
  if (!list) {
    list = [];
    latencies.set(key, list);
    batch.delivered.push([subscriptionId, eventType, list]);
  }
  list.push(latencyMs);
};
const soonOutcomes = (): void => {
  batchTimer ??= setTimeout(sendOutcomes, 100);
};

const store = await openOwnStore().catch((err: unknown) => {
  post({ t: 'fatal', message: err instanceof Error ? err.message : String(err) });
  throw err;
});
const dispatcher = createDispatcher({
  ...setup.options,
  store,
  now: () => new Date(Date.now() + offsetMs),
  onDelivered: (d, latencyMs) => {
    addDelivered(d.subscriptionId, d.eventType, latencyMs ?? -1);
    soonOutcomes();
  },
  onRetry: (d, error) => {
    batch.retried.push([d.subscriptionId, d.eventType, d.eventId, d.attempts, error]);
    soonOutcomes();
  },
  onDeadLetter: (d, error, reason) => {
    batch.dead.push([d.subscriptionId, d.eventType, d.eventId, d.attempts, error, reason]);
    soonOutcomes();
  },
  onCapped: (subscriptionId, count) => {
    sendOutcomes(); // the dead letters first, then the summary
    post({ t: 'capped', subscriptionId, count });
  },
  onError: (err) => {
    post(errorMessage(err));
  },
});

port.on('message', (message: ToWorker) => {
  if ('offsetMs' in message) offsetMs = message.offsetMs;
  switch (message.t) {
    case 'nudge':
      dispatcher.nudge();
      break;
    case 'locked':
      granted.get(message.token)?.();
      granted.delete(message.token);
      break;
    case 'runOnce':
    case 'maintain':
      (message.t === 'runOnce' ? dispatcher.runOnce() : dispatcher.maintain())
        .catch((err: unknown) => {
          post(errorMessage(err));
        })
        .finally(() => {
          sendOutcomes(); // before the answer, so the caller's metrics are current
          post({ t: 'done', id: message.id });
        });
      break;
    case 'stop':
      void dispatcher
        .stop(message.graceMs)
        .then(() => store.close())
        .catch((err: unknown) => {
          post(errorMessage(err));
        })
        .finally(() => {
          sendOutcomes();
          post({ t: 'stopped' });
          port.close();
        });
      break;
  }
});

dispatcher.start();
post({ t: 'ready' });
