/**
 * Delivery under load and failure: subscribers are isolated from each other, the per-subscriber
 * backlog cap dead-letters (visibly), retention keeps the event records flat. Each runs on the
 * store the suite runs on (SQLite, or MongoDB with STORE=mongodb), with the dispatcher in its
 * worker thread as in production. Nothing is timed: every assertion is on order and progress.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { sample } from '../support/prometheus.js';
import { startListener, type Listener, type Received } from '../support/listener.js';
import { call, startTestServer, type TestServer } from '../support/server.js';

/** Polls `check` until it holds, failing after the deadline (no fixed sleeps). */
async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  deadlineMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How many threads of this process run at nice value `nice` (Linux: /proc/self/task/<tid>/stat). */
function threadsAtNice(nice: number): number {
  let count = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // After "pid (comm) ": state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[16]) === nice) count++;
  }
  return count;
}

/** Event types per cart, in the order the listener got them (first copy of each event). */
function perCart(received: Received[]): Map<string, string[]> {
  const seen = new Set<string>();
  const carts = new Map<string, string[]>();
  for (const r of received) {
    if (seen.has(r.body.eventId)) continue;
    seen.add(r.body.eventId);
    const id = r.body.event.shoppingCart.id as string;
    carts.set(id, [...(carts.get(id) ?? []), r.body.eventType as string]);
  }
  return carts;
}

describe('event delivery: isolation, backlog cap and retention', () => {
  const listeners: Listener[] = [];
  const servers: TestServer[] = [];
  const listen = async (): Promise<Listener> => {
    const l = await startListener();
    listeners.push(l);
    return l;
  };
  const serve = async (...args: Parameters<typeof startTestServer>): Promise<TestServer> => {
    const s = await startTestServer(...args);
    servers.push(s);
    return s;
  };
  const subscribe = async (server: TestServer, callback: string): Promise<string> => {
    const res = await call(server, 'POST', '/hub', { callback });
    expect(res.status, res.text).to.equal(201);
    return res.body.id as string;
  };
  /** Creates `n` carts and changes every other one: 1.5 n events, two for half of the carts. */
  const writeCarts = async (server: TestServer, n: number): Promise<{ ids: string[]; events: number }> => {
    const ids: string[] = [];
    let events = 0;
    for (let i = 0; i < n; i++) {
      const created = await call(server, 'POST', '/shoppingCart', { note: `c${i}` });
      expect(created.status).to.equal(201);
      ids.push(created.body.id as string);
      events++;
      if (i % 2 === 0) {
        const patched = await call(server, 'PATCH', `/shoppingCart/${created.body.id}`, { note: `p${i}` });
        expect(patched.status).to.equal(200);
        events++;
      }
    }
    return { ids, events };
  };
  const inOrder = (received: Received[], ids: string[]): void => {
    const carts = perCart(received);
    ids.forEach((id, i) => {
      expect(carts.get(id), id).to.deep.equal(
        i % 2 === 0
          ? ['ShoppingCartCreateEvent', 'ShoppingCartAttributeValueChangeEvent']
          : ['ShoppingCartCreateEvent'],
      );
    });
  };

  afterEach(async () => {
    for (const l of listeners.splice(0)) l.release();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await Promise.all(listeners.map((l) => l.close()));
  });
  after(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  it('a subscriber that does not answer holds back only itself: a healthy one gets every event, in order per cart', async () => {
    const server = await serve({ NOTIFY_CONCURRENCY: '4' });
    const stuck = await listen();
    stuck.hold = true;
    const healthy = await listen();
    await subscribe(server, stuck.url);
    await subscribe(server, healthy.url);
    const { ids, events } = await writeCarts(server, 20);
    await healthy.waitFor(events);
    // Meanwhile the stuck subscriber got nothing answered, and at most its own limit was sent.
    expect(stuck.received).to.have.length(0);
    expect(stuck.held()).to.be.within(1, 4);
    inOrder(healthy.received, ids);
    stuck.release();
    await stuck.waitFor(events);
    inOrder(stuck.received, ids);
    expect(server.errors).to.deep.equal([]);
  });

  it('a failing subscriber retries on its own while a healthy one gets everything', async () => {
    const server = await serve({}, { notifyBackoffMs: 20 });
    const failing = await listen();
    failing.script = Array<number>(10_000).fill(500);
    const healthy = await listen();
    await subscribe(server, failing.url);
    await subscribe(server, healthy.url);
    const { ids, events } = await writeCarts(server, 10);
    await healthy.waitFor(events);
    inOrder(healthy.received, ids);
    expect(failing.received).to.have.length(0);
    await until('retries of the failing subscriber', () => failing.attempts.length > 5);
    // Each cart waits on its own first event: no later event of a cart went out before it.
    for (const a of failing.attempts) expect(a.body.eventType).to.equal('ShoppingCartCreateEvent');
  });

  it("over NOTIFY_MAX_PENDING a subscriber's oldest events are dead-lettered, counted and visible", async () => {
    const server = await serve({ NOTIFY_MAX_PENDING: '5', NOTIFY_CONCURRENCY: '1' });
    const stuck = await listen();
    stuck.hold = true;
    const sub = await subscribe(server, stuck.url);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await call(server, 'POST', '/shoppingCart', {})).body.id as string);
    await until('every event routed', async () => {
      const counts = await server.store.eventRecordCounts();
      return counts.outbox === 0 && counts.pending === 12;
    });
    await server.dispatcher.maintain();
    const dead = await server.store.listDeadLetters();
    expect(dead.map((d) => d.cartId).sort()).to.deep.equal(ids.slice(0, 7).sort());
    for (const d of dead) {
      expect(d.subscriptionId).to.equal(sub);
      expect(d.lastError).to.contain('NOTIFY_MAX_PENDING');
    }
    const counts = await server.store.eventRecordCounts();
    expect(counts).to.deep.include({ pending: 5, dead: 7 });
    const metrics = (await call(server, 'GET', '/metrics')).text;
    expect(sample(metrics, 'tmf663_notification_dead_letters_total', { reason: 'backlog' })).to.equal(7);
    expect(sample(metrics, 'tmf663_notification_backlog', { subscription: sub })).to.equal(5);
    expect(sample(metrics, 'tmf663_notification_oldest_pending_seconds', { subscription: sub })).to.be.a(
      'number',
    );
    // The five newest still arrive once the subscriber answers.
    stuck.release();
    await until('the newest five delivered', () =>
      ids.slice(7).every((id) => stuck.received.some((r) => r.body.event.shoppingCart.id === id)),
    );
    await until('nothing pending', async () => (await server.store.eventRecordCounts()).pending === 0);
  });

  it('retention prunes delivered records and dead letters, so the event records stay flat', async () => {
    let offsetMs = 0;
    const server = await serve(
      {
        NOTIFY_DELIVERED_RETENTION: '1m',
        NOTIFY_DEAD_LETTER_RETENTION: '2m',
        NOTIFY_MAX_ATTEMPTS: '1',
      },
      { now: () => new Date(Date.now() + offsetMs) },
    );
    const ok = await listen();
    const failing = await listen();
    failing.script = Array<number>(10_000).fill(500);
    await subscribe(server, ok.url);
    await subscribe(server, failing.url);
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 10; i++) {
        const id = (await call(server, 'POST', '/shoppingCart', {})).body.id as string;
        expect((await call(server, 'DELETE', `/shoppingCart/${id}`)).status).to.equal(204);
      }
      await ok.waitFor(20 * round);
      await until('every outcome recorded', async () => {
        const c = await server.store.eventRecordCounts();
        return c.outbox === 0 && c.pending === 0 && c.dead === 20;
      });
      expect(await server.store.eventRecordCounts()).to.deep.equal({
        outbox: 0,
        pending: 0,
        delivered: 20,
        dead: 20,
      });
      offsetMs += 90_000; // past the delivered retention, not the dead letters'
      await server.dispatcher.maintain();
      expect(await server.store.eventRecordCounts()).to.deep.include({ delivered: 0, dead: 20 });
      offsetMs += 60_000; // past both
      await server.dispatcher.maintain();
      expect(await server.store.eventRecordCounts()).to.deep.equal({
        outbox: 0,
        pending: 0,
        delivered: 0,
        dead: 0,
      });
    }
    const metrics = (await call(server, 'GET', '/metrics')).text;
    expect(sample(metrics, 'tmf663_notification_records', { kind: 'delivered' })).to.equal(0);
  });

  it('the delivery thread runs NOTIFY_THREAD_NICE steps below the API thread, and only it (Linux)', async function () {
    if (process.platform !== 'linux') this.skip(); // priorities per thread are Linux's
    const base = getPriority(0);
    const steps = Math.min(7, 19 - base);
    if (steps <= 0) this.skip(); // this process already runs at the lowest priority
    const before = threadsAtNice(base + steps);
    const server = await startTestServer({ NOTIFY_THREAD_NICE: String(steps) });
    try {
      const l = await listen();
      await subscribe(server, l.url);
      expect((await call(server, 'POST', '/shoppingCart', { note: 'niced' })).status).to.equal(201);
      await l.waitFor(1);
      expect(l.received[0]?.body.event.shoppingCart.note).to.equal('niced');
      await until('one more thread at the lower priority', () => threadsAtNice(base + steps) === before + 1);
      expect(getPriority(0), 'the API thread keeps its priority').to.equal(base);
    } finally {
      await server.stop();
    }
    await until('the delivery thread gone with its server', () => threadsAtNice(base + steps) === before);
  });
});
