/**
 * The v4 <-> v5 mapping rules one by one (docs/v5-mapping.md): what the v5 view shows of a
 * stored cart, what a v5 write stores, the 400s, the patch formats applied to the view, the
 * path translations and the v5 event envelope. test/unit/v5-round-trip.test.ts checks the rules
 * undo each other on random carts.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { ShoppingCart } from '../../src/api-types.js';
import { matchesFilter, projectFields } from '../../src/query/evaluate.js';
import { parseListQuery } from '../../src/query/parse.js';
import { applyV5Patch, createInputFromV5, fromV5Cart } from '../../src/versions/v5/cart-input.js';
import { durationToV5, hrefOnVersion, toV5Cart, type CartMeta } from '../../src/versions/v5/cart-view.js';
import { toV5Event } from '../../src/versions/v5/events.js';
import { toCanonicalListQuery, toCanonicalPath, toCanonicalPointer } from '../../src/versions/v5/paths.js';
import { appErrorOf } from '../support/app-error.js';
import { v5Problem } from '../../src/versions/v5/v5-document.js';

type Json = Record<string, any>;
const meta: CartMeta = { createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-02-03T04:05:06.000Z' };

/** A cart as v4 stores it today. */
const storedV4 = (): ShoppingCart =>
  ({
    id: 'c1',
    href: 'http://127.0.0.1/tmf-api/shoppingCart/v4/shoppingCart/c1',
    '@type': 'ShoppingCart',
    relatedParty: [{ id: 'p1', '@referredType': 'Individual', role: 'customer', name: 'Jo' }],
    contactMedium: [
      {
        mediumType: 'email',
        preferred: true,
        characteristic: { emailAddress: 'jo@example.com', contactType: 'home', city: 'Leeds' },
      },
      { mediumType: 'fax', characteristic: { faxNumber: '+44 1' } },
    ],
    cartItem: [
      {
        id: '1',
        quantity: 2,
        itemTerm: [{ name: 'min', duration: { amount: 1.5, units: 'year' } }],
        product: { id: 'pr1', href: 'http://x/pr1' },
        itemTotalPrice: [{ priceType: 'oneTime', price: { dutyFreeAmount: { unit: 'EUR', value: 2 } } }],
      },
      {
        id: '2',
        product: {
          name: 'Talk 25',
          productCharacteristic: [
            { name: 'msisdn', value: '415' },
            { name: 'gb', value: 25 },
          ],
          agreement: [{ id: 'ag1', name: 'Frame', agreementItemId: 'i1' }],
          productTerm: [{ duration: { amount: 12, units: 'month' } }],
        },
      },
    ],
  }) as ShoppingCart;

describe('v4 <-> v5 mapping: the view of a stored cart', () => {
  const view = toV5Cart(storedV4(), meta) as Json;

  it('is a valid v5 ShoppingCart with creationDate and lastUpdate from the store metadata', () => {
    expect(v5Problem('ShoppingCart', view)).to.equal(undefined);
    expect(view).to.include({
      '@type': 'ShoppingCart',
      creationDate: meta.createdAt,
      lastUpdate: meta.updatedAt,
    });
  });

  it('nests a flat related party as RelatedPartyOrPartyRole with a PartyRef', () => {
    expect(view.relatedParty).to.deep.equal([
      {
        '@type': 'RelatedPartyOrPartyRole',
        role: 'customer',
        partyOrPartyRole: { '@type': 'PartyRef', id: 'p1', name: 'Jo', '@referredType': 'Individual' },
      },
    ]);
  });

  it('types contact media by mediumType and keeps what v5 has no place for under characteristic', () => {
    expect(view.contactMedium).to.deep.equal([
      {
        '@type': 'EmailContactMedium',
        preferred: true,
        emailAddress: 'jo@example.com',
        contactType: 'home',
        characteristic: { city: 'Leeds' },
      },
      { '@type': 'ContactMedium', mediumType: 'fax', characteristic: { faxNumber: '+44 1' } },
    ]);
  });

  it('keeps a duration that is not a whole number as decimalAmount, since v5 durations are integers', () => {
    expect(view.cartItem[0].itemTerm[0]).to.deep.equal({
      '@type': 'CartTerm',
      name: 'min',
      duration: { units: 'year', decimalAmount: 1.5 },
    });
    expect(view.cartItem[1].product.productTerm[0].duration).to.deep.equal({ amount: 12, units: 'month' });
  });

  it('keeps a whole duration beyond the exact integer range as decimalAmount too (found by the fuzzer)', () => {
    expect(durationToV5({ amount: -23750814478715680, units: 'day' })).to.deep.equal({
      units: 'day',
      decimalAmount: -23750814478715680,
    });
    expect(durationToV5({ amount: Number.MAX_SAFE_INTEGER, units: 'day' })).to.deep.equal({
      amount: Number.MAX_SAFE_INTEGER,
      units: 'day',
    });
  });

  it('makes a bare product reference a ProductRef and a product value a Product, with v5 names', () => {
    expect(view.cartItem[0].product).to.deep.equal({
      '@type': 'ProductRef',
      id: 'pr1',
      href: 'http://x/pr1',
    });
    const product = view.cartItem[1].product;
    expect(product['@type']).to.equal('Product');
    expect(product).not.to.have.property('agreement');
    expect(product.agreementItem).to.deep.equal([
      { '@type': 'AgreementItemRef', agreementId: 'ag1', agreementName: 'Frame', agreementItemId: 'i1' },
    ]);
    expect(product.productCharacteristic.map((c: Json) => c['@type'])).to.deep.equal([
      'StringCharacteristic',
      'IntegerCharacteristic',
    ]);
  });

  it('gives every object v5 types its @type, and keeps itemTotalPrice', () => {
    expect(view.cartItem.map((i: Json) => i['@type'])).to.deep.equal(['CartItem', 'CartItem']);
    expect(view.cartItem[0].itemTotalPrice[0]['@type']).to.equal('CartPrice');
    expect(view.cartItem[0].itemTotalPrice[0].price['@type']).to.equal('Price');
  });

  it('does not change the stored cart', () => {
    expect(toV5Cart(storedV4(), meta)).to.deep.equal(view);
    const cart = storedV4();
    toV5Cart(cart, meta);
    expect(cart).to.deep.equal(storedV4());
  });

  it('maps a projection without inventing attributes (fields)', () => {
    const partial = { id: 'c1', href: 'h', relatedParty: storedV4().relatedParty } as ShoppingCart;
    const projected = projectFields(toV5Cart(partial, meta), [['relatedParty', 'partyOrPartyRole', 'id']]);
    expect(projected).to.deep.equal({
      id: 'c1',
      href: 'h',
      relatedParty: [{ partyOrPartyRole: { id: 'p1' } }],
    });
  });
});

describe('v4 <-> v5 mapping: what a v5 write stores', () => {
  const body = {
    '@type': 'ShoppingCart',
    relatedParty: [
      {
        '@type': 'RelatedPartyOrPartyRole',
        role: 'customer',
        partyOrPartyRole: {
          '@type': 'PartyRoleRef',
          id: '9176',
          name: 'Jack',
          '@referredType': 'Customer',
          partyId: 'ind-1',
        },
      },
    ],
    contactMedium: [{ '@type': 'PhoneContactMedium', phoneNumber: '+44 2', contactType: 'work', id: 'cm1' }],
    cartItem: [
      {
        '@type': 'CartItem',
        id: '1',
        product: {
          '@type': 'Product',
          name: 'Talk',
          agreementItem: [{ '@type': 'AgreementItemRef', agreementId: 'ag', agreementItemId: 'i' }],
        },
      },
    ],
  };

  it('stores a v4 cart: flat related party, mediumType and characteristic, v4 product names', () => {
    expect(createInputFromV5(body)).to.deep.equal({
      '@type': 'ShoppingCart',
      relatedParty: [
        {
          '@type': 'RelatedPartyOrPartyRole',
          role: 'customer',
          id: '9176',
          name: 'Jack',
          '@referredType': 'Customer',
          // What v4 has no place for stays beside it, where v4 clients ignore it.
          partyOrPartyRole: { '@type': 'PartyRoleRef', partyId: 'ind-1' },
        },
      ],
      contactMedium: [
        {
          '@type': 'PhoneContactMedium',
          id: 'cm1',
          mediumType: 'phone',
          characteristic: { phoneNumber: '+44 2', contactType: 'work' },
        },
      ],
      cartItem: [
        {
          '@type': 'CartItem',
          id: '1',
          product: {
            '@type': 'Product',
            name: 'Talk',
            agreement: [{ '@type': 'AgreementItemRef', id: 'ag', agreementItemId: 'i' }],
          },
        },
      ],
    });
  });

  it('is a 400 without @type on the cart, naming it', () => {
    const { '@type': _t, ...untyped } = body;
    const e = appErrorOf(() => createInputFromV5(untyped));
    expect(e.code).to.equal('BAD_REQUEST');
    expect(e.message).to.equal('@type: is required');
  });

  it('is a 400 without @type on a nested object, naming where', () => {
    const e = appErrorOf(() => createInputFromV5({ ...body, cartItem: [{ id: '1' }] }));
    expect(e.code).to.equal('BAD_REQUEST');
    expect(e.message).to.equal('cartItem[0].@type: is required');
  });

  it('is a 400 for a related party without the id and @referredType v4 requires', () => {
    const party = {
      '@type': 'RelatedPartyOrPartyRole',
      role: 'customer',
      partyOrPartyRole: { '@type': 'PartyRef', id: 'x' },
    };
    const e = appErrorOf(() => createInputFromV5({ ...body, relatedParty: [party] }));
    expect(e.code).to.equal('BAD_REQUEST');
    expect(e.message).to.contain('relatedParty.0.partyOrPartyRole needs id and @referredType');
  });

  it('is a 400 naming the stored path where v4 requires what v5 leaves optional', () => {
    const item = {
      '@type': 'CartItem',
      itemPrice: [
        {
          '@type': 'CartPrice',
          priceType: 'oneTime',
          price: { '@type': 'Price', dutyFreeAmount: { unit: 'EUR', value: 1 } },
          priceAlteration: [{ '@type': 'PriceAlteration', priceType: 'oneTime' }],
        },
      ],
    };
    const e = appErrorOf(() => createInputFromV5({ '@type': 'ShoppingCart', cartItem: [item] }));
    expect(e.code).to.equal('BAD_REQUEST');
    expect(e.message).to.equal('cartItem[0].itemPrice[0].priceAlteration[0].price: is required');
  });

  it("takes the spec's create example for a prospect customer", () => {
    const doc = JSON.parse(
      readFileSync(new URL('../../generated/v5/tmf663-openapi.json', import.meta.url), 'utf8'),
    ) as Json;
    const example = doc.components.examples.ShoppingCart_create_example_for_prospect_customer_request.value;
    const cart = createInputFromV5(example) as Json;
    expect(cart.contactMedium).to.deep.equal([
      {
        '@type': 'EmailContactMedium',
        mediumType: 'email',
        characteristic: { emailAddress: 'JackSmith@mail.com' },
      },
    ]);
    const view = toV5Cart({ ...cart, id: 'x', href: 'h' } as ShoppingCart, meta);
    expect(view).to.deep.equal({
      ...example,
      id: 'x',
      href: 'h',
      creationDate: meta.createdAt,
      lastUpdate: meta.updatedAt,
    });
  });

  it('turns a decimalAmount back into the v4 amount, and drops creationDate and lastUpdate', () => {
    const cart = fromV5Cart({
      '@type': 'ShoppingCart',
      creationDate: meta.createdAt,
      lastUpdate: meta.updatedAt,
      cartItem: [
        {
          '@type': 'CartItem',
          itemTerm: [{ '@type': 'CartTerm', duration: { decimalAmount: 1.5, units: 'year' } }],
        },
      ],
    });
    expect(cart).to.deep.equal({
      '@type': 'ShoppingCart',
      cartItem: [
        {
          '@type': 'CartItem',
          itemTerm: [{ '@type': 'CartTerm', duration: { amount: 1.5, units: 'year' } }],
        },
      ],
    });
  });
});

describe('v4 <-> v5 mapping: patches apply to the v5 view', () => {
  it('JSON Patch on a v5 path changes the stored v4 attribute', () => {
    const cart = applyV5Patch(storedV4(), meta, 'application/json-patch+json', [
      { op: 'replace', path: '/relatedParty/0/partyOrPartyRole/name', value: 'Joanne' },
      { op: 'add', path: '/relatedParty/0/partyOrPartyRole/partyId', value: 'ind-7' },
    ]) as Json;
    // Only what the patch changed is written: no default @type on the association.
    expect(cart.relatedParty).to.deep.equal([
      {
        id: 'p1',
        '@referredType': 'Individual',
        role: 'customer',
        name: 'Joanne',
        partyOrPartyRole: { '@type': 'PartyRef', partyId: 'ind-7' },
      },
    ]);
  });

  it('JSON Patch Query selects by v5 paths and changes the stored cart', () => {
    const cart = applyV5Patch(storedV4(), meta, 'application/json-patch-query+json', [
      {
        op: 'replace',
        path: '/contactMedium?contactMedium.emailAddress=jo@example.com/emailAddress',
        value: 'j@x.org',
      },
    ]) as Json;
    expect(cart.contactMedium[0].characteristic).to.deep.equal({
      emailAddress: 'j@x.org',
      contactType: 'home',
      city: 'Leeds',
    });
    // The other medium is untouched: its stored form, without the @type the v5 view fills in.
    expect(cart.contactMedium[1]).to.deep.equal(storedV4().contactMedium?.[1]);
  });

  it('merge patch replaces an array with v5 elements, stored as v4', () => {
    const cart = applyV5Patch(storedV4(), meta, 'application/merge-patch+json', {
      '@type': 'ShoppingCart',
      contactMedium: [{ '@type': 'EmailContactMedium', emailAddress: 'new@x.org' }],
    }) as Json;
    // The new first element takes the place of the stored one: what its v5 view does not change
    // (the EmailContactMedium @type the view already showed) keeps its stored form.
    expect(cart.contactMedium).to.deep.equal([
      { mediumType: 'email', characteristic: { emailAddress: 'new@x.org' } },
    ]);
    expect(cart.relatedParty).to.deep.equal(storedV4().relatedParty);
  });

  it('a merge patch without @type is a 400, and so is one whose elements lack it', () => {
    for (const patch of [{ contactMedium: [] }, { '@type': 'ShoppingCart', cartItem: [{ id: '9' }] }]) {
      const e = appErrorOf(() => applyV5Patch(storedV4(), meta, 'application/merge-patch+json', patch));
      expect(e.code).to.equal('BAD_REQUEST');
      expect(e.message).to.match(/^(cartItem\[0\]\.)?@type: is required$/);
    }
  });

  it('a JSON Patch that leaves an element without its @type is a 400', () => {
    const e = appErrorOf(() =>
      applyV5Patch(storedV4(), meta, 'application/json-patch+json', [
        { op: 'remove', path: '/cartItem/0/@type' },
      ]),
    );
    expect(e.message).to.equal('cartItem[0].@type: is required');
  });

  it('creationDate and lastUpdate are read-only: unchanged is allowed, changed is a 400', () => {
    const same = applyV5Patch(storedV4(), meta, 'application/merge-patch+json', {
      '@type': 'ShoppingCart',
      creationDate: meta.createdAt,
    });
    expect(same).not.to.have.property('creationDate');
    const changed = appErrorOf(() =>
      applyV5Patch(storedV4(), meta, 'application/merge-patch+json', {
        '@type': 'ShoppingCart',
        lastUpdate: 'x',
      }),
    );
    expect(changed.message).to.contain('lastUpdate');
    for (const path of ['/creationDate', '$.lastUpdate']) {
      const e = appErrorOf(() =>
        applyV5Patch(storedV4(), meta, 'application/json-patch-query+json', [{ op: 'remove', path }]),
      );
      expect(e.code).to.equal('BAD_REQUEST');
    }
  });
});

describe('v4 <-> v5 mapping: attribute paths', () => {
  const cases: [string, string][] = [
    ['relatedParty.partyOrPartyRole.id', 'relatedParty.id'],
    ['relatedParty.partyOrPartyRole.@referredType', 'relatedParty.@referredType'],
    ['relatedParty.partyOrPartyRole.partyId', 'relatedParty.partyOrPartyRole.partyId'],
    ['relatedParty.partyOrPartyRole.@type', 'relatedParty.partyOrPartyRole.@type'],
    ['relatedParty.role', 'relatedParty.role'],
    ['contactMedium.emailAddress', 'contactMedium.characteristic.emailAddress'],
    ['contactMedium.contactType', 'contactMedium.characteristic.contactType'],
    ['contactMedium.preferred', 'contactMedium.preferred'],
    ['cartItem.itemTerm.duration.decimalAmount', 'cartItem.itemTerm.duration.amount'],
    ['cartItem.product.agreementItem.agreementId', 'cartItem.product.agreement.id'],
    ['cartItem.product.productOrderItem.orderId', 'cartItem.product.productOrderItem.productOrderId'],
    [
      'cartItem.cartItem.product.product.relatedParty.partyOrPartyRole.name',
      'cartItem.cartItem.product.product.relatedParty.name',
    ],
    ['cartItem.itemTotalPrice.price.@type', 'cartItem.itemTotalPrice.price.@type'],
    ['validFor.endDateTime', 'validFor.endDateTime'],
    ['cartItem.product.place.place.id', 'cartItem.product.place.id'],
    ['cartItem.product.place.role', 'cartItem.product.place.role'],
    ['cartItem.product.productRelationship.id', 'cartItem.product.productRelationship.product.id'],
    [
      'cartItem.product.productPrice.priceAlteration.priceType',
      'cartItem.product.productPrice.productPriceAlteration.priceType',
    ],
  ];
  for (const [v5, canonical] of cases) {
    it(`${v5} is ${canonical}`, () => {
      expect(toCanonicalPath(v5.split('.'))).to.deep.equal({ kind: 'document', path: canonical.split('.') });
    });
  }

  it('creationDate and lastUpdate are store metadata', () => {
    expect(toCanonicalPath(['creationDate'])).to.deep.equal({ kind: 'metadata', name: 'createdAt' });
    expect(toCanonicalPath(['lastUpdate'])).to.deep.equal({ kind: 'metadata', name: 'updatedAt' });
  });

  it('translates JSON Pointers, indices included', () => {
    expect(toCanonicalPointer('/relatedParty/0/partyOrPartyRole/id')).to.equal('/relatedParty/0/id');
    expect(toCanonicalPointer('/contactMedium/1/phoneNumber')).to.equal(
      '/contactMedium/1/characteristic/phoneNumber',
    );
    expect(toCanonicalPointer('/cartItem/0/product/agreementItem/-')).to.equal(
      '/cartItem/0/product/agreement/-',
    );
    expect(toCanonicalPointer('/a~1b')).to.equal('/a~1b');
    expect(toCanonicalPointer('/creationDate')).to.equal(undefined);
  });

  it('a v5 filter, translated, finds the cart a v5 client wrote (reference evaluator)', () => {
    const stored = createInputFromV5({
      '@type': 'ShoppingCart',
      relatedParty: [
        {
          '@type': 'RelatedPartyOrPartyRole',
          role: 'customer',
          partyOrPartyRole: { '@type': 'PartyRef', id: 'p9', '@referredType': 'Individual' },
        },
      ],
    });
    const query = (raw: string) => toCanonicalListQuery(parseListQuery(raw, { maxPageSize: 100 }));
    expect(matchesFilter(query('relatedParty.partyOrPartyRole.id=p9').filter, stored)).to.equal(true);
    expect(matchesFilter(query('relatedParty.partyOrPartyRole.id=p8').filter, stored)).to.equal(false);
    // The v4 path is the stored one: the same cart is found through v4 without translation.
    expect(matchesFilter(parseListQuery('relatedParty.id=p9', { maxPageSize: 100 }).filter, stored)).to.equal(
      true,
    );
  });

  it('fields become the top-level stored attributes the view needs; sort keys are translated', () => {
    const q = toCanonicalListQuery(
      parseListQuery(
        'fields=relatedParty.partyOrPartyRole.id,contactMedium.emailAddress,creationDate&sort=-relatedParty.partyOrPartyRole.name',
        {
          maxPageSize: 100,
        },
      ),
    );
    expect(q.fields).to.deep.equal([['relatedParty'], ['contactMedium']]);
    expect(q.sort).to.deep.equal([{ path: ['relatedParty', 'name'], descending: true }]);
  });

  it('href: the view names the v5 resource, a v5 write and an href filter the stored v4 one', () => {
    const v4href = 'http://h:1/tmf-api/shoppingCart/v4/shoppingCart/c1';
    const v5href = 'http://h:1/tmf-api/shoppingCart/v5/shoppingCart/c1';
    expect(hrefOnVersion(v4href, 'v4', 'v5')).to.equal(v5href);
    expect(hrefOnVersion(v5href, 'v5', 'v4')).to.equal(v4href);
    // Anything that is not the server's URL of a cart stays as it is.
    for (const other of ['http://h/else/c1', 'http://h/tmf-api/shoppingCart/v4/shoppingCart/c1/x', 7]) {
      expect(hrefOnVersion(other, 'v4', 'v5')).to.equal(other);
    }
    expect(toV5Cart({ id: 'c1', href: v4href }, meta).href).to.equal(v5href);
    expect(fromV5Cart({ '@type': 'ShoppingCart', id: 'c1', href: v5href }).href).to.equal(v4href);
    const q = toCanonicalListQuery(
      parseListQuery(`href=${encodeURIComponent(v5href)}`, { maxPageSize: 100 }),
    );
    expect(q.filter.conditions[0]?.values).to.deep.equal([{ kind: 'string', value: v4href }]);
  });

  it('creationDate and lastUpdate filter and sort as metadata paths, their values read as date-times', () => {
    const q = toCanonicalListQuery(
      parseListQuery('creationDate.gt=2026-01-01&lastUpdate=2026-01-02T03:00:00%2B01:00&sort=-lastUpdate', {
        maxPageSize: 100,
      }),
    );
    expect(q.filter.conditions).to.deep.equal([
      {
        path: [],
        metadata: 'createdAt',
        op: 'gt',
        kind: 'date',
        values: [{ kind: 'date', value: '2026-01-01', epochMs: Date.parse('2026-01-01T00:00:00Z') }],
      },
      {
        path: [],
        metadata: 'updatedAt',
        op: 'eq',
        kind: 'date',
        values: [
          { kind: 'date', value: '2026-01-02T03:00:00+01:00', epochMs: Date.parse('2026-01-02T02:00:00Z') },
        ],
      },
    ]);
    expect(q.sort).to.deep.equal([{ path: [], metadata: 'updatedAt', descending: true }]);
    // Not a date-time, a regex, or a member of a date-time: 400s that name the parameter.
    for (const raw of [
      'creationDate.gt=soon',
      'lastUpdate.regex=^2026',
      'creationDate.year=2026',
      'sort=lastUpdate.x',
    ]) {
      const e = appErrorOf(() => toCanonicalListQuery(parseListQuery(raw, { maxPageSize: 100 })));
      expect(e.code, raw).to.equal('BAD_REQUEST');
    }
  });
});

describe('v4 <-> v5 mapping: events', () => {
  const recorded = {
    eventId: 'e1',
    eventTime: '2026-03-04T05:06:07.000Z',
    eventType: 'ShoppingCartAttributeValueChangeEvent',
    timeOcurred: '2026-03-04T05:06:07.000Z',
    title: 't',
    domain: 'shoppingCart',
    priority: 'normal',
    fieldPath: 'relatedParty',
    event: { shoppingCart: storedV4() },
  };

  it('has timeOccurred, @type and the v5 cart; lastUpdate is the event time without metadata', () => {
    const event = toV5Event(recorded) as Json;
    expect(v5Problem('ShoppingCartAttributeValueChangeEvent', event)).to.equal(undefined);
    expect(event).to.include({
      '@type': 'ShoppingCartAttributeValueChangeEvent',
      timeOccurred: recorded.eventTime,
      fieldPath: 'relatedParty',
    });
    expect(event).not.to.have.property('timeOcurred');
    expect(event.event.shoppingCart).to.deep.equal(
      toV5Cart(storedV4(), { createdAt: undefined, updatedAt: recorded.eventTime }),
    );
  });

  it('a create event says when the cart was created; a delete event claims neither time', () => {
    const created = toV5Event({ ...recorded, eventType: 'ShoppingCartCreateEvent' }) as Json;
    expect(created.event.shoppingCart).to.include({
      creationDate: recorded.eventTime,
      lastUpdate: recorded.eventTime,
    });
    const deleted = toV5Event({ ...recorded, eventType: 'ShoppingCartDeleteEvent' }) as Json;
    expect(deleted.event.shoppingCart).not.to.have.property('creationDate');
    expect(deleted.event.shoppingCart).not.to.have.property('lastUpdate');
  });
});
