/**
 * The store's prepared statements, by the tables they serve. Statements whose text depends on the
 * query (lists) are prepared and cached by list.ts.
 */
import type Database from 'better-sqlite3';
import type { DeliveryStatements } from './delivery-statements.js';
import type { CartRow } from './rows.js';
import type { WriteQueue } from './write-queue.js';

/** A cart row (`carts c`) exists for readers at the time `now` binds: it has not expired. */
export const liveAt = (now: '@now' | '?'): string => `(c.expires_at IS NULL OR c.expires_at > ${now})`;
const live = liveAt('@now');

export type Stmt<P extends unknown[] | object = unknown[], R = unknown> = Database.Statement<P, R>;
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
  /** The outbox rows after a routing cursor, in seq order. */
  outbox: Stmt<[number, number], OutboxRow>;
  anyOutbox: Stmt<[number], { one: number }>;
  unrouted: Stmt<[number], number>;
  /** The highest seq ever given to an outbox row (0: none). */
  outboxTop: Stmt<[], number>;
  firstOutbox: Stmt<[], number | null>;
  deleteRouted: Stmt;
}

interface SubscriptionStatements {
  insertSub: Stmt;
  findSub: Stmt<[string, string, string], { doc: string }>;
  getSub: Stmt<[string], { doc: string }>;
  listSubs: Stmt<[], { doc: string }>;
  deleteSub: Stmt;
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

/** The transactional outbox: recorded with the cart writes, routed from the events file. */
function eventStatements(db: Database.Database): EventStatements {
  return {
    insertOutbox: db.prepare(
      `INSERT INTO outbox (event_id, cart_id, event_type, body, cart_times) VALUES (@eventId, @cartId, @eventType, @body, @cartTimes)`,
    ),
    outbox: db.prepare<[number, number], OutboxRow>(
      `SELECT seq, event_id, cart_id, event_type, body, cart_times FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`,
    ),
    anyOutbox: db.prepare<[number], { one: number }>(`SELECT 1 AS one FROM outbox WHERE seq > ? LIMIT 1`),
    unrouted: db.prepare<[number], number>(`SELECT COUNT(*) FROM outbox WHERE seq > ?`).pluck(),
    outboxTop: db
      .prepare<[], number>(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)`)
      .pluck(),
    firstOutbox: db.prepare<[], number | null>(`SELECT MIN(seq) FROM outbox`).pluck(),
    deleteRouted: db.prepare(
      `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq <= ? ORDER BY seq LIMIT ?)`,
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
    anySubscription: db.prepare<[], { one: number }>(`SELECT 1 AS one FROM subscriptions LIMIT 1`),
  };
}

export function prepareStatements(db: Database.Database): Statements {
  return { ...cartStatements(db), ...eventStatements(db), ...subscriptionStatements(db) };
}

/** One file's connection and its write queue (each file has its own write lock). */
export interface Connection {
  readonly db: Database.Database;
  readonly queue: WriteQueue;
}

/**
 * What the store's parts share: the main file's connection, statements and write queue, and
 * `ev`, the events file's (events-file.ts).
 */
export interface SqliteState extends Connection {
  readonly stmt: Statements;
  readonly ev: Connection & { readonly stmt: DeliveryStatements };
}
