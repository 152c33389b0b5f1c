import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startListener, type Listener } from '../support/listener.js';
import { base, call, expectTmfError, startTestServer, useTestServer } from '../support/server.js';

const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('hub subscriptions and event notifications', () => {
  const server = useTestServer({}, { notifyBackoffMs: 20, notifyPollMs: 50 });
  const listeners: Listener[] = [];
  const listen = async (): Promise<Listener> => {
    const l = await startListener();
    listeners.push(l);
    return l;
  };
  const subscribe = async (callback: string, query = '') => {
    const res = await call(server, 'POST', '/hub', { callback, query });
    expect(res.status, res.text).to.equal(201);
    return res;
  };

  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });

  it('POST /hub answers 201 with id, callback, query and a Location; GET and DELETE manage it', async () => {
    const l = await listen();
    const res = await subscribe(l.url, 'eventType=ShoppingCartCreateEvent');
    expect(res.body).to.deep.equal({
      id: res.body.id,
      callback: l.url,
      query: 'eventType=ShoppingCartCreateEvent',
    });
    // Absolute, as a created cart's Location is.
    expect(res.headers.get('location')).to.equal(`${server.url}${base}/hub/${res.body.id}`);
    expect((await call(server, 'GET', `/hub/${res.body.id}`)).body).to.deep.equal(res.body);
    expect((await call(server, 'GET', '/hub')).body).to.deep.include(res.body);
    expect((await call(server, 'DELETE', `/hub/${res.body.id}`)).status).to.equal(204);
    expectTmfError(await call(server, 'DELETE', `/hub/${res.body.id}`), 404);
    expectTmfError(await call(server, 'GET', `/hub/${res.body.id}`), 404);
  });

  it('rejects a relative or non-http callback (400), a duplicate (409) and an unparsable query (400)', async () => {
    expectTmfError(await call(server, 'POST', '/hub', { callback: '/relative' }), 400);
    expectTmfError(await call(server, 'POST', '/hub', { callback: 'ftp://x/y' }), 400);
    expectTmfError(await call(server, 'POST', '/hub', {}), 400);
    const l = await listen();
    await subscribe(l.url, 'eventType=ShoppingCartDeleteEvent');
    expect(
      expectTmfError(
        await call(server, 'POST', '/hub', { callback: l.url, query: 'eventType=ShoppingCartDeleteEvent' }),
        409,
      ).code,
    ).to.equal('CONFLICT');
    expectTmfError(
      await call(server, 'POST', '/hub', { callback: l.url, query: 'eventType=NoSuchEvent' }),
      400,
    );
    expectTmfError(await call(server, 'POST', '/hub', { callback: l.url, query: 'nonsense' }), 400);
    expectTmfError(
      await call(server, 'POST', '/hub', {
        callback: l.url,
        query: 'event.shoppingCart.cartItem.quantity.gt=abc',
      }),
      400,
    );
  });

  it('sends each event type with its full v4 envelope to the callback URL exactly', async () => {
    const l = await listen();
    await subscribe(`${l.url}/exact/path`);
    const created = await call(
      server,
      'POST',
      '/shoppingCart',
      { relatedParty: [{ id: 'EV1', '@referredType': 'Individual' }] },
      {
        'X-Correlation-ID': 'corr-1',
      },
    );
    const patched = await call(server, 'PATCH', `/shoppingCart/${created.body.id}`, {
      note: 'changed',
      '@baseType': 'ShoppingCart',
    });
    await call(server, 'DELETE', `/shoppingCart/${created.body.id}`);
    const got = (await l.waitFor(3)).filter((r) => r.body.event.shoppingCart.id === created.body.id);
    expect(got.map((r) => r.body.eventType)).to.deep.equal([
      'ShoppingCartCreateEvent',
      'ShoppingCartAttributeValueChangeEvent',
      'ShoppingCartDeleteEvent',
    ]);
    for (const r of got) {
      expect(r.path).to.equal('/exact/path');
      expect(r.contentType).to.equal('application/json');
      expect(r.body.eventId).to.match(ulidPattern);
      expect(r.body.eventTime).to.equal(r.body.timeOcurred);
      expect(r.body.domain).to.equal('shoppingCart');
      expect(r.body.title).to.be.a('string');
      expect(r.body.priority).to.be.a('string');
    }
    expect(got[0]?.body.correlationId).to.equal('corr-1');
    expect(got[0]?.body.event.shoppingCart).to.deep.equal(created.body);
    expect(got[1]?.body.fieldPath).to.equal('@baseType,note');
    expect(got[1]?.body.event.shoppingCart).to.deep.equal(patched.body);
    expect(got[2]?.body.event.shoppingCart).to.deep.equal(patched.body);
    expect(new Set(got.map((r) => r.body.eventId)).size).to.equal(3);
  });

  it('filters by event type and by payload, and narrows the payload with fields', async () => {
    const l = await listen();
    await subscribe(
      l.url,
      'eventType=ShoppingCartCreateEvent&event.shoppingCart.relatedParty.id=WANTED&fields=event.shoppingCart.id,event.shoppingCart.relatedParty',
    );
    await call(server, 'POST', '/shoppingCart', {
      relatedParty: [{ id: 'OTHER', '@referredType': 'Individual' }],
    });
    const wanted = await call(server, 'POST', '/shoppingCart', {
      relatedParty: [{ id: 'WANTED', '@referredType': 'Individual' }],
      note: 'not sent',
    });
    await call(server, 'PATCH', `/shoppingCart/${wanted.body.id}`, {
      note: 'a change event: not subscribed',
    });
    const [first] = await l.waitFor(1);
    expect(first?.body.event).to.deep.equal({
      shoppingCart: { id: wanted.body.id, href: wanted.body.href, relatedParty: wanted.body.relatedParty },
    });
    await server.dispatcher.runOnce();
    expect(l.received).to.have.length(1);
  });

  it('stops delivering after unsubscribe', async () => {
    const l = await listen();
    const sub = await subscribe(l.url);
    await call(server, 'POST', '/shoppingCart', {});
    await l.waitFor(1);
    await call(server, 'DELETE', `/hub/${sub.body.id}`);
    await call(server, 'POST', '/shoppingCart', {});
    await server.dispatcher.runOnce();
    expect(l.received).to.have.length(1);
  });

  it('retries a failing listener and delivers each event once per success, in order per cart', async () => {
    const l = await listen();
    l.script = [500, 503, 404];
    await subscribe(l.url, 'event.shoppingCart.note=retry');
    const cart = await call(server, 'POST', '/shoppingCart', { note: 'retry' });
    await call(server, 'PATCH', `/shoppingCart/${cart.body.id}`, { cartItem: [{ id: '1', quantity: 1 }] });
    const got = await l.waitFor(2);
    expect(got.map((r) => r.body.eventType)).to.deep.equal([
      'ShoppingCartCreateEvent',
      'ShoppingCartAttributeValueChangeEvent',
    ]);
    expect(l.attempts.map((a) => a.status)).to.deep.equal([500, 503, 404, 201, 201]);
    expect(l.attempts.slice(0, 4).every((a) => a.body.eventId === got[0]?.body.eventId)).to.equal(true);
    await server.dispatcher.runOnce();
    expect(l.received).to.have.length(2);
  });

  it('dead-letters an event after NOTIFY_MAX_ATTEMPTS', async () => {
    const strict = await startTestServer(
      { NOTIFY_MAX_ATTEMPTS: '2' },
      { notifyBackoffMs: 10, notifyPollMs: 20 },
    );
    try {
      const l = await listen();
      l.script = [500, 500, 500];
      const res = await call(strict, 'POST', '/hub', { callback: l.url });
      expect(res.status).to.equal(201);
      const cart = await call(strict, 'POST', '/shoppingCart', {});
      const deadline = Date.now() + 10_000;
      let dead = await strict.store.listDeadLetters();
      while (dead.length === 0 && Date.now() < deadline) {
        await strict.dispatcher.runOnce();
        dead = await strict.store.listDeadLetters();
      }
      expect(dead).to.have.length(1);
      expect(dead[0]?.cartId).to.equal(cart.body.id);
      expect(dead[0]?.attempts).to.equal(2);
      expect(dead[0]?.lastError).to.contain('500');
      expect(await strict.store.pendingDeliveries()).to.equal(0);
    } finally {
      await strict.stop();
    }
  });

  it('delivers events left pending by a stopped server after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-restart-'));
    const path = join(dir, 'r.db');
    const l = await listen();
    const env = { PORT: '0', HOST: '127.0.0.1', SQLITE_PATH: path, LOG_LEVEL: 'silent' };
    try {
      // First life: the listener is down (answers 503), so the event stays pending.
      l.script = Array<number>(100).fill(503);
      const store1 = openSqliteStore({ path });
      const first = await startServer(loadConfig(env), store1, { notifyBackoffMs: 60_000 });
      await call(first, 'POST', '/hub', { callback: l.url });
      const cart = await call(first, 'POST', '/shoppingCart', { note: 'survives' });
      await first.dispatcher.runOnce();
      expect(l.received).to.have.length(0);
      await first.close();
      await store1.close();
      // Second life: the listener is back and the pending event is delivered.
      l.script = [];
      const store2 = openSqliteStore({ path });
      // The first attempt scheduled its retry a minute ahead; the second life's clock is past it.
      const later = () => new Date(Date.now() + 120_000);
      const second = await startServer(loadConfig(env), store2, { notifyBackoffMs: 10, now: later });
      try {
        const [delivered] = await l.waitFor(1);
        expect(delivered?.body.eventType).to.equal('ShoppingCartCreateEvent');
        expect(delivered?.body.event.shoppingCart.id).to.equal(cart.body.id);
        expect(l.attempts.map((a) => a.status)).to.deep.equal([503, 201]);
      } finally {
        await second.close();
        await store2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
