/**
 * TMF630 list query parser: the raw query string (the text after `?`, still percent-encoded) to a
 * ListQuery. It takes the raw text because the symbol operators (`a>=1`, `a%3E=1`) cannot be told
 * apart once a framework has split the string on `=`.
 *
 * - Pairs are separated by `&`. A pair is `path<op>value`; `<op>` is `=` (eq), `!=`, `>`, `>=`,
 *   `<`, `<=`, or any of these percent-encoded (`%3E=`, `%3E%3D`, `%21=`). After `=`, a literal
 *   `=`, `<` or `>` is refused as a malformed operator (`a=>1`, `a==1`); after the other operators
 *   any further operator character is (`a>>=1`, `a<>1`); percent-encode or quote such a value.
 * - The path is dotted (`cartItem.product.name`); a last segment `eq ne gt gte lt lte regex` is the
 *   operator instead (`quantity.gte=2`), and may not be combined with a symbol (`a.gt>1`). A last
 *   segment under a declared scalar (`id.foo=1`) is refused as an unknown operator; under an
 *   unknown attribute it is an attribute name (extensions are allowed).
 * - Percent-decoding is RFC 3986 (decodeURIComponent): `+` stays a plus, so offsets like
 *   `+02:00` survive unencoded; a space is `%20`.
 * - Values: comma-separated values and repeated keys are OR, distinct attributes and distinct
 *   operators on one attribute are AND. The raw value is split on literal commas before decoding,
 *   so `%2C` is a comma inside a value; a value in quotes ("..." or '...') keeps its commas; one
 *   pair of surrounding quotes is stripped. A `regex` value is never split (`{1,3}`).
 * - Values are literals. Nothing becomes an operator: `id[$ne]=x` filters on an attribute named
 *   `id[$ne]`, which no cart has.
 * - The schema kind of the path decides how values parse (schema-types.ts): numbers for
 *   number/integer, `true`/`false` for booleans (eq and ne only), date-times (dates.ts) for
 *   date-time attributes; a value that does not parse is a 400. `regex` only on string kinds.
 * - Reserved keys are never filters: `fields`, `offset`, `limit`, `sort`, and `filter` (JSONPath
 *   filtering is not supported: 400).
 * - `offset` defaults to 0, `limit` to maxPageSize; both must be non-negative integers (400
 *   otherwise). A limit above maxPageSize is capped to it (not an error): the HTTP layer answers
 *   206 because the page then holds only part of the matches. offset, limit and sort may appear
 *   once; repeated `fields` merge.
 * - A raw query longer than 8192 characters is refused with URI_TOO_LONG (414).
 * - Filter size (400 beyond): at most 50 conditions (distinct attribute and operator pairs), at
 *   most 1,000 values for eq/ne (compiled to one set test: SQL json_each, MongoDB $in) and at
 *   most 20 for gt/gte/lt/lte/regex (each value is its own comparison), so no filter reaches a
 *   store's expression limits.
 */
import type { Condition, Filter, FilterOp, FilterValue, ListQuery, SortKey } from './ast.js';
import { parseDateTime } from './dates.js';
import { regexProblem } from './safe-regex.js';
import { describePath } from './schema-types.js';
import { decode, invalid, splitQuery, splitValues, trimBlanks, wholeValue, type QueryTerm } from './terms.js';

export const maxFilterConditions = 50;
export const maxSetValues = 1000;
export const maxComparedValues = 20;

const reservedKeys = new Set(['fields', 'offset', 'limit', 'sort', 'filter']);
const suffixOps: ReadonlySet<string> = new Set<FilterOp>(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'regex']);

/**
 * At most this many segments in an attribute path (filters, fields, sort). SQLite joins at most
 * 64 tables in one query and a segment the schema does not declare takes two (found by the
 * contract fuzzer: a 33-segment path was a 503); no cart nests deeper than JSON_MAX_DEPTH anyway.
 */
export const maxPathSegments = 32;

const splitPath = (text: string, parameter: string, limit = maxPathSegments): string[] => {
  const path = text.split('.');
  if (path.some((s) => trimBlanks(s) === '')) throw invalid(parameter, 'has an empty path segment');
  if (path.length > limit) {
    throw invalid(parameter, `has more than ${maxPathSegments} path segments; at most ${maxPathSegments}`);
  }
  return path;
};

/**
 * Strict JSON-like number syntax: no hex, no Infinity, no empty string. Written so that no two
 * parts can take the same digits (`\d+\.?\d*` could, and backtracked quadratically).
 */
const numberPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a literal names, or undefined when it is not a plain decimal number. */
export function parseNumberLiteral(text: string): number | undefined {
  if (!numberPattern.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** One value's text as the `kind` of its attribute reads it (a 400 naming `parameter` when it cannot). */
export function parseFilterValue(
  op: FilterOp,
  kind: Condition['kind'],
  text: string,
  parameter: string,
): FilterValue {
  if (op === 'regex') {
    if (kind !== 'string') throw invalid(parameter, `regex applies only to string attributes, not ${kind}`);
    const problem = regexProblem(text);
    if (problem !== undefined) throw invalid(parameter, `the regex ${problem}`);
    return { kind: 'regex', value: text };
  }
  switch (kind) {
    case 'string':
      return { kind: 'string', value: text };
    case 'number': {
      const n = parseNumberLiteral(text);
      if (n === undefined) throw invalid(parameter, `"${text}" is not a number`);
      return { kind: 'number', value: n };
    }
    case 'boolean':
      if (op !== 'eq' && op !== 'ne')
        throw invalid(parameter, `a boolean compares only with eq and ne, not ${op}`);
      if (text !== 'true' && text !== 'false') throw invalid(parameter, `"${text}" is not true or false`);
      return { kind: 'boolean', value: text === 'true' };
    case 'date': {
      const epochMs = parseDateTime(text, { literal: true });
      if (epochMs === undefined) {
        throw invalid(
          parameter,
          `"${text}" is not a date-time (RFC 3339, e.g. 2024-05-01T10:00:00Z, or 2024-05-01)`,
        );
      }
      return { kind: 'date', value: text, epochMs };
    }
  }
}

/**
 * Builds the filter from terms (reserved keys already removed). `from` is the schema path the
 * term paths are relative to (e.g. ['cartItem'] for a filter on cart items); the conditions'
 * paths stay relative.
 */
export function buildFilter(terms: readonly QueryTerm[], from: readonly string[] = []): Filter {
  const byPathAndOp = new Map<string, Condition>();
  for (const term of terms) {
    // One segment more for an operator suffix (.gt), checked once it is taken off.
    let path = splitPath(term.key, term.key, maxPathSegments + 1);
    let op = term.op;
    const last = path[path.length - 1] ?? '';
    if (path.length > 1 && suffixOps.has(last)) {
      if (term.op !== 'eq') throw invalid(term.key, `has two operators (.${last} and a symbol)`);
      op = last as FilterOp;
      path = path.slice(0, -1);
    } else if (path.length > 1) {
      const parent = describePath(path.slice(0, -1), from);
      const scalar = parent.leaf !== 'object' && parent.leaf !== 'unknown' && parent.leaf !== 'array';
      if (parent.known === path.length - 1 && scalar) {
        throw invalid(term.key, `unknown operator "${last}" (use eq, ne, gt, gte, lt, lte or regex)`);
      }
    }
    if (path.length > maxPathSegments) {
      throw invalid(term.key, `has more than ${maxPathSegments} path segments; at most ${maxPathSegments}`);
    }
    const { kind } = describePath(path, from);
    const texts = op === 'regex' ? [wholeValue(term)] : splitValues(term);
    const mapKey = JSON.stringify([path, op]);
    const existing = byPathAndOp.get(mapKey);
    // The limit is checked before any value is read, so an over-long list costs nothing more.
    const max = op === 'eq' || op === 'ne' ? maxSetValues : maxComparedValues;
    if ((existing?.values.length ?? 0) + texts.length > max) {
      throw invalid(`${path.join('.')}.${op}`, `has more than ${max} values; at most ${max} for ${op}`);
    }
    const values = texts.map((text) => parseFilterValue(op, kind, text, term.key));
    if (existing) existing.values.push(...values);
    else byPathAndOp.set(mapKey, { path, op, kind, values });
    if (byPathAndOp.size > maxFilterConditions) {
      throw invalid(
        'filter',
        `has more than ${maxFilterConditions} conditions; at most ${maxFilterConditions}`,
      );
    }
  }
  const conditions = [...byPathAndOp.values()];
  return { conditions };
}

/**
 * A filter from already-decoded `[key, value]` pairs (hub subscription queries, JSON Patch Query
 * selections). A key ending in `>`, `<` or `!` (what is left of `a>=1` split at its `=`) is the
 * gte, lte or ne symbol. `schemaPrefix` ('cartItem.' or ['cartItem']) names where the keys are
 * relative to, for their schema types; paths in the result stay relative. Reserved keys are not
 * special here: the caller removes the ones it handles.
 */
export function parseFilterPairs(
  pairs: readonly (readonly [string, string])[],
  schemaPrefix: string | readonly string[] = [],
): Filter {
  const from =
    typeof schemaPrefix === 'string' ? schemaPrefix.split('.').filter((s) => s !== '') : [...schemaPrefix];
  const terms = pairs.map(([rawKey, value]): QueryTerm => {
    const symbol = rawKey.at(-1);
    const op: FilterOp = symbol === '>' ? 'gte' : symbol === '<' ? 'lte' : symbol === '!' ? 'ne' : 'eq';
    const key = op === 'eq' ? rawKey : rawKey.slice(0, -1);
    if (key === '') throw invalid(rawKey, 'the attribute name is empty');
    return { key, op, value, encoded: false };
  });
  return buildFilter(terms, from);
}

/**
 * A filter from a raw query string, keeping only the keys that start with `prefix` (which is
 * stripped, e.g. 'event.shoppingCart.'); the other terms are returned for the caller.
 */
export function parseFilterQuery(
  rawQuery: string,
  options: { prefix?: string; from?: readonly string[] } = {},
): { filter: Filter; others: QueryTerm[] } {
  const prefix = options.prefix ?? '';
  const mine: QueryTerm[] = [];
  const others: QueryTerm[] = [];
  for (const term of splitQuery(rawQuery)) {
    if (term.key.startsWith(prefix) && term.key.length > prefix.length) {
      mine.push({ ...term, key: term.key.slice(prefix.length) });
    } else others.push(term);
  }
  return { filter: buildFilter(mine, options.from), others };
}

const parseCount = (term: QueryTerm): number => {
  const text = wholeValue(term);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalid(term.key, `"${text}" is not a non-negative integer`);
  }
  return Number(text);
};

const parseList = (term: QueryTerm): string[] => decode(term.value, term.key).split(',').map(trimBlanks);

/** Parses a list request's raw query string. */
export function parseListQuery(rawQuery: string, options: { maxPageSize: number }): ListQuery {
  const filterTerms: QueryTerm[] = [];
  let fields: string[][] | undefined;
  let sort: SortKey[] | undefined;
  let offset: number | undefined;
  let limit: number | undefined;
  const seenFields = new Set<string>();
  for (const term of splitQuery(rawQuery)) {
    const bare = term.key.replace(/\.(?:eq|ne|gt|gte|lt|lte|regex)$/, '');
    if (!reservedKeys.has(bare)) {
      filterTerms.push(term);
      continue;
    }
    if (term.op !== 'eq' || bare !== term.key) {
      throw invalid(term.key, `${bare} is a reserved parameter and takes "=" only`);
    }
    switch (term.key) {
      case 'filter':
        throw invalid('filter', 'JSONPath filtering is not supported; use attribute=value filters (TMF630)');
      case 'offset':
        if (offset !== undefined) throw invalid('offset', 'is given more than once');
        offset = parseCount(term);
        break;
      case 'limit':
        if (limit !== undefined) throw invalid('limit', 'is given more than once');
        limit = parseCount(term);
        break;
      case 'fields': {
        const list = parseList(term);
        fields ??= [];
        for (const item of list) {
          if (item === '') throw invalid('fields', 'has an empty attribute name');
          if (item === 'none') continue;
          const path = splitPath(item, 'fields');
          const dotted = path.join('.');
          if (!seenFields.has(dotted)) {
            seenFields.add(dotted);
            fields.push(path);
          }
        }
        break;
      }
      case 'sort':
        if (sort !== undefined) throw invalid('sort', 'is given more than once');
        sort = parseList(term).map((item): SortKey => {
          const descending = item.startsWith('-');
          const name = descending || item.startsWith('+') ? item.slice(1) : item;
          if (name === '') throw invalid('sort', 'has an empty attribute name');
          return { path: splitPath(name, 'sort'), descending };
        });
        break;
    }
  }
  return {
    filter: buildFilter(filterTerms),
    fields,
    sort: sort ?? [],
    offset: offset ?? 0,
    limit: Math.min(limit ?? options.maxPageSize, options.maxPageSize),
  };
}
