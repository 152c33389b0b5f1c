/**
 * Validates a whole cart against the ShoppingCart schema of the generated OpenAPI document. The
 * request validator checks what a client sends; this checks what a patch produces, before it is
 * stored (TMF630: the patched document must be valid as a whole).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { badRequest } from '../errors.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const doc = JSON.parse(
  readFileSync(new URL('../../generated/tmf663-openapi.json', import.meta.url), 'utf8'),
) as { components: Record<string, unknown> };

const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);
ajv.addFormat('float', true);
ajv.addFormat('int32', true);
ajv.addFormat('int64', true);
ajv.addSchema({ $id: 'tmf663', components: doc.components });

const shoppingCart = ajv.getSchema('tmf663#/components/schemas/ShoppingCart');
if (!shoppingCart) throw new Error('ShoppingCart schema missing from generated/tmf663-openapi.json');
const validateShoppingCart = shoppingCart;

const describe = (e: ErrorObject): string => {
  const at = e.instancePath === '' ? 'the cart' : e.instancePath.slice(1).replaceAll('/', '.');
  return `${at} ${e.message ?? 'is invalid'}`;
};

/** Throws a 400 naming the first offending field when `cart` is not a valid ShoppingCart. */
export function assertValidCart(cart: unknown): void {
  if (!validateShoppingCart(cart)) {
    const first = validateShoppingCart.errors?.[0];
    throw badRequest('Invalid shopping cart', first ? describe(first) : 'the cart is invalid');
  }
}
