/**
 * The SQLite layout: one JSON document per cart plus the columns that queries and optimistic
 * concurrency need. Documents are stored as SQLite's binary JSON (JSONB): json_extract and
 * json_each walk it without parsing text, which makes a scan of every cart (an unindexed filter)
 * about six times faster; reads render it back with json(), which gives exactly the text
 * JSON.stringify wrote (test/store/sqlite.test.ts checks the round trip). Array attributes that are filtered often (relatedParty.id,
 * cartItem.productOffering.id) cannot be indexed by an expression index, so each write also
 * records their values in cart_keys, which the SQL compiler (sql.ts) uses.
 */
import type { ShoppingCart } from '../../api-types.js';

/**
 * PRAGMA user_version of a current database. 1: documents as JSON text; 2: documents as JSONB
 * (migrateSql converts a version-1 file in place when the store opens it); 3: expires_at read by
 * the RFC 3339 reader of src/query/dates.ts (recomputed for every cart when the store opens a
 * version-2 file: migrate.ts); 4: subscriptions unique per owner, (owner, callback, query), instead of
 * (callback, query) for everyone (subscriptionsOwnerSql rebuilds the table of an older file); 5: the
 * outbox keeps each event's cart times (outboxTimesSql adds the column to an older file); 6: the
 * deliveries and their records live in the events file (deliverySchemaSql), moved out of an older
 * file by migrate.ts.
 */
export const schemaVersion = 6;

export const schemaSql = `
CREATE TABLE IF NOT EXISTS carts (
  id TEXT PRIMARY KEY,
  doc BLOB NOT NULL,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS carts_href ON carts (json_extract(doc, '$.href'));
-- Every row, NULLs included: counting the live carts reads this index, not the documents.
DROP INDEX IF EXISTS carts_expires_at;
CREATE INDEX IF NOT EXISTS carts_live ON carts (expires_at);
CREATE TABLE IF NOT EXISTS cart_keys (
  cart_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cart_keys_lookup ON cart_keys (kind, value, cart_id);
CREATE INDEX IF NOT EXISTS cart_keys_cart ON cart_keys (cart_id);
`;

/**
 * From version 1 to 2: every text document becomes JSONB. A version-1 table keeps its declared
 * TEXT column; SQLite stores a BLOB value in it unchanged, so only the values need converting.
 */
export const migrateSql = `UPDATE carts SET doc = jsonb(doc) WHERE typeof(doc) = 'text'`;

/**
 * From version 3 to 4, for a subscriptions table without the owner column (a new file has it
 * already, and gets no statements): SQLite cannot change a table's UNIQUE constraint, so the table
 * is rebuilt with the owner copied out of each document, and renamed into place.
 */
export function subscriptionsOwnerSql(db: { pragma(source: string): unknown }): string {
  const columns = db.pragma('table_info(subscriptions)') as { name: string }[];
  if (columns.some((c) => c.name === 'owner')) return '';
  return `
CREATE TABLE subscriptions_v4 (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL DEFAULT '',
  callback TEXT NOT NULL,
  query TEXT NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (owner, callback, query)
);
INSERT INTO subscriptions_v4 (id, owner, callback, query, doc)
  SELECT id, coalesce(json_extract(doc, '$.owner'), ''), callback, query, doc FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_v4 RENAME TO subscriptions;
`;
}

/** From version 4 to 5, for an outbox table without cart_times (a new file has it already). */
export function outboxTimesSql(db: { pragma(source: string): unknown }): string {
  const columns = db.pragma('table_info(outbox)') as { name: string }[];
  return columns.some((c) => c.name === 'cart_times') ? '' : 'ALTER TABLE outbox ADD COLUMN cart_times TEXT;';
}

/**
 * The attribute paths mirrored into cart_keys; `kind` is the dotted path. The SQL compiler (sql.ts)
 * answers eq on these through the cart_keys index.
 */
export const keyedPaths = ['relatedParty.id', 'cartItem.productOffering.id'] as const;
export type KeyedPath = (typeof keyedPaths)[number];

/** The cart_keys rows of a document: every distinct string value at each keyed path. */
export function extractKeys(doc: ShoppingCart): { kind: KeyedPath; value: string }[] {
  const rows: { kind: KeyedPath; value: string }[] = [];
  const add = (kind: KeyedPath, values: Iterable<unknown>): void => {
    for (const value of new Set(values)) if (typeof value === 'string') rows.push({ kind, value });
  };
  add(
    'relatedParty.id',
    (doc.relatedParty ?? []).map((p) => p.id),
  );
  add(
    'cartItem.productOffering.id',
    (doc.cartItem ?? []).map((i) => i.productOffering?.id),
  );
  return rows;
}

/** Hub subscriptions and the transactional outbox (see src/events/), in the main file. */
export const eventsSchemaSql = `
-- owner is '' for a subscription without one (the admin side); the owner also stays in doc.
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL DEFAULT '',
  callback TEXT NOT NULL,
  query TEXT NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (owner, callback, query)
);
-- seq is AUTOINCREMENT: never given twice, even after the newest rows were deleted (routed, then
-- pruned), so the routing cursor of the events file never stands above a row it has not read.
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  cart_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  -- OutboxRecord.cartTimes as JSON; NULL in rows written before version 5.
  cart_times TEXT
);
`;

/**
 * Idempotency-Key records (src/http/idempotency.ts): one row per caller and key. New tables only,
 * created if missing, so the layout version (user_version) stays as it is.
 */
export const idempotencySchemaSql = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  token TEXT NOT NULL,
  answer TEXT,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
`;

/** The tables of the events file that a version-5 main file held (migrate.ts moves them). */
export const deliveryTables = ['deliveries', 'delivered', 'dead_letters'] as const;

/** PRAGMA user_version of a current events file (deliverySchemaSql); a newer one is refused. */
export const eventsFileVersion = 1;

/**
 * The events file (events-file.ts): each subscriber's deliveries, what became of them (delivered,
 * dead letters), and how far routing has read the main file's outbox. Written by the delivery
 * thread about a hundred times a second under load, so apart from the API's main file.
 */
export const deliverySchemaSql = `
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  cart_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (subscription_id, cart_id, seq);
-- The dispatcher reads each subscriber's queue in routing order (its read window).
CREATE INDEX IF NOT EXISTS deliveries_window ON deliveries (subscription_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_key ON deliveries (event_id, subscription_id);
CREATE TABLE IF NOT EXISTS dead_letters (
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  cart_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  dead_at TEXT NOT NULL,
  PRIMARY KEY (event_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS dead_letters_at ON dead_letters (dead_at);
-- What was delivered, without the body; kept for NOTIFY_DELIVERED_RETENTION, then pruned.
CREATE TABLE IF NOT EXISTS delivered (
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  cart_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  delivered_at TEXT NOT NULL,
  PRIMARY KEY (event_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS delivered_at ON delivered (delivered_at);
-- One row: the highest outbox seq already routed (none yet: 0).
CREATE TABLE IF NOT EXISTS route_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  seq INTEGER NOT NULL
);
`;
