/**
 * Cart lists: the compiled filter, sort and page run in SQLite, with two caches: compiled
 * statements by their SQL text, and the number of live carts while it is provably still right.
 */
import type Database from 'better-sqlite3';
import type { ShoppingCart } from '../../api-types.js';
import type { ListQuery } from '../../query/ast.js';
import { projectFields } from '../../query/evaluate.js';
import { regexScan } from '../../query/safe-regex.js';
import type { CartTimes, ListResult } from '../store.js';
import { guard } from './errors.js';
import { compileOrderBy, compileWhere } from './sql.js';
import { liveAt, type SqliteState } from './statements.js';

interface LiveCount {
  n: number;
  writeSeq: number;
  dataVersion: number;
  until: number;
}

export class ListQueries {
  private readonly s: SqliteState;
  // Compiled list statements, keyed by their SQL text: the shape of a query repeats far more
  // often than its values, and preparing costs more than running.
  private readonly listCache = new Map<string, Database.Statement>();
  private liveCount: LiveCount | undefined;

  constructor(s: SqliteState) {
    this.s = s;
  }

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
  async listWithRegex(query: ListQuery, nowMs: number): Promise<ListResult> {
    const regex = query.filter.conditions.filter((c) => c.op === 'regex');
    const others = { conditions: query.filter.conditions.filter((c) => c.op !== 'regex') };
    const test = compileWhere({ conditions: regex });
    const where = compileWhere(others);
    // The slice is chosen in a subquery, so that the regex runs on its rows only (a result column
    // of a sorted query would be computed for every candidate before the LIMIT).
    const scan = this.prepared(
      `SELECT c.rowid AS r, c.id AS id, (${test.sql}) AS m
       FROM (SELECT c.rowid AS k FROM carts c
             WHERE c.rowid > ? AND ${liveAt('?')} AND (${where.sql})
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
    return guard(() => this.list(query, nowMs, { conditions: others, ids }));
  }

  list(
    query: ListQuery,
    nowMs: number,
    matched?: { conditions: ListQuery['filter']; ids: string[] },
  ): ListResult {
    const where = compileWhere(matched?.conditions ?? query.filter);
    const only = matched === undefined ? '' : ' AND c.id IN (SELECT value FROM json_each(?))';
    const cond = `${liveAt('?')} AND (${where.sql})${only}`;
    const params = [nowMs, ...where.params, ...(matched === undefined ? [] : [JSON.stringify(matched.ids)])];
    const total =
      query.filter.conditions.length === 0
        ? this.countAllLive(nowMs)
        : (this.prepared(`SELECT COUNT(*) AS n FROM carts c WHERE ${cond}`).get(...params) as { n: number })
            .n;
    const onlyKeys =
      query.fields?.every((f) => f.length === 1 && (f[0] === 'id' || f[0] === 'href')) ?? false;
    const withTimes = query.withTimes === true;
    const columns = `${onlyKeys ? `c.id AS id, json_extract(c.doc, '$.href') AS href` : 'json(c.doc) AS doc'}${withTimes ? ', c.created_at AS createdAt, c.updated_at AS updatedAt' : ''}`;
    const order = compileOrderBy(query.sort);
    const sql = `SELECT ${columns} FROM carts c WHERE ${cond} ORDER BY ${order.sql} LIMIT ? OFFSET ?`;
    const rows = this.prepared(sql).all(
      ...params,
      ...order.params,
      query.limit,
      query.offset,
    ) as (CartTimes & {
      // the times only when selected (withTimes)
      id: string;
      href: string | null;
      doc: string;
    })[];
    const times = withTimes ? rows.map(({ createdAt, updatedAt }) => ({ createdAt, updatedAt })) : undefined;
    if (onlyKeys) {
      const items = rows.map((r) =>
        r.href === null ? ({ id: r.id } as ShoppingCart) : ({ id: r.id, href: r.href } as ShoppingCart),
      );
      return { items, times, total };
    }
    const texts = rows.map((r) => r.doc);
    const { fields } = query;
    if (fields !== undefined) {
      return {
        items: texts.map((t) => projectFields(JSON.parse(t) as ShoppingCart, fields) as ShoppingCart),
        times,
        total,
      };
    }
    // Whole documents: the texts go out as they are; the objects are made only if someone asks.
    let parsed: ShoppingCart[] | undefined;
    return {
      json: texts,
      times,
      total,
      get items(): ShoppingCart[] {
        parsed ??= texts.map((t) => JSON.parse(t) as ShoppingCart);
        return parsed;
      },
    };
  }

  private prepared(sql: string): Database.Statement {
    let s = this.listCache.get(sql);
    if (!s) {
      if (this.listCache.size > 500) this.listCache.clear();
      s = this.s.db.prepare(sql);
      this.listCache.set(sql, s);
    }
    return s;
  }

  /**
   * The number of live carts, for an unfiltered list. Counting reads the whole carts_live index
   * (2 ms at 100,000 carts), so the answer is kept while it is provably still right: no commit by
   * this connection (writeSeq) or any other process (PRAGMA data_version), and no cart has expired
   * since (the clock is before the earliest expiry still ahead).
   */
  private countAllLive(nowMs: number): number {
    const { stmt, queue } = this.s;
    const dataVersion = stmt.dataVersion.get() ?? 0;
    const cached = this.liveCount;
    if (cached?.writeSeq === queue.writeSeq && cached.dataVersion === dataVersion && nowMs < cached.until) {
      return cached.n;
    }
    // The two halves of the liveness test are counted apart, each a range of the index (SQLite
    // would otherwise visit every row for the OR).
    const n = stmt.countLive.get(nowMs)?.n ?? 0;
    const until = stmt.nextExpiry.get(nowMs)?.next ?? Number.MAX_SAFE_INTEGER;
    this.liveCount = { n, writeSeq: queue.writeSeq, dataVersion, until };
    return n;
  }
}
