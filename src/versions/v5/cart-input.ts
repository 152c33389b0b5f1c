/**
 * What a v5 client writes, as the stored (canonical) cart, pure: the inverse of each rule in
 * cart-view.ts (docs/v5-mapping.md). The canonical cart is always a valid v4 ShoppingCart, so
 * where v4 requires what v5 leaves optional the write is a 400 that names the v5 attribute.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ShoppingCart, ShoppingCartCreate } from '../../api-types.js';
import { applyCartPatch, type PatchMediaType } from '../../cart/patch.js';
import { assertValidCart } from '../../cart/validate-cart.js';
import { invalidPatch, invalidRelatedParty, invalidShoppingCart, readOnlyAttribute } from '../../errors.js';
import {
  agreementToV5,
  decimalAmount,
  defaultPartyType,
  defaultPlaceType,
  defined,
  flattenReference,
  eachOf,
  hrefOnVersion,
  isRecord,
  mediumSubtype,
  mediumTypeOf,
  nestReference,
  orderItemToV5,
  productPriceToV5,
  placedOn,
  rename,
  toV5Cart,
  type CartMeta,
  type Json,
} from './cart-view.js';
import { assertValidV5, v5PatchDialect, v5Problem, v5Problems } from './v5-document.js';
import { applyChanges } from './write-back.js';

const invert = (names: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(names).map(([k, v]) => [v, k]));
const agreementFromV5 = invert(agreementToV5);
const orderItemFromV5 = invert(orderItemToV5);
const productPriceFromV5 = invert(productPriceToV5);

/** The members v5 derives from the store's metadata: never part of the document. */
export const metadataMembers = ['creationDate', 'lastUpdate'] as const;

export function relatedPartyFromV5(p: unknown, at: string): unknown {
  if (!isRecord(p)) return p;
  const party = p.partyOrPartyRole;
  // v4 requires id and @referredType of every related party, and the cart is served on v4 too.
  if (!isRecord(party) || typeof party.id !== 'string' || typeof party['@referredType'] !== 'string') {
    throw invalidRelatedParty(
      `${at}.partyOrPartyRole needs id and @referredType: this cart is also served on TMF663 v4, which requires them`,
    );
  }
  return flattenReference(p, 'partyOrPartyRole', defaultPartyType);
}

export function contactMediumFromV5(m: unknown): unknown {
  if (!isRecord(m)) return m;
  const type = mediumSubtype(m);
  const { mediumType, characteristic, ...rest } = m;
  const placed = new Set(['contactType', placedOn[type]].filter((k) => rest[k ?? ''] !== undefined));
  const out = Object.fromEntries(Object.entries(rest).filter(([k]) => !placed.has(k)));
  const chr: Json = isRecord(characteristic) ? { ...characteristic } : {};
  for (const member of placed) if (member !== undefined) chr[member] = rest[member];
  const kind = mediumType ?? mediumTypeOf[type];
  if (kind !== undefined) out.mediumType = kind;
  if (isRecord(characteristic) || Object.keys(chr).length > 0) out.characteristic = chr;
  else if (characteristic !== undefined) out.characteristic = characteristic;
  return out;
}

export function durationFromV5(d: unknown): unknown {
  if (!isRecord(d) || d.amount !== undefined || typeof d[decimalAmount] !== 'number') return d;
  const { [decimalAmount]: amount, ...rest } = d;
  return { ...rest, amount };
}

const termFromV5 = (t: unknown): unknown =>
  isRecord(t) && t.duration !== undefined ? { ...t, duration: durationFromV5(t.duration) } : t;

export function productFromV5(p: unknown, at: string): unknown {
  if (!isRecord(p)) return p;
  const { agreementItem, ...rest } = p;
  const out: Json = { ...rest };
  if (agreementItem !== undefined) out.agreement = eachOf(agreementItem, (a) => rename(a, agreementFromV5));
  let i = 0;
  let j = 0;
  const mapped: Json = defined({
    relatedParty: eachOf(p.relatedParty, (r) => relatedPartyFromV5(r, `${at}.relatedParty.${i++}`)),
    product: eachOf(p.product, (q) => productFromV5(q, `${at}.product.${j++}`)),
    productTerm: eachOf(p.productTerm, termFromV5),
    productOrderItem: eachOf(p.productOrderItem, (o) => rename(o, orderItemFromV5)),
    productPrice: eachOf(p.productPrice, (pp) => rename(pp, productPriceFromV5)),
    productRelationship: eachOf(p.productRelationship, (r) => nestReference(r, 'product')),
    place: eachOf(p.place, (pl) => flattenReference(pl, 'place', defaultPlaceType)),
  });
  return { ...out, ...mapped };
}

export function cartItemFromV5(item: unknown, at: string): unknown {
  if (!isRecord(item)) return item;
  let i = 0;
  return {
    ...item,
    ...defined({
      cartItem: eachOf(item.cartItem, (c) => cartItemFromV5(c, `${at}.cartItem.${i++}`)),
      product: item.product === undefined ? undefined : productFromV5(item.product, `${at}.product`),
      itemTerm: eachOf(item.itemTerm, termFromV5),
    }),
  };
}

/**
 * The canonical form of a v5 document (a whole cart or a create body), not yet checked against
 * v4's schema; metadata members are dropped.
 */
export function fromV5Cart(v5: unknown): Json {
  if (!isRecord(v5)) throw invalidShoppingCart('a shopping cart must be a JSON object');
  const { creationDate: _c, lastUpdate: _l, ...rest } = v5;
  let r = 0;
  let c = 0;
  return {
    ...rest,
    ...defined({
      href: hrefOnVersion(rest.href, 'v5', 'v4'),
      relatedParty: eachOf(rest.relatedParty, (p) => relatedPartyFromV5(p, `relatedParty.${r++}`)),
      contactMedium: eachOf(rest.contactMedium, contactMediumFromV5),
      cartItem: eachOf(rest.cartItem, (i) => cartItemFromV5(i, `cartItem.${c++}`)),
    }),
  };
}

/**
 * A v5 create body (ShoppingCart_FVO) as the canonical create input: 400 when it is not a valid
 * ShoppingCart_FVO (a missing @type anywhere v5 requires one included) or not storable as a v4 cart.
 */
export function createInputFromV5(body: unknown): ShoppingCartCreate {
  assertValidV5('ShoppingCart_FVO', body, invalidShoppingCart);
  const cart = fromV5Cart(body);
  assertValidCart(cart);
  return cart;
}

const readOnlyError = (member: string) =>
  readOnlyAttribute(`${member} is owned by the server and cannot be patched`);

/** creationDate and lastUpdate are the store's: sent back unchanged they are allowed, changed they are a 400. */
function assertMetadataUntouched(view: Json, mediaType: PatchMediaType, body: unknown): void {
  if (mediaType === 'application/merge-patch+json' || mediaType === 'application/json') {
    if (!isRecord(body)) return;
    for (const member of metadataMembers) {
      if (member in body && body[member] !== view[member]) throw readOnlyError(member);
    }
    return;
  }
  if (!Array.isArray(body)) return;
  for (const op of body) {
    if (!isRecord(op) || op.op === 'test') continue;
    for (const pointer of [op.path, op.op === 'move' ? op.from : undefined]) {
      if (typeof pointer !== 'string') continue;
      const top = pointer.startsWith('$.') ? pointer.slice(2).split(/[.[]/)[0] : pointer.split(/[/?]/)[1];
      if ((metadataMembers as readonly (string | undefined)[]).includes(top)) throw readOnlyError(top ?? '');
    }
  }
}

/**
 * A patched view must not break the v5 schema where the view before it did not: a cart written on
 * v4 may lack what v5 requires (v5-mapping.md, corner 10), and a patch of something else must
 * still go through. The problems are compared as messages (the field and what is wrong).
 */
function assertNoNewV5Problems(view: unknown, patched: unknown): void {
  if (v5Problem('ShoppingCart', patched) === undefined) return;
  const before = new Set(v5Problems('ShoppingCart', view));
  const added = v5Problems('ShoppingCart', patched).find((p) => !before.has(p));
  if (added !== undefined) throw invalidShoppingCart(added);
}

/**
 * Applies a v5 PATCH body to the v5 view of a stored cart (TMF630: a patch applies to the
 * representation the client sees) and writes back into the stored cart only what the patch
 * changed (write-back.ts): a patch that changes nothing gives the stored cart itself. The body is
 * checked against the served document first (a merge patch without @type is a 400), the patched
 * view against v5's ShoppingCart (no problem the view did not already have), and the result
 * against v4's, so nothing unstorable is returned. Totals are not recomputed here: the cart
 * service prices what it stores.
 */
export function applyV5Patch(
  current: ShoppingCart,
  meta: CartMeta,
  mediaType: PatchMediaType,
  body: unknown,
): ShoppingCart {
  const merge = mediaType === 'application/merge-patch+json' || mediaType === 'application/json';
  // Each media type's body schema, as the served document gives it (a query path may be a JSONPath).
  const schema = merge
    ? 'ShoppingCart_MergePatch'
    : mediaType === 'application/json-patch-query+json'
      ? 'JsonPatchQuery'
      : 'JsonPatchOperations';
  assertValidV5(schema, body, invalidPatch);
  const view = toV5Cart(current, meta);
  assertMetadataUntouched(view, mediaType, body);
  const patched = applyCartPatch(view, mediaType, body, v5PatchDialect);
  if (isDeepStrictEqual(view, patched)) return current;
  assertNoNewV5Problems(view, patched);
  const cart = applyChanges(current, fromV5Cart(view), fromV5Cart(patched));
  assertValidCart(cart);
  return cart;
}
