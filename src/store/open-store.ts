/** Opens the store the configuration names. */
import type { Config } from '../config.js';
import { openMongoStore } from './mongo-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export async function openStore(config: Config): Promise<Store> {
  switch (config.store) {
    case 'sqlite':
      return openSqliteStore({ path: config.sqlitePath, lockTimeoutMs: config.sqliteLockTimeoutMs });
    case 'mongodb':
      return openMongoStore({ uri: config.mongodbUri ?? '', dbName: config.mongodbDb });
  }
}
