/** Opening a connection to one of the store's files (the main file, the events file) in WAL mode. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The WAL size (pages) past which a commit checkpoints, inside the commit: four times SQLite's
 * default, so that normally the dispatcher's timed checkpoints (checkpointEveryMs) do this work.
 */
const autoCheckpointPages = 4000;

/** A connection in WAL mode with these commit and lock settings; the file's directory is created. */
export function connect(
  path: string,
  synchronous: 'full' | 'normal',
  lockTimeoutMs: number,
): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: lockTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma(`wal_autocheckpoint = ${autoCheckpointPages}`);
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  // Outside the write queue (opening, the schema, the migration, a read meeting a recovery),
  // SQLite's own busy handler waits for other processes sharing the file, blocking, up to the
  // timeout. The write queue does not block: it turns the handler off while it tries the lock.
  db.pragma(`busy_timeout = ${lockTimeoutMs}`);
  return db;
}

/** PASSIVE checkpoints every `everyMs` (see SqliteOptions.checkpointEveryMs); clear it at close. */
export function checkpointTimer(
  db: Database.Database,
  everyMs: number | undefined,
): NodeJS.Timeout | undefined {
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
