/** The dispatcher's options and its interface (dispatcher.ts makes one; dispatch-thread.ts runs one in a worker). */
import type { Delivery, Store } from '../store/store.js';

/** Why a delivery was given up. */
export type DeadReason = 'attempts' | 'backlog';

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
  /** How long an outcome may wait for others to be recorded in the same write. */
  settleMs?: number;
  /** Most deliveries on their way at once to one subscriber (different carts). */
  maxInFlightPerSubscriber?: number;
  /** Most deliveries on their way at once in all. */
  maxInFlight?: number;
  /** Pending deliveries of one subscriber held in memory at once. */
  windowSize?: number;
  /** Events routed per store write. */
  routeBatch?: number;
  /** Pending deliveries per subscriber beyond which the oldest are dead-lettered. */
  maxPending?: number;
  /** How long delivered records and dead letters are kept. */
  deliveredRetentionMs?: number;
  deadLetterRetentionMs?: number;
  /** How often the backlog cap and retention are applied. */
  maintenanceMs?: number;
  /** How often each window is read again from the store from the start (other dispatchers). */
  reloadMs?: number;
  /** Largest callback answer read before the connection is dropped. */
  maxResponseBytes?: number;
  random?: () => number;
  /** `latencyMs`: from the event's time to the listener's answer, when the event time is known. */
  onDelivered?: (d: Delivery, latencyMs: number | undefined) => void;
  onRetry?: (d: Delivery, error: string) => void;
  onDeadLetter?: (d: Delivery, error: string, reason: DeadReason) => void;
  /** A subscriber's backlog was cut to the cap: `count` oldest deliveries dead-lettered. */
  onCapped?: (subscriptionId: string, count: number) => void;
  onError?: (err: unknown) => void;
}

export interface Dispatcher {
  /** Something was written: look for work now rather than at the next poll. */
  nudge(): void;
  start(): void;
  /** Stops picking up work and waits (up to graceMs) for deliveries in flight. */
  stop(graceMs: number): Promise<void>;
  /**
   * Routes everything waiting and delivers whatever is due until nothing more is, waiting for
   * each outcome to be recorded (tests, shutdown); retries not yet due stay for later.
   */
  runOnce(): Promise<void>;
  /** Applies the backlog cap and the retention now (tests). */
  maintain(): Promise<void>;
  inFlight(): number;
}
