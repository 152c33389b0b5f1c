/**
 * Maintenance, every maintenanceMs: the deliveries of subscriptions that are gone, the backlog
 * cap (a lane over maxPending has its oldest deliveries dead-lettered, reason "backlog") and the
 * retention of delivered records and dead letters (and whatever else the store prunes then).
 */
import type { Engine } from './dispatch-engine.js';
import { resetLane } from './lanes.js';

export interface Maintenance {
  /** A pass now; a call while one is under way joins it. */
  run(): Promise<void>;
  /** The pass under way, if any. */
  current(): Promise<void> | undefined;
}

export function createMaintenance(engine: Engine): Maintenance {
  const { store, options } = engine;
  const { maxPending, deliveredRetentionMs, deadRetentionMs } = engine.settings;
  let maintaining: Promise<void> | undefined;

  const pass = async (): Promise<void> => {
    const now = options.now();
    const backlog = await store.backlog();
    // Deliveries of a subscription that is gone (a store may delete them after the subscription,
    // and routing may have used a list read just before): no lane sends them; they go now. Each
    // such subscription was there when its deliveries were made, before the backlog was read,
    // so a subscription missing from a list read after it was deleted.
    const subscribed = new Set((await store.listSubscriptions()).map((sub) => sub.id));
    for (const b of backlog)
      if (!subscribed.has(b.subscriptionId)) await store.deleteSubscription(b.subscriptionId);
    // The cap: a subscriber that cannot keep up loses its oldest events to the dead letters,
    // counted and visible, rather than growing the store without end.
    for (const b of backlog) {
      if (b.pending <= maxPending) continue;
      const reason = `backlog over NOTIFY_MAX_PENDING (${maxPending}): the oldest events were set aside`;
      const moved = await store.capBacklog(b.subscriptionId, maxPending, reason, now.toISOString());
      for (const d of moved) options.onDeadLetter?.(d, reason, 'backlog');
      if (moved.length > 0) options.onCapped?.(b.subscriptionId, moved.length);
      const lane = engine.lanes.get(b.subscriptionId);
      if (lane) resetLane(lane);
    }
    const deliveredBefore = new Date(now.getTime() - deliveredRetentionMs).toISOString();
    const deadBefore = new Date(now.getTime() - deadRetentionMs).toISOString();
    const chunk = 1000;
    for (;;) {
      const gone = await store.pruneEventRecords(deliveredBefore, deadBefore, chunk);
      if (gone.delivered < chunk && gone.dead < chunk) break;
    }
  };

  return {
    run: () => {
      maintaining ??= pass()
        .catch(engine.report)
        .finally(() => {
          maintaining = undefined;
        });
      return maintaining;
    },
    current: () => maintaining,
  };
}
