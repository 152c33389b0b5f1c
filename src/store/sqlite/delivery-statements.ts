/** The events file's prepared statements: deliveries, their records and the routing cursor. */
import type Database from 'better-sqlite3';
import type { DeliveryRow } from './rows.js';
import type { Stmt } from './statements.js';

export interface DeliveryStatements {
  /** How far routing has read the outbox (0: nothing yet). */
  cursor: Stmt<[], number>;
  setCursor: Stmt;
  insertDelivery: Stmt;
  due: Stmt<[number, number], DeliveryRow>;
  deliveryRow: Stmt<[string, string], DeliveryRow>;
  completeDelivery: Stmt;
  retryDelivery: Stmt;
  insertDead: Stmt;
  deadLetters: Stmt<[], DeliveryRow & { last_error: string; dead_at: string }>;
  window: Stmt<[string, number, number], DeliveryRow>;
  insertDelivered: Stmt;
  backlog: Stmt<[], { subscription_id: string; n: number; first: number }>;
  eventTimeAt: Stmt<[number], string | null>;
  capCutoff: Stmt<[string, number], number>;
  overCap: Stmt<[string, number, number], DeliveryRow>;
  deleteSeq: Stmt;
  pruneDelivered: Stmt;
  pruneDead: Stmt;
  /** The counts and the cursor they go with, in one read (one snapshot). */
  counts: Stmt<[], { cursor: number; pending: number; delivered: number; dead: number }>;
  /** The pending count and the cursor, in one read (the queue depth, without the records). */
  pending: Stmt<[], { cursor: number; pending: number }>;
  deleteSubDeliveries: Stmt;
  /** Whether a subscription has pending deliveries. */
  anyOf: Stmt<[string], { one: number }>;
}

const cursorSql = `coalesce((SELECT seq FROM route_cursor WHERE id = 0), 0)`;

/** The cursor and reads of the queue. */
function queueStatements(db: Database.Database) {
  return {
    cursor: db.prepare<[], number>(`SELECT ${cursorSql}`).pluck(),
    setCursor: db.prepare(
      `INSERT INTO route_cursor (id, seq) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq`,
    ),
    insertDelivery: db.prepare(
      `INSERT OR IGNORE INTO deliveries (event_id, subscription_id, cart_id, event_type, body, attempts, next_attempt_at)
       VALUES (@eventId, @subscriptionId, @cartId, @eventType, @body, 0, 0)`,
    ),
    due: db.prepare<[number, number], DeliveryRow>(
      `SELECT d.* FROM deliveries d
       WHERE d.seq IN (SELECT MIN(seq) FROM deliveries GROUP BY subscription_id, cart_id)
         AND d.next_attempt_at <= ?
       ORDER BY d.seq LIMIT ?`,
    ),
    deliveryRow: db.prepare<[string, string], DeliveryRow>(
      `SELECT * FROM deliveries WHERE event_id = ? AND subscription_id = ?`,
    ),
    window: db.prepare<[string, number, number], DeliveryRow>(
      `SELECT d.*, json_extract(d.body, '$.eventTime') AS event_time FROM deliveries d
       WHERE d.subscription_id = ? AND d.seq > ? ORDER BY d.seq LIMIT ?`,
    ),
    backlog: db.prepare<[], { subscription_id: string; n: number; first: number }>(
      `SELECT subscription_id, COUNT(*) AS n, MIN(seq) AS first FROM deliveries GROUP BY subscription_id`,
    ),
    eventTimeAt: db
      .prepare<
        [number],
        string | null
      >(`SELECT json_extract(body, '$.eventTime') FROM deliveries WHERE seq = ?`)
      .pluck(),
    counts: db.prepare<[], { cursor: number; pending: number; delivered: number; dead: number }>(
      `SELECT ${cursorSql} AS cursor, (SELECT COUNT(*) FROM deliveries) AS pending,
              (SELECT COUNT(*) FROM delivered) AS delivered, (SELECT COUNT(*) FROM dead_letters) AS dead`,
    ),
    pending: db.prepare<[], { cursor: number; pending: number }>(
      `SELECT ${cursorSql} AS cursor, (SELECT COUNT(*) FROM deliveries) AS pending`,
    ),
    anyOf: db.prepare<[string], { one: number }>(
      `SELECT 1 AS one FROM deliveries WHERE subscription_id = ? LIMIT 1`,
    ),
  };
}

/** Outcomes, the cap, the retention and unsubscribing. */
function outcomeStatements(db: Database.Database) {
  return {
    completeDelivery: db.prepare(`DELETE FROM deliveries WHERE event_id = ? AND subscription_id = ?`),
    retryDelivery: db.prepare(
      `UPDATE deliveries SET attempts = ?, next_attempt_at = ? WHERE event_id = ? AND subscription_id = ?`,
    ),
    insertDead: db.prepare(
      `INSERT OR REPLACE INTO dead_letters
       (event_id, subscription_id, cart_id, event_type, body, attempts, last_error, dead_at)
       VALUES (@event_id, @subscription_id, @cart_id, @event_type, @body, @attempts, @lastError, @deadAt)`,
    ),
    deadLetters: db.prepare<[], DeliveryRow & { last_error: string; dead_at: string }>(
      `SELECT * FROM dead_letters ORDER BY dead_at, event_id`,
    ),
    insertDelivered: db.prepare(
      `INSERT OR REPLACE INTO delivered (event_id, subscription_id, cart_id, event_type, attempts, delivered_at)
       SELECT event_id, subscription_id, cart_id, event_type, ?, ? FROM deliveries
       WHERE event_id = ? AND subscription_id = ?`,
    ),
    capCutoff: db
      .prepare<
        [string, number],
        number
      >(`SELECT seq FROM deliveries WHERE subscription_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?`)
      .pluck(),
    overCap: db.prepare<[string, number, number], DeliveryRow>(
      `SELECT * FROM deliveries WHERE subscription_id = ? AND seq <= ? ORDER BY seq LIMIT ?`,
    ),
    deleteSeq: db.prepare(`DELETE FROM deliveries WHERE seq = ?`),
    pruneDelivered: db.prepare(
      `DELETE FROM delivered WHERE rowid IN (SELECT rowid FROM delivered WHERE delivered_at < ? LIMIT ?)`,
    ),
    pruneDead: db.prepare(
      `DELETE FROM dead_letters WHERE rowid IN (SELECT rowid FROM dead_letters WHERE dead_at < ? LIMIT ?)`,
    ),
    deleteSubDeliveries: db.prepare(`DELETE FROM deliveries WHERE subscription_id = ?`),
  };
}

export function prepareDeliveryStatements(db: Database.Database): DeliveryStatements {
  return { ...queueStatements(db), ...outcomeStatements(db) };
}
