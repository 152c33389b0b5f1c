/**
 * Compiles the TMF630 AST to SQLite over the layout of schema.ts (`carts` aliased `c`,
 * `cart_keys`), keeping exactly what src/query/evaluate.ts keeps and ordering as it orders. c.doc is
 * JSONB or JSON text (the JSON functions take both), so nothing here searches its bytes.
 *
 * Safety: values are only ever bound parameters, and so are attribute names, which travel
 * inside JSON path parameters ('$."cartItem"') or as parameters compared with json_each keys.
 * The SQL text holds only constant fragments of this module, so it depends on the query's shape,
 * never on its values (prepared statements can be cached by text).
 *
 * How a path is reached:
 * - `id` is c.id, `href` is json_extract(c.doc, '$.href') (the expression the store indexes),
 *   `validFor.endDateTime` in date comparisons and in sorting is c.expires_at (epoch ms the store
 *   computes on write), and eq/ne on the keyed paths (relatedParty.id,
 *   cartItem.productOffering.id) go through the cart_keys index.
 * - Metadata paths (ast.ts) are the carts columns created_at and updated_at, read as date-times
 *   by tmf_datetime_ms like any other (the store writes them as ISO text).
 * - Declared segments: consecutive non-array segments fold into one JSON path; a segment the
 *   schema declares an array becomes a json_each over it (EXISTS ... for filters). Stored
 *   documents are validated against the schema, so declared types are trusted here.
 * - Undeclared (extension) segments may or may not be arrays, in any document: each becomes a
 *   json_each over the members of the current object, keeping the member whose key equals the
 *   segment (a parameter), then a json_each over its elements when it is an array (or once over
 *   the member itself when it is not). This gives exactly the evaluator's candidates, for any
 *   key, at the price of reading every member of the object.
 * - Candidates carry their JSON type (json_each.type, json_type()) where the comparison needs it
 *   (booleans, and the type-directed 'string' comparisons of undeclared attributes).
 * - Date-times outside validFor.endDateTime: tmf_datetime_ms(x) is parseDateTime(x) of src/query/dates.ts
 *   (the server's one date-time reader, registered as an SQL function), NULL when x is not one;
 *   SQLite's own date functions read other spellings than RFC 3339 and are not used.
 */
import type { Condition, Filter, FilterOp, FilterValue, MetadataName, SortKey } from '../../query/ast.js';
import { parseDateTime } from '../../query/dates.js';
import { parseNumberLiteral } from '../../query/parse.js';
import { compileSafeRegex } from '../../query/safe-regex.js';
import { describePath, type PathInfo } from '../../query/schema-types.js';
import { keyedPaths } from './schema.js';

/** A fragment of SQL with its positional parameters, in text order. */
export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** The SQL function the store registers for date-times: the epoch ms of a date-time, or NULL. */
export const dateTimeFunctionName = 'tmf_datetime_ms';

/** The implementation of tmf_datetime_ms(value) (register it deterministic). */
export function sqlDateTimeMs(value: unknown): number | null {
  return typeof value === 'string' ? (parseDateTime(value) ?? null) : null;
}

/** The SQL function the store registers for `regex`. */
export const regexFunctionName = 'tmf_regex';

/**
 * The implementation of tmf_regex(pattern, value): 1 when `value` is a string the pattern finds a
 * match in. Register with `db.function(regexFunctionName, { deterministic: true }, sqlRegex)`.
 * Client patterns are checked, cached and metered by compileSafeRegex (linear-time RE2).
 */
export function sqlRegex(pattern: unknown, value: unknown): 0 | 1 {
  if (typeof pattern !== 'string' || typeof value !== 'string') return 0;
  return compileSafeRegex(pattern).test(value) ? 1 : 0;
}

// --- fragment building: constants are text, everything else is a parameter ---

const text = (sql: string): SqlFragment => ({ sql, params: [] });
const param = (value: unknown): SqlFragment => ({ sql: '?', params: [value] });

/** Interpolates fragments only; a value must go through param(). */
const sql = (strings: TemplateStringsArray, ...parts: SqlFragment[]): SqlFragment => {
  let out = strings[0] ?? '';
  const params: unknown[] = [];
  parts.forEach((part, i) => {
    out += part.sql + (strings[i + 1] ?? '');
    params.push(...part.params);
  });
  return { sql: out, params };
};

const join = (parts: readonly SqlFragment[], separator: string): SqlFragment => ({
  sql: parts.map((p) => p.sql).join(separator),
  params: parts.flatMap((p) => p.params),
});

/**
 * A set of values as ONE parameter (a JSON array read by json_each): a long value list is a set
 * test, never a deep OR tree (SQLite's expression depth limit) nor thousands of parameters.
 */
const valueSet = (values: readonly unknown[]): SqlFragment =>
  sql`SELECT value FROM json_each(${param(JSON.stringify(values))})`;

/** A JSON path with every key quoted (`$."@type"."x"`); only declared names, which hold no quote. */
const jsonPath = (segments: readonly string[]): string => '$' + segments.map((s) => `."${s}"`).join('');

type PositiveOp = Exclude<FilterOp, 'ne'>;

const comparators: Record<Exclude<FilterOp, 'regex' | 'ne'>, string> = {
  eq: '=',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

const regexCall = (pattern: SqlFragment, value: SqlFragment): SqlFragment =>
  sql`${text(regexFunctionName)}(${pattern}, ${value})`;

/** Epoch ms of a date-time candidate, NULL when it is not one (see src/query/dates.ts). */
const dateMs = (value: SqlFragment): SqlFragment => sql`${text(dateTimeFunctionName)}(${value})`;

/** The carts column of a metadata path. */
const metadataColumns: Record<MetadataName, string> = {
  createdAt: 'c.created_at',
  updatedAt: 'c.updated_at',
};

/** Date comparisons of an expression in epoch ms with a condition's values (any value matches). */
const compareInstants = (ms: SqlFragment, op: PositiveOp, values: readonly FilterValue[]): SqlFragment =>
  join(
    values.map((v) =>
      v.kind === 'date' && op !== 'regex'
        ? sql`${ms} ${text(comparators[op])} ${param(v.epochMs)}`
        : text('0'),
    ),
    ' OR ',
  );

// --- walking a path ---

interface Walk {
  /** Table-valued sources, in dependency order (empty: the value is an expression on c). */
  from: SqlFragment[];
  where: SqlFragment[];
  /** Document order of the candidates (array indices, outermost first). */
  order: SqlFragment[];
  value: SqlFragment;
  /** The candidate's JSON type ('text', 'integer', 'real', 'true', 'false', 'object', ...). */
  type: SqlFragment;
}

const walk = (path: readonly string[], info: PathInfo): Walk => {
  const from: SqlFragment[] = [];
  const where: SqlFragment[] = [];
  const order: SqlFragment[] = [];
  let base = text('c.doc');
  let baseType: SqlFragment | undefined;
  // An array element is read into only when it is an object, as the evaluator does (and a
  // json_* function never sees a bare string, which it would reject as malformed JSON).
  const container = (): SqlFragment =>
    baseType === undefined ? base : sql`CASE WHEN ${baseType} = 'object' THEN ${base} END`;
  let rel: string[] = [];
  let n = 0;
  for (let i = 0; i < info.known; i++) {
    rel.push(path[i] ?? '');
    if (info.arrays[i] === true) {
      n += 1;
      from.push(sql`json_each(${container()}, ${param(jsonPath(rel))}) AS ${text(`j${n}`)}`);
      order.push(text(`j${n}.key`));
      base = text(`j${n}.value`);
      baseType = text(`j${n}.type`);
      rel = [];
    }
  }
  if (info.known === path.length) {
    if (rel.length === 0 && baseType !== undefined)
      return { from, where, order, value: base, type: baseType };
    const p = param(jsonPath(rel));
    const object = container();
    return {
      from,
      where,
      order,
      value: sql`json_extract(${object}, ${p})`,
      type: sql`json_type(${object}, ${p})`,
    };
  }
  // Undeclared segments: the object to read members from, NULL (no rows) when there is none.
  let members = rel.length > 0 ? sql`${container()}, ${param(jsonPath(rel))}` : container();
  let value = base;
  let type = text("'object'");
  for (const segment of path.slice(info.known)) {
    n += 1;
    const m = `m${n}`;
    const e = `e${n}`;
    from.push(sql`json_each(${members}) AS ${text(m)}`);
    where.push(sql`${text(m)}.key = ${param(segment)}`);
    from.push(text(`json_each(CASE WHEN ${m}.type = 'array' THEN ${m}.value ELSE '[null]' END) AS ${e}`));
    order.push(text(`${e}.key`));
    value = text(`CASE WHEN ${m}.type = 'array' THEN ${e}.value ELSE ${m}.value END`);
    type = text(`CASE WHEN ${m}.type = 'array' THEN ${e}.type ELSE ${m}.type END`);
    members = sql`CASE WHEN ${type} = 'object' THEN ${value} END`;
  }
  return { from, where, order, value, type };
};

// --- conditions ---

/** Comparison of one candidate with one value, for a declared scalar type (no type check needed). */
const compareTyped = (op: PositiveOp, leaf: Walk, value: FilterValue): SqlFragment => {
  if (value.kind === 'regex' || op === 'regex') {
    return regexCall(param(value.value), leaf.value);
  }
  switch (value.kind) {
    case 'boolean':
      return sql`${leaf.type} = ${param(value.value ? 'true' : 'false')}`;
    case 'date':
      return sql`${dateMs(leaf.value)} ${text(comparators[op])} ${param(value.epochMs)}`;
    case 'number':
    case 'string':
      return sql`${leaf.value} ${text(comparators[op])} ${param(value.value)}`;
  }
};

/** Comparison for a 'string' condition on an attribute not declared as string (src/query/evaluate.ts). */
const compareUntyped = (op: PositiveOp, leaf: Walk, value: FilterValue): SqlFragment => {
  if (op === 'regex') return sql`(${leaf.type} = 'text' AND ${regexCall(param(value.value), leaf.value)})`;
  const literal = String(value.value);
  const cmp = text(comparators[op]);
  const branches = [sql`(${leaf.type} = 'text' AND ${leaf.value} ${cmp} ${param(literal)})`];
  const n = parseNumberLiteral(literal);
  if (n !== undefined)
    branches.push(sql`(${leaf.type} IN ('integer', 'real') AND ${leaf.value} ${cmp} ${param(n)})`);
  if (op === 'eq' && (literal === 'true' || literal === 'false'))
    branches.push(sql`${leaf.type} = ${param(literal)}`);
  return join(branches, ' OR ');
};

/** compareUntyped's eq for many values at once: one set test per candidate type. */
const untypedEqualsAny = (leaf: Walk, values: readonly FilterValue[]): SqlFragment => {
  const literals = values.map((v) => String(v.value));
  const numbers = literals.map(parseNumberLiteral).filter((n): n is number => n !== undefined);
  const booleans = literals.filter((l) => l === 'true' || l === 'false');
  const branches = [sql`(${leaf.type} = 'text' AND ${leaf.value} IN (${valueSet(literals)}))`];
  if (numbers.length > 0)
    branches.push(sql`(${leaf.type} IN ('integer', 'real') AND ${leaf.value} IN (${valueSet(numbers)}))`);
  if (booleans.length > 0) branches.push(sql`${leaf.type} IN (${valueSet(booleans)})`);
  return join(branches, ' OR ');
};

const keyed: ReadonlySet<string> = new Set(keyedPaths);

/**
 * The condition with `ne` read as eq (the caller negates). NULL counts as false: kept bare here so
 * that the indexes on c.id, href and expires_at stay usable; the negation wraps it in IFNULL.
 */
const compilePositive = (condition: Condition, op: PositiveOp): SqlFragment => {
  if (condition.metadata !== undefined) {
    return compareInstants(dateMs(text(metadataColumns[condition.metadata])), op, condition.values);
  }
  const dotted = condition.path.join('.');
  const info = describePath(condition.path);
  let leaf: Walk;
  if (dotted === 'id') {
    leaf = { from: [], where: [], order: [], value: text('c.id'), type: text("'text'") };
  } else if (dotted === 'href') {
    leaf = {
      from: [],
      where: [],
      order: [],
      value: text("json_extract(c.doc, '$.href')"),
      type: text("'text'"),
    };
  } else if (dotted === 'validFor.endDateTime' && condition.kind === 'date') {
    return compareInstants(text('c.expires_at'), op, condition.values);
  } else if (keyed.has(dotted) && op === 'eq' && condition.values.every((v) => v.kind === 'string')) {
    const values = condition.values.map((v) => v.value);
    return sql`c.id IN (SELECT cart_id FROM cart_keys WHERE kind = ${param(dotted)} AND value IN (${valueSet(values)}))`;
  } else {
    leaf = walk(condition.path, info);
  }
  const typed = condition.kind !== 'string' || info.leaf === 'string' || dotted === 'id' || dotted === 'href';
  let test: SqlFragment;
  if (typed && op === 'eq' && condition.kind !== 'boolean' && condition.kind !== 'date') {
    test = sql`${leaf.value} IN (${valueSet(condition.values.map((v) => v.value))})`;
  } else if (!typed && op === 'eq' && condition.values.length > 1) {
    test = untypedEqualsAny(leaf, condition.values);
  } else {
    const each = condition.values.map((v) =>
      typed ? compareTyped(op, leaf, v) : compareUntyped(op, leaf, v),
    );
    test = join(each.length > 1 ? each.map((e) => sql`(${e})`) : each, ' OR ');
  }
  if (leaf.from.length === 0) return test;
  const where = join([...leaf.where, sql`(${test})`], ' AND ');
  return sql`EXISTS (SELECT 1 FROM ${join(leaf.from, ', ')} WHERE ${where})`;
};

const compileCondition = (condition: Condition): SqlFragment => {
  const positive = compilePositive(condition, condition.op === 'ne' ? 'eq' : condition.op);
  if (condition.op === 'ne') return sql`NOT IFNULL(${positive}, 0)`;
  return positive;
};

/** The WHERE clause of a filter (`1` when it has no condition), with positional parameters. */
export function compileWhere(filter: Filter): SqlFragment {
  if (filter.conditions.length === 0) return text('1');
  return join(
    filter.conditions.map((c) => sql`(${compileCondition(c)})`),
    ' AND ',
  );
}

// --- ordering ---

const sortExpression = ({ path, metadata }: SortKey): SqlFragment => {
  if (metadata !== undefined) return dateMs(text(metadataColumns[metadata]));
  const dotted = path.join('.');
  if (dotted === 'id') return text('c.id');
  if (dotted === 'href') return text("json_extract(c.doc, '$.href')");
  if (dotted === 'validFor.endDateTime') return text('c.expires_at');
  const info = describePath(path);
  const leaf = walk(path, info);
  const convert = (v: SqlFragment): SqlFragment => (info.kind === 'date' ? dateMs(v) : v);
  if (leaf.from.length === 0) return convert(leaf.value);
  const where = join([...leaf.where, sql`${leaf.value} IS NOT NULL`], ' AND ');
  return sql`(SELECT ${convert(leaf.value)} FROM ${join(leaf.from, ', ')} WHERE ${where} ORDER BY ${join(leaf.order, ', ')} LIMIT 1)`;
};

/**
 * The ORDER BY list (without the keywords) for the sort keys, always ending with c.id ascending.
 * It has parameters too (the JSON paths): bind them after the WHERE parameters, before LIMIT.
 */
export function compileOrderBy(sort: readonly SortKey[]): SqlFragment {
  const keys = sort.map((key) => sql`${sortExpression(key)}${text(key.descending ? ' DESC' : '')}`);
  return join([...keys, text('c.id')], ', ');
}
