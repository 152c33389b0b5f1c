// The store contract on the embedded SQLite store: a fresh database file per store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { parseListQuery } from '../../src/query/parse.js';
import { eventsPath } from '../../src/store/sqlite/events-file.js';
import {
  deliverySchemaSql,
  eventsSchemaSql,
  schemaSql,
  schemaVersion,
} from '../../src/store/sqlite/schema.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';
import { expect } from 'chai';
import { runStoreContract } from './contract.js';
import { regexAtScale } from './regex-scale.js';

async function expectConflict(p: Promise<unknown>): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(AppError);
  expect((error as AppError).code).to.equal('CONFLICT');
}

/**
 * Runs `test` with the path of a database file `c.db` in a fresh temporary directory, which is
 * removed afterwards whatever the outcome (with the events file and WAL files beside it).
 */
async function inTempFile(name: string, test: (path: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `tmf663-${name}-`));
  try {
    await test(join(dir, 'c.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openTempSqlite(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-contract-'));
  const store = openSqliteStore({ path: join(dir, 'carts.db'), synchronous: 'normal' });
  return Promise.resolve({
    ...store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

runStoreContract('sqlite', openTempSqlite);

describe('SQLite store: the cached count of live carts', () => {
  const meta = (now: number, expiresAt?: number) => ({ now: new Date(now).toISOString(), expiresAt });
  const all = { filter: { conditions: [] }, fields: ['id'].map((f) => [f]), sort: [], offset: 0, limit: 1 };

  it('stays exact across writes by another process, own writes and expiry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-count-'));
    const a = openSqliteStore({ path: join(dir, 'c.db'), synchronous: 'normal' });
    const b = openSqliteStore({ path: join(dir, 'c.db'), synchronous: 'normal' });
    try {
      const t0 = Date.parse('2030-01-01T00:00:00Z');
      await a.createCart({ id: 'a1' }, meta(t0, t0 + 1000), []);
      expect((await a.listCarts(all, t0)).total).to.equal(1);
      await b.createCart({ id: 'b1' }, meta(t0), []); // another connection: data_version moves
      expect((await a.listCarts(all, t0)).total).to.equal(2);
      await a.deleteCart('b1', undefined, t0, []); // this connection's own write
      expect((await a.listCarts(all, t0)).total).to.equal(1);
      expect((await a.listCarts(all, t0 + 999)).total).to.equal(1);
      expect((await a.listCarts(all, t0 + 1000)).total, 'a1 expired').to.equal(0);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite store: routing takes the write lock only when there is something to route', () => {
  it("routes an empty outbox while another process holds the events file's lock, and waits for it once there is an event", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-route-'));
    const path = join(dir, 'r.db');
    const api = openSqliteStore({ path, synchronous: 'normal' });
    const dispatcher = openSqliteStore({ path, synchronous: 'normal', lockTimeoutMs: 200 });
    const other = new Database(eventsPath(path));
    const mainWriter = new Database(path);
    try {
      await api.createSubscription({ id: 's', callback: 'http://listener.test/', query: '' });
      const all = () => [{ subscriptionId: 's' }];
      other.exec('BEGIN IMMEDIATE');
      expect(await dispatcher.routeOutbox(all, 10), 'nothing to route, no lock needed').to.equal(0);
      other.exec('COMMIT');
      const now = new Date().toISOString();
      await api.createCart({ id: 'c1' }, { now, expiresAt: undefined }, [
        { eventId: 'e1', cartId: 'c1', eventType: 'ShoppingCartCreateEvent', body: { eventId: 'e1' } },
      ]);
      other.exec('BEGIN IMMEDIATE');
      const refused = await dispatcher.routeOutbox(all, 10).then(
        () => undefined,
        (e: unknown) => e,
      );
      other.exec('COMMIT');
      expect(refused, 'an event to route needs the lock').to.be.instanceOf(AppError);
      // The main file's lock is not needed: routing only reads the outbox there.
      mainWriter.exec('BEGIN IMMEDIATE');
      expect(await dispatcher.routeOutbox(all, 10)).to.equal(1);
      mainWriter.exec('COMMIT');
      expect((await dispatcher.backlog()).map((b) => [b.subscriptionId, b.pending])).to.deep.equal([
        ['s', 1],
      ]);
    } finally {
      other.close();
      mainWriter.close();
      await api.close();
      await dispatcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite store: the backlog cap', () => {
  it('moves a cut larger than one write in several, letting other writes in between and leaving later deliveries', async () => {
    await inTempFile('cap', async (path) => {
      const meta = { now: '2024-05-01T10:00:00.000Z', expiresAt: undefined };
      const store = openSqliteStore({ path, synchronous: 'normal' });
      try {
        await store.createSubscription({ id: 's', callback: 'http://listener.test/', query: '' });
        const all = () => [{ subscriptionId: 's' }];
        const create = (n: number) =>
          store.createCart({ id: `c${n}` }, meta, [
            { eventId: `e${n}`, cartId: `c${n}`, eventType: 'ShoppingCartCreateEvent', body: { n } },
          ]);
        await Promise.all(Array.from({ length: 700 }, (_, n) => create(n)));
        expect(await store.routeOutbox(all, 1000)).to.equal(700);
        const queued = await store.pendingAfter('s', 0, 1000);

        const cut = store.capBacklog('s', 100, 'backlog over NOTIFY_MAX_PENDING', meta.now);
        let cutDone = false;
        void cut.then(() => (cutDone = true));
        // Two more events, routed while the cut is under way.
        await Promise.all([create(700), create(701)]);
        expect(await store.routeOutbox(all, 10)).to.equal(2);
        expect(cutDone, 'routing got its writes in before the cut was over').to.equal(false);

        const moved = await cut;
        expect(moved.map((d) => d.eventId)).to.deep.equal(queued.slice(0, 600).map((d) => d.eventId));
        const left = await store.pendingAfter('s', 0, 1000);
        expect(left.map((d) => d.eventId)).to.deep.equal([
          ...queued.slice(600).map((d) => d.eventId),
          'e700',
          'e701',
        ]);
        const dead = await store.listDeadLetters();
        expect(dead).to.have.length(600);
        expect(
          dead.every((d) => d.lastError === 'backlog over NOTIFY_MAX_PENDING' && d.body.n !== undefined),
        ).to.equal(true);
      } finally {
        await store.close();
      }
    });
  });
});

describe('SQLite store: documents as JSONB', () => {
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  const meta = { now: new Date(t0).toISOString(), expiresAt: undefined };
  const byChannel = parseListQuery('channelCode=web&limit=10', { maxPageSize: 100 });

  it('converts a file written with JSON text documents when it opens it, keeping every cart', async () => {
    await inTempFile('migrate', async (path) => {
      // A version-1 file: the table as it was, documents as text, user_version 0.
      const old = new Database(path);
      old.exec(schemaSql.replace('doc BLOB NOT NULL', 'doc TEXT NOT NULL'));
      const carts = [
        { id: 'm1', href: 'http://h/m1', channelCode: 'web', note: 'caf\u00e9 \u2028 "q"', n: 1e21 },
        { id: 'm2', href: 'http://h/m2', channelCode: 'shop', n: 0.1 },
      ];
      const insert = old.prepare(
        `INSERT INTO carts (id, doc, version, created_at, updated_at, expires_at) VALUES (?, ?, 3, ?, ?, NULL)`,
      );
      for (const c of carts) insert.run(c.id, JSON.stringify(c), meta.now, meta.now);
      old.close();

      const store = openSqliteStore({ path, synchronous: 'normal' });
      try {
        for (const c of carts) {
          const got = await store.getCart(c.id, t0);
          expect(got?.json).to.equal(JSON.stringify(c));
          expect(got?.version).to.equal(3);
        }
        const found = await store.listCarts(byChannel, t0);
        expect(found.items.map((c) => c.id)).to.deep.equal(['m1']);
        expect(found.total).to.equal(1);
      } finally {
        await store.close();
      }
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).to.equal(schemaVersion);
      expect(check.prepare('SELECT DISTINCT typeof(doc) AS t FROM carts').all()).to.deep.equal([
        { t: 'blob' },
      ]);
      check.close();
    });
  });

  it('reads expires_at again in a layout-2 file, so carts whose end the old reader missed expire', async () => {
    await inTempFile('migrate3', async (path) => {
      // A version-2 file: JSONB documents; the old reader left expires_at NULL for a lower-case
      // t/z and for an offset such as +18:11, and read the canonical spelling.
      const old = new Database(path);
      old.exec(schemaSql);
      const carts: [string, string, number | null][] = [
        ['e1', '2030-01-01t10:00:00z', null],
        ['e2', '2030-01-02T04:11:00+18:11', null],
        ['e3', '2030-01-01T10:00:00Z', Date.parse('2030-01-01T10:00:00Z')],
        ['e4', 'not a date', null],
      ];
      const insert = old.prepare(
        `INSERT INTO carts (id, doc, version, created_at, updated_at, expires_at) VALUES (?, jsonb(?), 1, ?, ?, ?)`,
      );
      for (const [id, end, expiresAt] of carts) {
        insert.run(id, JSON.stringify({ id, validFor: { endDateTime: end } }), meta.now, meta.now, expiresAt);
      }
      old.pragma('user_version = 2');
      old.close();

      const store = openSqliteStore({ path, synchronous: 'normal' });
      const tenOClock = Date.parse('2030-01-01T10:00:00Z');
      try {
        for (const id of ['e1', 'e2', 'e3']) {
          expect(await store.getCart(id, tenOClock - 1), id).to.not.equal(undefined);
          expect(await store.getCart(id, tenOClock), id).to.equal(undefined);
        }
        expect(await store.getCart('e4', tenOClock + 1e10)).to.not.equal(undefined);
      } finally {
        await store.close();
      }
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).to.equal(schemaVersion);
      check.close();
    });
  });

  it('rebuilds the subscriptions of a layout-3 file as unique per owner, keeping every one', async () => {
    await inTempFile('migrate4', async (path) => {
      // A version-3 file: subscriptions unique on (callback, query) for everyone, the owner only
      // inside the document.
      const old = new Database(path);
      old.exec(schemaSql);
      old.exec(`CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY, callback TEXT NOT NULL, query TEXT NOT NULL, doc TEXT NOT NULL,
        UNIQUE (callback, query))`);
      const subs = [
        { id: 's1', callback: 'http://l/a', query: '', owner: 'alice' },
        { id: 's2', callback: 'http://l/b', query: 'eventType=ShoppingCartCreateEvent' },
      ];
      const insert = old.prepare(`INSERT INTO subscriptions (id, callback, query, doc) VALUES (?, ?, ?, ?)`);
      for (const s of subs) insert.run(s.id, s.callback, s.query, JSON.stringify(s));
      old.pragma('user_version = 3');
      old.close();

      const store = openSqliteStore({ path, synchronous: 'normal' });
      try {
        expect(await store.listSubscriptions()).to.deep.equal(subs);
        expect(await store.findSubscription('http://l/a', '', 'alice')).to.deep.equal(subs[0]);
        expect(await store.findSubscription('http://l/b', subs[1]!.query)).to.deep.equal(subs[1]);
        // Another owner may now take alice's callback and query; alice may not twice.
        await store.createSubscription({ id: 's3', callback: 'http://l/a', query: '', owner: 'bob' });
        await expectConflict(
          store.createSubscription({ id: 's4', callback: 'http://l/a', query: '', owner: 'alice' }),
        );
      } finally {
        await store.close();
      }
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).to.equal(schemaVersion);
      check.close();
      // Opening the migrated file again changes nothing.
      const again = openSqliteStore({ path, synchronous: 'normal' });
      try {
        expect((await again.listSubscriptions()).map((s) => s.id)).to.deep.equal(['s1', 's2', 's3']);
      } finally {
        await again.close();
      }
    });
  });

  it('adds cart_times to the outbox of a layout-4 file; its waiting events route without times', async () => {
    await inTempFile('migrate5', async (path) => {
      // A version-4 file with one event waiting in an outbox that has no cart_times.
      const old = new Database(path);
      old.exec(schemaSql);
      old.exec(`CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,
        cart_id TEXT NOT NULL, event_type TEXT NOT NULL, body TEXT NOT NULL)`);
      old
        .prepare(`INSERT INTO outbox (event_id, cart_id, event_type, body) VALUES (?, ?, ?, ?)`)
        .run('e-old', 'c1', 'ShoppingCartCreateEvent', '{"eventId":"e-old"}');
      old.pragma('user_version = 4');
      old.close();

      const store = openSqliteStore({ path, synchronous: 'normal' });
      try {
        const seen: { eventId: string; cartTimes: unknown }[] = [];
        expect(
          await store.routeOutbox((e) => {
            seen.push({ eventId: e.eventId, cartTimes: e.cartTimes });
            return [];
          }, 10),
        ).to.equal(1);
        expect(seen).to.deep.equal([{ eventId: 'e-old', cartTimes: undefined }]);
      } finally {
        await store.close();
      }
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).to.equal(schemaVersion);
      const columns = (check.pragma('table_info(outbox)') as { name: string }[]).map((c) => c.name);
      expect(columns).to.include('cart_times');
      check.close();
    });
  });

  it('moves the deliveries and records of a layout-5 file into the events file; its outbox routes and delivers', async () => {
    await inTempFile('migrate6', async (path) => {
      const t = '2030-01-01T00:00:00.000Z';
      // A version-5 file: deliveries, delivered and dead_letters in the main file, one event
      // waiting in the outbox (routing deleted what it routed, so none of it was routed).
      const old = new Database(path);
      old.exec(schemaSql);
      old.exec(eventsSchemaSql);
      old.exec(deliverySchemaSql);
      old.exec('DROP TABLE route_cursor');
      old
        .prepare(`INSERT INTO subscriptions (id, owner, callback, query, doc) VALUES (?, '', ?, '', ?)`)
        .run('s1', 'http://l/1', JSON.stringify({ id: 's1', callback: 'http://l/1', query: '' }));
      old.exec(`INSERT INTO outbox (seq, event_id, cart_id, event_type, body, cart_times)
        VALUES (3, 'o1', 'c2', 'ShoppingCartCreateEvent', '{"eventId":"o1"}', NULL)`);
      const pending = `INSERT INTO deliveries (seq, event_id, subscription_id, cart_id, event_type, body, attempts, next_attempt_at)
        VALUES (7, 'd1', 's1', 'c1', 'ShoppingCartCreateEvent', '{"eventId":"d1"}', 2, 0)`;
      old.exec(pending);
      old.exec(`INSERT INTO delivered (event_id, subscription_id, cart_id, event_type, attempts, delivered_at)
        VALUES ('d0', 's1', 'c1', 'ShoppingCartCreateEvent', 1, '${t}')`);
      old.exec(`INSERT INTO dead_letters (event_id, subscription_id, cart_id, event_type, body, attempts, last_error, dead_at)
        VALUES ('x1', 's1', 'c3', 'ShoppingCartCreateEvent', '{"eventId":"x1"}', 5, 'HTTP 500', '${t}')`);
      old.pragma('user_version = 5');
      old.close();
      // A migration that stopped after copying the pending delivery: the copy is made again, once.
      const copied = new Database(eventsPath(path));
      copied.exec(deliverySchemaSql);
      copied.exec(pending);
      copied.close();

      const store = openSqliteStore({ path, synchronous: 'normal' });
      try {
        expect(await store.eventRecordCounts()).to.deep.equal({
          outbox: 1,
          pending: 1,
          delivered: 1,
          dead: 1,
        });
        expect((await store.listDeadLetters()).map((d) => [d.eventId, d.lastError])).to.deep.equal([
          ['x1', 'HTTP 500'],
        ]);
        expect(await store.routeOutbox(() => [{ subscriptionId: 's1' }], 10)).to.equal(1);
        const queue = await store.pendingAfter('s1', 0, 10);
        expect(queue.map((d) => [d.eventId, d.attempts])).to.deep.equal([
          ['d1', 2],
          ['o1', 0],
        ]);
        await store.settleDeliveries(
          queue.map((d) => ({
            kind: 'delivered',
            eventId: d.eventId,
            subscriptionId: 's1',
            attempts: 1,
            at: t,
          })),
        );
        expect(await store.eventRecordCounts()).to.deep.equal({
          outbox: 0,
          pending: 0,
          delivered: 3,
          dead: 1,
        });
        // Maintenance deletes the routed event from the main file's outbox.
        await store.pruneEventRecords('2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', 100);
      } finally {
        await store.close();
      }
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).to.equal(schemaVersion);
      const tables = check
        .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
        .pluck()
        .all();
      expect(tables)
        .to.include('outbox')
        .and.not.include.members(['deliveries', 'delivered', 'dead_letters']);
      expect(check.prepare('SELECT COUNT(*) AS n FROM outbox').get()).to.deep.equal({ n: 0 });
      check.close();
    });
  });

  it('routes again from the start when the main file is older than the events file (a restored backup)', async () => {
    await inTempFile('cursor', async (path) => {
      const event = (id: string) => ({
        eventId: id,
        cartId: id,
        eventType: 'ShoppingCartCreateEvent',
        body: { eventId: id },
      });
      const meta = { now: new Date().toISOString(), expiresAt: undefined };
      const first = openSqliteStore({ path, synchronous: 'normal' });
      await first.createSubscription({ id: 's', callback: 'http://l/', query: '' });
      for (const id of ['a', 'b']) await first.createCart({ id }, meta, [event(id)]);
      expect(await first.routeOutbox(() => [], 10)).to.equal(2);
      await first.close();
      // The main file replaced by a new one: its outbox starts again at seq 1.
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      const second = openSqliteStore({ path, synchronous: 'normal' });
      try {
        await second.createSubscription({ id: 's', callback: 'http://l/', query: '' });
        await second.createCart({ id: 'c' }, meta, [event('c')]);
        expect(await second.eventRecordCounts()).to.deep.include({ outbox: 1 });
      } finally {
        await second.close();
      }
      const third = openSqliteStore({ path, synchronous: 'normal' });
      try {
        expect(await third.routeOutbox(() => [{ subscriptionId: 's' }], 10)).to.equal(1);
        expect((await third.pendingAfter('s', 0, 10)).map((d) => d.eventId)).to.deep.equal(['c']);
      } finally {
        await third.close();
      }
    });
  });

  it('refuses a file written by a newer schema instead of misreading it', async () => {
    await inTempFile('newer', (path) => {
      const newer = new Database(path);
      newer.pragma(`user_version = ${schemaVersion + 1}`);
      newer.close();
      expect(() => openSqliteStore({ path })).to.throw(/newer version/);
    });
  });

  it('gives back exactly the text it was given, for any JSON (GET sends the stored text as is)', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    try {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), async (extra) => {
          const cart = { ...extra, id: `rt-${n++}` };
          await store.createCart(cart, meta, []);
          const got = await store.getCart(cart.id, t0);
          expect(got?.json).to.equal(JSON.stringify(cart));
          const listed = await store.listCarts(parseListQuery(`id=${cart.id}`, { maxPageSize: 100 }), t0);
          expect(listed.json).to.deep.equal([JSON.stringify(cart)]);
        }),
        { numRuns: 300 },
      );
    } finally {
      await store.close();
    }
  });
});

regexAtScale('SQLite store', openTempSqlite, 20_000);
