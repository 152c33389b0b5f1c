/**
 * The embedded default store: SQLite through better-sqlite3, WAL mode, one JSON document per cart.
 * better-sqlite3 is synchronous, so every method runs to completion inside one tick: a write and
 * its outbox rows commit together in one transaction, and nothing interleaves with it.
 *
 * Several processes may share the file (CLUSTER_WORKERS). Every write goes through one queue per
 * process whose batches begin IMMEDIATE: the write lock is taken when the transaction begins,
 * never by upgrading a read (SQLite answers such an upgrade BUSY at once, without waiting, when
 * another process wrote since the read). While another process holds the lock the batch waits
 * without blocking the event loop and retries, growing with the writes that arrive meanwhile;
 * a write still waiting after lockTimeoutMs fails with STORE_UNAVAILABLE (503, Retry-After).
 *
 * The parts: schema.ts and migrate.ts (the layout), sql.ts (the query compiler), statements.ts,
 * write-queue.ts (the group commit), carts.ts and list.ts, outbox.ts (events), subscriptions.ts,
 * idempotency.ts.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { defaults } from '../../config/config.js';
import type { Store } from '../store.js';
import { cartMethods } from './carts.js';
import { run } from './errors.js';
import { idempotencyMethods } from './idempotency.js';
import { migrate } from './migrate.js';
import { eventMethods } from './outbox.js';
import { eventsSchemaSql, idempotencySchemaSql, schemaSql } from './schema.js';
import { dateTimeFunctionName, regexFunctionName, sqlDateTimeMs, sqlRegex } from './sql.js';
import { prepareStatements, type SqliteState } from './statements.js';
import { subscriptionMethods } from './subscriptions.js';
import { WriteQueue } from './write-queue.js';

export interface SqliteOptions {
  /** A file path, or ':memory:' for tests. */
  path: string;
  /** FULL (default) fsyncs every commit, so an acknowledged write survives a power cut. */
  synchronous?: 'full' | 'normal';
  /**
   * Longest a write waits for the write lock while other processes sharing the file write
   * (SQLITE_LOCK_TIMEOUT_MS); past it the write fails with STORE_UNAVAILABLE.
   */
  lockTimeoutMs?: number;
  /**
   * Checkpoint the WAL (copy it into the database file and sync that) from this connection every
   * this many ms, PASSIVE: never waiting for writers, nor blocking them. The dispatcher's
   * connection does, off the API's thread, whose commits then only rarely pass the point where
   * SQLite checkpoints inside a commit (autoCheckpointPages).
   */
  checkpointEveryMs?: number;
}

/**
 * The WAL size (pages) past which a commit checkpoints, inside the commit: four times SQLite's
 * default, so that normally the dispatcher's timed checkpoints (checkpointEveryMs) do this work.
 */
const autoCheckpointPages = 4000;

/** PASSIVE checkpoints every `everyMs` (see SqliteOptions.checkpointEveryMs); clear it at close. */
function checkpointTimer(db: Database.Database, everyMs: number | undefined): NodeJS.Timeout | undefined {
  if (everyMs === undefined) return undefined;
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or failing now: the next one, or a commit past autoCheckpointPages, does it.
    }
  }, everyMs);
  timer.unref();
  return timer;
}

/** Opens the file with its settings, SQL functions and current layout. */
function openDatabase(options: SqliteOptions, lockTimeoutMs: number): Database.Database {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: lockTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma(`wal_autocheckpoint = ${autoCheckpointPages}`);
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  // Outside the write queue (opening, the schema, the migration, a read meeting a recovery),
  // SQLite's own busy handler waits for other processes sharing the file, blocking, up to the
  // timeout. The write queue does not block: it turns the handler off while it tries the lock.
  db.pragma(`busy_timeout = ${lockTimeoutMs}`);
  // Reads through a memory map instead of copying pages into SQLite's cache: a scan of every
  // document (an unindexed filter) is about twice as fast. The map grows with the file, up to this.
  db.pragma('mmap_size = 1073741824');
  db.pragma('foreign_keys = ON');
  db.function(regexFunctionName, { deterministic: true }, sqlRegex);
  db.function(dateTimeFunctionName, { deterministic: true }, sqlDateTimeMs);
  db.exec(schemaSql);
  db.exec(eventsSchemaSql);
  db.exec(idempotencySchemaSql);
  migrate(db);
  return db;
}

export function openSqliteStore(options: SqliteOptions): Store {
  const lockTimeoutMs = options.lockTimeoutMs ?? defaults.store.sqliteLockTimeoutMs;
  const db = openDatabase(options, lockTimeoutMs);
  const s: SqliteState = { db, stmt: prepareStatements(db), queue: new WriteQueue(db, lockTimeoutMs) };
  const checkpoints = checkpointTimer(db, options.checkpointEveryMs);
  return {
    name: 'sqlite',
    ...(options.path === ':memory:' ? {} : { location: { store: 'sqlite', path: options.path } as const }),
    ...cartMethods(s),
    ...subscriptionMethods(s),
    ...eventMethods(s),
    ...idempotencyMethods(db, s.queue),
    ping: () =>
      run(() => {
        s.stmt.ping.get();
      }),
    close: () => {
      clearInterval(checkpoints);
      // Writes still waiting for the lock get a last try, blocking, up to the lock timeout.
      s.queue.close();
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}
