/** Opens the store the configuration names. */
import type { Config } from '../config/config.js';
import { openMongoStore } from './mongo/store.js';
import { openSqliteStore } from './sqlite/store.js';
import type { Store } from './store.js';

export async function openStore(config: Config): Promise<Store> {
  switch (config.store.kind) {
    case 'sqlite':
      return openSqliteStore({
        path: config.store.sqlitePath,
        lockTimeoutMs: config.store.sqliteLockTimeoutMs,
      });
    case 'mongodb':
      return openMongoStore({ uri: config.store.mongodbUri ?? '', dbName: config.store.mongodbDb });
  }
}
