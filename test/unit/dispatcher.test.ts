import { expect } from 'chai';
import { buildEvent } from '../../src/events/build-event.js';
import { createDispatcher } from '../../src/events/dispatcher.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startListener } from '../support/listener.js';

describe('dispatcher', () => {
  it('keeps at most maxInFlight deliveries on their way, and still delivers everything', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const listener = await startListener();
    listener.delayMs = 50;
    const dispatcher = createDispatcher({
      store,
      now: () => new Date(),
      maxAttempts: 3,
      timeoutMs: 5000,
      denyPrivate: false,
      maxInFlight: 2,
      pollMs: 10,
    });
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
});
