/**
 * Runs the dispatcher in a worker thread (dispatch-worker.ts) so that routing (synchronous on
 * SQLite), reading, sending and recording deliveries never take the API's event loop. The API's
 * thread only posts a nudge after a write (at most one per batch window) and receives outcomes
 * in batches for its metrics and logs. The worker opens its own connection from the store's
 * `location`; a worker that dies is started again after a pause, and pending work survives in
 * the store either way.
 *
 * The entry is `dispatch-worker.js` next to this file in the build; running from the TypeScript
 * sources (tests, `npm run dev`), it is the `.ts` file, loaded through tsx's loader registered
 * inside the worker.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Store, StoreLocation } from '../store/store.js';
import type { DeadReason, Dispatcher, DispatcherOptions } from './dispatcher-types.js';

/** What the worker needs to start: plain data (functions cannot cross threads). */
export interface WorkerSetup {
  location: StoreLocation;
  offsetMs: number;
  /** Nice steps below the starting thread's priority (dispatch-worker.ts; Linux only). */
  nice: number;
  options: Omit<
    DispatcherOptions,
    'store' | 'now' | 'random' | 'onDelivered' | 'onRetry' | 'onDeadLetter' | 'onCapped' | 'onError'
  >;
}

export type ToWorker =
  | { t: 'nudge'; offsetMs: number }
  | { t: 'runOnce' | 'maintain'; id: number; offsetMs: number }
  | { t: 'stop'; graceMs: number }
  | { t: 'locked'; token: number };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'fatal'; message: string }
  | { t: 'error'; name: string; message: string; stack?: string }
  | { t: 'done'; id: number }
  | { t: 'stopped' }
  | { t: 'lock'; token: number; id: string }
  | { t: 'unlock'; token: number }
  | { t: 'capped'; subscriptionId: string; count: number }
  | {
      t: 'outcomes';
      /**
       * Per subscription and event type, the latency of each delivery (ms, or -1: unknown): one
       * entry per pair rather than per delivery, so the API's thread decodes little.
       */
      delivered: [string, string, number[]][];
      /** [subscriptionId, eventType, eventId, attempts so far, error] */
      retried: [string, string, string, number, string][];
      dead: [string, string, string, number, string, DeadReason][];
    };

/** A delivery as the API's thread hears of it. */
export interface DeliveryInfo {
  subscriptionId: string;
  eventType: string;
  eventId: string;
  attempts: number;
}

export interface ThreadOptions {
  /** The API thread's store: its location is opened again by the worker; its cart lock is lent. */
  store: Store;
  now: () => Date;
  dispatcher: WorkerSetup['options'];
  /** How many nice steps below the API's thread the delivery thread runs (NOTIFY_THREAD_NICE); default 0 here, 5 from the config. */
  nice?: number;
  /** Most nudges posted per this many ms (writes in between share one); default 10. */
  nudgeMs?: number;
  onDelivered?: (
    d: Pick<DeliveryInfo, 'subscriptionId' | 'eventType'>,
    latencyMs: number | undefined,
  ) => void;
  onRetry?: (d: DeliveryInfo, error: string) => void;
  onDeadLetter?: (d: DeliveryInfo, error: string, reason: DeadReason) => void;
  onCapped?: (subscriptionId: string, count: number) => void;
  onError?: (err: unknown) => void;
}

/** The worker's entry: the built `.js`, or the `.ts` source under tsx. */
function workerEntry(): { url: URL; typescript: boolean } {
  const typescript = import.meta.url.endsWith('.ts');
  return { url: new URL(`./dispatch-worker.${typescript ? 'ts' : 'js'}`, import.meta.url), typescript };
}

function spawnWorker(setup: WorkerSetup): Worker {
  const entry = workerEntry();
  if (!entry.typescript) return new Worker(entry.url, { workerData: setup });
  // tsx's loader is registered per thread: register it in the worker, then load the entry.
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.url.href)}); })`;
  return new Worker(code, { eval: true, workerData: setup });
}

/** The API thread's side of one worker and of those started after it. */
interface ThreadState {
  options: ThreadOptions;
  report: (err: unknown) => void;
  offset: () => number;
  worker: Worker | undefined;
  /** Resolves once the current worker said it is ready (or failed, or exited). */
  ready: Promise<void>;
  running: boolean;
  nextId: number;
  /** runOnce/maintain requests waiting for the worker's answer, by id. */
  waiting: Map<number, () => void>;
  /** Locks held for the worker, by token: released when it says so or when it dies. */
  held: Map<number, () => void>;
  restartTimer: NodeJS.Timeout | undefined;
  stopped: (() => void) | undefined;
}

const post = (state: ThreadState, message: ToWorker): void => {
  state.worker?.postMessage(message);
};

function onOutcomes(options: ThreadOptions, message: Extract<FromWorker, { t: 'outcomes' }>): void {
  for (const [subscriptionId, eventType, latencies] of message.delivered) {
    const d = { subscriptionId, eventType };
    for (const latency of latencies) options.onDelivered?.(d, latency < 0 ? undefined : latency);
  }
  for (const [subscriptionId, eventType, eventId, attempts, error] of message.retried)
    options.onRetry?.({ subscriptionId, eventType, eventId, attempts }, error);
  for (const [subscriptionId, eventType, eventId, attempts, error, reason] of message.dead)
    options.onDeadLetter?.({ subscriptionId, eventType, eventId, attempts }, error, reason);
}

/** The worker's error, as near as a message can carry it: its name, text and stack. */
function workerError(message: Extract<FromWorker, { t: 'error' | 'fatal' }>): Error {
  const err = new Error(`dispatcher: ${message.message}`);
  if (message.t === 'error') {
    err.name = message.name;
    if (message.stack) err.stack = message.stack;
  }
  return err;
}

/** The worker asks for the API thread's lock on a cart (MongoDB); it is told once it holds it. */
function lendLock(state: ThreadState, token: number, id: string): void {
  const locking = state.options.store.lockCart?.(
    id,
    () =>
      new Promise<void>((release) => {
        state.held.set(token, release);
        post(state, { t: 'locked', token });
      }),
  );
  if (!locking) {
    post(state, { t: 'locked', token });
    return;
  }
  locking.catch(state.report);
}

function onMessage(state: ThreadState, message: FromWorker): void {
  switch (message.t) {
    case 'outcomes':
      onOutcomes(state.options, message);
      break;
    case 'error':
    case 'fatal':
      state.report(workerError(message));
      break;
    case 'done':
      state.waiting.get(message.id)?.();
      state.waiting.delete(message.id);
      break;
    case 'stopped':
      state.stopped?.();
      break;
    case 'lock':
      lendLock(state, message.token, message.id);
      break;
    case 'unlock':
      state.held.get(message.token)?.();
      state.held.delete(message.token);
      break;
    case 'capped':
      state.options.onCapped?.(message.subscriptionId, message.count);
      break;
    case 'ready':
      break;
  }
}

/** What a worker that exits leaves: its locks released, its waiters answered, another started. */
function onExit(state: ThreadState, w: Worker, code: number, location: StoreLocation): void {
  if (state.worker === w) state.worker = undefined;
  for (const release of state.held.values()) release();
  state.held.clear();
  // Whoever waits on this worker stops waiting; what it had not done stays in the store.
  for (const done of state.waiting.values()) done();
  state.waiting.clear();
  state.stopped?.();
  if (state.running) {
    state.report(new Error(`dispatcher worker exited (code ${code}); starting another`));
    state.restartTimer = setTimeout(() => {
      launch(state, location);
    }, 1000);
    state.restartTimer.unref();
  }
}

function launch(state: ThreadState, location: StoreLocation): void {
  const w = spawnWorker({
    location,
    offsetMs: state.offset(),
    nice: state.options.nice ?? 0,
    options: state.options.dispatcher,
  });
  state.worker = w;
  state.ready = new Promise<void>((resolve) => {
    const onReady = (m: FromWorker): void => {
      if (m.t === 'ready' || m.t === 'fatal') {
        w.off('message', onReady);
        resolve();
      }
    };
    w.on('message', onReady);
    w.once('exit', () => {
      resolve();
    });
  });
  w.on('message', (message: FromWorker) => {
    onMessage(state, message);
  });
  w.on('error', state.report);
  w.once('exit', (code) => {
    onExit(state, w, code, location);
  });
}

async function request(state: ThreadState, t: 'runOnce' | 'maintain'): Promise<void> {
  await state.ready;
  if (!state.worker) return;
  const id = state.nextId++;
  await new Promise<void>((resolve) => {
    state.waiting.set(id, resolve);
    post(state, { t, id, offsetMs: state.offset() });
  });
}

/**
 * Stops the worker: it gives its deliveries the grace period; past it (plus a moment to close its
 * store) it is ended, even if it was still starting. What it had not recorded is sent again after
 * the next start.
 */
async function stopWorker(state: ThreadState, graceMs: number): Promise<void> {
  state.running = false;
  if (state.restartTimer) clearTimeout(state.restartTimer);
  const w = state.worker;
  if (!w) return;
  const done = (async () => {
    await state.ready;
    const finished = new Promise<void>((resolve) => {
      state.stopped = resolve;
    });
    post(state, { t: 'stop', graceMs });
    await finished;
  })();
  let t: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((r) => (t = setTimeout(r, graceMs + 2000)))]);
  if (t) clearTimeout(t);
  await w.terminate();
}

export function startDispatchThread(options: ThreadOptions): Dispatcher {
  const location = options.store.location;
  if (!location) throw new Error('the store has no location another connection could open');
  const nudgeMs = options.nudgeMs ?? 10;
  const state: ThreadState = {
    options,
    report: options.onError ?? (() => undefined),
    offset: () => options.now().getTime() - Date.now(),
    worker: undefined,
    ready: Promise.resolve(),
    running: false,
    nextId: 0,
    waiting: new Map(),
    held: new Map(),
    restartTimer: undefined,
    stopped: undefined,
  };
  let nudgeTimer: NodeJS.Timeout | undefined;
  let lastNudge = Number.NEGATIVE_INFINITY;

  return {
    // The first write after a quiet spell nudges at once; writes within nudgeMs of a nudge share
    // the next one (the worker gathers a round's writes for batchMs anyway).
    nudge: () => {
      if (nudgeTimer || !state.running) return;
      const send = (): void => {
        nudgeTimer = undefined;
        lastNudge = Date.now();
        post(state, { t: 'nudge', offsetMs: state.offset() });
      };
      const wait = lastNudge + nudgeMs - Date.now();
      if (wait <= 0) send();
      else nudgeTimer = setTimeout(send, wait);
    },
    start: () => {
      if (state.running) return;
      state.running = true;
      launch(state, location);
    },
    stop: async (graceMs) => {
      if (nudgeTimer) clearTimeout(nudgeTimer);
      await stopWorker(state, graceMs);
    },
    runOnce: () => request(state, 'runOnce'),
    maintain: () => request(state, 'maintain'),
    // The worker's count is its own; the API's thread does not ask for it.
    inFlight: () => 0,
  };
}
