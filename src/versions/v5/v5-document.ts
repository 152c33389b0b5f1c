/**
 * The v5 document (src/spec/v5.ts): an ajv validator for any
 * of its schemas by name, and the walk that gives every object the `@type` v5 requires of it.
 * Schemas are recursive (CartItem.cartItem, Product.product), so $refs are resolved one step at a
 * time while walking a value, never expanded.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ArrayMembers } from '../../cart/patch-query.js';
import type { PatchDialect } from '../../cart/patch.js';
import { schemaErrorMessage } from '../../cart/validate-cart.js';
import type { AppError } from '../../errors.js';
import { v5 } from '../../spec/v5.js';
import type { V5SchemaName } from './api-types.js';
import type { SchemaObject } from '../../spec/document.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const components = v5.document.components ?? {};
const schemas: Record<string, SchemaObject> = components.schemas ?? {};
const refPrefix = '#/components/schemas/';

/** An ajv over the document's components: the first error only, or (allErrors) every one. */
function validatorsOf(allErrors: boolean): (name: V5SchemaName) => ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors, validateFormats: true });
  addFormats(ajv);
  for (const format of ['float', 'double', 'int32', 'int64', 'base64']) ajv.addFormat(format, true);
  ajv.addSchema({ $id: 'tmf663v5', components });
  const validators = new Map<string, ValidateFunction>();
  return (name) => {
    const known = validators.get(name);
    if (known) return known;
    const compiled = ajv.getSchema(`tmf663v5#/components/schemas/${name}`);
    if (!compiled) throw new Error(`${name} missing from the v5 document`);
    validators.set(name, compiled);
    return compiled;
  };
}

const validatorOf = validatorsOf(false);
/** Compiled on first use: only a patch of a cart that already breaks the v5 schema needs it. */
let everyErrorValidatorOf: ((name: V5SchemaName) => ValidateFunction) | undefined;

const describe = (errors: readonly ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => schemaErrorMessage(e, 'the body'));

/** The first problem of `value` against the v5 schema `name`, or undefined when it is valid. */
export function v5Problem(name: V5SchemaName, value: unknown): string | undefined {
  const validate = validatorOf(name);
  if (validate(value)) return undefined;
  return describe(validate.errors)[0] ?? 'the body: is invalid';
}

/** Every problem of `value` against the v5 schema `name` (none when it is valid). */
export function v5Problems(name: V5SchemaName, value: unknown): string[] {
  if (validatorOf(name)(value)) return [];
  everyErrorValidatorOf ??= validatorsOf(true);
  const validate = everyErrorValidatorOf(name);
  return validate(value) ? [] : describe(validate.errors);
}

/** Throws `refused(problem)`, naming the first offending field, when `value` is not a valid v5 `name`. */
export function assertValidV5(
  name: V5SchemaName,
  value: unknown,
  refused: (problem: string) => AppError,
): void {
  const problem = v5Problem(name, value);
  if (problem !== undefined) throw refused(problem);
}

// ---------------------------------------------------------------------------------------------
// Required @type, filled from the schema.

const nameOf = (ref: string): string | undefined =>
  ref.startsWith(refPrefix) ? ref.slice(refPrefix.length) : undefined;

interface Flat {
  /** The schema's own name, when it was reached through a $ref. */
  name: string | undefined;
  properties: Record<string, SchemaObject>;
  required: Set<string>;
  mapping: Record<string, string> | undefined;
  oneOf: SchemaObject[] | undefined;
  typeEnum: unknown[] | undefined;
}

const flatCache = new Map<SchemaObject, Flat>();

/** The properties, required names and discriminator of a schema, through its $refs and allOf. */
function flatten(node: SchemaObject, name?: string): Flat {
  const hit = flatCache.get(node);
  if (hit) return hit;
  const out: Flat = {
    name,
    properties: {},
    required: new Set(),
    mapping: undefined,
    oneOf: undefined,
    typeEnum: undefined,
  };
  flatCache.set(node, out);
  const add = (n: SchemaObject, depth: number): void => {
    if (depth > 32) return;
    if (n.$ref !== undefined) {
      const target = nameOf(n.$ref);
      const s = target === undefined ? undefined : schemas[target];
      if (s === undefined) return;
      out.name ??= target;
      add(s, depth + 1);
      return;
    }
    Object.assign(out.properties, n.properties ?? {});
    for (const r of n.required ?? []) out.required.add(r);
    out.mapping ??= n.discriminator?.mapping;
    out.oneOf ??= n.oneOf;
    out.typeEnum ??= n.properties?.['@type']?.enum;
    for (const part of n.allOf ?? []) add(part, depth + 1);
  };
  add(node, 0);
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const itemsOf = (node: SchemaObject): SchemaObject | undefined => {
  let n: SchemaObject | undefined = node;
  for (let hops = 0; n?.$ref !== undefined && hops < 16; hops++) {
    const target = nameOf(n.$ref);
    n = target === undefined ? undefined : schemas[target];
  }
  return n?.type === 'array' ? n.items : undefined;
};

/** The default `@type` of a schema: its own name when the discriminator maps it, else the only mapped name. */
function defaultType(flat: Flat): string | undefined {
  const mapped = Object.keys(flat.mapping ?? {});
  if (flat.name !== undefined && (mapped.length === 0 || mapped.includes(flat.name))) return flat.name;
  return mapped.length === 1 ? mapped[0] : undefined;
}

function fill(value: unknown, node: SchemaObject, depth: number): unknown {
  if (depth > 200) return value;
  if (Array.isArray(value)) {
    const items = itemsOf(node);
    return items === undefined ? value : value.map((v) => fill(v, items, depth + 1));
  }
  if (!isRecord(value)) return value;
  let flat = flatten(node);
  if (flat.oneOf !== undefined) {
    // A polymorphic attribute: the branch is the one whose @type enum (fix-up one-of-by-type)
    // names the value's @type. Without one, the mapping code chose none: leave it as it is.
    const type = value['@type'];
    const branch = flat.oneOf.find((b) => flatten(b).typeEnum?.includes(type) === true);
    if (branch === undefined) return value;
    flat = flatten(branch);
  }
  const out: Record<string, unknown> = {};
  if (flat.required.has('@type') && value['@type'] === undefined) {
    const type = defaultType(flat);
    if (type !== undefined) out['@type'] = type;
  }
  for (const [key, v] of Object.entries(value)) {
    const child = flat.properties[key];
    out[key] = child === undefined ? v : fill(v, child, depth + 1);
  }
  return out;
}

/**
 * Gives every object in `value` that the v5 schema `name` requires a `@type` of, and that has
 * none, its default: the schema's own name (CartItem, Price, ...). A new object; `value` is not
 * changed. Polymorphic attributes must already carry their @type (the mapping chooses it).
 */
export function fillRequiredTypes(name: V5SchemaName, value: unknown): unknown {
  const node = schemas[name];
  if (node === undefined) throw new Error(`${name} missing from the v5 document`);
  return fill(value, { $ref: `${refPrefix}${name}` }, 0);
}

// ---------------------------------------------------------------------------------------------
// What a patch of the v5 view needs to know of the document.

const shoppingCartNode: SchemaObject = { $ref: `${refPrefix}ShoppingCart` };

/** Which members of a v5 path are arrays, walked from v5's ShoppingCart (through $refs and allOf). */
export const v5ArrayMembers: ArrayMembers = (keys) => {
  let node: SchemaObject | undefined = shoppingCartNode;
  return keys.map((key) => {
    const declared = node === undefined ? undefined : flatten(node).properties[key];
    const items = declared === undefined ? undefined : itemsOf(declared);
    node = items ?? declared;
    return declared === undefined ? undefined : items !== undefined;
  });
};

const jsonPatchOps = schemas.JsonPatch?.properties?.op?.enum ?? [];

/** v5's patch rules: its own array members, and `delete` on JSON Patch when its document lists it. */
export const v5PatchDialect: PatchDialect = {
  arrayMembers: v5ArrayMembers,
  jsonPatchDelete: jsonPatchOps.includes('delete'),
};
