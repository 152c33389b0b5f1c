/**
 * Sending and recording: a lane's free carts each get their oldest due delivery POSTed, many at
 * once within the lane's and the dispatcher's in-flight limits; any 2xx is delivered, anything
 * else is retried with backoff or, after the last attempt, dead-lettered. Outcomes are recorded
 * in batches (one store write for those of a few ms), and a cart's next event starts only once
 * the previous outcome is committed, which keeps each subscriber's per-cart order.
 */
import type { Delivery, Settlement } from '../store/store.js';
import { backoff, begin, done, type Engine, type Lane, type Outcome } from './dispatch-engine.js';
import { fill, removeHead, wantsFill } from './lanes.js';
import { assertPublicHost } from './public-address.js';

/** Starts the oldest due delivery of every free cart of the lane, up to its limits. */
export function pump(engine: Engine, lane: Lane): number {
  if (engine.stopping || !lane.url) return 0;
  const { perLane, maxInFlight } = engine.settings;
  const now = engine.nowMs();
  let started = 0;
  let next = Number.POSITIVE_INFINITY;
  for (const [cartId, queue] of lane.carts) {
    if (lane.inFlight >= perLane || engine.inFlight >= maxInFlight) break;
    if (lane.busy.has(cartId)) continue;
    const d = queue[0];
    if (!d) continue;
    if (d.nextAttemptAt > now) {
      next = Math.min(next, d.nextAttemptAt);
      continue;
    }
    lane.busy.add(cartId);
    send(engine, lane, lane.url, d);
    started++;
  }
  if (next !== Number.POSITIVE_INFINITY) engine.wakeAt(next);
  if (wantsFill(engine, lane)) {
    begin(engine);
    fill(engine, lane)
      .then(() => {
        if (engine.lanes.get(lane.sub.id) === lane) pump(engine, lane);
      })
      .catch(engine.report)
      .finally(() => {
        done(engine);
      });
  }
  return started;
}

/** What becomes of a delivery whose attempt ended with `error` (undefined: delivered). */
function outcomeOf(engine: Engine, lane: Lane, d: Delivery, error: string | undefined): Outcome {
  const attempts = d.attempts + 1;
  const at = engine.options.now();
  const key = { eventId: d.eventId, subscriptionId: d.subscriptionId, attempts };
  let settlement: Settlement;
  let latencyMs: number | undefined;
  if (error === undefined) {
    settlement = { kind: 'delivered', ...key, at: at.toISOString() };
    const t = d.eventTime === undefined ? Number.NaN : Date.parse(d.eventTime);
    if (!Number.isNaN(t)) latencyMs = Math.max(0, at.getTime() - t);
  } else if (attempts >= engine.options.maxAttempts) {
    settlement = { kind: 'dead', ...key, lastError: error, at: at.toISOString() };
  } else {
    settlement = { kind: 'retry', ...key, nextAttemptAt: at.getTime() + backoff(engine, attempts) };
  }
  return {
    lane,
    delivery: d,
    settlement,
    ...(error === undefined ? {} : { error }),
    ...(latencyMs === undefined ? {} : { latencyMs }),
  };
}

function send(engine: Engine, lane: Lane, url: URL, d: Delivery): void {
  lane.inFlight++;
  engine.inFlight++;
  begin(engine); // until the outcome is committed (flush)
  void (async () => {
    let error: string | undefined;
    try {
      if (engine.options.denyPrivate) await assertPublicHost(url);
      const status = await engine.poster.post(url, d.json ?? JSON.stringify(d.body));
      if (status < 200 || status > 299) error = `callback answered ${status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    lane.inFlight--;
    engine.inFlight--;
    engine.outcomes.push(outcomeOf(engine, lane, d, error));
    flush(engine);
    // The slot is free now: other carts start at once. This cart stays busy until the outcome is
    // committed, so its order holds; only the lane's throughput stops waiting for the commit.
    if (engine.lanes.get(lane.sub.id) === lane) pump(engine, lane);
  })();
}

/** The window and the hooks learn what became of a batch of outcomes. */
function applyOutcomes(engine: Engine, batch: Outcome[], committed: boolean): void {
  const { options } = engine;
  const touched = new Set<Lane>();
  for (const o of batch) {
    const { lane, delivery: d, settlement: s } = o;
    touched.add(lane);
    if (!committed) {
      // Not recorded: it is sent again (at least once), after a pause.
      d.nextAttemptAt = engine.nowMs() + engine.settings.baseBackoffMs;
    } else if (s.kind === 'retry') {
      d.attempts = s.attempts;
      d.nextAttemptAt = s.nextAttemptAt;
      options.onRetry?.(d, o.error ?? '');
    } else {
      removeHead(lane, d);
      d.attempts = s.attempts;
      if (s.kind === 'delivered') options.onDelivered?.(d, o.latencyMs);
      else options.onDeadLetter?.(d, o.error ?? '', 'attempts');
    }
    lane.busy.delete(d.cartId);
    engine.ops--; // the send is over (the flush itself is still under way)
  }
  for (const lane of touched) if (engine.lanes.get(lane.sub.id) === lane) pump(engine, lane);
}

/**
 * The wait before outcomes are recorded, so that those of the next few ms share the write: until
 * the next round starts when one is planned soon (its routing and these outcomes then make one
 * commit on SQLite: each commit by this connection costs the API's connection a reload of its page
 * cache), otherwise settleMs.
 */
async function gathering(engine: Engine): Promise<void> {
  const { settleMs, batchMs } = engine.settings;
  const round = engine.nextRound();
  let timer: NodeJS.Timeout | undefined;
  const pause = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, round ? batchMs + settleMs : settleMs);
  });
  await (round ? Promise.race([round, pause]) : pause);
  clearTimeout(timer);
}

/** Commits the outcomes gathered so far in one store write, then lets their carts move on. */
function flush(engine: Engine): void {
  if (engine.flushing) return;
  begin(engine);
  engine.flushing = (async () => {
    await gathering(engine);
    while (engine.outcomes.length > 0) {
      const batch = engine.outcomes;
      engine.outcomes = [];
      let committed = true;
      try {
        await engine.store.settleDeliveries(batch.map((o) => o.settlement));
      } catch (e) {
        committed = false;
        engine.report(e);
      }
      applyOutcomes(engine, batch, committed);
    }
  })()
    .catch(engine.report)
    .finally(() => {
      engine.flushing = undefined;
      if (engine.outcomes.length > 0) flush(engine);
      done(engine);
    });
}
