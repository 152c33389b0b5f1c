/**
 * The outbox dispatcher: at-least-once delivery of recorded events to hub subscribers. In the
 * server it runs in its own worker thread (dispatch-thread.ts) with its own store connection; this
 * module is the delivery logic itself and runs in whatever thread creates it.
 *
 * Cart writes record their events in the store in the same atomic write (the outbox); requests
 * never wait for delivery. The dispatcher (1) routes new outbox events to the subscriptions whose
 * query they match, as one delivery per subscriber, (2) keeps one lane per subscriber: a read
 * window of its oldest pending deliveries, grouped by cart, from which it POSTs the oldest of each
 * cart, many carts at once, (3) treats any 2xx as delivered, retries anything else with
 * exponential backoff and jitter, and dead-letters a delivery after the last attempt, and
 * (4) records outcomes in batches, and starts a cart's next event only once the previous
 * outcome is committed. Everything pending lives in the store, so a restart resumes where the
 * last process stopped; the windows are a cache of it.
 *
 * Isolation: each lane has its own in-flight limit and window, so a slow, failing or dead
 * subscriber only ever waits on itself. A lane over `maxPending` has its oldest deliveries
 * dead-lettered (reason "backlog") at the next maintenance pass; maintenance also prunes delivered
 * records and dead letters past their retention.
 *
 * The parts: dispatch-engine.ts (shared state and settings), routing.ts (1), lanes.ts (the
 * windows), delivery.ts (2-4), rounds.ts (when work is looked for), maintenance.ts (cap and
 * retention), public-address.ts (the NOTIFY_DENY_PRIVATE check).
 */
import { createEngine, idle } from './dispatch-engine.js';
import type { Dispatcher, DispatcherOptions } from './dispatcher-types.js';
import { pump } from './delivery.js';
import { createMaintenance } from './maintenance.js';
import { createRounds } from './rounds.js';
import { createRouter } from './routing.js';

export type { DeadReason, Dispatcher, DispatcherOptions } from './dispatcher-types.js';

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const engine = createEngine(options);
  const rounds = createRounds(engine, createRouter(engine));
  const maintenance = createMaintenance(engine);
  let maintenanceTimer: NodeJS.Timeout | undefined;

  return {
    nudge: () => {
      engine.soon();
    },
    start: () => {
      engine.running = true;
      engine.stopping = false;
      rounds.start();
      maintenanceTimer = setInterval(() => {
        void maintenance.run();
      }, engine.settings.maintenanceMs);
      maintenanceTimer.unref();
      void maintenance.run();
    },
    stop: async (graceMs) => {
      engine.running = false;
      engine.stopping = true;
      rounds.stop();
      if (maintenanceTimer) clearInterval(maintenanceTimer);
      // What is on its way finishes and its outcome is recorded; nothing new starts.
      const all = Promise.all([maintenance.current(), idle(engine)]);
      let t: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      if (t) clearTimeout(t);
      engine.poster.close();
    },
    runOnce: async () => {
      // A round already under way may have read the clock and the queue before this call:
      // let it finish, so the rounds awaited below start after the call did.
      const under = rounds.current();
      if (under) await under;
      for (;;) {
        const routed = await rounds.run();
        await idle(engine);
        if (routed === engine.settings.routeBatch) continue; // more to route
        let started = 0;
        for (const lane of engine.lanes.values()) started += pump(engine, lane);
        if (started === 0 && engine.ops === 0) break; // what is left is not due
        await idle(engine);
      }
    },
    maintain: () => maintenance.run(),
    inFlight: () => engine.inFlight,
  };
}
