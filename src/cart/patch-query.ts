/**
 * TMF630 JSON Patch Query paths: an operation's path may select elements of an array by a query
 * instead of by index. Two spellings are accepted:
 *
 *   /cartItem?cartItem.id=2            (the TMF630 query form; the key may omit the array name)
 *   /cartItem?id=2&status=active/quantity
 *   $.cartItem[?(@.id=='2')].quantity  (the JSONPath filter form; && joins conditions)
 *
 * Each is expanded into plain JSON Pointers, one per selected element, so the operation itself
 * is applied by RFC 6902 code. The selection uses the TMF630 filter semantics of src/query.
 * A path without a query is returned as it is.
 */
import type { ShoppingCart } from '../api-types.js';
import { badRequest } from '../errors.js';
import { parseFilterPairs } from '../query/parse.js';
import { matchesFilter } from '../query/evaluate.js';

const escapeSegment = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

interface Selection {
  /** JSON Pointer of the array. */
  arrayPointer: string;
  /** Attribute path segments of the array from the document root (for prefixed keys). */
  arrayPath: string[];
  pairs: [string, string][];
  /** JSON Pointer suffix applied to each selected element ('' for the element itself). */
  rest: string;
}

const unquote = (v: string): string => {
  const t = v.trim();
  return t.length >= 2 && (t[0] === "'" || t[0] === '"') && t.endsWith(t[0]) ? t.slice(1, -1) : t;
};

function parseTmfForm(path: string): Selection | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const arrayPointer = path.slice(0, q);
  let query = path.slice(q + 1);
  let rest = '';
  const slash = query.indexOf('/');
  if (slash >= 0) {
    rest = query.slice(slash);
    query = query.slice(0, slash);
  }
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p): [string, string] => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw badRequest('Invalid JSON Patch Query', `"${p}" in path ${path} is not attr=value`);
      return [decodeURIComponent(p.slice(0, eq)), decodeURIComponent(p.slice(eq + 1))];
    });
  const arrayPath = arrayPointer.split('/').filter((s) => s !== '');
  return { arrayPointer, arrayPath, pairs, rest };
}

function parseJsonPathForm(path: string): Selection | undefined {
  if (!path.startsWith('$')) return undefined;
  const m = /^\$((?:\.[A-Za-z0-9_@]+)+)\[\?\((.+)\)\]((?:\.[A-Za-z0-9_@]+)*)$/.exec(path);
  if (!m) throw badRequest('Invalid JSON Patch Query', `unsupported JSONPath ${path}`);
  const arrayPath = (m[1] ?? '').slice(1).split('.');
  const pairs = (m[2] ?? '').split('&&').map((cond): [string, string] => {
    const c = /^\s*@\.([A-Za-z0-9_@.]+)\s*==\s*(.+?)\s*$/.exec(cond);
    if (!c) throw badRequest('Invalid JSON Patch Query', `unsupported condition "${cond.trim()}" in ${path}`);
    return [c[1] ?? '', unquote(c[2] ?? '')];
  });
  const rest = (m[3] ?? '')
    .split('.')
    .filter((s) => s !== '')
    .map((s) => `/${escapeSegment(s)}`)
    .join('');
  return { arrayPointer: arrayPath.map((s) => `/${escapeSegment(s)}`).join(''), arrayPath, pairs, rest };
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (node !== null && typeof node === 'object') node = (node as Record<string, unknown>)[key];
    else return undefined;
  }
  return node;
}

/**
 * Expands `path` into the JSON Pointers it selects in `cart`, highest index first so that
 * removals do not shift the elements still to be removed. A query selecting nothing is a 400:
 * the client named elements that are not there.
 */
export function selectElements(cart: ShoppingCart, path: string): string[] {
  const sel = parseJsonPathForm(path) ?? parseTmfForm(path);
  if (!sel) return [path];
  const array = resolvePointer(cart, sel.arrayPointer);
  if (!Array.isArray(array))
    throw badRequest('Invalid JSON Patch Query', `${sel.arrayPointer} is not an array`);
  // Keys may be written from the root (cartItem.id) or relative to the element (id).
  const prefix = sel.arrayPath.join('.') + '.';
  const relative = sel.pairs.map(([k, v]): [string, string] => [
    k.startsWith(prefix) ? k.slice(prefix.length) : k,
    v,
  ]);
  const filter = parseFilterPairs(relative, `${sel.arrayPath.join('.')}.`);
  const selected: string[] = [];
  array.forEach((element, i) => {
    if (matchesFilter(filter, element)) selected.push(`${sel.arrayPointer}/${i}${sel.rest}`);
  });
  if (selected.length === 0) throw badRequest('Invalid JSON Patch Query', `${path} selects no element`);
  return selected.reverse();
}
