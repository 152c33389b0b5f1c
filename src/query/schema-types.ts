/**
 * What the ShoppingCart schema says about a dotted attribute path: how its values compare
 * (ValueKind) and which of its segments are arrays. The schema is the converted OpenAPI document,
 * read once at module load; its $refs are recursive (CartItem.cartItem), so they are resolved one
 * step at a time while walking a path, never expanded.
 *
 * A segment the schema does not declare (TMF allows extension attributes), or one declared with
 * an empty schema (`Any`, e.g. productCharacteristic.value), makes it and everything after it
 * unknown: unknown segments may or may not be arrays, and an unknown leaf compares as 'string'
 * (see evaluate.ts for how a 'string' condition treats numbers and booleans it meets there).
 * `@type`, `@baseType`, `@schemaLocation` and `@referredType` are declared attributes like others.
 */
import { v4 } from '../spec/v4.js';
import type { ValueKind } from './ast.js';
import type { SchemaObject } from '../spec/document.js';

const schemas: Record<string, SchemaObject> = v4.document.components?.schemas ?? {};

const refPrefix = '#/components/schemas/';

const resolve = (node: SchemaObject): SchemaObject => {
  let current = node;
  // A $ref chain is short; the bound only guards against a self-referencing alias.
  for (let hops = 0; current.$ref !== undefined && hops < 16; hops++) {
    const name = current.$ref.startsWith(refPrefix) ? current.$ref.slice(refPrefix.length) : undefined;
    const target = name === undefined ? undefined : schemas[name];
    if (target === undefined) return {};
    current = target;
  }
  return current;
};

const root = schemas.ShoppingCart;
if (root === undefined) throw new Error('ShoppingCart schema missing from the v4 document');

/** What sits at the end of a path, as far as the schema knows. */
export type LeafType = ValueKind | 'object' | 'array' | 'unknown';

export interface PathInfo {
  /** How values at the path compare: the leaf type when scalar, else 'string'. */
  kind: ValueKind;
  /** Per segment: true when the schema declares it an array, false when not, undefined when unknown. */
  arrays: (boolean | undefined)[];
  /** How many leading segments the schema declares (the rest are unknown). */
  known: number;
  leaf: LeafType;
}

const leafOf = (node: SchemaObject): LeafType => {
  switch (node.type ?? '') {
    case 'string':
      return node.format === 'date-time' ? 'date' : 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'array';
    case 'object':
      return 'object';
    default:
      return node.properties === undefined ? 'unknown' : 'object';
  }
};

/** The declared schema of `name` inside `node`, or undefined (unknown, or an empty schema). */
const child = (node: SchemaObject, name: string): SchemaObject | undefined => {
  const properties = node.properties;
  if (properties === undefined || !Object.hasOwn(properties, name)) return undefined;
  const declared = properties[name];
  if (declared === undefined) return undefined;
  const resolved = resolve(declared);
  return leafOf(resolved) === 'unknown' ? undefined : resolved;
};

const cache = new Map<string, PathInfo>();

/**
 * Describes `path`, read from the schema reached by `from` (the ShoppingCart when empty; a path
 * like ['cartItem'] describes the elements of that array, for filters relative to an element).
 */
export function describePath(path: readonly string[], from: readonly string[] = []): PathInfo {
  const cacheKey = JSON.stringify([from, path]);
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  let node: SchemaObject | undefined = root;
  for (const segment of from) {
    const next: SchemaObject | undefined = node === undefined ? undefined : child(node, segment);
    node = next?.type === 'array' && next.items !== undefined ? resolve(next.items) : next;
  }
  const arrays: (boolean | undefined)[] = [];
  let known = 0;
  for (const segment of path) {
    const next: SchemaObject | undefined = node === undefined ? undefined : child(node, segment);
    if (next === undefined) {
      node = undefined;
      arrays.push(undefined);
      continue;
    }
    known += 1;
    if (next.type === 'array') {
      arrays.push(true);
      const items = next.items === undefined ? undefined : resolve(next.items);
      node = items === undefined || leafOf(items) === 'unknown' ? undefined : items;
    } else {
      arrays.push(false);
      node = next;
    }
  }
  let leaf: LeafType = 'unknown';
  if (known === path.length && node !== undefined) leaf = leafOf(node);
  const kind: ValueKind = leaf === 'number' || leaf === 'boolean' || leaf === 'date' ? leaf : 'string';
  const info: PathInfo = { kind, arrays, known, leaf };
  if (cache.size > 1000) cache.clear();
  cache.set(cacheKey, info);
  return info;
}
