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
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ShoppingCart } from '../api-types.js';
import { defaults } from '../config/config.js';
import {
  alreadyExists,
  cartNotFound as notFound,
  isAppError,
  storeUnavailable,
  versionConflict,
} from '../errors.js';
import type { ListQuery } from '../query/ast.js';
import { regexScan, withRegexBudget } from '../query/safe-regex.js';
import {
  compileOrderBy,
  compileWhere,
  dateTimeFunctionName,
  regexFunctionName,
  sqlDateTimeMs,
  sqlRegex,
} from '../query/sql.js';
import { projectFields } from '../query/evaluate.js';
import {
  eventsSchemaSql,
  extractKeys,
  idempotencySchemaSql,
  migrateSql,
  subscriptionsOwnerSql,
  schemaSql,
  schemaVersion,
} from './sqlite-schema.js';
import type {
  CartWrite,
  DeadLetter,
  Delivery,
  IdempotencyClaim,
  IdempotencyRecord,
  ListResult,
  OutboxEvent,
  RouteTarget,
  Settlement,
  Store,
  StoredCart,
  StoredSubscription,
  WriteMeta,
} from './store.js';

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
}

interface CartRow {
  id: string;
  doc: string;
  version: number;
  created_at: string;
  updated_at: string;
}

interface DeliveryRow {
  seq: number;
  event_id: string;
  subscription_id: string;
  cart_id: string;
  event_type: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  event_time?: string | null;
}

const live = '(c.expires_at IS NULL OR c.expires_at > @now)';

/** A JSON text, parsed on the first call only. */
const parsedOnce = (text: string): (() => unknown) => {
  let value: unknown;
  return () => (value ??= JSON.parse(text) as unknown);
};

/** A stored cart whose document is parsed only if someone reads it (a GET just sends the text). */
function storedCart(
  json: string,
  version: number,
  createdAt: string,
  updatedAt: string,
  doc?: ShoppingCart,
): StoredCart {
  const read = doc ? () => doc : parsedOnce(json);
  return {
    json,
    version,
    createdAt,
    updatedAt,
    get doc(): ShoppingCart {
      return read() as ShoppingCart;
    },
  };
}

const toStored = (row: CartRow): StoredCart =>
  storedCart(row.doc, row.version, row.created_at, row.updated_at);

/** A delivery whose body is parsed only if someone reads it (the dispatcher sends the text). */
const toDelivery = (row: DeliveryRow): Delivery => {
  const body = parsedOnce(row.body);
  return {
    eventId: row.event_id,
    subscriptionId: row.subscription_id,
    cartId: row.cart_id,
    seq: row.seq,
    eventType: row.event_type,
    ...(row.event_time ? { eventTime: row.event_time } : {}),
    json: row.body,
    get body(): Record<string, unknown> {
      return body() as Record<string, unknown>;
    },
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
  };
};

/**
 * The `eventTime` of a recorded event's text without parsing it: the envelope (buildEvent) has it
 * as its second member, so it is found within the first few dozen characters.
 */
function eventTimeOf(json: string): string | undefined {
  const key = '"eventTime":"';
  const at = json.indexOf(key);
  if (at < 0 || at > 200) return undefined;
  const end = json.indexOf('"', at + key.length);
  return end < 0 ? undefined : json.slice(at + key.length, end);
}

/** Runs synchronous driver work as a promise, so failures reject like any other store's. */
function run<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(guard(fn));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** The write lock is taken by another connection (or our snapshot is older than its commit). */
const isBusy = (e: unknown): boolean =>
  e instanceof Database.SqliteError && (e.code === 'SQLITE_BUSY' || e.code.startsWith('SQLITE_BUSY_'));

/**
 * Driver failures (disk full, locked for too long, corrupt file) as errors the API can answer;
 * `nothingStored` when the caller knows the failed transaction committed nothing.
 */
function toStoreError(e: unknown, options: { nothingStored?: boolean } = {}): unknown {
  if (isAppError(e) || !(e instanceof Database.SqliteError)) return e;
  if (e.code.startsWith('SQLITE_CONSTRAINT')) return alreadyExists();
  return storeUnavailable(`SQLite: ${e.code}`, options);
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toStoreError(e);
  }
}

/**
 * Brings a file written by an older version up to schemaVersion, once, under the write lock (so
 * processes opening the same file together do it once). A newer file than this code is refused.
 */
function migrate(db: Database.Database): void {
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
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}

export function openSqliteStore(options: SqliteOptions): Store {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const lockTimeoutMs = options.lockTimeoutMs ?? defaults.store.sqliteLockTimeoutMs;
  const db = new Database(options.path, { timeout: lockTimeoutMs });
  db.pragma('journal_mode = WAL');
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

  const stmt = {
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
    insertOutbox: db.prepare(
      `INSERT INTO outbox (event_id, cart_id, event_type, body) VALUES (@eventId, @cartId, @eventType, @body)`,
    ),
    outbox: db.prepare<
      [number],
      { seq: number; event_id: string; cart_id: string; event_type: string; body: string }
    >(`SELECT seq, event_id, cart_id, event_type, body FROM outbox ORDER BY seq LIMIT ?`),
    deleteOutbox: db.prepare(`DELETE FROM outbox WHERE seq = ?`),
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
    ping: db.prepare(`SELECT 1`),
    dataVersion: db.prepare<[], number>(`PRAGMA data_version`).pluck(),
    countLive: db.prepare<[number], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM carts WHERE expires_at IS NULL) + (SELECT COUNT(*) FROM carts WHERE expires_at > ?) AS n`,
    ),
    nextExpiry: db.prepare<[number], { next: number | null }>(
      `SELECT MIN(expires_at) AS next FROM carts WHERE expires_at > ?`,
    ),
    anySubscription: db.prepare<[], { one: number }>(`SELECT 1 AS one FROM subscriptions LIMIT 1`),
  };

  const writeKeys = (id: string, doc: ShoppingCart, isNew = false): void => {
    if (!isNew) stmt.deleteKeys.run(id);
    for (const { kind, value } of extractKeys(doc)) stmt.insertKey.run(id, kind, value);
  };
  // An event is for the subscriptions that exist when it happens: with none there is nobody to
  // tell, and nothing is recorded. Asked inside the write's transaction, so it is exact even
  // across processes sharing the file.
  const writeOutbox = (events: OutboxEvent[]): void => {
    if (events.length === 0 || stmt.anySubscription.get() === undefined) return;
    for (const e of events) stmt.insertOutbox.run({ ...e, body: JSON.stringify(e.body) });
  };

  const create = db.transaction((doc: ShoppingCart, meta: WriteMeta, events: OutboxEvent[]): StoredCart => {
    const id = doc.id ?? '';
    const json = JSON.stringify(doc);
    stmt.insert.run({ id, doc: json, now: meta.now, expiresAt: meta.expiresAt ?? null });
    writeKeys(id, doc, true); // the insert succeeded, so no keys of this id exist
    writeOutbox(events);
    return storedCart(json, 1, meta.now, meta.now, doc);
  });

  /** Writes the next version of a cart read in this transaction at version `expected`. */
  const storeVersion = (
    id: string,
    expected: number,
    createdAt: string,
    doc: ShoppingCart,
    meta: WriteMeta,
    events: OutboxEvent[],
  ): StoredCart => {
    const json = JSON.stringify(doc);
    stmt.update.run({ id, version: expected, doc: json, now: meta.now, expiresAt: meta.expiresAt ?? null });
    writeKeys(id, doc);
    writeOutbox(events);
    return storedCart(json, expected + 1, createdAt, meta.now, doc);
  };
  const drop = (id: string, events: OutboxEvent[]): void => {
    stmt.delete.run({ id });
    stmt.deleteKeys.run(id);
    writeOutbox(events);
  };

  const replace = db.transaction(
    (id: string, expected: number, doc: ShoppingCart, meta: WriteMeta, events: OutboxEvent[]): StoredCart => {
      const current = stmt.get.get({ id, now: Date.parse(meta.now) });
      if (!current) throw notFound(id);
      if (current.version !== expected) throw versionConflict(id);
      return storeVersion(id, expected, current.created_at, doc, meta, events);
    },
  );

  const remove = db.transaction(
    (id: string, expected: number | undefined, nowMs: number, events: OutboxEvent[]): boolean => {
      const current = stmt.exists.get({ id, now: nowMs });
      if (!current) return false;
      if (expected !== undefined && current.version !== expected) throw versionConflict(id);
      drop(id, events);
      return true;
    },
  );

  // Read and write in one savepoint of a batch that holds the write lock: nobody comes between.
  const update = db.transaction(
    (
      id: string,
      nowMs: number,
      decide: (current: StoredCart) => CartWrite,
    ): { cart: StoredCart; written: CartWrite['kind'] } => {
      const row = stmt.get.get({ id, now: nowMs });
      if (!row) throw notFound(id);
      const current = toStored(row);
      const change = decide(current);
      switch (change.kind) {
        case 'none':
          return { cart: current, written: 'none' };
        case 'replace':
          return {
            cart: storeVersion(id, row.version, row.created_at, change.doc, change.meta, change.events),
            written: 'replace',
          };
        case 'delete':
          drop(id, change.events);
          return { cart: current, written: 'delete' };
      }
    },
  );

  // Group commit: writes that arrive in the same turn of the event loop share one transaction,
  // so one fsync (synchronous=FULL) makes all of them durable before any is acknowledged. Each
  // write runs in its own savepoint (better-sqlite3 nests transactions that way), so one write's
  // failure, such as a version conflict, undoes only that write.
  //
  // The batch begins IMMEDIATE, so it holds the write lock from its first statement: the reads
  // inside it (a cart's current version, the outbox) see the latest commit of every process and
  // nothing can come between them and the writes. When another process holds the lock, BEGIN
  // fails at once (busy_timeout is 0 while trying) and the whole batch is tried again a moment
  // later, with every write queued meanwhile: the event loop keeps serving, and the lock is
  // taken once per batch. A write waiting longer than lockTimeoutMs fails with STORE_UNAVAILABLE.
  interface QueuedWrite {
    apply: () => unknown;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
    /** Epoch ms after which it stops waiting for the lock. */
    deadline: number;
  }
  type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
  let queue: QueuedWrite[] = [];
  /** Cancels the planned flush (next turn, or after a back-off while another process writes). */
  let planned: (() => void) | undefined;
  /** Consecutive tries that found the lock taken. */
  let busyTries = 0;
  /** Goes up with every write this connection commits (or tries to). */
  let writeSeq = 0;
  // PRAGMA busy_timeout takes effect when it is prepared, so it is prepared each time (a few
  // microseconds per batch); a prepared one run again would change nothing.
  const lockWait = (ms: number): void => {
    db.pragma(`busy_timeout = ${ms}`);
  };
  const commitBatch = db.transaction((batch: QueuedWrite[]): Outcome[] =>
    batch.map((w): Outcome => {
      try {
        return { ok: true, value: w.apply() };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
  const lockTimeout = (): Error =>
    storeUnavailable(
      `SQLite: the write lock stayed taken by other processes for ${lockTimeoutMs} ms`,
      // Given up before its transaction began: the write was never applied.
      { nothingStored: true },
    );
  /** Back-off before trying the lock again: 1, 2, 4 ms, then 4-8 ms with jitter. */
  const backoffMs = (): number => (busyTries <= 3 ? 2 ** (busyTries - 1) : 4 + Math.random() * 4);

  const plan = (): void => {
    if (planned !== undefined || queue.length === 0) return;
    const turn = setImmediate(flush);
    planned = () => {
      clearImmediate(turn);
    };
  };
  const planAfter = (ms: number): void => {
    const timer = setTimeout(flush, ms);
    planned = () => {
      clearTimeout(timer);
    };
  };
  const flush = (): void => {
    planned = undefined;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    writeSeq++; // whatever the outcome, cached counts are no longer known to be right
    let outcomes: Outcome[];
    try {
      lockWait(0);
      try {
        outcomes = commitBatch.immediate(batch);
      } finally {
        lockWait(lockTimeoutMs);
      }
    } catch (e) {
      if (isBusy(e)) {
        // Nothing of the batch was committed: it waits for the lock with what comes meanwhile.
        busyTries++;
        requeue(batch);
        if (queue.length > 0) planAfter(backoffMs());
        return;
      }
      // BEGIN or COMMIT failed and the transaction rolled back: nothing of the batch was committed.
      const error = toStoreError(e, { nothingStored: true });
      for (const w of batch) w.reject(error);
      plan();
      return;
    }
    busyTries = 0;
    requeue(settle(batch, outcomes));
    plan();
  };
  /** Answers each write of a committed batch; returns those to try again. */
  const settle = (batch: QueuedWrite[], outcomes: Outcome[]): QueuedWrite[] => {
    const again: QueuedWrite[] = [];
    outcomes.forEach((o, i) => {
      const w = batch[i];
      if (!w) return;
      if (o.ok) w.resolve(o.value);
      else if (isBusy(o.error))
        again.push(w); // not expected with the lock held; tried again whole
      else w.reject(toStoreError(o.error));
    });
    return again;
  };
  /** Puts writes back at the head of the queue, failing those that waited too long. */
  const requeue = (writes: QueuedWrite[]): void => {
    const now = Date.now();
    const waiting = writes.filter((w) => {
      if (now < w.deadline) return true;
      w.reject(lockTimeout());
      return false;
    });
    queue = [...waiting, ...queue];
  };
  const write = <T>(apply: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({
        apply,
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline: Date.now() + lockTimeoutMs,
      });
      plan();
    });

  const purge = db.transaction((nowMs: number): number => {
    const ids = stmt.expired.all({ now: nowMs });
    for (const { id } of ids) {
      stmt.delete.run({ id });
      stmt.deleteKeys.run(id);
    }
    writeSeq++;
    return ids.length;
  });

  // Compiled list statements, keyed by their SQL text: the shape of a query repeats far more
  // often than its values, and preparing costs more than running.
  const listCache = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let s = listCache.get(sql);
    if (!s) {
      if (listCache.size > 500) listCache.clear();
      s = db.prepare(sql);
      listCache.set(sql, s);
    }
    return s;
  };

  /**
   * The number of live carts, for an unfiltered list. Counting reads the whole carts_live index
   * (2 ms at 100,000 carts), so the answer is kept while it is provably still right: no commit by
   * this connection (writeSeq) or any other process (PRAGMA data_version), and no cart has expired
   * since (the clock is before the earliest expiry still ahead).
   */
  let liveCount: { n: number; writeSeq: number; dataVersion: number; until: number } | undefined;
  const countAllLive = (nowMs: number): number => {
    const dataVersion = stmt.dataVersion.get() ?? 0;
    if (
      liveCount?.writeSeq === writeSeq &&
      liveCount.dataVersion === dataVersion &&
      nowMs < liveCount.until
    ) {
      return liveCount.n;
    }
    // The two halves of the liveness test are counted apart, each a range of the index (SQLite
    // would otherwise visit every row for the OR).
    const n = stmt.countLive.get(nowMs)?.n ?? 0;
    const until = stmt.nextExpiry.get(nowMs)?.next ?? Number.MAX_SAFE_INTEGER;
    liveCount = { n, writeSeq, dataVersion, until };
    return n;
  };

  /**
   * A list whose filter has regex conditions runs in two phases, so that no synchronous section
   * holds the event loop past the regex budget however many carts there are (safe-regex.ts):
   * 1. regexScan walks the live carts that meet the other conditions in rowid order, in slices
   *    sized to the budget, evaluating the regex conditions on each and keeping the ids that
   *    match; the loop turns between slices.
   * 2. The ordinary query (count, sort, page) runs over those ids with the other conditions again.
   * A cart written between slices is judged on the version its slice read (a rowid never changes
   * on update; a cart created meanwhile is seen if its slice has not passed yet).
   */
  const listWithRegex = async (query: ListQuery, nowMs: number): Promise<ListResult> => {
    const regex = query.filter.conditions.filter((c) => c.op === 'regex');
    const others = { conditions: query.filter.conditions.filter((c) => c.op !== 'regex') };
    const test = compileWhere({ conditions: regex });
    const where = compileWhere(others);
    // The slice is chosen in a subquery, so that the regex runs on its rows only (a result column
    // of a sorted query would be computed for every candidate before the LIMIT).
    const scan = prepared(
      `SELECT c.rowid AS r, c.id AS id, (${test.sql}) AS m
       FROM (SELECT c.rowid AS k FROM carts c
             WHERE c.rowid > ? AND (c.expires_at IS NULL OR c.expires_at > ?) AND (${where.sql})
             ORDER BY c.rowid LIMIT ?) AS slice
       JOIN carts c ON c.rowid = slice.k`,
    );
    const ids: string[] = [];
    let after = 0;
    await regexScan((size) => {
      const rows = guard(() => scan.all(...test.params, after, nowMs, ...where.params, size)) as {
        r: number;
        id: string;
        m: number | null;
      }[];
      for (const row of rows) {
        if (row.m === 1) ids.push(row.id);
        after = Math.max(after, row.r);
      }
      return { taken: rows.length, done: rows.length < size };
    });
    return guard(() => list(query, nowMs, { conditions: others, ids }));
  };

  const list = (
    query: ListQuery,
    nowMs: number,
    matched?: { conditions: ListQuery['filter']; ids: string[] },
  ): ListResult => {
    const where = compileWhere(matched?.conditions ?? query.filter);
    const only = matched === undefined ? '' : ' AND c.id IN (SELECT value FROM json_each(?))';
    const cond = `(c.expires_at IS NULL OR c.expires_at > ?) AND (${where.sql})${only}`;
    const params = [nowMs, ...where.params, ...(matched === undefined ? [] : [JSON.stringify(matched.ids)])];
    const total =
      query.filter.conditions.length === 0
        ? countAllLive(nowMs)
        : (prepared(`SELECT COUNT(*) AS n FROM carts c WHERE ${cond}`).get(...params) as { n: number }).n;
    const onlyKeys =
      query.fields?.every((f) => f.length === 1 && (f[0] === 'id' || f[0] === 'href')) ?? false;
    const columns = onlyKeys ? `c.id AS id, json_extract(c.doc, '$.href') AS href` : 'json(c.doc) AS doc';
    const order = compileOrderBy(query.sort);
    const sql = `SELECT ${columns} FROM carts c WHERE ${cond} ORDER BY ${order.sql} LIMIT ? OFFSET ?`;
    const rows = prepared(sql).all(...params, ...order.params, query.limit, query.offset);
    if (onlyKeys) {
      const items = (rows as { id: string; href: string | null }[]).map((r) =>
        r.href === null ? ({ id: r.id } as ShoppingCart) : ({ id: r.id, href: r.href } as ShoppingCart),
      );
      return { items, total };
    }
    const texts = (rows as { doc: string }[]).map((r) => r.doc);
    const { fields } = query;
    if (fields !== undefined) {
      return {
        items: texts.map((t) => projectFields(JSON.parse(t) as ShoppingCart, fields) as ShoppingCart),
        total,
      };
    }
    // Whole documents: the texts go out as they are; the objects are made only if someone asks.
    let parsed: ShoppingCart[] | undefined;
    return {
      json: texts,
      total,
      get items(): ShoppingCart[] {
        parsed ??= texts.map((t) => JSON.parse(t) as ShoppingCart);
        return parsed;
      },
    };
  };

  const route = db.transaction(
    (fn: (event: OutboxEvent) => RouteTarget[], max: number, made: Delivery[] | undefined): number => {
      const rows = stmt.outbox.all(max);
      for (const row of rows) {
        const body = parsedOnce(row.body);
        const event: OutboxEvent = {
          eventId: row.event_id,
          cartId: row.cart_id,
          eventType: row.event_type,
          // Parsed only if routing looks inside (a payload filter or fields).
          get body(): Record<string, unknown> {
            return body() as Record<string, unknown>;
          },
        };
        const targets = fn(event);
        const eventTime = targets.length > 0 && made ? eventTimeOf(row.body) : undefined;
        for (const target of targets) {
          const text = target.body === undefined ? row.body : JSON.stringify(target.body);
          const inserted = stmt.insertDelivery.run({
            eventId: event.eventId,
            subscriptionId: target.subscriptionId,
            cartId: event.cartId,
            eventType: event.eventType,
            body: text,
          });
          if (made && inserted.changes > 0) {
            made.push(
              toDelivery({
                seq: Number(inserted.lastInsertRowid),
                event_id: event.eventId,
                subscription_id: target.subscriptionId,
                cart_id: event.cartId,
                event_type: event.eventType,
                body: text,
                attempts: 0,
                next_attempt_at: 0,
                event_time: eventTime ?? null,
              }),
            );
          }
        }
        stmt.deleteOutbox.run(row.seq);
      }
      return rows.length;
    },
  );

  const settleRows = (list: Settlement[]): void => {
    for (const s of list) {
      if (s.kind === 'delivered') {
        stmt.insertDelivered.run(s.attempts, s.at, s.eventId, s.subscriptionId);
        stmt.completeDelivery.run(s.eventId, s.subscriptionId);
      } else if (s.kind === 'retry') {
        stmt.retryDelivery.run(s.attempts, s.nextAttemptAt, s.eventId, s.subscriptionId);
      } else {
        deadLetter(s.eventId, s.subscriptionId, s.attempts, s.lastError, s.at);
      }
    }
  };

  /** At most this many rows move or go in one transaction, so the write lock is held briefly. */
  const capChunk = 2000;
  const capBacklog = db.transaction(
    (subscriptionId: string, keep: number, lastError: string, deadAt: string): Delivery[] => {
      const cutoff = stmt.capCutoff.get(subscriptionId, keep);
      if (cutoff === undefined) return [];
      const rows = stmt.overCap.all(subscriptionId, cutoff, capChunk);
      for (const row of rows) {
        stmt.insertDead.run({ ...row, lastError, deadAt });
        stmt.deleteSeq.run(row.seq);
      }
      return rows.map(toDelivery);
    },
  );

  const prune = db.transaction((deliveredBefore: string, deadBefore: string, max: number) => ({
    delivered: stmt.pruneDelivered.run(deliveredBefore, max).changes,
    dead: stmt.pruneDead.run(deadBefore, max).changes,
  }));

  const deadLetter = db.transaction(
    (eventId: string, subscriptionId: string, attempts: number, lastError: string, deadAt: string): void => {
      const row = stmt.deliveryRow.get(eventId, subscriptionId);
      if (!row) return;
      stmt.insertDead.run({ ...row, attempts, lastError, deadAt });
      stmt.completeDelivery.run(eventId, subscriptionId);
    },
  );

  const deleteSubscription = db.transaction((id: string): boolean => {
    const gone = stmt.deleteSub.run(id).changes > 0;
    if (gone) stmt.deleteSubDeliveries.run(id);
    return gone;
  });

  const idempotency = idempotencyStatements(db);

  const parseSub = (row: { doc: string } | undefined): StoredSubscription | undefined =>
    row ? (JSON.parse(row.doc) as StoredSubscription) : undefined;

  return {
    name: 'sqlite',
    ...(options.path === ':memory:' ? {} : { location: { store: 'sqlite', path: options.path } as const }),
    createCart: (doc, meta, events) => write(() => create(doc, meta, events)),
    getCart: (id, nowMs) =>
      run(() => {
        const row = stmt.get.get({ id, now: nowMs });
        return row ? toStored(row) : undefined;
      }),
    // The query runs synchronously: its regex searches share one budget (safe-regex.ts).
    // A regex filter is evaluated in slices between which the loop turns (listWithRegex).
    listCarts: (query, nowMs) =>
      query.filter.conditions.some((c) => c.op === 'regex')
        ? listWithRegex(query, nowMs)
        : run(() => withRegexBudget(() => list(query, nowMs))),
    replaceCart: (id, expected, doc, meta, events) => write(() => replace(id, expected, doc, meta, events)),
    deleteCart: (id, expected, nowMs, events) => write(() => remove(id, expected, nowMs, events)),
    updateCart: (id, nowMs, decide) => write(() => update(id, nowMs, decide)),
    purgeExpired: (nowMs) => write(() => purge(nowMs)),

    createSubscription: (sub) =>
      write(() => {
        stmt.insertSub.run({
          id: sub.id,
          owner: sub.owner ?? '',
          callback: sub.callback,
          query: sub.query ?? '',
          doc: JSON.stringify(sub),
        });
        return sub;
      }),
    findSubscription: (callback, query, owner) =>
      run(() => parseSub(stmt.findSub.get(owner ?? '', callback, query))),
    getSubscription: (id) => run(() => parseSub(stmt.getSub.get(id))),
    // The owner travels inside doc (the whole stored subscription); its column ('' for none)
    // only makes the (owner, callback, query) key unique.
    listSubscriptions: (owner) =>
      run(() =>
        stmt.listSubs
          .all()
          .map((r) => JSON.parse(r.doc) as StoredSubscription)
          .filter((sub) => owner === undefined || sub.owner === owner),
      ),
    deleteSubscription: (id) => write(() => deleteSubscription(id)),

    // The dispatcher's writes join the group commit: they share the commit (and its fsync) of
    // the request writes of the same event-loop turn instead of blocking the loop for their own,
    // and, like every write, take the write lock the right way.
    routeOutbox: (fn, max, routed) =>
      write(() => {
        const made: Delivery[] | undefined = routed ? [] : undefined;
        const moved = route(fn, max, made);
        if (made && made.length > 0) routed?.(made);
        return moved;
      }),
    pendingAfter: (subscriptionId, afterSeq, max) =>
      run(() => stmt.window.all(subscriptionId, afterSeq, max).map(toDelivery)),
    settleDeliveries: (list) =>
      list.length === 0
        ? Promise.resolve()
        : write(() => {
            settleRows(list);
          }),
    backlog: () =>
      run(() =>
        stmt.backlog.all().map((r) => ({
          subscriptionId: r.subscription_id,
          pending: r.n,
          oldestEventTime: stmt.eventTimeAt.get(r.first) ?? undefined,
        })),
      ),
    capBacklog: (subscriptionId, keep, lastError, now) =>
      write(() => capBacklog(subscriptionId, keep, lastError, now)),
    pruneEventRecords: (deliveredBefore, deadBefore, max) =>
      write(() => prune(deliveredBefore, deadBefore, max)),
    eventRecordCounts: () => run(() => stmt.counts.get() ?? { outbox: 0, pending: 0, delivered: 0, dead: 0 }),
    dueDeliveries: (nowMs, max) => run(() => stmt.due.all(nowMs, max).map(toDelivery)),
    completeDelivery: (eventId, subscriptionId) =>
      write(() => {
        settleRows([
          { kind: 'delivered', eventId, subscriptionId, attempts: 1, at: new Date().toISOString() },
        ]);
      }),
    retryDelivery: (eventId, subscriptionId, attempts, nextAttemptAt) =>
      write(() => {
        stmt.retryDelivery.run(attempts, nextAttemptAt, eventId, subscriptionId);
      }),
    deadLetter: (eventId, subscriptionId, attempts, lastError, now) =>
      write(() => {
        deadLetter(eventId, subscriptionId, attempts, lastError, now);
      }),
    listDeadLetters: () =>
      run(() =>
        stmt.deadLetters.all().map(
          (r): DeadLetter => ({
            ...toDelivery({ ...r, next_attempt_at: Date.parse(r.dead_at) }),
            lastError: r.last_error,
            deadAt: r.dead_at,
          }),
        ),
      ),
    pendingDeliveries: () => run(() => stmt.pending.get()?.n ?? 0),

    // Through the group commit, so a claim is durable before the create it guards starts, and
    // an answer before it is sent.
    claimIdempotencyKey: (record, nowMs) => write(() => idempotency.claim(record, nowMs)),
    completeIdempotencyKey: (scope, key, token, answer, expiresAt) =>
      write(
        () =>
          idempotency.complete.run({ scope, key, token, answer: JSON.stringify(answer), expiresAt }).changes >
          0,
      ),
    releaseIdempotencyKey: (scope, key, token) =>
      write(() => {
        idempotency.release.run({ scope, key, token });
      }),
    purgeIdempotencyKeys: (nowMs) => write(() => idempotency.purge.run(nowMs).changes),

    ping: () =>
      run(() => {
        stmt.ping.get();
      }),
    close: () => {
      // Writes still waiting for the lock get a last try, blocking, up to the lock timeout.
      planned?.();
      planned = undefined;
      if (db.open) {
        const last = queue;
        queue = [];
        if (last.length > 0) {
          try {
            for (const w of settle(last, commitBatch.immediate(last))) w.reject(lockTimeout());
          } catch (e) {
            for (const w of last) w.reject(toStoreError(e));
          }
        }
        db.close();
      }
      return Promise.resolve();
    },
  };
}

interface IdempotencyRow {
  scope: string;
  key: string;
  fingerprint: string;
  token: string;
  answer: string | null;
  expires_at: number;
}

/** The Idempotency-Key records' statements (table idempotency_keys). */
function idempotencyStatements(db: Database.Database) {
  // One statement both inserts a new key and takes over an expired one, so two processes sharing
  // the file cannot both claim it: the row is there and live, or this statement wrote it.
  const claimRow = db.prepare(
    `INSERT INTO idempotency_keys (scope, key, fingerprint, token, answer, expires_at)
     VALUES (@scope, @key, @fingerprint, @token, NULL, @expiresAt)
     ON CONFLICT (scope, key) DO UPDATE SET
       fingerprint = excluded.fingerprint, token = excluded.token, answer = NULL,
       expires_at = excluded.expires_at
     WHERE idempotency_keys.expires_at <= @now`,
  );
  const get = db.prepare<[string, string], IdempotencyRow>(
    `SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?`,
  );
  return {
    claim: (record: IdempotencyRecord, nowMs: number): IdempotencyClaim => {
      const { scope, key, fingerprint, token, expiresAt } = record;
      if (claimRow.run({ scope, key, fingerprint, token, expiresAt, now: nowMs }).changes > 0)
        return { claimed: true };
      const row = get.get(scope, key);
      if (!row) throw storeUnavailable('Idempotency key vanished');
      return {
        claimed: false,
        record: {
          scope: row.scope,
          key: row.key,
          fingerprint: row.fingerprint,
          token: row.token,
          answer: row.answer === null ? undefined : (JSON.parse(row.answer) as IdempotencyRecord['answer']),
          expiresAt: row.expires_at,
        },
      };
    },
    complete: db.prepare(
      `UPDATE idempotency_keys SET answer = @answer, expires_at = @expiresAt
       WHERE scope = @scope AND key = @key AND token = @token AND answer IS NULL`,
    ),
    release: db.prepare(
      `DELETE FROM idempotency_keys WHERE scope = @scope AND key = @key AND token = @token AND answer IS NULL`,
    ),
    purge: db.prepare(`DELETE FROM idempotency_keys WHERE expires_at <= ?`),
  };
}
