/**
 * Validates a whole cart against the ShoppingCart schema of the generated OpenAPI document. The
 * request validator checks what a client sends; this checks what a patch produces, before it is
 * stored (TMF630: the patched document must be valid as a whole).
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ShoppingCart } from '../api-types.js';
import { cartTooDeep, fieldName, fieldProblem, invalidShoppingCart, pointerSegments } from '../errors.js';
import { dateTimeFormat } from '../query/dates.js';
import { v4 } from '../spec/v4.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);
ajv.addFormat('float', true);
ajv.addFormat('int32', true);
ajv.addFormat('int64', true);
// The server's one date-time reader, as the request validator uses it (src/query/dates.ts).
ajv.addFormat('date-time', dateTimeFormat);
ajv.addSchema({ $id: 'tmf663', components: v4.document.components });

const shoppingCart = ajv.getSchema('tmf663#/components/schemas/ShoppingCart');
if (!shoppingCart) throw new Error('ShoppingCart schema missing from the v4 document');
const validateShoppingCart = shoppingCart;

/**
 * A schema validator's error in the API's message style, `cartItem[0].quantity: must be integer`
 * (`whole` names the value itself: `the cart`, `the body`). Every version's checks use it.
 */
export const schemaErrorMessage = (e: ErrorObject, whole = 'the cart'): string => {
  const segments = pointerSegments(e.instancePath);
  // A missing member is named as the field it would be.
  if (e.keyword === 'required') {
    segments.push(String((e.params as { missingProperty?: unknown }).missingProperty));
    return fieldProblem(fieldName(segments), 'is required');
  }
  return fieldProblem(segments.length === 0 ? whole : fieldName(segments), e.message ?? 'is invalid');
};

/** How deeply arrays and objects nest in a JSON value: 0 for a scalar, 1 for {} or [], ... */
export function nestingDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    const d = nestingDepth(child);
    if (d > deepest) deepest = d;
  }
  return deepest + 1;
}

/**
 * Throws a 400 when a patched cart nests deeper than a request body may: a JSON Patch can put a
 * body-deep value at a body-deep path, and the stores have limits of their own (SQLite's JSON
 * functions stop at 1,000 levels, MongoDB at 100).
 */
export function assertCartDepth(cart: unknown, max: number): void {
  if (nestingDepth(cart) > max) {
    throw cartTooDeep(max);
  }
}

/** Throws a 400 naming the first offending field when `cart` is not a valid ShoppingCart. */
export function assertValidCart(cart: unknown): asserts cart is ShoppingCart {
  if (!validateShoppingCart(cart)) {
    const first = validateShoppingCart.errors?.[0];
    throw invalidShoppingCart(first ? schemaErrorMessage(first) : 'the cart is invalid');
  }
}
