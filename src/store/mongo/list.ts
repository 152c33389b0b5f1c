/**
 * Cart lists: filter, sort and page in MongoDB where it decides exactly as the reference evaluator
 * (filter.ts), the rest (residual conditions, sorts through arrays) decided here by the evaluator.
 */
import type { Filter } from 'mongodb';
import type { ShoppingCart } from '../../api-types.js';
import type { Condition, ListQuery } from '../../query/ast.js';
import { compareRecordsForSort, matchesFilter, projectFields } from '../../query/evaluate.js';
import { regexScan } from '../../query/safe-regex.js';
import type { CartTimes, ListResult } from '../store.js';
import { live, type CartDoc, type MongoState } from './documents.js';
import { decodeDocument, type JsonObject } from './encoding.js';
import { compileFilter, compileProjection, compileSort, topLevelProjection } from './filter.js';

/**
 * Longest a list query may run in MongoDB (maxTimeMS): its own regex engine (PCRE on MongoDB)
 * backtracks, and nothing else would stop a slow pattern there. Past it the client gets a 400.
 */
export const listMaxTimeMs = 5_000;

/** Each listed cart's times (v5's creationDate and lastUpdate), read beside its document. */
const timesProjection = { '_m.createdAt': 1, '_m.updatedAt': 1 } as const;
const timesOf = (row: { _m: CartTimes }): CartTimes => ({
  createdAt: row._m.createdAt,
  updatedAt: row._m.updatedAt,
});

export async function listCarts(s: MongoState, query: ListQuery, nowMs: number): Promise<ListResult> {
  const plan = compileFilter(query.filter);
  const where: Filter<CartDoc> =
    Object.keys(plan.filter).length === 0
      ? live(nowMs)
      : { $and: [live(nowMs), plan.filter as Filter<CartDoc>] };
  const sort = compileSort(query.sort);
  const projection = { ...(compileProjection(query.fields) ?? { doc: 1 }), ...timesProjection };
  const present = (stored: JsonObject): ShoppingCart => {
    const doc = decodeDocument(stored);
    return (query.fields === undefined ? doc : projectFields(doc, query.fields)) as ShoppingCart;
  };

  if (plan.residual.length === 0 && sort !== undefined) {
    const total = await s.carts.countDocuments(where, { maxTimeMS: listMaxTimeMs });
    // limit 0 means "no limit" to MongoDB.
    if (query.limit === 0 || query.offset >= total) return { items: [], times: [], total };
    const rows = await s.carts
      .find(where, { projection, sort, skip: query.offset, limit: query.limit, maxTimeMS: listMaxTimeMs })
      .toArray();
    return { items: rows.map((r) => present(r.doc)), times: rows.map(timesOf), total };
  }

  // What MongoDB cannot decide exactly is decided by the reference evaluator: read the members
  // it needs from every candidate, filter, sort and page here, then read the page.
  const residual: { conditions: Condition[] } = { conditions: plan.residual };
  const needed = [...plan.residual.map((c) => c.path), ...query.sort.map((k) => k.path)];
  const candidates = await s.carts
    .find(where, {
      projection: { ...topLevelProjection(needed), ...timesProjection },
      maxTimeMS: listMaxTimeMs,
    })
    .toArray();
  // In slices of at most one regex budget each, the loop turning between them (safe-regex.ts).
  const matches: { id: string; doc: JsonObject; times: CartTimes }[] = [];
  let next = 0;
  await regexScan((size) => {
    const slice = candidates
      .slice(next, next + size)
      .map((r) => ({ id: r._id, doc: decodeDocument(r.doc), times: timesOf(r) }))
      .filter((c) => matchesFilter(residual, c.doc, c.times));
    matches.push(...slice);
    next = Math.min(next + size, candidates.length);
    return { taken: size, done: next >= candidates.length };
  });
  matches.sort(compareRecordsForSort(query.sort));
  const pageIds = matches.slice(query.offset, query.offset + query.limit).map((m) => m.id);
  if (pageIds.length === 0) return { items: [], times: [], total: matches.length };
  const rows = await s.carts.find({ _id: { $in: pageIds }, ...live(nowMs) }, { projection }).toArray();
  const byId = new Map(rows.map((r) => [r._id, r]));
  const items: ShoppingCart[] = [];
  const times: CartTimes[] = [];
  for (const id of pageIds) {
    const row = byId.get(id);
    if (row) {
      items.push(present(row.doc));
      times.push(timesOf(row));
    }
  }
  return { items, times, total: matches.length };
}
