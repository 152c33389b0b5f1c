/**
 * The stored (canonical) cart as a TMF663 v5 ShoppingCart, pure. The canonical form is the v4
 * document the server has always stored, plus extension attributes that hold what only v5 can say
 * (docs/v5-mapping.md has every rule and its lossy corners). Each rule has its inverse in
 * cart-input.ts; test/unit/v5-round-trip.test.ts checks that the two undo each other.
 */
import type { ShoppingCart } from '../../api-types.js';
import { projectFields } from '../../query/evaluate.js';
import { pathOf } from '../../spec/document.js';
import { v4 } from '../../spec/v4.js';
import { v5 } from '../../spec/v5.js';
import type { V5ShoppingCart } from './api-types.js';
import { fillRequiredTypes } from './v5-document.js';

export type Json = Record<string, unknown>;

export const isRecord = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What the store keeps beside the document; v5 shows it as creationDate and lastUpdate. */
export interface CartMeta {
  createdAt?: string | undefined;
  updatedAt?: string | undefined;
}

/** Applies `f` to each element when `v` is an array; anything else is returned as it is. */
export const eachOf = (v: unknown, f: (e: unknown) => unknown): unknown => (Array.isArray(v) ? v.map(f) : v);

/** `o` without its undefined members. */
export const defined = (o: Json): Json =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Renames members of an object (from -> to); other members are kept. */
export const rename = (v: unknown, names: Readonly<Record<string, string>>): unknown => {
  if (!isRecord(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [names[k] ?? k, x]));
};

// ---------------------------------------------------------------------------------------------
// relatedParty: v4's flat reference <-> v5's RelatedPartyOrPartyRole {role, partyOrPartyRole}.

/** The members of a flat v4 reference that belong to the referenced entity in v5. */
export const partyMembers = ['id', 'href', 'name', '@referredType'] as const;
/** The @type of partyOrPartyRole when nothing else was recorded: v4's RelatedParty is a reference. */
export const defaultPartyType = 'PartyRef';
/** The @type of a related place's place when nothing else was recorded. */
export const defaultPlaceType = 'PlaceRef';

/**
 * A flat reference (v4: `{id, href, name, @referredType, role, ...}`) as an association holding
 * the reference under `member` (v5: `{role, partyOrPartyRole: {id, ...}}`). What the flat form
 * kept under `member` (an extension: what it had no place for) joins the reference.
 */
export function nestReference(v: unknown, member: string, defaultType?: string): unknown {
  if (!isRecord(v)) return v;
  const { id, href, name, '@referredType': referredType, [member]: kept, ...association } = v;
  const reference: Json = {
    ...(isRecord(kept) ? kept : {}),
    ...defined({ id, href, name, '@referredType': referredType }),
  };
  if (defaultType !== undefined) reference['@type'] ??= defaultType;
  return { ...association, [member]: reference };
}

/**
 * The inverse of nestReference: the reference's own members flat on the association, the rest of
 * it kept under `member`, left out when it is only the default @type.
 */
export function flattenReference(v: unknown, member: string, defaultType?: string): unknown {
  if (!isRecord(v)) return v;
  const { [member]: reference, ...association } = v;
  if (!isRecord(reference)) return v;
  const { id, href, name, '@referredType': referredType, ...kept } = reference;
  const keys = Object.keys(kept);
  const nothingElse = keys.length === 0 || (keys.length === 1 && kept['@type'] === defaultType);
  return {
    ...association,
    ...defined({ id, href, name, '@referredType': referredType }),
    ...(nothingElse ? {} : { [member]: kept }),
  };
}

export const relatedPartyToV5 = (p: unknown): unknown =>
  nestReference(p, 'partyOrPartyRole', defaultPartyType);
const placeToV5 = (p: unknown): unknown => nestReference(p, 'place', defaultPlaceType);
/** v4 nests the related product in a relationship; v5 refers to it flat (id, href, name). */
const productRelationshipToV5 = (r: unknown): unknown => flattenReference(r, 'product');

// ---------------------------------------------------------------------------------------------
// contactMedium: v4's mediumType + characteristic <-> v5's @type subtypes.

export const mediumSubtypes = ['ContactMedium', 'PhoneContactMedium', 'EmailContactMedium'] as const;
export type MediumSubtype = (typeof mediumSubtypes)[number];
/** The v4 mediumType that each v5 subtype stands for (ContactMedium: none). */
export const mediumTypeOf: Readonly<Record<MediumSubtype, string | undefined>> = {
  ContactMedium: undefined,
  PhoneContactMedium: 'phone',
  EmailContactMedium: 'email',
};
/** The characteristic member each subtype has a place for, beside contactType. */
export const placedOn: Readonly<Record<MediumSubtype, string | undefined>> = {
  ContactMedium: undefined,
  PhoneContactMedium: 'phoneNumber',
  EmailContactMedium: 'emailAddress',
};
const phoneKinds = new Set(['phone', 'mobile', 'telephone', 'mobilephone']);
const isSubtype = (t: unknown): t is MediumSubtype => (mediumSubtypes as readonly unknown[]).includes(t);

/** The v5 subtype of a stored contact medium: its own @type when v5 knows it, else by mediumType, else by content. */
export function mediumSubtype(m: Json): MediumSubtype {
  if (isSubtype(m['@type'])) return m['@type'];
  const kind = typeof m.mediumType === 'string' ? m.mediumType.toLowerCase() : undefined;
  if (kind === 'email') return 'EmailContactMedium';
  if (kind !== undefined && phoneKinds.has(kind)) return 'PhoneContactMedium';
  if (kind === undefined && isRecord(m.characteristic)) {
    const email = m.characteristic.emailAddress !== undefined;
    const phone = m.characteristic.phoneNumber !== undefined;
    if (email && !phone) return 'EmailContactMedium';
    if (phone && !email) return 'PhoneContactMedium';
  }
  return 'ContactMedium';
}

export function contactMediumToV5(m: unknown): unknown {
  if (!isRecord(m)) return m;
  const type = mediumSubtype(m);
  const { mediumType, characteristic, '@type': _type, ...rest } = m;
  const out: Json = { ...rest, '@type': type };
  if (mediumType !== undefined && mediumType !== mediumTypeOf[type]) out.mediumType = mediumType;
  if (!isRecord(characteristic)) {
    if (characteristic !== undefined) out.characteristic = characteristic;
    return out;
  }
  const placed = new Set(
    ['contactType', placedOn[type]].filter((k) => characteristic[k ?? ''] !== undefined),
  );
  const left = Object.fromEntries(Object.entries(characteristic).filter(([k]) => !placed.has(k)));
  for (const member of placed) if (member !== undefined) out[member] = characteristic[member];
  // What v5 has no place for (postal, fax, social; the other subtype's member) stays under its v4
  // name; an empty characteristic is kept only when v4 stored one.
  if (Object.keys(left).length > 0 || Object.keys(characteristic).length === 0) out.characteristic = left;
  return out;
}

// ---------------------------------------------------------------------------------------------
// itemTerm.duration / productTerm.duration: v4 Quantity (float amount) <-> v5 Duration (integer).

/**
 * Where the v5 view keeps an amount that is not a whole number within ±(2^53 − 1) (v5's
 * Duration.amount is an integer, bounded by the served document's safe-integers fix-up).
 */
export const decimalAmount = 'decimalAmount';

export function durationToV5(d: unknown): unknown {
  if (!isRecord(d) || typeof d.amount !== 'number' || Number.isSafeInteger(d.amount)) return d;
  const { amount, ...rest } = d;
  return { ...rest, [decimalAmount]: amount };
}

const termToV5 = (t: unknown): unknown =>
  isRecord(t) && t.duration !== undefined ? { ...t, duration: durationToV5(t.duration) } : t;

// ---------------------------------------------------------------------------------------------
// product: v4's ProductRefOrValue <-> v5's Product | ProductRef, chosen by @type.

const refShaped = new Set(['id', 'href', 'name', '@referredType', '@type', '@baseType', '@schemaLocation']);

/** Product or ProductRef: the stored @type when it is one of them, else ProductRef for a bare reference. */
export function productType(p: Json): 'Product' | 'ProductRef' {
  const t = p['@type'];
  if (t === 'Product' || t === 'ProductRef') return t;
  return typeof p.id === 'string' && Object.keys(p).every((k) => refShaped.has(k)) ? 'ProductRef' : 'Product';
}

/** v4 member names inside product that v5 spells differently. */
export const agreementToV5 = { id: 'agreementId', href: 'agreementHref', name: 'agreementName' } as const;
export const orderItemToV5 = { productOrderId: 'orderId', productOrderHref: 'orderHref' } as const;
export const productPriceToV5 = { productPriceAlteration: 'priceAlteration' } as const;

/** The Characteristic subtype of a characteristic's value (v5 types characteristics by value). */
export function characteristicType(value: unknown): string {
  if (typeof value === 'string') return 'StringCharacteristic';
  if (typeof value === 'boolean') return 'BooleanCharacteristic';
  if (typeof value === 'number')
    return Number.isInteger(value) ? 'IntegerCharacteristic' : 'NumberCharacteristic';
  if (isRecord(value)) return 'ObjectCharacteristic';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return 'StringArrayCharacteristic';
    if (value.every((v) => typeof v === 'boolean')) return 'BooleanArrayCharacteristic';
    if (value.every((v) => typeof v === 'number' && Number.isInteger(v))) return 'IntegerArrayCharacteristic';
    if (value.every((v) => typeof v === 'number')) return 'NumberArrayCharacteristic';
    return 'ObjectArrayCharacteristic';
  }
  return 'Characteristic';
}

const characteristicToV5 = (c: unknown): unknown =>
  isRecord(c) && c['@type'] === undefined ? { ...c, '@type': characteristicType(c.value) } : c;

export function productToV5(p: unknown): unknown {
  if (!isRecord(p)) return p;
  const { agreement, ...rest } = p;
  const out: Json = { ...rest, '@type': productType(p) };
  if (agreement !== undefined) out.agreementItem = eachOf(agreement, (a) => rename(a, agreementToV5));
  const mapped: Json = defined({
    relatedParty: eachOf(p.relatedParty, relatedPartyToV5),
    product: eachOf(p.product, productToV5),
    productTerm: eachOf(p.productTerm, termToV5),
    productCharacteristic: eachOf(p.productCharacteristic, characteristicToV5),
    productOrderItem: eachOf(p.productOrderItem, (o) => rename(o, orderItemToV5)),
    productPrice: eachOf(p.productPrice, (pp) => rename(pp, productPriceToV5)),
    productRelationship: eachOf(p.productRelationship, productRelationshipToV5),
    place: eachOf(p.place, placeToV5),
  });
  return { ...out, ...mapped };
}

// ---------------------------------------------------------------------------------------------
// href: the server's URL of the cart, stored as the v4 resource's; the v5 view names the v5 one.

const cartsOf = (spec: typeof v4): string => `${spec.basePath}${pathOf(spec, 'createShoppingCart')}/`;
/** The URL path of each version's carts, from its route table: `/tmf-api/shoppingCart/v4/shoppingCart/`. */
const resources = { v4: cartsOf(v4), v5: cartsOf(v5) };
const resourceOf = (version: 'v4' | 'v5'): string => resources[version];

/** The same URL on another version's base path, when it is the server's URL of a cart. */
export function hrefOnVersion(href: unknown, from: 'v4' | 'v5', to: 'v4' | 'v5'): unknown {
  if (typeof href !== 'string') return href;
  const at = href.lastIndexOf(resourceOf(from));
  if (at < 0 || href.indexOf('/', at + resourceOf(from).length) >= 0) return href;
  return `${href.slice(0, at)}${resourceOf(to)}${href.slice(at + resourceOf(from).length)}`;
}

// ---------------------------------------------------------------------------------------------
// cartItem and the cart.

export function cartItemToV5(i: unknown): unknown {
  if (!isRecord(i)) return i;
  // ItemTotalPrice is v4's spelling of the computed itemTotalPrice; pricing never stores it.
  const { ItemTotalPrice: _v4Spelling, ...rest } = i;
  return {
    ...rest,
    ...defined({
      cartItem: eachOf(i.cartItem, cartItemToV5),
      product: i.product === undefined ? undefined : productToV5(i.product),
      itemTerm: eachOf(i.itemTerm, termToV5),
    }),
  };
}

/**
 * The v5 representation of a stored cart: creationDate and lastUpdate from the store's metadata,
 * href on the v5 base path, every @type v5 requires present. `cart` may be a projection (only some attributes).
 */
export function toV5Cart(cart: ShoppingCart, meta: CartMeta): V5ShoppingCart {
  const { creationDate: _c, lastUpdate: _l, ...rest } = cart as Json;
  const out: Json = {
    ...rest,
    ...defined({
      href: hrefOnVersion(rest.href, 'v4', 'v5'),
      relatedParty: eachOf(rest.relatedParty, relatedPartyToV5),
      contactMedium: eachOf(rest.contactMedium, contactMediumToV5),
      cartItem: eachOf(rest.cartItem, cartItemToV5),
      creationDate: meta.createdAt,
      lastUpdate: meta.updatedAt,
    }),
  };
  return fillRequiredTypes('ShoppingCart', out) as V5ShoppingCart;
}

/** `fields` plus the `@type` of every object on their way: v5 requires it, and it says which subtype. */
const withTypes = (fields: readonly (readonly string[])[]): string[][] => [
  ['@type'],
  ...fields.flatMap((f) => [...f.slice(0, -1).map((_, i) => [...f.slice(0, i + 1), '@type']), [...f]]),
];

/**
 * A v5 view narrowed to `fields` (TMF630, v5 paths): id and href stay, and so does every `@type`
 * v5 requires on what is kept (filled from the schema where the view had none).
 */
export const projectV5 = (view: object, fields: readonly (readonly string[])[]): V5ShoppingCart =>
  fillRequiredTypes('ShoppingCart', projectFields(view, withTypes(fields))) as V5ShoppingCart;
