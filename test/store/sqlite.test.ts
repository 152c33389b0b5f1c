// The store contract on the embedded SQLite store: a fresh database file per store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { expect } from 'chai';
import { runStoreContract } from './contract.js';

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
