/**
 * Compiles the TMF630 AST to MongoDB over the document layout of the MongoDB store, keeping
 * exactly what src/query/evaluate.ts keeps and ordering as it orders. What MongoDB cannot do exactly is
 * left to the caller as `residual` conditions (or an undefined sort), which the store evaluates
 * with the reference evaluator itself: a slower path, never a different answer.
 *
 * The layout it reads is encoding.ts's (keys escaped, nested arrays wrapped, `_m.dates`).
 *
 * Why MongoDB's own semantics fit the evaluator (checked op by op, and by the shared filter table
 * in test/store/filter-cases.ts on FerretDB):
 * - A dotted path reads members of objects and takes the elements of arrays, one level, as
 *   valuesAt does; wrapped inner arrays are objects without the member, so they are never
 *   descended into and never equal a scalar. A numeric segment would be an array index to
 *   MongoDB and a key to the evaluator, so such a condition is residual.
 * - Comparisons are type-bracketed: `{$gt: 5}` only meets numbers, `{$gt: 'a'}` only strings,
 *   compared by UTF-8 bytes, which is code point order (compareCodePoints). A 'string' condition
 *   also meets number candidates when its value is a plain decimal literal, and booleans for
 *   `true`/`false`: those operands are added. Objects and arrays never equal a scalar operand.
 * - `ne` is NOT(eq) as `$nor: [eq]` (no candidate equals; a missing attribute satisfies it);
 *   `$ne`/`$nin` are not used because FerretDB 1.24 gets them wrong on arrays of documents.
 * - Query values are only ever operands (`$in`, `$gt`, ... arrays or scalars): nothing a client
 *   sends becomes an operator or a field name that is not escaped.
 * - `regex` is a JavaScript RegExp without flags; it is translated into the common subset of Go
 *   RE2 (FerretDB) and PCRE (MongoDB) with the same meaning (translateRegex). Constructs that can
 *   match half of a surrogate pair in JavaScript (`.`, negated classes, `\D\W\S`, ranges over
 *   surrogates) have no equivalent in a UTF-8 engine, so such patterns are residual. `.*` is the
 *   exception: a run of any units finds the same matches as a run of any code points, as long as
 *   no `\B` (which holds inside a pair) is in the pattern; and a leading or trailing `.*` is
 *   dropped, since it never changes whether a search finds a match.
 *
 * Metadata paths (ast.ts) are `_m.createdAt` and `_m.updatedAt`, which the store writes as
 * Date.toISOString() text (WriteMeta.now): in that one spelling, string order is time order, so
 * a value compares as its instant (read by src/query/dates.ts) spelt the same way.
 *
 * Sorting in the database is exact only where every document has at most one candidate of a
 * declared scalar type (no array on the path); otherwise compileSort answers undefined and the
 * store sorts with compareForSort. Projection keeps whole top-level members in the database and
 * leaves the rest to projectFields.
 *
 * This module never imports the driver: filters are plain objects.
 */
import type { Condition, Filter, FilterValue, MetadataName, SortKey } from '../../query/ast.js';
import { parseNumberLiteral } from '../../query/parse.js';
import { translateRegex } from '../../query/regex-translate.js';
import { describePath } from '../../query/schema-types.js';
import { dateKey, escapeKey } from './encoding.js';

export type MongoFilter = Record<string, unknown>;
export type MongoSort = Record<string, 1 | -1>;
export type MongoProjection = Record<string, 1>;

// --- filters ---

/** What compileFilter gives: `filter` holds for exactly the documents that pass every compiled
 *  condition; `residual` are the conditions the caller must still apply with matchesFilter. */
export interface FilterPlan {
  filter: MongoFilter;
  residual: Condition[];
}

const numericSegment = /^\d+$/;

/** The stored field of an attribute path, or undefined when MongoDB would read it differently. */
const fieldOf = (path: readonly string[]): string | undefined => {
  if (path.length === 1 && path[0] === 'id') return '_id';
  if (path.some((s) => numericSegment.test(s))) return undefined;
  return 'doc.' + path.map(escapeKey).join('.');
};

type ScalarOperand = string | number | boolean;

/** The stored field of a metadata path. */
const metadataFields: Record<MetadataName, string> = { createdAt: '_m.createdAt', updatedAt: '_m.updatedAt' };

/** A metadata condition's operands: each date value's instant in the stored spelling. */
const instantOperands = (values: readonly FilterValue[]): ScalarOperand[] =>
  values.flatMap((v) => (v.kind === 'date' ? [new Date(v.epochMs).toISOString()] : []));

/** The operands one value compares equal/ordered with, per candidate type (see the module comment). */
const operands = (value: FilterValue, ordered: boolean): ScalarOperand[] => {
  switch (value.kind) {
    case 'number':
    case 'boolean':
      return [value.value];
    case 'date':
      return [value.epochMs];
    case 'regex':
      return [];
    case 'string': {
      const out: ScalarOperand[] = [value.value];
      const n = parseNumberLiteral(value.value);
      if (n !== undefined) out.push(n);
      if (!ordered && (value.value === 'true' || value.value === 'false')) out.push(value.value === 'true');
      return out;
    }
  }
};

const anyOf = (parts: MongoFilter[]): MongoFilter =>
  parts.length === 1 && parts[0] ? parts[0] : { $or: parts };
const allOf = (parts: MongoFilter[]): MongoFilter =>
  parts.length === 0 ? {} : parts.length === 1 && parts[0] ? parts[0] : { $and: parts };

/** A filter no document passes (MongoDB refuses an empty $or). */
const never: MongoFilter = { _id: { $in: [] } };

const uniqueOperands = (list: ScalarOperand[]): ScalarOperand[] => {
  const seen = new Set<string>();
  return list.filter((v) => {
    const key = `${typeof v}:${String(v)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

/** One condition as a MongoDB filter, or undefined when it must be evaluated by the caller. */
export function compileCondition(condition: Condition): MongoFilter | undefined {
  const { op, values, metadata } = condition;
  const field =
    metadata !== undefined
      ? metadataFields[metadata]
      : condition.kind === 'date'
        ? `_m.dates.${dateKey(condition.path)}`
        : fieldOf(condition.path);
  if (field === undefined) return undefined;
  const operandsOf = (ordered: boolean): ScalarOperand[] =>
    metadata !== undefined ? instantOperands(values) : values.flatMap((v) => operands(v, ordered));
  switch (op) {
    case 'eq':
    case 'ne': {
      const list = uniqueOperands(operandsOf(false));
      const eq: MongoFilter = list.length === 0 ? never : { [field]: { $in: list } };
      return op === 'eq' ? eq : { $nor: [eq] };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const parts = operandsOf(true).map((o): MongoFilter => ({ [field]: { [`$${op}`]: o } }));
      return parts.length === 0 ? never : anyOf(parts);
    }
    case 'regex': {
      const parts: MongoFilter[] = [];
      for (const v of values) {
        if (v.kind !== 'regex' || metadata !== undefined) continue;
        const source = translateRegex(v.value);
        if (source === undefined) return undefined;
        parts.push({ [field]: { $regex: source } });
      }
      return parts.length === 0 ? never : anyOf(parts);
    }
  }
}

/** The filter's conditions as one MongoDB filter on `doc.` paths, plus what is left over. */
export function compileFilter(filter: Filter): FilterPlan {
  const parts: MongoFilter[] = [];
  const residual: Condition[] = [];
  for (const condition of filter.conditions) {
    const compiled = compileCondition(condition);
    if (compiled === undefined) residual.push(condition);
    else parts.push(compiled);
  }
  return { filter: allOf(parts), residual };
}

// --- sorting and projection ---

/**
 * The sort in the database, `_id` ascending last, or undefined when one key needs the evaluator's
 * "first candidate" rule (a path through an array or undeclared attributes, or a non-scalar).
 */
export function compileSort(sort: readonly SortKey[]): MongoSort | undefined {
  const out: MongoSort = {};
  for (const key of sort) {
    let field: string;
    if (key.metadata !== undefined) field = metadataFields[key.metadata];
    else if (key.path.length === 1 && key.path[0] === 'id') field = '_id';
    else {
      const info = describePath(key.path);
      const scalar = info.leaf === 'string' || info.leaf === 'number' || info.leaf === 'date';
      if (info.known !== key.path.length || info.arrays.some((a) => a !== false) || !scalar) return undefined;
      field =
        info.leaf === 'date' ? `_m.dates.${dateKey(key.path)}` : `doc.${key.path.map(escapeKey).join('.')}`;
    }
    // A repeated key never decides anything the first occurrence did not.
    if (!(field in out)) out[field] = key.descending ? -1 : 1;
  }
  if (!('_id' in out)) out._id = 1;
  return out;
}

/** The stored top-level members that hold `paths` (id always), for evaluating in the application. */
export function topLevelProjection(paths: readonly (readonly string[])[]): MongoProjection {
  const out: MongoProjection = { 'doc.id': 1 };
  for (const path of paths) {
    const first = path[0];
    if (first !== undefined) out[`doc.${escapeKey(first)}`] = 1;
  }
  return out;
}

/**
 * What to read for a `fields=` list: whole top-level members (id and href always), narrowed
 * further by projectFields; undefined reads the whole document.
 */
export function compileProjection(
  fields: readonly (readonly string[])[] | undefined,
): MongoProjection | undefined {
  if (fields === undefined) return undefined;
  return topLevelProjection([['id'], ['href'], ...fields]);
}
