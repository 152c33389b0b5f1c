/**
 * Round-trip properties of the v4 <-> v5 mapping (fast-check), docs/v5-mapping.md:
 * - a v4 cart (the canonical form) read through v5 is a valid v5 ShoppingCart, and written back
 *   through v5 (the whole view as a merge patch) is the same cart, except for the documented
 *   defaults v5 fills in (@type where v5 requires it, contactMedium.mediumType from the subtype);
 * - a v5 cart written through v5 is a valid v4 cart, which written back through v4 and read
 *   through v5 again is the same v5 cart, plus only what the server owns (id, href, creationDate,
 *   lastUpdate);
 * - every value the v5 view shows at a v5 path is found in the stored cart at the path
 *   toCanonicalPath gives, so a translated filter sees what a v5 client sees;
 * - v5 events made from v4 event records validate against the v5 event schemas.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ShoppingCart } from '../../src/api-types.js';
import { applyCartPatch } from '../../src/cart/patch.js';
import { assertValidCart } from '../../src/cart/validate-cart.js';
import { buildEvent, eventTypes } from '../../src/events/build-event.js';
import { applyV5Patch, createInputFromV5 } from '../../src/versions/v5/cart-input.js';
import { toV5Cart, type CartMeta } from '../../src/versions/v5/cart-view.js';
import { toV5Event } from '../../src/versions/v5/events.js';
import { toCanonicalPath } from '../../src/versions/v5/paths.js';
import { valuesAt } from '../../src/query/evaluate.js';
import { v5Problem } from '../../src/versions/v5/v5-document.js';

type Json = Record<string, any>;

const runs = { numRuns: 150 };
const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 -]{0,11}$/);
const ident = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const isoDate = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
  .map((ms) => new Date(ms).toISOString());
const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
/** A record whose undefined members are left out, as JSON would. */
const rec = (model: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Json> =>
  fc.record(model).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
const list = <T>(arb: fc.Arbitrary<T>, max = 2): fc.Arbitrary<T[] | undefined> =>
  opt(fc.array(arb, { minLength: 1, maxLength: max }));
const money = rec({
  unit: fc.constantFrom('EUR', 'USD'),
  value: fc.integer({ min: 0, max: 9999 }).map((c) => c / 100),
});
const period = rec({ startDateTime: isoDate, endDateTime: opt(isoDate) });
const meta: CartMeta = { createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-02-03T04:05:06.000Z' };

// ---------------------------------------------------------------------------------------------
// v4 carts, as stored today (and as a v5 write leaves them: some carry the extensions).

const typeOr = (name: string) => opt(fc.constant(name));

const v4Price = (withType: boolean) =>
  rec({
    '@type': withType ? typeOr('Price') : fc.constant(undefined),
    taxRate: opt(fc.constantFrom(0, 10, 20)),
    dutyFreeAmount: money,
  });
const v4CartPrice = rec({
  '@type': typeOr('CartPrice'),
  priceType: fc.constantFrom('recurring', 'oneTime'),
  recurringChargePeriod: opt(fc.constant('month')),
  price: v4Price(true),
  priceAlteration: list(
    rec({
      '@type': typeOr('PriceAlteration'),
      priceType: fc.constantFrom('recurring', 'oneTime'),
      applicationDuration: opt(fc.integer({ min: 1, max: 12 })),
      price: rec({ '@type': typeOr('Price'), percentage: fc.integer({ min: 1, max: 50 }) }),
    }),
  ),
});
const v4RelatedParty = rec({
  id: ident,
  '@referredType': fc.constantFrom('Individual', 'Organization', 'Customer'),
  href: opt(word),
  name: opt(word),
  role: opt(fc.constantFrom('customer', 'seller')),
  '@type': opt(fc.constantFrom('RelatedParty', 'RelatedPartyOrPartyRole')),
  // What a v5 write left: the party's own type and members v4 has no place for.
  partyOrPartyRole: opt(
    rec({ '@type': fc.constant('PartyRoleRef'), partyId: opt(ident), partyName: opt(word) }),
  ),
  channel: opt(word), // an extension attribute
});
const v4ContactMedium = rec({
  '@type': opt(fc.constantFrom('ContactMedium', 'EmailContactMedium', 'PhoneContactMedium')),
  mediumType: opt(fc.constantFrom('email', 'Email', 'phone', 'mobile', 'postalAddress')),
  preferred: opt(fc.boolean()),
  id: opt(ident),
  validFor: opt(period),
  characteristic: opt(
    rec({
      emailAddress: opt(fc.constant('a@example.com')),
      phoneNumber: opt(fc.constant('+44 20 7946 0000')),
      contactType: opt(fc.constantFrom('home', 'work')),
      city: opt(word),
      street1: opt(word),
      faxNumber: opt(fc.constant('+44 20 7946 0001')),
      socialNetworkId: opt(ident),
      '@type': opt(fc.constant('MediumCharacteristic')),
    }),
  ),
});
const v4Term = rec({
  '@type': typeOr('CartTerm'),
  name: opt(word),
  duration: opt(
    rec({
      amount: opt(fc.oneof(fc.integer({ min: 1, max: 36 }), fc.constantFrom(1.5, 0.25))),
      units: opt(fc.constantFrom('month', 'day')),
    }),
  ),
});
const v4Products = fc.letrec((tie) => ({
  ref: rec({
    id: ident,
    href: opt(word),
    name: opt(word),
    '@type': opt(fc.constantFrom('ProductRef', 'Product')),
  }),
  value: rec({
    '@type': opt(fc.constant('Product')),
    id: opt(ident),
    name: word,
    isBundle: opt(fc.boolean()),
    status: opt(fc.constantFrom('created', 'active')),
    productCharacteristic: list(
      rec({
        name: word,
        value: fc.oneof(word, fc.integer(), fc.boolean()),
        valueType: opt(fc.constant('string')),
      }),
    ),
    relatedParty: list(v4RelatedParty, 1),
    agreement: list(rec({ id: ident, name: opt(word), agreementItemId: opt(ident) }), 1),
    productOrderItem: list(
      rec({ orderItemId: ident, productOrderId: ident, productOrderHref: opt(word), role: opt(word) }),
      1,
    ),
    productTerm: list(
      rec({
        name: opt(word),
        duration: opt(rec({ amount: fc.constantFrom(12, 2.5), units: fc.constant('month') })),
      }),
      1,
    ),
    productPrice: list(
      rec({
        priceType: fc.constantFrom('recurring', 'oneTime'),
        price: v4Price(false),
        productPriceAlteration: list(
          rec({
            priceType: fc.constant('recurring'),
            price: rec({ percentage: fc.integer({ min: 1, max: 50 }) }),
          }),
          1,
        ),
      }),
      1,
    ),
    productRelationship: list(
      rec({
        relationshipType: fc.constant('bundled'),
        product: rec({ id: ident, name: opt(word), '@type': opt(fc.constant('ProductRef')) }),
      }),
      1,
    ),
    place: list(
      rec({
        role: fc.constant('installation'),
        id: ident,
        name: opt(word),
        '@referredType': opt(fc.constant('GeographicAddress')),
      }),
      1,
    ),
    product: list(tie('ref'), 1),
  }),
}));
const v4Product: fc.Arbitrary<Json> = fc.oneof(v4Products.ref, v4Products.value);

const v4Item = (depth: number): fc.Arbitrary<Json> =>
  rec({
    id: ident,
    '@type': typeOr('CartItem'),
    quantity: opt(fc.integer({ min: 1, max: 5 })),
    status: opt(fc.constantFrom('active', 'saveForLater')),
    action: opt(fc.constantFrom('add', 'modify')),
    productOffering: opt(rec({ id: ident, name: opt(word), '@type': typeOr('ProductOfferingRef') })),
    itemPrice: list(v4CartPrice),
    itemTerm: list(v4Term, 1),
    note: list(rec({ text: word, id: opt(ident), date: opt(isoDate), '@type': typeOr('Note') }), 1),
    cartItemRelationship: list(rec({ id: ident, relationshipType: fc.constant('reliesOn') }), 1),
    product: opt(v4Product),
    cartItem: depth > 0 ? list(v4Item(depth - 1), 1) : fc.constant(undefined),
  });

const v4Cart: fc.Arbitrary<Json> = rec({
  id: ident,
  href: ident.map((id) => `http://127.0.0.1/tmf-api/shoppingCart/v4/shoppingCart/${id}`),
  '@type': typeOr('ShoppingCart'),
  validFor: opt(period),
  relatedParty: list(v4RelatedParty),
  contactMedium: list(v4ContactMedium),
  cartItem: list(v4Item(1)),
  cartTotalPrice: list(v4CartPrice, 1),
  channel: opt(word),
});

// ---------------------------------------------------------------------------------------------
// v5 carts as a v5 client creates them (ShoppingCart_FVO, every required @type present).

const v5Price = rec({
  '@type': fc.constant('Price'),
  taxRate: opt(fc.constantFrom(0, 20)),
  dutyFreeAmount: money,
});
const v5CartPrice = rec({
  '@type': fc.constant('CartPrice'),
  priceType: fc.constantFrom('recurring', 'oneTime'),
  recurringChargePeriod: opt(fc.constant('month')),
  price: v5Price,
  // v4 requires price and priceType of an alteration: the documented restriction on v5 writes.
  priceAlteration: list(
    rec({
      '@type': fc.constant('PriceAlteration'),
      priceType: fc.constant('recurring'),
      applicationDuration: opt(fc.integer({ min: 1, max: 12 })),
      price: rec({ '@type': fc.constant('Price'), percentage: fc.integer({ min: 1, max: 50 }) }),
    }),
    1,
  ),
});
const v5Party = fc.oneof(
  rec({
    '@type': fc.constant('PartyRef'),
    id: ident,
    '@referredType': fc.constantFrom('Individual', 'Organization'),
    href: opt(word),
    name: opt(word),
  }),
  rec({
    '@type': fc.constant('PartyRoleRef'),
    id: ident,
    '@referredType': fc.constant('Customer'),
    name: opt(word),
    partyId: opt(ident),
    partyName: opt(word),
  }),
);
const v5RelatedParty = rec({
  '@type': fc.constant('RelatedPartyOrPartyRole'),
  role: fc.constantFrom('customer', 'member'),
  partyOrPartyRole: v5Party,
});
const v5ContactMedium = fc.oneof(
  rec({
    '@type': fc.constant('EmailContactMedium'),
    emailAddress: opt(fc.constant('a@example.com')),
    contactType: opt(fc.constant('home')),
    preferred: opt(fc.boolean()),
    id: opt(ident),
  }),
  rec({
    '@type': fc.constant('PhoneContactMedium'),
    phoneNumber: opt(fc.constant('+44 20 7946 0000')),
    contactType: opt(fc.constant('work')),
    validFor: opt(period),
  }),
  rec({
    '@type': fc.constant('ContactMedium'),
    contactType: opt(fc.constant('other')),
    preferred: opt(fc.boolean()),
  }),
);
const v5Term = rec({
  '@type': fc.constant('CartTerm'),
  name: opt(word),
  duration: opt(rec({ amount: fc.integer({ min: 1, max: 36 }), units: fc.constant('month') })),
});
const v5Product = fc.oneof(
  rec({ '@type': fc.constant('ProductRef'), id: ident, name: opt(word), href: opt(word) }),
  rec({
    '@type': fc.constant('Product'),
    name: word,
    isBundle: opt(fc.boolean()),
    productCharacteristic: list(
      rec({ '@type': fc.constant('StringCharacteristic'), name: word, value: word }),
    ),
    agreementItem: list(
      rec({
        '@type': fc.constant('AgreementItemRef'),
        agreementId: ident,
        agreementItemId: ident,
        agreementName: opt(word),
      }),
      1,
    ),
    productOrderItem: list(
      rec({
        '@type': fc.constant('RelatedOrderItem'),
        orderId: ident,
        orderItemId: ident,
        role: fc.constant('origin'),
      }),
      1,
    ),
    relatedParty: list(v5RelatedParty, 1),
    productPrice: list(
      rec({
        '@type': fc.constant('ProductPrice'),
        priceType: fc.constant('oneTime'),
        price: v5Price,
        priceAlteration: list(
          rec({
            '@type': fc.constant('PriceAlteration'),
            priceType: fc.constant('oneTime'),
            price: rec({ '@type': fc.constant('Price'), percentage: fc.integer({ min: 1, max: 50 }) }),
          }),
          1,
        ),
      }),
      1,
    ),
    productRelationship: list(
      rec({
        '@type': fc.constant('ProductRelationship'),
        id: ident,
        relationshipType: fc.constant('bundled'),
        name: opt(word),
      }),
      1,
    ),
    place: list(
      rec({
        '@type': fc.constant('RelatedPlaceRefOrValue'),
        role: fc.constant('installation'),
        place: rec({ '@type': fc.constant('PlaceRef'), id: ident, name: opt(word) }),
      }),
      1,
    ),
    product: list(rec({ '@type': fc.constant('ProductRef'), id: ident }), 1),
  }),
);
const v5Item = (depth: number): fc.Arbitrary<Json> =>
  rec({
    '@type': fc.constant('CartItem'),
    id: ident,
    quantity: opt(fc.integer({ min: 1, max: 5 })),
    status: opt(fc.constantFrom('active', 'saveForLater')),
    productOffering: opt(
      rec({ '@type': fc.constant('ProductOfferingRef'), id: ident, version: opt(fc.constant('1.0')) }),
    ),
    itemPrice: list(v5CartPrice),
    itemTerm: list(v5Term, 1),
    note: list(rec({ '@type': fc.constant('Note'), text: word }), 1),
    product: opt(v5Product),
    cartItem: depth > 0 ? list(v5Item(depth - 1), 1) : fc.constant(undefined),
  });
const v5Cart: fc.Arbitrary<Json> = rec({
  '@type': fc.constant('ShoppingCart'),
  validFor: opt(period),
  relatedParty: list(v5RelatedParty),
  contactMedium: list(v5ContactMedium),
  cartItem: list(v5Item(1)),
  channel: opt(word),
});

/** `after` without the members `before` lacks that the mapping documents as defaults it fills in. */
function withoutFilledDefaults(after: unknown, before: unknown, key?: string): unknown {
  if (Array.isArray(after) && Array.isArray(before))
    return after.map((a, i) => withoutFilledDefaults(a, before[i], key));
  if (after === null || typeof after !== 'object' || before === null || typeof before !== 'object')
    return after;
  const a = after as Json;
  const b = before as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(a)) {
    if (!(k in b) && (k === '@type' || (key === 'contactMedium' && k === 'mediumType'))) continue;
    out[k] = withoutFilledDefaults(v, b[k], k);
  }
  return out;
}

describe('v4 <-> v5 mapping: round trips (fast-check)', () => {
  it('a v4 cart read through v5 is a valid v5 ShoppingCart with the store metadata', () => {
    fc.assert(
      fc.property(v4Cart, (cart) => {
        assertValidCart(cart);
        const view = toV5Cart(cart, meta) as Json;
        expect(v5Problem('ShoppingCart', view)).to.equal(undefined);
        expect(view.creationDate).to.equal(meta.createdAt);
        expect(view.lastUpdate).to.equal(meta.updatedAt);
        expect(view['@type']).to.be.a('string');
      }),
      runs,
    );
  });

  it('a v4 cart read through v5 and written back through v5 is unchanged, defaults not stored', () => {
    fc.assert(
      fc.property(v4Cart, (cart) => {
        const view = toV5Cart(cart as ShoppingCart, meta);
        const back = applyV5Patch(cart as ShoppingCart, meta, 'application/merge-patch+json', view);
        expect(back).to.deep.equal(cart);
        expect(withoutFilledDefaults(back, cart)).to.deep.equal(cart);
        // And reading it through v5 again shows exactly what the v5 client wrote.
        expect(toV5Cart(back, meta)).to.deep.equal(view);
      }),
      runs,
    );
  });

  it('a v5 patch of one attribute leaves every other stored attribute as it was', () => {
    fc.assert(
      fc.property(v4Cart, fc.string(), (cart, name) => {
        const back = applyV5Patch(cart as ShoppingCart, meta, 'application/json-patch+json', [
          { op: 'add', path: '/name', value: name },
        ]);
        expect(back).to.deep.equal({ ...cart, name });
      }),
      runs,
    );
  });

  it('a v5 cart written through v5 is a valid v4 cart; written back through v4 and read through v5, it is the same', () => {
    fc.assert(
      fc.property(v5Cart, ident, (body, id) => {
        const canonical = createInputFromV5(body);
        // What a v4 client reads is the canonical cart itself, and it is a valid v4 cart.
        const stored = { ...canonical, id, href: `http://127.0.0.1/x/${id}` } as ShoppingCart;
        assertValidCart(stored);
        // The v4 client sends every attribute back as it read it (arrays are replaced whole).
        const { id: _i, href: _h, ...v4Body } = stored;
        const afterV4 = applyCartPatch(stored, 'application/merge-patch+json', v4Body);
        expect(afterV4).to.deep.equal(stored);
        const view = toV5Cart(afterV4, meta);
        expect(v5Problem('ShoppingCart', view)).to.equal(undefined);
        expect(view).to.deep.equal({
          ...body,
          id,
          href: stored.href,
          creationDate: meta.createdAt,
          lastUpdate: meta.updatedAt,
        });
      }),
      runs,
    );
  });

  it('a filter on a v5 path sees, translated, the stored values the view shows there', () => {
    /** Every dotted path to a scalar in `doc`, arrays descended (TMF630 "any element"). */
    const leafPaths = (doc: unknown, prefix: string[] = []): string[][] => {
      if (Array.isArray(doc)) return doc.flatMap((d) => leafPaths(d, prefix));
      if (doc === null || typeof doc !== 'object') return [prefix];
      return Object.entries(doc).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
    };
    fc.assert(
      fc.property(v4Cart, (cart) => {
        const view = toV5Cart(cart as ShoppingCart, meta);
        const paths = new Map(leafPaths(view).map((p) => [p.join('.'), p]));
        for (const path of paths.values()) {
          // @type values the view fills in and the metadata are not stored: documented corners.
          if (path.at(-1) === '@type') continue;
          const canonical = toCanonicalPath(path);
          if (canonical.kind === 'metadata') continue;
          // The view's href names the v5 resource; an href filter's value is translated instead.
          if (path.join('.') === 'href') continue;
          const stored = valuesAt(cart, canonical.path);
          for (const value of valuesAt(view, path)) {
            expect(stored, `${path.join('.')} -> ${canonical.path.join('.')}`).to.deep.include(value);
          }
        }
      }),
      runs,
    );
  });

  it('v5 events made from v4 event records validate against the v5 event schemas', () => {
    fc.assert(
      fc.property(v4Cart, fc.constantFrom(...eventTypes), (cart, type) => {
        const recorded = buildEvent(type, cart as ShoppingCart, {
          eventId: 'e1',
          now: '2026-03-04T05:06:07.000Z',
          correlationId: 'c1',
        });
        const event = toV5Event(recorded.body, meta);
        expect(v5Problem(type, event)).to.equal(undefined);
        expect(event['@type']).to.equal(type);
        expect(event.timeOccurred).to.equal('2026-03-04T05:06:07.000Z');
        expect(event).not.to.have.property('timeOcurred');
      }),
      { numRuns: 60 },
    );
  });
});
