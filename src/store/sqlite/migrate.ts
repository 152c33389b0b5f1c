/** Opening a file written by an older version: the layout brought up to schemaVersion. */
import type Database from 'better-sqlite3';
import {
  deliveryTables,
  migrateSql,
  outboxTimesSql,
  schemaVersion,
  subscriptionsOwnerSql,
} from './schema.js';
import { sqlDateTimeMs } from './sql.js';

/**
 * Brings a file written by an older version up to schemaVersion, once, under the write lock (so
 * processes opening the same file together do it once). A newer file than this code is refused.
 */
export function migrate(db: Database.Database, events: Database.Database): void {
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
    if (version < 6) moveDeliveryRecords(db, events);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}

/**
 * From version 5 to 6: the deliveries and their records move from the main file into the events
 * file. The copy commits in the events file first (INSERT OR IGNORE, keeping each row's seq),
 * then the tables are dropped with the rest of this migration: a crash between the two leaves
 * the main file at version 5 and the next open copies again, the rows already there ignored.
 * The routing cursor stays 0: in version 5 routing deleted what it routed, so every outbox row
 * present is still to be routed.
 */
function moveDeliveryRecords(db: Database.Database, events: Database.Database): void {
  const present = db.prepare<[string], { one: number }>(
    `SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ?`,
  );
  const tables = deliveryTables.filter((table) => present.get(table) !== undefined);
  events
    .transaction(() => {
      for (const table of tables) {
        // The same columns in both files (deliverySchemaSql), each row's seq included.
        const columns = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
        const list = columns.join(', ');
        const insert = events.prepare(
          `INSERT OR IGNORE INTO ${table} (${list}) VALUES (${columns.map(() => '?').join(', ')})`,
        );
        const rows = db.prepare(`SELECT ${list} FROM ${table}`).raw().iterate() as IterableIterator<
          unknown[]
        >;
        for (const row of rows) insert.run(row);
      }
    })
    .immediate();
  for (const table of tables) db.exec(`DROP TABLE ${table}`);
}
