/**
 * Rounds: one pass reads the subscriptions, routes a batch of the outbox, then lets every lane
 * read and start. A round runs when a write nudged the dispatcher (after batchMs, so that a burst
 * is routed in one round rather than one each), when a retry falls due, and otherwise every
 * pollMs; a full batch routed means more is waiting, and another round follows soon.
 */
import { begin, done, type Engine } from './dispatch-engine.js';
import { pump } from './delivery.js';
import { fill, refreshLanes } from './lanes.js';
import type { Router } from './routing.js';

export interface Rounds {
  /** Runs a round now, or joins the one under way (which is followed by another). */
  run(): Promise<number>;
  /** The round under way, if any. */
  current(): Promise<number> | undefined;
  /** Starts the polling. */
  start(): void;
  /** Cancels every planned round and wake-up. */
  stop(): void;
}

export function createRounds(engine: Engine, route: Router): Rounds {
  const { pollMs, batchMs, routeBatch } = engine.settings;
  let timer: NodeJS.Timeout | undefined;
  let timerDue = 0;
  let round: Promise<number> | undefined;
  let again = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDue = Number.POSITIVE_INFINITY;
  /** Whoever waits for the next round to start (engine.nextRound). */
  let starting: (() => void)[] = [];
  const started = (): void => {
    const waiting = starting;
    starting = [];
    for (const resolve of waiting) resolve();
  };

  const doRound = async (): Promise<number> => {
    started();
    const subs = await refreshLanes(engine);
    const routed = await route(subs);
    for (const lane of engine.lanes.values()) {
      await fill(engine, lane);
      pump(engine, lane);
    }
    return routed;
  };

  const run = (): Promise<number> => {
    if (round) {
      again = true;
      return round;
    }
    begin(engine);
    const current = doRound()
      .catch((e: unknown) => {
        engine.report(e);
        return 0;
      })
      .then((routed) => {
        // A full batch means more is waiting: another round soon.
        if (routed === routeBatch) again = true;
        return routed;
      })
      .finally(() => {
        round = undefined;
        if (again) {
          again = false;
          soon();
        }
        done(engine);
      });
    round = current;
    return current;
  };

  function schedule(ms: number): void {
    if (!engine.running) return;
    if (timer) clearTimeout(timer);
    timerDue = Date.now() + ms;
    timer = setTimeout(() => {
      timer = undefined;
      void run().finally(() => {
        if (engine.running && !timer) schedule(pollMs);
      });
    }, ms);
    timer.unref();
  }

  /** A round within batchMs: an earlier one already planned stands, a later one is moved up. */
  function soon(): void {
    if (timer && timerDue <= Date.now() + batchMs) return;
    schedule(batchMs);
  }

  const wakeAt = (due: number): void => {
    if (!engine.running || due >= retryDue) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryDue = due;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        retryDue = Number.POSITIVE_INFINITY;
        soon();
      },
      Math.max(0, due - engine.nowMs()),
    );
    retryTimer.unref();
  };

  engine.soon = soon;
  engine.wakeAt = wakeAt;
  engine.nextRound = () =>
    timer && timerDue <= Date.now() + batchMs
      ? new Promise<void>((resolve) => {
          starting.push(resolve);
        })
      : undefined;
  return {
    run,
    current: () => round,
    start: () => {
      schedule(0);
    },
    stop: () => {
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      timer = undefined;
      started(); // no round is coming: outcomes waiting for one are recorded now
    },
  };
}
