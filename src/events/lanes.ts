/**
 * The lanes: one per subscriber, each with a read window of its oldest pending deliveries grouped
 * by cart. The window is a cache of the store's queue: it is filled from the store when it runs
 * low, newly routed deliveries join it directly while it holds everything before them, and it is
 * read again from the start now and then (other dispatchers may have changed the queue).
 */
import type { Delivery, StoredSubscription } from '../store/store.js';
import type { Engine, Lane } from './dispatch-engine.js';

export function newLane(sub: StoredSubscription): Lane {
  let url: URL | undefined;
  try {
    url = new URL(sub.callback);
  } catch {
    url = undefined;
  }
  return {
    sub,
    url,
    carts: new Map(),
    size: 0,
    cursor: 0,
    caughtUp: false,
    dirty: false,
    reading: false,
    busy: new Set(),
    inFlight: 0,
    lastLoad: Date.now(),
  };
}

function append(lane: Lane, d: Delivery): void {
  const queue = lane.carts.get(d.cartId);
  if (queue) queue.push(d);
  else lane.carts.set(d.cartId, [d]);
  lane.size++;
  if (d.seq > lane.cursor) lane.cursor = d.seq;
}

/** Forgets what the window holds except the deliveries on their way; the next read starts over. */
export function resetLane(lane: Lane): void {
  for (const [cartId, queue] of lane.carts) {
    if (lane.busy.has(cartId) && queue[0]) {
      lane.size -= queue.length - 1;
      queue.length = 1;
    } else {
      lane.size -= queue.length;
      lane.carts.delete(cartId);
    }
  }
  lane.cursor = 0;
  lane.caughtUp = false;
  lane.lastLoad = Date.now();
}

/** The subscriptions as stored now: new ones get a lane, removed ones lose theirs. */
export async function refreshLanes(engine: Engine): Promise<StoredSubscription[]> {
  const { lanes } = engine;
  const subs = await engine.store.listSubscriptions();
  const ids = new Set<string>();
  for (const sub of subs) {
    ids.add(sub.id);
    const lane = lanes.get(sub.id);
    if (!lane) lanes.set(sub.id, newLane(sub));
    else if (lane.sub.callback !== sub.callback) {
      lane.sub = sub;
      lane.url = newLane(sub).url;
    }
  }
  for (const id of lanes.keys()) if (!ids.has(id)) lanes.delete(id);
  return subs;
}

/** Routed deliveries join their lane's window directly when it holds everything before them. */
export function joinRouted(engine: Engine, made: Delivery[]): void {
  for (const d of made) {
    const lane = engine.lanes.get(d.subscriptionId);
    if (!lane) continue;
    if (lane.reading) lane.dirty = true;
    else if (lane.caughtUp && lane.size < engine.settings.windowSize && d.seq > lane.cursor) append(lane, d);
    else lane.caughtUp = false;
  }
}

/** Whether the lane's window is low and more may wait in the store. */
export const wantsFill = (engine: Engine, lane: Lane): boolean =>
  !lane.caughtUp && !lane.reading && lane.size <= engine.settings.windowSize / 2;

/** Reads more of a lane's queue when its window runs low. */
export async function fill(engine: Engine, lane: Lane): Promise<void> {
  const { windowSize, reloadMs } = engine.settings;
  if (Date.now() - lane.lastLoad > reloadMs) resetLane(lane);
  while (wantsFill(engine, lane)) {
    lane.reading = true;
    lane.dirty = false;
    const want = windowSize - lane.size;
    let rows: Delivery[];
    try {
      rows = await engine.store.pendingAfter(lane.sub.id, lane.cursor, want);
    } finally {
      lane.reading = false;
    }
    if (engine.lanes.get(lane.sub.id) !== lane) return; // unsubscribed meanwhile
    for (const d of rows) {
      if (d.seq <= lane.cursor) continue;
      // After a reset, the delivery on its way is still the head of its cart.
      const queue = lane.carts.get(d.cartId);
      if (queue?.some((q) => q.eventId === d.eventId)) continue;
      append(lane, d);
    }
    // Fewer than asked is everything, unless routing added some while the read was under way.
    lane.caughtUp = rows.length < want && !lane.dirty;
  }
}

/** Takes the head delivery of a cart off the window once its outcome is final. */
export function removeHead(lane: Lane, d: Delivery): void {
  const queue = lane.carts.get(d.cartId);
  if (queue?.[0] !== d) return;
  queue.shift();
  lane.size--;
  if (queue.length === 0) lane.carts.delete(d.cartId);
}
