/**
 * The events file: the deliveries, their records (delivered, dead letters) and the routing cursor
 * live in a second SQLite file beside the main one (`<path>-events`; with ':memory:' a second
 * in-memory database), through connections of their own. The delivery thread commits there about
 * a hundred times a second under load (routing, outcomes); in the main file each of those commits
 * took the write lock the API's group commits then waited for, added WAL frames the API's fsync
 * flushed, and reset the API connection's page cache. The main file keeps the carts, the
 * subscriptions, the outbox and the idempotency keys; the API's writes never touch this file
 * (unsubscribing aside). It is not ATTACHed to the main connection: BEGIN IMMEDIATE write-locks
 * every attached database, which would bring the contention back.
 *
 * Routing reads the outbox (the main file) above the cursor and writes the deliveries and the
 * new cursor in one transaction of this file (outbox.ts); routed outbox rows are deleted from the
 * main file later, by maintenance, in chunks.
 *
 * Its connections always commit with synchronous=FULL: a routed outbox row is deleted only once
 * the cursor that covers it is durable, else a power cut could lose both the row and its
 * deliveries. In WAL mode a FULL commit is synced before other connections can see it, so a
 * cursor that maintenance reads is already on disk. The fsync runs on the thread that commits
 * (the delivery thread), not on the API's event loop.
 */
import type Database from 'better-sqlite3';
import { connect } from './connection.js';
import { deliverySchemaSql, eventsFileVersion } from './schema.js';
import type { SqliteState } from './statements.js';

/** The events file of the main file at `path`. */
export const eventsPath = (path: string): string => (path === ':memory:' ? path : `${path}-events`);

/** Opens the events file of the main file at `path`, creating its tables if missing. */
export function openEventsFile(path: string, lockTimeoutMs: number): Database.Database {
  const db = connect(eventsPath(path), 'full', lockTimeoutMs);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > eventsFileVersion) {
    db.close();
    throw new Error(
      `The events file was written by a newer version of this server (layout ${version}, this one knows ${eventsFileVersion})`,
    );
  }
  db.exec(deliverySchemaSql);
  if (version < eventsFileVersion) db.pragma(`user_version = ${eventsFileVersion}`);
  return db;
}

/**
 * A cursor above the highest seq the main file ever gave (sqlite_sequence only grows) means the
 * two files do not belong together: a main file restored from an older backup, or replaced. The
 * new events would then be skipped until their seq passed the cursor; routing starts again from
 * the beginning of the outbox instead (at least once: an event may be delivered again).
 */
export function checkCursor(s: SqliteState): void {
  // The cursor first: the top only grows, so a cursor above it now is above it for good.
  const above = (): boolean => (s.ev.stmt.cursor.get() ?? 0) > (s.stmt.outboxTop.get() ?? 0);
  if (!above()) return;
  s.ev.db
    .transaction(() => {
      // Again under the lock: another process may have reset it meanwhile.
      if (above()) s.ev.stmt.setCursor.run(0);
    })
    .immediate();
}
