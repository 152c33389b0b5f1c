/**
 * The store's prepared statements, by the tables they serve. Statements whose text depends on the
 * query (lists) are prepared and cached by list.ts.
 */
import type Database from 'better-sqlite3';
import type { EventRecordCounts } from '../store.js';
import type { CartRow, DeliveryRow } from './rows.js';
import type { WriteQueue } from './write-queue.js';

/** A cart row (`carts c`) exists for readers at the time `now` binds: it has not expired. */
export const liveAt = (now: '@now' | '?'): string => `(c.expires_at IS NULL OR c.expires_at > ${now})`;
const live = liveAt('@now');

type Stmt<P extends unknown[] | object = unknown[], R = unknown> = Database.Statement<P, R>;
type CartKey = { id: string; now: number };
type OutboxRow = {
  seq: number;
  event_id: string;
  cart_id: string;
  event_type: string;
  body: string;
  cart_times: string | null;
};

// The statements' types are spelt out: the driver's own type has no name a declaration file can use.
interface CartStatements {
  get: Stmt<CartKey, CartRow>;
  exists: Stmt<CartKey, { version: number }>;
  insert: Stmt;
  update: Stmt;
  delete: Stmt;
  insertKey: Stmt;
  deleteKeys: Stmt;
  expired: Stmt<{ now: number }, { id: string }>;
  ping: Stmt;
  dataVersion: Stmt<[], number>;
  countLive: Stmt<[number], { n: number }>;
  nextExpiry: Stmt<[number], { next: number | null }>;
}

interface EventStatements {
  insertOutbox: Stmt;
  outbox: Stmt<[number], OutboxRow>;
  deleteOutbox: Stmt;
  anyOutbox: Stmt<[], { one: number }>;
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
  counts: Stmt<[], EventRecordCounts>;
  pending: Stmt<[], { n: number }>;
}

interface SubscriptionStatements {
  insertSub: Stmt;
  findSub: Stmt<[string, string, string], { doc: string }>;
  getSub: Stmt<[string], { doc: string }>;
  listSubs: Stmt<[], { doc: string }>;
  deleteSub: Stmt;
  deleteSubDeliveries: Stmt;
  anySubscription: Stmt<[], { one: number }>;
}

export type Statements = CartStatements & EventStatements & SubscriptionStatements;

/** Carts and their cart_keys, the live-count cache's probes, and the connection's health. */
function cartStatements(db: Database.Database): CartStatements {
  return {
    get: db.prepare<{ id: string; now: number }, CartRow>(
      `SELECT id, json(doc) AS doc, version, created_at, updated_at FROM carts c WHERE c.id = @id AND ${live}`,
    ),
    exists: db.prepare<{ id: string; now: number }, { version: number }>(
      `SELECT version FROM carts c WHERE c.id = @id AND ${live}`,
    ),
    insert: db.prepare(
      `INSERT INTO carts (id, doc, version, created_at, updated_at, expires_at)
       VALUES (@id, jsonb(@doc), 1, @now, @now, @expiresAt)`,
    ),
    update: db.prepare(
      `UPDATE carts SET doc = jsonb(@doc), version = version + 1, updated_at = @now, expires_at = @expiresAt
       WHERE id = @id AND version = @version`,
    ),
    delete: db.prepare(`DELETE FROM carts WHERE id = @id`),
    insertKey: db.prepare(`INSERT INTO cart_keys (cart_id, kind, value) VALUES (?, ?, ?)`),
    deleteKeys: db.prepare(`DELETE FROM cart_keys WHERE cart_id = ?`),
    expired: db.prepare<{ now: number }, { id: string }>(
      `SELECT id FROM carts WHERE expires_at IS NOT NULL AND expires_at <= @now`,
    ),
    ping: db.prepare(`SELECT 1`),
    dataVersion: db.prepare<[], number>(`PRAGMA data_version`).pluck(),
    countLive: db.prepare<[number], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM carts WHERE expires_at IS NULL) + (SELECT COUNT(*) FROM carts WHERE expires_at > ?) AS n`,
    ),
    nextExpiry: db.prepare<[number], { next: number | null }>(
      `SELECT MIN(expires_at) AS next FROM carts WHERE expires_at > ?`,
    ),
  };
}

/** The transactional outbox, the deliveries, their records (delivered, dead letters), the counts. */
function eventStatements(db: Database.Database): EventStatements {
  return {
    insertOutbox: db.prepare(
      `INSERT INTO outbox (event_id, cart_id, event_type, body, cart_times) VALUES (@eventId, @cartId, @eventType, @body, @cartTimes)`,
    ),
    outbox: db.prepare<[number], OutboxRow>(
      `SELECT seq, event_id, cart_id, event_type, body, cart_times FROM outbox ORDER BY seq LIMIT ?`,
    ),
    deleteOutbox: db.prepare(`DELETE FROM outbox WHERE seq = ?`),
    anyOutbox: db.prepare<[], { one: number }>(`SELECT 1 AS one FROM outbox LIMIT 1`),
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
    window: db.prepare<[string, number, number], DeliveryRow>(
      `SELECT d.*, json_extract(d.body, '$.eventTime') AS event_time FROM deliveries d
       WHERE d.subscription_id = ? AND d.seq > ? ORDER BY d.seq LIMIT ?`,
    ),
    insertDelivered: db.prepare(
      `INSERT OR REPLACE INTO delivered (event_id, subscription_id, cart_id, event_type, attempts, delivered_at)
       SELECT event_id, subscription_id, cart_id, event_type, ?, ? FROM deliveries
       WHERE event_id = ? AND subscription_id = ?`,
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
    counts: db.prepare<[], { outbox: number; pending: number; delivered: number; dead: number }>(
      `SELECT (SELECT COUNT(*) FROM outbox) AS outbox, (SELECT COUNT(*) FROM deliveries) AS pending,
              (SELECT COUNT(*) FROM delivered) AS delivered, (SELECT COUNT(*) FROM dead_letters) AS dead`,
    ),
    pending: db.prepare<[], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM deliveries) + (SELECT COUNT(*) FROM outbox) AS n`,
    ),
  };
}

/** Hub subscriptions (owner '' for none). */
function subscriptionStatements(db: Database.Database): SubscriptionStatements {
  return {
    insertSub: db.prepare(
      `INSERT INTO subscriptions (id, owner, callback, query, doc) VALUES (@id, @owner, @callback, @query, @doc)`,
    ),
    findSub: db.prepare<[string, string, string], { doc: string }>(
      `SELECT doc FROM subscriptions WHERE owner = ? AND callback = ? AND query = ?`,
    ),
    getSub: db.prepare<[string], { doc: string }>(`SELECT doc FROM subscriptions WHERE id = ?`),
    listSubs: db.prepare<[], { doc: string }>(`SELECT doc FROM subscriptions ORDER BY id`),
    deleteSub: db.prepare(`DELETE FROM subscriptions WHERE id = ?`),
    deleteSubDeliveries: db.prepare(`DELETE FROM deliveries WHERE subscription_id = ?`),
    anySubscription: db.prepare<[], { one: number }>(`SELECT 1 AS one FROM subscriptions LIMIT 1`),
  };
}

export function prepareStatements(db: Database.Database): Statements {
  return { ...cartStatements(db), ...eventStatements(db), ...subscriptionStatements(db) };
}

/** What the store's parts share: the connection, its statements and its write queue. */
export interface SqliteState {
  readonly db: Database.Database;
  readonly stmt: Statements;
  readonly queue: WriteQueue;
}
