/**
 * The dispatcher's shared state: its settings (the options with their defaults), the lanes, the
 * counters of work under way, and the hooks by which the parts (lanes.ts, routing.ts, delivery.ts,
 * rounds.ts, maintenance.ts) call one another. createDispatcher (dispatcher.ts) makes one engine
 * and wires the parts to it.
 */
import type { Delivery, Settlement, Store, StoredSubscription } from '../store/store.js';
import type { DispatcherOptions } from './dispatcher-types.js';
import { createPoster, type Poster } from './post.js';

/** One subscriber's share of the work. */
export interface Lane {
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

/** A delivery attempt's outcome, waiting to be recorded with others in one write. */
export interface Outcome {
  lane: Lane;
  delivery: Delivery;
  settlement: Settlement;
  error?: string;
  latencyMs?: number;
}

/** The options' numbers with their defaults applied. */
export interface Settings {
  pollMs: number;
  batchMs: number;
  settleMs: number;
  perLane: number;
  maxInFlight: number;
  windowSize: number;
  routeBatch: number;
  maxPending: number;
  deliveredRetentionMs: number;
  deadRetentionMs: number;
  maintenanceMs: number;
  reloadMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export interface Engine {
  options: DispatcherOptions;
  store: Store;
  settings: Settings;
  poster: Poster;
  report: (err: unknown) => void;
  nowMs: () => number;
  lanes: Map<string, Lane>;
  /** Deliveries on their way, all lanes together. */
  inFlight: number;
  running: boolean;
  stopping: boolean;
  /** Work started and not finished (a round; a send until its outcome is committed; a read; a flush). */
  ops: number;
  idleWaiters: (() => void)[];
  outcomes: Outcome[];
  flushing: Promise<void> | undefined;
  /** A round soon (rounds.ts). */
  soon: () => void;
  /** A round at `due` (epoch ms of the dispatcher's clock) at the latest (rounds.ts). */
  wakeAt: (due: number) => void;
  /**
   * When a round is planned within batchMs: resolves as it starts (rounds.ts). Outcomes waiting
   * for it are recorded in the same turn as its routing, which on SQLite makes both one commit.
   */
  nextRound: () => Promise<void> | undefined;
}

export function resolveSettings(options: DispatcherOptions): Settings {
  return {
    pollMs: options.pollMs ?? 500,
    // Each round and each batch of outcomes is a store write, and on SQLite every write takes the
    // lock the API's writes need: a few ms of batching keeps those collisions rare.
    batchMs: options.batchMs ?? 20,
    settleMs: options.settleMs ?? 10,
    perLane: options.maxInFlightPerSubscriber ?? 32,
    maxInFlight: options.maxInFlight ?? 256,
    windowSize: options.windowSize ?? 512,
    routeBatch: options.routeBatch ?? 200,
    maxPending: options.maxPending ?? 100_000,
    deliveredRetentionMs: options.deliveredRetentionMs ?? 3_600_000,
    deadRetentionMs: options.deadLetterRetentionMs ?? 7 * 86_400_000,
    maintenanceMs: options.maintenanceMs ?? 5_000,
    reloadMs: options.reloadMs ?? 30_000,
    baseBackoffMs: options.baseBackoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 5 * 60_000,
  };
}

export function createEngine(options: DispatcherOptions): Engine {
  return {
    options,
    store: options.store,
    settings: resolveSettings(options),
    poster: createPoster({
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
    }),
    report: options.onError ?? (() => undefined),
    nowMs: () => options.now().getTime(),
    lanes: new Map(),
    inFlight: 0,
    running: false,
    stopping: false,
    ops: 0,
    idleWaiters: [],
    outcomes: [],
    flushing: undefined,
    soon: () => undefined,
    wakeAt: () => undefined,
    nextRound: () => undefined,
  };
}

/** The retry delay after `attempts` failed attempts: exponential, capped, with "equal jitter". */
export function backoff(engine: Engine, attempts: number): number {
  const { baseBackoffMs, maxBackoffMs } = engine.settings;
  const exp = Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempts - 1));
  const random = engine.options.random ?? Math.random;
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** Work begins (see Engine.ops). */
export function begin(engine: Engine): void {
  engine.ops++;
}

/** Work ends; whoever waits for the engine to be idle is told when nothing is left. */
export function done(engine: Engine): void {
  engine.ops--;
  if (engine.ops !== 0) return;
  const waiters = engine.idleWaiters;
  engine.idleWaiters = [];
  for (const w of waiters) w();
}

/** Resolves when no work is under way. */
export function idle(engine: Engine): Promise<void> {
  return engine.ops === 0
    ? Promise.resolve()
    : new Promise((resolve) => {
        engine.idleWaiters.push(resolve);
      });
}
