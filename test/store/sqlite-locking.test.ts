// How the SQLite store takes the write lock when other connections (other processes, with
// CLUSTER_WORKERS) share the file: at the start of every write transaction, waiting its turn.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { ShoppingCart } from '../../src/api-types.js';
import { createCartService } from '../../src/cart/cart-service.js';
import { AppError } from '../../src/errors.js';
import { eventsPath } from '../../src/store/sqlite/events-file.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';

const t0 = Date.parse('2030-01-01T00:00:00Z');
const meta = { now: new Date(t0).toISOString(), expiresAt: undefined };

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a rejection');
}

describe('SQLite store: the write lock, shared with other connections', () => {
  let dir: string;
  let path: string;
  const opened: { close(): unknown }[] = [];
  /**
   * Another process's connection to the same file (or to its events file), which fails at once
   * when the lock is taken.
   */
  const other = (file = path): Database.Database => {
    const db = new Database(file, { timeout: 0 });
    opened.push(db);
    return db;
  };
  const store = (lockTimeoutMs?: number): Store => {
    const s = openSqliteStore({ path, synchronous: 'normal', lockTimeoutMs });
    opened.push(s);
    return s;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tmf663-lock-'));
    path = join(dir, 'carts.db');
  });
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a write waits while another connection holds the lock and commits once it is released', async () => {
    const s = store();
    const holder = other();
    holder.exec('BEGIN IMMEDIATE');
    holder
      .prepare(`INSERT INTO subscriptions (id, callback, query, doc) VALUES ('h', 'http://x/', '', '{}')`)
      .run();
    const created = s.createCart({ id: 'waited' }, meta, []);
    let settled = false;
    void created.finally(() => (settled = true));
    // While the lock is held the write waits, and the event loop stays free: a timer fires and
    // a read is answered (a write blocking in SQLite's busy handler would hold both back until
    // it gave up, settled).
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await s.getCart('waited', t0)).to.equal(undefined);
    expect(settled).to.equal(false);
    holder.exec('COMMIT');
    expect((await created).version).to.equal(1);
    expect((await s.getCart('waited', t0))?.version).to.equal(1);
    expect(await s.getSubscription('h'), "the other connection's write is kept").to.not.equal(undefined);
  });

  it('past the lock timeout a write fails with STORE_UNAVAILABLE and nothing of it is stored', async () => {
    const s = store(50);
    const holder = other();
    holder.exec('BEGIN IMMEDIATE');
    const error = await rejection(s.createCart({ id: 'late' }, meta, []));
    expect(error.code).to.equal('STORE_UNAVAILABLE');
    expect(error.message).to.match(/write lock stayed taken by other processes for 50 ms/);
    // Said where it is raised, so an Idempotency-Key held by the request is given up at once.
    expect(error.nothingStored).to.equal(true);
    holder.exec('COMMIT');
    expect(await s.getCart('late', t0)).to.equal(undefined);
    expect((await s.createCart({ id: 'later' }, meta, [])).version, 'the next write goes through').to.equal(
      1,
    );
  });

  it('holds the lock from the start of the batch: while it reads, nobody else can take it', async () => {
    const s = store();
    await s.createSubscription({ id: 's0', callback: 'http://listener.test/' });
    const event = { eventId: 'e1', cartId: 'c1', eventType: 'ShoppingCartCreateEvent', body: {} };
    await s.createCart({ id: 'c1', note: 'a' } as ShoppingCart, meta, [event]);
    const tryLock = (probe: Database.Database): string => {
      try {
        probe.exec('BEGIN IMMEDIATE');
        probe.exec('ROLLBACK');
        return 'free';
      } catch (e) {
        return (e as { code?: string }).code ?? 'error';
      }
    };
    const main = other();
    const events = other(eventsPath(path));
    // A patch's read of the current cart, and the dispatcher's read of the routing cursor, both
    // run inside the batch: the lock (of the main file; of the events file) is already held there
    // (it used to be taken only at the write, which SQLite refuses at once when another process
    // wrote since the read). Routing leaves the main file's lock alone.
    const seen: string[] = [];
    await s.updateCart?.('c1', t0, () => {
      seen.push(tryLock(main));
      return { kind: 'none' };
    });
    await s.routeOutbox(() => {
      seen.push(tryLock(events), tryLock(main));
      return [];
    }, 10);
    expect(seen).to.deep.equal(['SQLITE_BUSY', 'SQLITE_BUSY', 'free']);
    expect([tryLock(main), tryLock(events)], 'released after the batch').to.deep.equal(['free', 'free']);
  });

  it('purges, subscriptions and the dispatcher bookkeeping wait for the lock like cart writes', async () => {
    const s = store();
    await s.createCart({ id: 'old' }, { now: meta.now, expiresAt: t0 + 1 }, []);
    const holder = other();
    holder.exec('BEGIN IMMEDIATE');
    const purged = s.purgeExpired(t0 + 10);
    const subscribed = s.createSubscription({ id: 's1', callback: 'http://listener.test/' });
    const unsubscribed = s.deleteSubscription('none-such');
    setTimeout(() => holder.exec('COMMIT'), 30);
    expect(await purged).to.equal(1);
    expect((await subscribed).id).to.equal('s1');
    expect(await unsubscribed).to.equal(false);
    expect(await s.getSubscription('s1')).to.deep.equal({ id: 's1', callback: 'http://listener.test/' });
  });

  it('opening a current file needs no write lock (a worker restarting next to a busy one)', async () => {
    await store().createCart({ id: 'kept' }, meta, []);
    const holders = [other(), other(eventsPath(path))];
    for (const holder of holders) holder.exec('BEGIN IMMEDIATE');
    const reopened = store(50); // would fail with SQLITE_BUSY after 50 ms if it took a lock
    expect((await reopened.getCart('kept', t0))?.version).to.equal(1);
    for (const holder of holders) holder.exec('COMMIT');
  });

  it('updateCart writes what decide makes of the current cart, atomically', async () => {
    const s = store();
    const update = s.updateCart?.bind(s);
    if (!update) throw new Error('the SQLite store reads and writes in one transaction');
    await s.createCart({ id: 'u1', note: 'a' } as ShoppingCart, meta, []);
    const none = await update('u1', t0, () => ({ kind: 'none' }));
    expect(none.written).to.equal('none');
    expect(none.cart.version).to.equal(1);
    const replaced = await update('u1', t0, (current) => ({
      kind: 'replace',
      doc: { ...current.doc, note: 'b' } as ShoppingCart,
      meta,
      events: [],
    }));
    expect(replaced.written).to.equal('replace');
    expect(replaced.cart.version).to.equal(2);
    expect((await s.getCart('u1', t0))?.doc).to.deep.equal({ id: 'u1', note: 'b' });
    const refused = await rejection(
      update('u1', t0, () => {
        throw new AppError('BAD_REQUEST', 'Invalid patch');
      }),
    );
    expect(refused.code).to.equal('BAD_REQUEST');
    expect((await s.getCart('u1', t0))?.version, 'nothing written').to.equal(2);
    expect((await rejection(update('missing', t0, () => ({ kind: 'none' })))).code).to.equal('NOT_FOUND');
    const deleted = await update('u1', t0, () => ({ kind: 'delete', events: [] }));
    expect(deleted.written).to.equal('delete');
    expect(await s.getCart('u1', t0)).to.equal(undefined);
  });

  it('the cart service decides again, inside the transaction, on a cart another process changed', async () => {
    const a = store();
    const b = store();
    let changedMeanwhile = false;
    // Between the service's first read and its write, another process appends an item.
    const racing: Store = {
      ...a,
      updateCart: async (id, nowMs, decide) => {
        if (!changedMeanwhile) {
          changedMeanwhile = true;
          const current = await b.getCart(id, nowMs);
          const doc = current?.doc ?? {};
          await b.replaceCart(
            id,
            current?.version ?? 0,
            { ...doc, cartItem: [{ id: 'b', quantity: 1 }] },
            meta,
            [],
          );
        }
        const update = a.updateCart?.bind(a);
        if (!update) throw new Error('no updateCart');
        return update(id, nowMs, decide);
      },
    };
    const service = createCartService({
      store: racing,
      now: () => new Date(t0),
      newId: (() => {
        let n = 0;
        return () => `id-${++n}`;
      })(),
      roundingMode: 'half-even',
      cartTtlMs: 86_400_000,
      maxDepth: 32,
    });
    const cart = await service.create({ cartItem: [] }, (id) => `/c/${id}`, { correlationId: undefined });
    const id = cart.doc.id ?? '';
    const patched = await service.patch(
      id,
      'application/json-patch+json',
      [{ op: 'add', path: '/cartItem/-', value: { id: 'a', quantity: 1 } }],
      undefined,
      { correlationId: undefined },
    );
    expect(changedMeanwhile).to.equal(true);
    expect(patched.version).to.equal(3);
    expect(patched.doc.cartItem?.map((i) => i.id)).to.deep.equal(['b', 'a']);
    expect((await a.getCart(id, t0))?.doc.cartItem?.map((i) => i.id)).to.deep.equal(['b', 'a']);
  });
});
