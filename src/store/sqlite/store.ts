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
 * write-queue.ts (the group commit), connection.ts, carts.ts and list.ts, outbox.ts (events),
 * events-file.ts (where the deliveries live: a second file) and delivery-statements.ts,
 * subscriptions.ts, idempotency.ts.
 */
import type Database from 'better-sqlite3';
import { defaults } from '../../config/config.js';
import type { Store } from '../store.js';
import { cartMethods } from './carts.js';
import { checkpointTimer, connect } from './connection.js';
import { prepareDeliveryStatements } from './delivery-statements.js';
import { run } from './errors.js';
import { checkCursor, openEventsFile } from './events-file.js';
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
  /**
   * FULL (default) fsyncs every commit, so an acknowledged write survives a power cut. The
   * connection to the events file always does (events-file.ts).
   */
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

/** Opens the file with its settings, SQL functions and current layout. */
function openDatabase(
  options: SqliteOptions,
  lockTimeoutMs: number,
  events: Database.Database,
): Database.Database {
  const db = connect(options.path, options.synchronous ?? 'full', lockTimeoutMs);
  // Reads through a memory map instead of copying pages into SQLite's cache: a scan of every
  // document (an unindexed filter) is about twice as fast. The map grows with the file, up to this.
  db.pragma('mmap_size = 1073741824');
  db.pragma('foreign_keys = ON');
  db.function(regexFunctionName, { deterministic: true }, sqlRegex);
  db.function(dateTimeFunctionName, { deterministic: true }, sqlDateTimeMs);
  db.exec(schemaSql);
  db.exec(eventsSchemaSql);
  db.exec(idempotencySchemaSql);
  migrate(db, events);
  return db;
}

export function openSqliteStore(options: SqliteOptions): Store {
  const lockTimeoutMs = options.lockTimeoutMs ?? defaults.store.sqliteLockTimeoutMs;
  const events = openEventsFile(options.path, lockTimeoutMs);
  let db: Database.Database;
  try {
    db = openDatabase(options, lockTimeoutMs, events);
  } catch (e) {
    events.close();
    throw e;
  }
  const s: SqliteState = {
    db,
    stmt: prepareStatements(db),
    queue: new WriteQueue(db, lockTimeoutMs),
    ev: { db: events, stmt: prepareDeliveryStatements(events), queue: new WriteQueue(events, lockTimeoutMs) },
  };
  checkCursor(s);
  const checkpoints = [db, events].map((c) => checkpointTimer(c, options.checkpointEveryMs));
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
      for (const timer of checkpoints) clearInterval(timer);
      // Writes still waiting for the lock get a last try, blocking, up to the lock timeout.
      for (const c of [s, s.ev]) {
        c.queue.close();
        if (c.db.open) c.db.close();
      }
      return Promise.resolve();
    },
  };
}
