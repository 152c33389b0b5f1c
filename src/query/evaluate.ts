/**
 * The reference semantics of a TMF630 query, as pure functions over plain JSON documents. Every
 * store compiles the AST to its own language and must keep and order exactly what these keep and
 * order (test/unit/query-sql.test.ts checks SQLite against this module on a shared table of cases).
 *
 * Candidates. Walking a path from the document, each segment reads that member of every current
 * object; when the member is an array its elements are taken instead (one level: an array inside
 * an array is an element that is itself never descended into and never matches). Non-objects are
 * not descended into. `null` and absent members give no candidate.
 *
 * Conditions (OR across the values of one condition, AND across conditions):
 * - every op but `ne` holds when ANY candidate compares true with ANY value; with no candidate
 *   (attribute missing) it fails;
 * - `ne` is NOT(eq): no candidate equals any value; a missing attribute satisfies it;
 * - number kind: numeric comparison of number candidates;
 * - boolean kind: eq/ne of boolean candidates (the parser refuses other ops);
 * - date kind: string candidates that are date-times (dates.ts) compare by epoch ms; other
 *   strings never match;
 * - string kind (declared strings, and every attribute the schema does not type): a string
 *   candidate compares by code point order (the order of UTF-8 bytes, which is what SQLite's
 *   BINARY collation does); a number candidate compares numerically when the value is a plain
 *   decimal literal (so an extension `score.gt=10` works); a boolean candidate equals the value
 *   `true` or `false` (eq/ne only); regex is an unanchored JavaScript RegExp search on string
 *   candidates only; objects and arrays never match.
 *
 * Metadata paths (ast.ts): the one candidate is the record's time (`times`), compared as a date;
 * without `times` there is none. Sorting by one orders by that time's epoch ms.
 *
 * Sorting (compareForSort): the sort value of a path is its FIRST candidate in document order
 * (absent when there is none); for a date-time attribute, the epoch ms of that candidate (absent
 * when it is not a date-time). Values order as SQLite orders them: absent first, then numbers
 * (false and true as 0 and 1), then strings by code point (objects and arrays as their JSON
 * text); descending reverses this (absent last). `id` ascending always breaks ties.
 *
 * Projection (projectFields): see its comment.
 */
import type { Condition, Filter, FilterOp, FilterValue, RecordTimes, SortKey } from './ast.js';
import { parseDateTime } from './dates.js';
import { parseNumberLiteral } from './parse.js';
import { compileSafeRegex } from './safe-regex.js';
import { describePath } from './schema-types.js';

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The candidates of `path` in `doc`, in document order (see the module comment). */
export function valuesAt(doc: unknown, path: readonly string[]): unknown[] {
  let current: unknown[] = [doc];
  for (const segment of path) {
    const next: unknown[] = [];
    for (const value of current) {
      if (!isObject(value) || !Object.hasOwn(value, segment)) continue;
      const member = value[segment];
      if (Array.isArray(member)) next.push(...(member as unknown[]));
      else next.push(member);
    }
    current = next;
  }
  return current.filter((v) => v !== null && v !== undefined);
}

/** Compares strings by Unicode code point (= UTF-8 byte order, = SQLite BINARY). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800-DFFF) encode code points above FFFF: move them above E000-FFFF.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

const holds = (op: Exclude<FilterOp, 'regex' | 'ne'>, order: number): boolean => {
  switch (op) {
    case 'eq':
      return order === 0;
    case 'gt':
      return order > 0;
    case 'gte':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'lte':
      return order <= 0;
  }
};

/** Whether one candidate compares true with one value under `op` (never 'ne': that is NOT eq). */
const matchesValue = (op: Exclude<FilterOp, 'ne'>, candidate: unknown, value: FilterValue): boolean => {
  switch (value.kind) {
    case 'regex':
      return typeof candidate === 'string' && compileSafeRegex(value.value).test(candidate);
    case 'number':
      return typeof candidate === 'number' && op !== 'regex' && holds(op, Math.sign(candidate - value.value));
    case 'boolean':
      return typeof candidate === 'boolean' && op === 'eq' && candidate === value.value;
    case 'date': {
      if (typeof candidate !== 'string' || op === 'regex') return false;
      const ms = parseDateTime(candidate);
      return ms !== undefined && holds(op, Math.sign(ms - value.epochMs));
    }
    case 'string': {
      if (op === 'regex') return false;
      if (typeof candidate === 'string') return holds(op, compareCodePoints(candidate, value.value));
      if (typeof candidate === 'number') {
        const n = parseNumberLiteral(value.value);
        return n !== undefined && holds(op, Math.sign(candidate - n));
      }
      if (typeof candidate === 'boolean') return op === 'eq' && String(candidate) === value.value;
      return false;
    }
  }
};

/** The candidates of a condition: the document's at its path, or a time of the record. */
const candidatesOf = (condition: Condition, doc: unknown, times: RecordTimes | undefined): unknown[] => {
  if (condition.metadata === undefined) return valuesAt(doc, condition.path);
  return times === undefined ? [] : [times[condition.metadata]];
};

const conditionHolds = (condition: Condition, doc: unknown, times: RecordTimes | undefined): boolean => {
  const candidates = candidatesOf(condition, doc, times);
  const op = condition.op === 'ne' ? 'eq' : condition.op;
  const any = candidates.some((c) => condition.values.some((v) => matchesValue(op, c, v)));
  return condition.op === 'ne' ? !any : any;
};

/** Whether `doc` (with its record's `times`, for metadata paths) satisfies every condition of `filter`. */
export function matchesFilter(filter: Filter, doc: unknown, times?: RecordTimes): boolean {
  return filter.conditions.every((condition) => conditionHolds(condition, doc, times));
}

type SortValue = number | string | undefined;

/** The value a document attribute orders by (see the module comment). */
export function sortValueOf(doc: unknown, path: readonly string[]): SortValue {
  const first = valuesAt(doc, path)[0];
  if (describePath(path).kind === 'date') {
    return typeof first === 'string' ? parseDateTime(first) : undefined;
  }
  if (first === undefined || typeof first === 'number' || typeof first === 'string') return first;
  if (typeof first === 'boolean') return first ? 1 : 0;
  return JSON.stringify(first);
}

/** SQLite's order of values: NULL, then numbers, then text. */
export function compareSortValues(a: SortValue, b: SortValue): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return Math.sign(compareCodePoints(a, b));
  return typeof a === 'number' ? -1 : 1;
}

const idOf = (doc: unknown): SortValue => {
  const id = isObject(doc) ? doc.id : undefined;
  return typeof id === 'string' ? id : undefined;
};

/** A document with its record's times (metadata paths read them). */
export interface EvaluatedRecord {
  doc: unknown;
  times?: RecordTimes | undefined;
}

/** The value a sort key orders by in a record: an attribute's, or a time's epoch ms. */
const keyValueOf = (key: SortKey, record: EvaluatedRecord): SortValue => {
  if (key.metadata === undefined) return sortValueOf(record.doc, key.path);
  const time = record.times?.[key.metadata];
  return time === undefined ? undefined : parseDateTime(time);
};

/** A comparator of records: the sort keys in order, then id ascending. */
export function compareRecordsForSort(
  sort: readonly SortKey[],
): (a: EvaluatedRecord, b: EvaluatedRecord) => number {
  return (a, b) => {
    for (const key of sort) {
      const order = compareSortValues(keyValueOf(key, a), keyValueOf(key, b));
      if (order !== 0) return key.descending ? -order : order;
    }
    return compareSortValues(idOf(a.doc), idOf(b.doc));
  };
}

/** A comparator of documents for Array.prototype.sort (no metadata: see compareRecordsForSort). */
export function compareForSort(sort: readonly SortKey[]): (a: unknown, b: unknown) => number {
  const byRecord = compareRecordsForSort(sort);
  return (a, b) => byRecord({ doc: a }, { doc: b });
}

interface FieldTree {
  /** The whole value at this point was asked for. */
  whole: boolean;
  children: Map<string, FieldTree>;
}

const buildTree = (fields: readonly (readonly string[])[]): FieldTree => {
  const root: FieldTree = { whole: false, children: new Map() };
  for (const path of fields) {
    let node = root;
    for (const segment of path) {
      let next = node.children.get(segment);
      if (!next) {
        next = { whole: false, children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    node.whole = true;
  }
  return root;
};

const projectObject = (value: JsonObject, tree: FieldTree): JsonObject => {
  const out: JsonObject = {};
  for (const [name, sub] of tree.children) {
    if (!Object.hasOwn(value, name)) continue;
    const projected = projectValue(value[name], sub);
    if (projected !== undefined) out[name] = projected;
  }
  return out;
};

function projectValue(value: unknown, tree: FieldTree): unknown {
  if (tree.whole) return value;
  if (Array.isArray(value)) {
    return (value as unknown[]).filter(isObject).map((element) => projectObject(element, tree));
  }
  if (!isObject(value)) return undefined;
  const out = projectObject(value, tree);
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * The representation narrowed to `fields` (TMF630 `fields=`): `id` and `href` always stay;
 * undefined returns the document as is; [] (`fields=none`) gives only id and href. A dotted path
 * keeps that attribute inside its parents; a path through an array applies to every element:
 * `cartItem.id` gives each cart item (objects only, in order, possibly empty) with only its id.
 * An object left without any requested attribute is left out.
 */
export function projectFields(doc: object, fields: readonly (readonly string[])[] | undefined): JsonObject {
  const source = doc as JsonObject;
  if (fields === undefined) return source;
  const projected = projectObject(source, buildTree([['id'], ['href'], ...fields]));
  return projected;
}
