/**
 * TMF630 JSON Patch Query paths: an operation's path may select elements of arrays by a query
 * instead of by index. Every form is parsed into one list of steps (a member name, and for an
 * array the conditions its elements must meet), which one resolver walks over the cart to expand
 * the path into plain JSON Pointers, one per selected element; the operation itself is then
 * applied by RFC 6902 code. The grammar, with TMF630's examples, is in docs/api.md ("JSON Patch
 * Query").
 *
 *   /cartItem/quantity?cartItem.id=2                          TMF630 Part 5: query at the end,
 *   /cartItem/itemPrice/price?cartItem.id=2&cartItem.itemPrice.priceType=recurring
 *                                                             keys are paths from the root
 *   /cartItem?cartItem.id=2/quantity, /cartItem?id=2/quantity the earlier form: the query after
 *                                                             the array, the rest after it
 *   $.cartItem[?(@.id=='2')].quantity                         JSONPath filter (&& joins)
 *
 * Cost: each parser reads its input once, left to right, with no backtracking (the `work`
 * counter counts the characters it visits; test/unit/patch-query.test.ts checks it is linear),
 * and a path may hold at most `maxConditions` conditions, so selecting is bounded by
 * conditions × elements. A path without a query is returned as it is.
 */
import { invalidJsonPatchQuery, type AppError } from '../errors.js';
import { matchesFilter } from '../query/evaluate.js';
import { parseFilterPairs } from '../query/parse.js';
import { describePath } from '../query/schema-types.js';

/** At most this many conditions in one path's query: selecting costs conditions × elements. */
export const maxConditions = 64;

/** At most this many members on a path: deeper than any cart may nest (JSON_MAX_DEPTH, 45 on MongoDB). */
export const maxSegments = 128;

/** One member on the way to the target; `where` (possibly empty) marks an array whose elements are selected. */
export interface Step {
  key: string;
  where?: [string, string][];
}

/**
 * Which members of a path of member names are arrays, per member: true, false, or undefined when
 * the schema does not know it. Each API version answers from its own document.
 */
export type ArrayMembers = (keys: readonly string[]) => readonly (boolean | undefined)[];

/** v4's ShoppingCart (the stored form, and the v4 view). */
export const v4ArrayMembers: ArrayMembers = (keys) => describePath(keys).arrays;

/** Counts the characters a parser visits (for the linearity test). */
export interface ParseWork {
  steps: number;
}

const invalid = (path: string, why: string): AppError =>
  invalidJsonPatchQuery(`path "${shorten(path)}": ${why}`);

/** Long paths are cut in messages: an error must not echo half a megabyte back. */
const shorten = (s: string): string => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

const escapeSegment = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapeSegment = (s: string): string => s.replaceAll('~1', '/').replaceAll('~0', '~');

const decode = (path: string, s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(path, `"${shorten(s)}" is not valid percent-encoding`);
  }
};

/**
 * The `?` forms. Everything before `?` is a JSON Pointer of member names; the query runs to the
 * end, or to the first `/` after it (the earlier form, whose rest continues the pointer: a `/`
 * inside a value is written %2F). Each key is an attribute path from the root
 * (`cartItem.itemPrice.priceType`) and selects elements of the deepest array of the pointer whose
 * path it starts with; a key that starts with none of them is relative to the deepest array.
 */
export function parseQueryForm(
  path: string,
  work: ParseWork = { steps: 0 },
  arrayMembers: ArrayMembers = v4ArrayMembers,
): Step[] | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const slash = path.indexOf('/', q);
  const query = slash < 0 ? path.slice(q + 1) : path.slice(q + 1, slash);
  const pointer = path.slice(0, q) + (slash < 0 ? '' : path.slice(slash));
  // The array the query follows, in the earlier form: `/cartItem?id=2/quantity`.
  const queriedDepth = path.slice(0, q).split('/').length - 1;
  if (pointer !== '' && !pointer.startsWith('/')) throw invalid(path, 'does not start with /');
  work.steps += path.length;
  const raw = pointer === '' ? [] : pointer.slice(1).split('/');
  if (raw.length > maxSegments) throw invalid(path, `more than ${maxSegments} members`);
  const keys = raw.map(unescapeSegment);

  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      if (pairs.length >= maxConditions) throw invalid(path, `more than ${maxConditions} conditions`);
      const pair = query.slice(start, end);
      const eq = pair.indexOf('=');
      if (eq <= 0) throw invalid(path, `"${shorten(pair)}" is not attr=value`);
      pairs.push([decode(path, pair.slice(0, eq)), decode(path, conditionValue(pair, eq))]);
    }
    start = end + 1;
  }
  if (pairs.length === 0) throw invalid(path, 'the query after ? is empty');

  // A key belongs to the deepest member of the pointer that it starts with (segment by segment)
  // and that may be an array (the schema declares it one, or does not know it); a key that starts
  // with none is relative to the deepest such member up to the queried one.
  const arrays = arrayMembers(keys.filter((k) => !isIndex(k)));
  const mayBeArray: boolean[] = [];
  let declared = 0;
  for (const k of keys) mayBeArray.push(isIndex(k) ? false : arrays[declared++] !== false);
  let fallback = -1;
  for (let d = 0; d < Math.min(queriedDepth, keys.length); d++) if (mayBeArray[d]) fallback = d;
  const where = new Map<number, [string, string][]>();
  for (const [key, value] of pairs) {
    const segments = key.split('.');
    work.steps += segments.length;
    let level = -1;
    for (let d = 0; d < segments.length - 1 && d < keys.length && segments[d] === keys[d]; d++) {
      if (mayBeArray[d]) level = d;
    }
    const at = level >= 0 ? level : fallback;
    if (at < 0) throw invalid(path, `"${shorten(key)}" selects in no array of the path`);
    const relative = level >= 0 ? segments.slice(level + 1).join('.') : key;
    const list = where.get(at) ?? [];
    list.push([relative, value]);
    where.set(at, list);
  }
  return keys.map((key, i) => {
    const w = where.get(i);
    return w ? { key, where: w } : { key };
  });
}

/**
 * The value of `attr=value`, or of the spelling of the v5 user guide's example,
 * `attr=='value' ` (a quoted value, trailing spaces): with `==`, trailing spaces are dropped and
 * one pair of matching quotes around the value is removed.
 */
function conditionValue(pair: string, eq: number): string {
  if (pair[eq + 1] !== '=') return pair.slice(eq + 1);
  const value = pair.slice(eq + 2).trimEnd();
  const quote = value[0];
  const quoted = value.length >= 2 && (quote === "'" || quote === '"') && value.endsWith(quote);
  return quoted ? value.slice(1, -1) : value;
}

const nameChars = /[A-Za-z0-9_@-]*/y;
const spaceChars = / */y;
const literalChars = /[A-Za-z0-9_.+-]*/y;

/** Reads a JSONPath filter form left to right, once: `$.a.b[?(@.x=='1' && @.y.z==2)].c`. */
export function parseJsonPathForm(path: string, work: ParseWork = { steps: 0 }): Step[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: Step[] = [];
  let conditions = 0;
  let i = 1;
  const peek = (): string | undefined => path[i];
  /** Advances over a run of `chars` (a sticky pattern: one pass, no backtracking). */
  const run = (chars: RegExp): string => {
    chars.lastIndex = i;
    const text = chars.exec(path)?.[0] ?? '';
    i += text.length;
    work.steps += text.length;
    return text;
  };
  const name = (): string => {
    const text = run(nameChars);
    if (text === '') throw invalid(path, `expected an attribute name at character ${i + 1}`);
    return text;
  };
  const spaces = (): void => {
    run(spaceChars);
  };
  const literal = (): string => {
    const quote = peek();
    if (quote === "'" || quote === '"') {
      const end = path.indexOf(quote, i + 1);
      if (end < 0) throw invalid(path, `unterminated string at character ${i + 1}`);
      work.steps += end + 1 - i;
      const text = path.slice(i + 1, end);
      i = end + 1;
      return text;
    }
    const text = run(literalChars);
    if (text === '') throw invalid(path, `expected a value at character ${i + 1}`);
    return text;
  };
  while (i < path.length) {
    if (peek() === '.') {
      i++;
      if (steps.length >= maxSegments) throw invalid(path, `more than ${maxSegments} members`);
      steps.push({ key: name() });
    } else if (path.startsWith('[?(', i)) {
      const last = steps.at(-1);
      if (!last || last.where)
        throw invalid(path, `a filter must follow an attribute name (character ${i + 1})`);
      i += 3;
      const where: [string, string][] = [];
      for (;;) {
        spaces();
        if (!path.startsWith('@.', i)) throw invalid(path, `expected @. at character ${i + 1}`);
        i += 2;
        const key = [name()];
        while (peek() === '.') {
          i++;
          if (key.length >= maxSegments)
            throw invalid(path, `more than ${maxSegments} members in a condition`);
          key.push(name());
        }
        spaces();
        if (!path.startsWith('==', i)) throw invalid(path, `only == is supported (character ${i + 1})`);
        i += 2;
        spaces();
        if (++conditions > maxConditions) throw invalid(path, `more than ${maxConditions} conditions`);
        where.push([key.join('.'), literal()]);
        spaces();
        if (path.startsWith('&&', i)) {
          i += 2;
          continue;
        }
        if (path.startsWith(')]', i)) {
          i += 2;
          break;
        }
        throw invalid(path, `expected && or )] at character ${i + 1}`);
      }
      last.where = where;
    } else {
      throw invalid(path, `unexpected "${path[i] ?? ''}" at character ${i + 1}`);
    }
  }
  if (steps.length === 0) throw invalid(path, 'names no attribute');
  return steps;
}

/** Parses any form; undefined for a plain JSON Pointer. */
export function parsePatchPath(
  path: string,
  work: ParseWork = { steps: 0 },
  arrayMembers: ArrayMembers = v4ArrayMembers,
): Step[] | undefined {
  return parseJsonPathForm(path, work) ?? parseQueryForm(path, work, arrayMembers);
}

const isIndex = (key: string): boolean => key === '-' || /^(0|[1-9]\d{0,8})$/.test(key);

/**
 * Expands `path` into the JSON Pointers it selects in `cart`, highest index first so that
 * removals do not shift the elements still to be removed. A query selecting nothing is a 400:
 * the client named elements that are not there.
 */
export function selectElements(
  cart: object,
  path: string,
  arrayMembers: ArrayMembers = v4ArrayMembers,
): string[] {
  const steps = parsePatchPath(path, { steps: 0 }, arrayMembers);
  if (!steps) return [path];
  let nodes: { value: unknown; pointer: string }[] = [{ value: cart, pointer: '' }];
  const at: string[] = [];
  steps.forEach((step, s) => {
    if (!isIndex(step.key)) at.push(step.key);
    const name = (): string => shorten(at.join('.'));
    const filter = step.where ? parseFilterPairs(step.where, at) : undefined;
    const next: typeof nodes = [];
    for (const node of nodes) {
      const pointer = `${node.pointer}/${escapeSegment(step.key)}`;
      const child = readMember(node.value, step.key);
      if (filter) {
        if (!Array.isArray(child)) throw invalid(path, `${name()} is not an array`);
        child.forEach((element, i) => {
          if (matchesFilter(filter, element)) next.push({ value: element, pointer: `${pointer}/${i}` });
        });
      } else {
        const following = steps[s + 1];
        if (Array.isArray(child) && following && !isIndex(following.key)) {
          throw invalid(path, `${name()} is an array: select its elements with ${name()}.attr=value`);
        }
        next.push({ value: child, pointer });
      }
    }
    nodes = next;
  });
  if (nodes.length === 0) throw invalid(path, 'selects no element');
  return nodes.map((n) => n.pointer).reverse();
}

function readMember(node: unknown, key: string): unknown {
  if (Array.isArray(node)) return isIndex(key) ? (node as unknown[])[Number(key)] : undefined;
  if (node !== null && typeof node === 'object' && Object.hasOwn(node, key)) {
    return (node as Record<string, unknown>)[key];
  }
  return undefined;
}
