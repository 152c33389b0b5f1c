import { expect } from 'chai';
import { buildEvent } from '../../src/events/build-event.js';
import { createDispatcher } from '../../src/events/dispatcher.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';
import { startListener } from '../support/listener.js';

/** A dispatcher in this thread over `store`, delivering to local listeners. */
const dispatcherOver = (store: Store, o: { maxInFlight: number; pollMs: number }) =>
  createDispatcher({
    store,
    now: () => new Date(),
    maxAttempts: 3,
    timeoutMs: 5000,
    denyPrivate: false,
    ...o,
  });

describe('dispatcher', () => {
  it('keeps at most maxInFlight deliveries on their way, and still delivers everything', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const listener = await startListener();
    listener.delayMs = 50;
    const dispatcher = dispatcherOver(store, { maxInFlight: 2, pollMs: 10 });
    try {
      await store.createSubscription({ id: 's', callback: listener.url, query: '' });
      const now = new Date().toISOString();
      for (let i = 0; i < 6; i++) {
        const cart = { id: `c${i}` };
        await store.createCart(cart, { now, expiresAt: undefined }, [
          buildEvent('ShoppingCartCreateEvent', cart, { eventId: `e${i}`, now, correlationId: undefined }),
        ]);
      }
      let most = 0;
      const watch = setInterval(() => {
        most = Math.max(most, dispatcher.inFlight());
      }, 1);
      dispatcher.start();
      const got = await listener.waitFor(6);
      clearInterval(watch);
      expect(got.map((r) => r.body.eventId).sort()).to.deep.equal(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
      expect(most).to.be.within(1, 2);
    } finally {
      await dispatcher.stop(1000);
      await listener.close();
      await store.close();
    }
  });

  it("starts another cart's delivery as soon as a slot frees, while the same cart waits for its outcome's commit", async () => {
    const base = openSqliteStore({ path: ':memory:' });
    // Outcomes are committed only when the test says so.
    let release: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store = {
      ...base,
      settleDeliveries: async (list: Parameters<typeof base.settleDeliveries>[0]) => {
        await committed;
        return base.settleDeliveries(list);
      },
    };
    const listener = await startListener();
    // One round at start and none after within the test: only a freed slot can start more.
    const dispatcher = dispatcherOver(store, { maxInFlight: 1, pollMs: 600_000 });
    try {
      await base.createSubscription({ id: 's', callback: listener.url, query: '' });
      const now = new Date().toISOString();
      const write = async (cartId: string, eventId: string): Promise<void> => {
        const cart = { id: cartId };
        const event = buildEvent('ShoppingCartCreateEvent', cart, { eventId, now, correlationId: undefined });
        await base.createCart({ id: `${cartId}-${eventId}` }, { now, expiresAt: undefined }, [
          { ...event, cartId },
        ]);
      };
      await write('A', 'a1');
      await write('A', 'a2');
      await write('B', 'b1');
      dispatcher.start();
      const first = await listener.waitFor(2, 5000);
      expect(
        first.map((r) => r.body.eventId),
        'B went out while A waits for its commit',
      ).to.deep.equal(['a1', 'b1']);
      const pending = await base.backlog();
      expect(
        pending.map((b) => [b.subscriptionId, b.pending]),
        'no outcome recorded yet',
      ).to.deep.equal([['s', 3]]);
      release();
      const all = await listener.waitFor(3);
      expect(all.map((r) => r.body.eventId)).to.deep.equal(['a1', 'b1', 'a2']);
      await dispatcher.stop(1000);
      expect(await base.backlog(), 'every outcome recorded').to.deep.equal([]);
    } finally {
      release();
      await dispatcher.stop(1000);
      await listener.close();
      await base.close();
    }
  });

  it('never sends the deliveries of a subscription that is gone; maintenance deletes them', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const gone = await startListener();
    const kept = await startListener();
    const dispatcher = dispatcherOver(store, { maxInFlight: 4, pollMs: 10 });
    try {
      await store.createSubscription({ id: 'gone', callback: gone.url, query: '' });
      await store.createSubscription({ id: 'kept', callback: kept.url, query: '' });
      const now = new Date().toISOString();
      const cart = { id: 'c1' };
      await store.createCart(cart, { now, expiresAt: undefined }, [
        buildEvent('ShoppingCartCreateEvent', cart, { eventId: 'e1', now, correlationId: undefined }),
      ]);
      // Routed with a list of subscriptions read before 'gone' was deleted.
      expect(await store.deleteSubscription('gone')).to.equal(true);
      await store.routeOutbox(() => [{ subscriptionId: 'gone' }, { subscriptionId: 'kept' }], 10);
      expect((await store.backlog()).map((b) => b.subscriptionId).sort()).to.deep.equal(['gone', 'kept']);
      dispatcher.start();
      expect((await kept.waitFor(1)).map((r) => r.body.eventId)).to.deep.equal(['e1']);
      await dispatcher.maintain();
      expect((await store.backlog()).map((b) => b.subscriptionId)).to.not.include('gone');
      expect(await store.pendingAfter('gone', 0, 10)).to.deep.equal([]);
      expect(await store.listDeadLetters(), 'deleted, not dead-lettered').to.deep.equal([]);
      expect(gone.received).to.deep.equal([]);
    } finally {
      await dispatcher.stop(1000);
      await gone.close();
      await kept.close();
      await store.close();
    }
  });
});
