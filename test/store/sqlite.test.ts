// The store contract on the embedded SQLite store: a fresh database file per store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
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
