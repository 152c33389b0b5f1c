/**
 * Cart writes: each one transaction (a savepoint of the group commit's batch) that writes the
 * document, its cart_keys rows and its outbox rows together.
 */
import type { ShoppingCart } from '../../api-types.js';
import { cartNotFound, versionConflict } from '../../errors.js';
import { withRegexBudget } from '../../query/safe-regex.js';
import type { CartMethods, CartWrite, OutboxRecord, StoredCart, WriteMeta } from '../store.js';
import { run } from './errors.js';
import { ListQueries } from './list.js';
import { writeOutbox } from './outbox.js';
import { storedCart, toStored } from './rows.js';
import { extractKeys } from './schema.js';
import type { SqliteState } from './statements.js';

function writeKeys(s: SqliteState, id: string, doc: ShoppingCart, isNew = false): void {
  if (!isNew) s.stmt.deleteKeys.run(id);
  for (const { kind, value } of extractKeys(doc)) s.stmt.insertKey.run(id, kind, value);
}

function create(s: SqliteState, doc: ShoppingCart, meta: WriteMeta, events: OutboxRecord[]): StoredCart {
  const id = doc.id ?? '';
  const json = JSON.stringify(doc);
  s.stmt.insert.run({ id, doc: json, now: meta.now, expiresAt: meta.expiresAt ?? null });
  writeKeys(s, id, doc, true); // the insert succeeded, so no keys of this id exist
  writeOutbox(s, events, doc, json);
  return storedCart(json, 1, meta.now, meta.now, doc);
}

/** Writes the next version of a cart read in this transaction at version `expected`. */
function storeVersion(
  s: SqliteState,
  id: string,
  expected: number,
  createdAt: string,
  change: { doc: ShoppingCart; meta: WriteMeta; events: OutboxRecord[] },
): StoredCart {
  const { doc, meta } = change;
  const json = JSON.stringify(doc);
  s.stmt.update.run({ id, version: expected, doc: json, now: meta.now, expiresAt: meta.expiresAt ?? null });
  writeKeys(s, id, doc);
  writeOutbox(s, change.events, doc, json);
  return storedCart(json, expected + 1, createdAt, meta.now, doc);
}

function drop(s: SqliteState, id: string, events: OutboxRecord[]): void {
  s.stmt.delete.run({ id });
  s.stmt.deleteKeys.run(id);
  writeOutbox(s, events);
}

function replace(
  s: SqliteState,
  id: string,
  expected: number,
  change: { doc: ShoppingCart; meta: WriteMeta; events: OutboxRecord[] },
): StoredCart {
  const current = s.stmt.get.get({ id, now: Date.parse(change.meta.now) });
  if (!current) throw cartNotFound(id);
  if (current.version !== expected) throw versionConflict(id);
  return storeVersion(s, id, expected, current.created_at, change);
}

function remove(
  s: SqliteState,
  id: string,
  expected: number | undefined,
  nowMs: number,
  events: OutboxRecord[],
): boolean {
  const current = s.stmt.exists.get({ id, now: nowMs });
  if (!current) return false;
  if (expected !== undefined && current.version !== expected) throw versionConflict(id);
  drop(s, id, events);
  return true;
}

// Read and write in one savepoint of a batch that holds the write lock: nobody comes between.
function update(
  s: SqliteState,
  id: string,
  nowMs: number,
  decide: (current: StoredCart) => CartWrite,
): { cart: StoredCart; written: CartWrite['kind'] } {
  const row = s.stmt.get.get({ id, now: nowMs });
  if (!row) throw cartNotFound(id);
  const current = toStored(row);
  const change = decide(current);
  switch (change.kind) {
    case 'none':
      return { cart: current, written: 'none' };
    case 'replace':
      return { cart: storeVersion(s, id, row.version, row.created_at, change), written: 'replace' };
    case 'delete':
      drop(s, id, change.events);
      return { cart: current, written: 'delete' };
  }
}

function purge(s: SqliteState, nowMs: number): number {
  const ids = s.stmt.expired.all({ now: nowMs });
  for (const { id } of ids) {
    s.stmt.delete.run({ id });
    s.stmt.deleteKeys.run(id);
  }
  s.queue.writeSeq++;
  return ids.length;
}

/** The Store's cart methods: every write through the group commit, in its own transaction. */
export function cartMethods(s: SqliteState): CartMethods {
  const { db, queue } = s;
  const tx = {
    create: db.transaction((doc: ShoppingCart, meta: WriteMeta, events: OutboxRecord[]) =>
      create(s, doc, meta, events),
    ),
    replace: db.transaction(
      (id: string, expected: number, doc: ShoppingCart, meta: WriteMeta, events: OutboxRecord[]) =>
        replace(s, id, expected, { doc, meta, events }),
    ),
    remove: db.transaction(
      (id: string, expected: number | undefined, nowMs: number, events: OutboxRecord[]) =>
        remove(s, id, expected, nowMs, events),
    ),
    update: db.transaction((id: string, nowMs: number, decide: (current: StoredCart) => CartWrite) =>
      update(s, id, nowMs, decide),
    ),
    purge: db.transaction((nowMs: number) => purge(s, nowMs)),
  };
  const lists = new ListQueries(s);
  return {
    createCart: (doc, meta, events) => queue.write(() => tx.create(doc, meta, events)),
    getCart: (id, nowMs) =>
      run(() => {
        const row = s.stmt.get.get({ id, now: nowMs });
        return row ? toStored(row) : undefined;
      }),
    // The query runs synchronously: its regex searches share one budget (safe-regex.ts).
    // A regex filter is evaluated in slices between which the loop turns (listWithRegex).
    listCarts: (query, nowMs) =>
      query.filter.conditions.some((c) => c.op === 'regex')
        ? lists.listWithRegex(query, nowMs)
        : run(() => withRegexBudget(() => lists.list(query, nowMs))),
    replaceCart: (id, expected, doc, meta, events) =>
      queue.write(() => tx.replace(id, expected, doc, meta, events)),
    deleteCart: (id, expected, nowMs, events) => queue.write(() => tx.remove(id, expected, nowMs, events)),
    updateCart: (id, nowMs, decide) => queue.write(() => tx.update(id, nowMs, decide)),
    purgeExpired: (nowMs) => queue.write(() => tx.purge(nowMs)),
  };
}
