/** Opening a file written by an older version: the layout brought up to schemaVersion. */
import type Database from 'better-sqlite3';
import { migrateSql, outboxTimesSql, schemaVersion, subscriptionsOwnerSql } from './schema.js';
import { sqlDateTimeMs } from './sql.js';

/**
 * Brings a file written by an older version up to schemaVersion, once, under the write lock (so
 * processes opening the same file together do it once). A newer file than this code is refused.
 */
export function migrate(db: Database.Database): void {
  // A current file (every start but the first after an upgrade) needs no write lock at all, so a
  // worker restarting next to a busy one does not have to win it.
  if (db.pragma('user_version', { simple: true }) === schemaVersion) return;
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion) {
      throw new Error(
        `The database was written by a newer version of this server (schema ${version}, this one knows ${schemaVersion})`,
      );
    }
    if (version === schemaVersion) return;
    if (version < 2) db.exec(migrateSql);
    if (version < 3) {
      // Version 2 computed expires_at with a narrower date-time reader: carts whose end was spelt
      // otherwise (t/z, +18:11, more than 9 fraction digits) never expired. Read them again.
      const update = db.prepare('UPDATE carts SET expires_at = ? WHERE id = ?');
      const rows = db
        .prepare(`SELECT id, json_extract(doc, '$.validFor.endDateTime') AS endDateTime FROM carts`)
        .all() as { id: string; endDateTime: unknown }[];
      for (const row of rows) update.run(sqlDateTimeMs(row.endDateTime), row.id);
    }
    if (version < 4) db.exec(subscriptionsOwnerSql(db));
    if (version < 5) db.exec(outboxTimesSql(db));
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}
