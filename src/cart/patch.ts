/**
 * Applies a PATCH body to a cart, pure: the cart is never mutated, a new one is returned.
 *
 * - application/merge-patch+json and application/json: RFC 7396 (null deletes, arrays replace).
 * - application/json-patch+json: RFC 6902 through fast-json-patch (and `delete` as an alias of
 *   `remove` where the version's document allows it: PatchDialect).
 * - application/json-patch-query+json: TMF630 JSON Patch Query; a path may select array
 *   elements by a query (`/cartItem?cartItem.id=2/quantity`) or by the JSONPath filter form
 *   (`$.cartItem[?(@.id=='2')].quantity`); each selection is expanded into plain RFC 6902
 *   operations, one per selected element, and `delete` is an alias of `remove`.
 *
 * Read-only members cannot be written by any format (400): `id`, `href`, `validFor`,
 * `cartTotalPrice`, and the computed `itemTotalPrice`/`ItemTotalPrice` of every item.
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { ShoppingCart } from '../api-types.js';
import {
  forbiddenAttributeName,
  invalidJsonPatch,
  invalidJsonPatchQuery,
  invalidMergePatch,
  jsonPatchTestFailed,
  readOnlyAttribute,
  unsupportedMediaType,
  type AppError,
} from '../errors.js';
import { assertNoForbiddenKeys, forbiddenKeys } from '../forbidden-keys.js';
import { selectElements, v4ArrayMembers, type ArrayMembers } from './patch-query.js';

const { applyPatch, JsonPatchError } = fastJsonPatch;

export const patchMediaTypes = [
  'application/merge-patch+json',
  'application/json',
  'application/json-patch+json',
  'application/json-patch-query+json',
] as const;
export type PatchMediaType = (typeof patchMediaTypes)[number];

const readOnlyTop = ['id', 'href', 'validFor', 'cartTotalPrice'] as const;
const computed = new Set(['itemTotalPrice', 'ItemTotalPrice']);

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function patchMediaType(contentType: string | undefined): PatchMediaType {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if ((patchMediaTypes as readonly string[]).includes(type)) return type as PatchMediaType;
  throw unsupportedMediaType(`PATCH accepts ${patchMediaTypes.join(', ')}; got "${type || 'none'}"`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7396 section 2, written out so it cannot write through a prototype. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const base = isObject(target) ? target : {};
  const result = new Map<string, unknown>(Object.entries(base));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) result.delete(key);
    else result.set(key, mergePatch(base[key], value));
  }
  return Object.fromEntries(result);
}

function hasComputedTotals(items: unknown): boolean {
  if (!Array.isArray(items)) return false;
  return items.some(
    (item) =>
      isObject(item) && (Object.keys(item).some((k) => computed.has(k)) || hasComputedTotals(item.cartItem)),
  );
}

const readOnlyError = (member: string): AppError =>
  readOnlyAttribute(`${member} is computed or owned by the server and cannot be patched`);

function applyMergePatch<T extends object>(cart: T, body: unknown): T {
  if (!isObject(body)) throw invalidMergePatch('a merge patch for a cart must be a JSON object');
  const current: Partial<Record<string, unknown>> = cart;
  for (const member of readOnlyTop) {
    // Sending a read-only member back unchanged (as a GET returned it) is allowed; changing it is not.
    if (member in body && JSON.stringify(body[member]) !== JSON.stringify(current[member])) {
      throw readOnlyError(member);
    }
  }
  if (hasComputedTotals(body.cartItem)) throw readOnlyError('itemTotalPrice');
  return mergePatch(cart, body) as T;
}

const decodePointer = (path: string): string[] =>
  path === ''
    ? []
    : path
        .slice(1)
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));

/** Every path and from of every operation, read or write: never through a prototype. */
function assertNoPrototypePath(pointer: string, field: string): void {
  if (pointer !== '' && !pointer.startsWith('/')) {
    throw invalidJsonPatch(`${field} "${pointer}" is not a JSON Pointer`);
  }
  for (const s of decodePointer(pointer)) {
    if (forbiddenKeys.has(s)) throw forbiddenAttributeName(`"${s}" is not allowed in ${field}`);
  }
}

function assertWritablePath(pointer: string, field: string): void {
  assertNoPrototypePath(pointer, field);
  const segments = decodePointer(pointer);
  if (segments.length === 0) throw readOnlyError('the whole cart');
  for (const s of segments) {
    if (computed.has(s)) throw readOnlyError(s);
  }
  const top = segments[0] ?? '';
  if ((readOnlyTop as readonly string[]).includes(top)) throw readOnlyError(top);
}

interface RawOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function toOperations(body: unknown): RawOperation[] {
  if (!Array.isArray(body)) throw invalidJsonPatch('a JSON Patch must be an array of operations');
  return body.map((op: unknown, i) => {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw invalidJsonPatch(`operation ${i} needs string op and path`);
    }
    if (op.from !== undefined && typeof op.from !== 'string') {
      throw invalidJsonPatch(`operation ${i}: from must be a string`);
    }
    return op as unknown as RawOperation;
  });
}

/** RFC 6902 §4.4: a location cannot be moved into one of its own children. */
function isProperPrefix(from: string, path: string): boolean {
  return path.startsWith(`${from}/`);
}

/**
 * What a JSON Patch error of the library means, in the API's message style (`field: problem`),
 * naming the operation by its position in the patch.
 */
function patchProblem(e: InstanceType<typeof JsonPatchError>): string {
  const op = e.operation as Partial<RawOperation> | undefined;
  const at = e.index === undefined ? '' : ` (operation ${e.index})`;
  const path = op?.path ?? '';
  switch (e.name) {
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
      return `path: ${path} does not exist in the cart${at}`;
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `from: ${op?.from ?? ''} does not exist in the cart${at}`;
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
      return `path: ${path} does not name an array element (an index or "-")${at}`;
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
      return `path: ${path} is past the end of its array${at}`;
    case 'OPERATION_VALUE_REQUIRED':
    case 'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED':
      return `value: required by ${op?.op ?? 'this operation'}${at}`;
    case 'OPERATION_FROM_REQUIRED':
      return `from: required by ${op?.op ?? 'this operation'}${at}`;
    case 'OPERATION_OP_INVALID':
      return `op: must be one of add, remove, replace, move, copy, test${at}`;
    case 'OPERATION_PATH_INVALID':
      return `path: must be a JSON Pointer (RFC 6901)${at}`;
    case 'SEQUENCE_NOT_AN_ARRAY':
    case 'OPERATION_NOT_AN_OBJECT':
    case 'TEST_OPERATION_FAILED':
      return `operation: not a valid RFC 6902 operation${at}`;
  }
}

function applyJsonPatch<T extends object>(cart: T, ops: RawOperation[]): T {
  ops.forEach((op, i) => {
    assertNoPrototypePath(op.path, 'path');
    if (op.from !== undefined) assertNoPrototypePath(op.from, 'from');
    if (op.op === 'test') return; // reading is always allowed (never through a prototype)
    assertWritablePath(op.path, 'path');
    if (op.op === 'move' && op.from !== undefined) {
      assertWritablePath(op.from, 'from');
      if (isProperPrefix(op.from, op.path))
        throw invalidJsonPatch(`path: ${op.path} is inside from ${op.from} (operation ${i})`);
    }
  });
  const doc = structuredClone(cart);
  try {
    // validateOperation=true checks op names and paths; the document is a private copy.
    return applyPatch(doc, ops as Operation[], true, true).newDocument;
  } catch (e) {
    if (e instanceof JsonPatchError) {
      if (e.name === 'TEST_OPERATION_FAILED') {
        throw jsonPatchTestFailed((e.operation as { path?: string } | undefined)?.path ?? '?');
      }
      throw invalidJsonPatch(patchProblem(e));
    }
    // Anything else the library throws comes from a patch it could not apply to this cart (for
    // example a path through a value that is not a container). The cart is a private copy, so
    // nothing was changed: the client's patch is at fault, never the server.
    if (e instanceof TypeError || e instanceof RangeError)
      throw invalidJsonPatch('operation: cannot be applied to this cart');
    throw e;
  }
}

/**
 * What differs between the API versions' patches: which members are arrays (for JSON Patch Query
 * selections, from the version's own document) and whether its JSON Patch takes `delete` as an
 * alias of `remove` (v5's document lists it; v4's does not).
 */
export interface PatchDialect {
  arrayMembers: ArrayMembers;
  jsonPatchDelete: boolean;
}

export const v4PatchDialect: PatchDialect = { arrayMembers: v4ArrayMembers, jsonPatchDelete: false };

const asRemove = (op: RawOperation): RawOperation => (op.op === 'delete' ? { ...op, op: 'remove' } : op);

/** A `from` with a query must select exactly one element: an operation reads one value. */
function selectOne(cart: object, from: string, arrayMembers: ArrayMembers): string {
  const selected = selectElements(cart, from, arrayMembers);
  if (selected.length !== 1) {
    throw invalidJsonPatchQuery(`from selects ${selected.length} elements; it must select one`);
  }
  return selected[0] ?? from;
}

export function applyCartPatch<T extends object = ShoppingCart>(
  cart: T,
  mediaType: PatchMediaType,
  body: unknown,
  dialect: PatchDialect = v4PatchDialect,
): T {
  assertNoForbiddenKeys(body, '');
  switch (mediaType) {
    case 'application/merge-patch+json':
    case 'application/json':
      return applyMergePatch(cart, body);
    case 'application/json-patch+json': {
      const ops = toOperations(body);
      return applyJsonPatch(cart, dialect.jsonPatchDelete ? ops.map(asRemove) : ops);
    }
    case 'application/json-patch-query+json': {
      // Each operation selects in the cart as the operations before it left it (RFC 6902 applies
      // operations in order); a selection becomes one plain operation per selected element,
      // highest index first so that removals do not shift the elements still to be removed.
      let current = cart;
      for (const op of toOperations(body)) {
        const name = asRemove(op).op;
        const from = op.from === undefined ? undefined : selectOne(current, op.from, dialect.arrayMembers);
        const ops = selectElements(current, op.path, dialect.arrayMembers).map((path) =>
          from === undefined ? { ...op, op: name, path } : { ...op, op: name, path, from },
        );
        current = applyJsonPatch(current, ops);
      }
      return current;
    }
  }
}
