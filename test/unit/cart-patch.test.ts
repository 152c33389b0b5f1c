// src/cart/patch.ts without HTTP: which PATCH bodies change a cart how, and which are refused
// with which error. test/api/patch.test.ts covers the same rules end to end.
import { expect } from 'chai';
import type { ShoppingCart } from '../../src/api-types.js';
import { applyCartPatch, mergePatch, patchMediaType, type PatchMediaType } from '../../src/cart/patch.js';
import type { ErrorCode } from '../../src/errors.js';
import { appErrorOf } from '../support/app-error.js';

const eur = (value: number) => ({ unit: 'EUR', value });
/** A cart with the extension members these tests patch (TMF allows extensions). */
type Cart = ShoppingCart & { note?: string; name?: string; description?: string };
const cart = (): Cart => ({
  id: 'c1',
  href: 'https://x.example/shoppingCart/c1',
  validFor: { startDateTime: '2030-01-01T00:00:00.000Z', endDateTime: '2030-01-03T00:00:00.000Z' },
  note: 'keep',
  cartItem: [
    { id: '1', quantity: 1, itemPrice: [{ priceType: 'oneTime', price: { taxIncludedAmount: eur(10) } }] },
    { id: '2', quantity: 2, itemPrice: [{ priceType: 'oneTime', price: { taxIncludedAmount: eur(5) } }] },
  ],
  cartTotalPrice: [{ priceType: 'oneTime', price: { taxIncludedAmount: eur(20) } }],
});

/** applyCartPatch, typed for the extension members. */
const patched = (c: Cart, type: PatchMediaType, body: unknown): Cart => applyCartPatch(c, type, body);

const merge: PatchMediaType = 'application/merge-patch+json';
const jsonPatch: PatchMediaType = 'application/json-patch+json';
const query: PatchMediaType = 'application/json-patch-query+json';

describe('cart/patch: media types', () => {
  const cases: [string | undefined, PatchMediaType | ErrorCode][] = [
    ['application/merge-patch+json', 'application/merge-patch+json'],
    ['Application/JSON; charset=utf-8', 'application/json'],
    ['application/json-patch+json;charset=UTF-8', 'application/json-patch+json'],
    [' application/json-patch-query+json ', 'application/json-patch-query+json'],
    ['text/plain', 'UNSUPPORTED_MEDIA_TYPE'],
    ['application/xml', 'UNSUPPORTED_MEDIA_TYPE'],
    [undefined, 'UNSUPPORTED_MEDIA_TYPE'],
    ['', 'UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [header, expected] of cases) {
    it(`Content-Type ${JSON.stringify(header)} is ${expected}`, () => {
      if (expected.includes('/')) expect(patchMediaType(header)).to.equal(expected);
      else expect(appErrorOf(() => patchMediaType(header)).code).to.equal(expected);
    });
  }

  it('names the accepted types and what was sent', () => {
    expect(appErrorOf(() => patchMediaType(undefined)).message).to.equal(
      'PATCH accepts application/merge-patch+json, application/json, application/json-patch+json, ' +
        'application/json-patch-query+json; got "none"',
    );
  });
});

describe('cart/patch: merge patch (RFC 7396)', () => {
  const cases: [string, unknown, unknown, unknown][] = [
    ['a member is replaced', { a: 1, b: 2 }, { a: 3 }, { a: 3, b: 2 }],
    ['null deletes a member', { a: 1, b: 2 }, { a: null }, { b: 2 }],
    ['deleting a missing member changes nothing', { a: 1 }, { z: null }, { a: 1 }],
    [
      'objects merge member by member',
      { o: { x: 1, y: 2 } },
      { o: { y: null, z: 3 } },
      { o: { x: 1, z: 3 } },
    ],
    ['arrays are replaced, never merged', { l: [1, 2, 3] }, { l: [4] }, { l: [4] }],
    ['a non-object patch replaces the target', { a: 1 }, [1], [1]],
    ['an object patch over a non-object starts from {}', 'text', { a: { b: null, c: 1 } }, { a: { c: 1 } }],
  ];
  for (const [what, target, patch, result] of cases) {
    it(what, () => {
      expect(mergePatch(target, patch)).to.deep.equal(result);
    });
  }

  it('leaves target and patch untouched', () => {
    const target = { o: { x: 1 } };
    const patch = { o: { y: [1] } };
    const result = mergePatch(target, patch) as { o: { y: number[] } };
    result.o.y.push(2);
    expect(target).to.deep.equal({ o: { x: 1 } });
    expect(patch).to.deep.equal({ o: { y: [1] } });
  });

  it('applies to a cart and returns a new cart', () => {
    const before = cart();
    const after = patched(before, merge, {
      note: null,
      name: 'n',
      cartItem: [{ id: '9', quantity: 1 }],
    });
    expect(after.note).to.equal(undefined);
    expect(after.name).to.equal('n');
    expect(after.cartItem).to.deep.equal([{ id: '9', quantity: 1 }]);
    expect(before).to.deep.equal(cart());
  });

  it('accepts read-only members sent back unchanged, as a GET returned them', () => {
    const c = cart();
    const after = patched(c, 'application/json', { ...c, note: 'changed' });
    expect(after).to.deep.equal({ ...cart(), note: 'changed' });
  });

  const refused: [string, unknown, ErrorCode, RegExp][] = [
    ['a changed id', { id: 'other' }, 'BAD_REQUEST', /^id is computed or owned by the server/],
    ['a changed href', { href: 'https://evil/' }, 'BAD_REQUEST', /^href is computed/],
    ['a changed validFor', { validFor: null }, 'BAD_REQUEST', /^validFor is computed/],
    ['a cartTotalPrice', { cartTotalPrice: [] }, 'BAD_REQUEST', /^cartTotalPrice is computed/],
    ['an itemTotalPrice', { cartItem: [{ id: '1', itemTotalPrice: [] }] }, 'BAD_REQUEST', /^itemTotalPrice/],
    [
      'an ItemTotalPrice in a nested item',
      { cartItem: [{ id: '1', cartItem: [{ id: '1.1', ItemTotalPrice: [] }] }] },
      'BAD_REQUEST',
      /^itemTotalPrice/,
    ],
    ['an array body', [{ note: 'x' }], 'BAD_REQUEST', /must be a JSON object/],
    ['a string body', 'note', 'BAD_REQUEST', /must be a JSON object/],
    [
      'a prototype key',
      JSON.parse('{"note":{"__proto__":{"x":1}}}'),
      'BAD_REQUEST',
      /"__proto__" is not allowed/,
    ],
    ['a constructor key', { cartItem: [{ constructor: 1 }] }, 'BAD_REQUEST', /"constructor" is not allowed/],
  ];
  for (const [what, body, code, message] of refused) {
    it(`refuses ${what}`, () => {
      const error = appErrorOf(() => patched(cart(), merge, body));
      expect(error.code).to.equal(code);
      expect(error.message).to.match(message);
    });
  }
});

describe('cart/patch: JSON Patch (RFC 6902)', () => {
  it('applies operations in order to a copy', () => {
    const before = cart();
    const after = patched(before, jsonPatch, [
      { op: 'replace', path: '/cartItem/1/quantity', value: 7 },
      { op: 'add', path: '/cartItem/-', value: { id: '3', quantity: 1 } },
      { op: 'remove', path: '/cartItem/0' },
      { op: 'copy', from: '/note', path: '/name' },
      { op: 'move', from: '/note', path: '/description' },
      { op: 'test', path: '/name', value: 'keep' },
    ]);
    expect(after.cartItem?.map((i) => [i.id, i.quantity])).to.deep.equal([
      ['2', 7],
      ['3', 1],
    ]);
    expect([after.name, after.description, after.note]).to.deep.equal(['keep', 'keep', undefined]);
    expect(before).to.deep.equal(cart());
  });

  it('reads read-only members with test (and from of copy) but writes none', () => {
    const after = patched(cart(), jsonPatch, [
      { op: 'test', path: '/id', value: 'c1' },
      { op: 'copy', from: '/id', path: '/name' },
    ]);
    expect(after.name).to.equal('c1');
  });

  const refused: [string, unknown, ErrorCode, string | RegExp][] = [
    [
      'a failed test (409)',
      [{ op: 'test', path: '/note', value: 'other' }],
      'CONFLICT',
      'test at /note did not hold',
    ],
    [
      'a body that is not an array',
      { op: 'add' },
      'BAD_REQUEST',
      'a JSON Patch must be an array of operations',
    ],
    [
      'an operation without a path',
      [{ op: 'add', value: 1 }],
      'BAD_REQUEST',
      'operation 0 needs string op and path',
    ],
    [
      'a from that is not a string',
      [{ op: 'move', path: '/name', from: 1 }],
      'BAD_REQUEST',
      'operation 0: from must be a string',
    ],
    [
      'a path that is not a pointer',
      [{ op: 'add', path: 'note', value: 1 }],
      'BAD_REQUEST',
      /not a JSON Pointer/,
    ],
    ['writing id', [{ op: 'replace', path: '/id', value: 'x' }], 'BAD_REQUEST', /^id is computed/],
    ['removing validFor', [{ op: 'remove', path: '/validFor' }], 'BAD_REQUEST', /^validFor is computed/],
    [
      'writing inside cartTotalPrice',
      [{ op: 'replace', path: '/cartTotalPrice/0/priceType', value: 'x' }],
      'BAD_REQUEST',
      /^cartTotalPrice is computed/,
    ],
    [
      'writing an itemTotalPrice',
      [{ op: 'add', path: '/cartItem/0/itemTotalPrice', value: [] }],
      'BAD_REQUEST',
      /^itemTotalPrice is computed/,
    ],
    ['replacing the whole cart', [{ op: 'replace', path: '', value: {} }], 'BAD_REQUEST', /^the whole cart/],
    ['moving away from id', [{ op: 'move', from: '/id', path: '/name' }], 'BAD_REQUEST', /^id is computed/],
    [
      'a move into its own child',
      [{ op: 'move', from: '/cartItem', path: '/cartItem/0/x' }],
      'BAD_REQUEST',
      'path: /cartItem/0/x is inside from /cartItem (operation 0)',
    ],
    [
      'a prototype path, even in test',
      [{ op: 'test', path: '/__proto__', value: 1 }],
      'BAD_REQUEST',
      '"__proto__" is not allowed in path',
    ],
    [
      'a prototype segment in from',
      [{ op: 'copy', from: '/note/constructor', path: '/name' }],
      'BAD_REQUEST',
      '"constructor" is not allowed in from',
    ],
    [
      'a path that does not exist',
      [{ op: 'replace', path: '/cartItem/7/quantity', value: 1 }],
      'BAD_REQUEST',
      'path: /cartItem/7/quantity does not exist in the cart (operation 0)',
    ],
    [
      'an index past the end',
      [
        { op: 'add', path: '/note', value: 'x' },
        { op: 'add', path: '/cartItem/5', value: {} },
      ],
      'BAD_REQUEST',
      'path: /cartItem/5 is past the end of its array (operation 1)',
    ],
    [
      'an unknown op',
      [{ op: 'jump', path: '/note' }],
      'BAD_REQUEST',
      'op: must be one of add, remove, replace, move, copy, test (operation 0)',
    ],
    [
      'an add without a value',
      [{ op: 'add', path: '/note' }],
      'BAD_REQUEST',
      'value: required by add (operation 0)',
    ],
    [
      'a path through a string',
      [{ op: 'add', path: '/note/x/y', value: 1 }],
      'BAD_REQUEST',
      'path: /note/x/y does not exist in the cart (operation 0)',
    ],
  ];
  for (const [what, body, code, message] of refused) {
    it(`refuses ${what}`, () => {
      const before = cart();
      const error = appErrorOf(() => patched(before, jsonPatch, body));
      expect(error.code).to.equal(code);
      if (typeof message === 'string') expect(error.message).to.equal(message);
      else expect(error.message).to.match(message);
      expect(before, 'the cart is untouched').to.deep.equal(cart());
    });
  }
});

describe('cart/patch: JSON Patch Query (TMF630)', () => {
  it('expands a selection into one operation per selected element', () => {
    const after = patched(cart(), query, [
      { op: 'replace', path: '/cartItem?cartItem.quantity=1,2/quantity', value: 4 },
    ]);
    expect(after.cartItem?.map((i) => i.quantity)).to.deep.equal([4, 4]);
  });

  it('treats delete as remove, and later operations see earlier ones', () => {
    const after = patched(cart(), query, [
      { op: 'delete', path: "$.cartItem[?(@.id=='1')]" },
      { op: 'replace', path: '/cartItem?cartItem.id=2/quantity', value: 9 },
    ]);
    expect(after.cartItem).to.have.length(1);
    expect(after.cartItem?.[0]).to.include({ id: '2', quantity: 9 });
  });

  it('keeps plain RFC 6902 paths working', () => {
    const after = patched(cart(), query, [{ op: 'replace', path: '/note', value: 'plain' }]);
    expect(after.note).to.equal('plain');
  });

  it('refuses a selection of nothing, naming the path', () => {
    const error = appErrorOf(() =>
      patched(cart(), query, [{ op: 'remove', path: '/cartItem?cartItem.id=none' }]),
    );
    expect([error.code, error.message]).to.deep.equal([
      'BAD_REQUEST',
      'path "/cartItem?cartItem.id=none": selects no element',
    ]);
  });

  it('refuses a from that selects more than one element', () => {
    const error = appErrorOf(() =>
      patched(cart(), query, [{ op: 'copy', from: '/cartItem?cartItem.quantity=1,2', path: '/x' }]),
    );
    expect([error.code, error.message]).to.deep.equal([
      'BAD_REQUEST',
      'from selects 2 elements; it must select one',
    ]);
  });

  it('refuses writes to read-only members through a selection', () => {
    const error = appErrorOf(() =>
      patched(cart(), query, [{ op: 'add', path: '/cartItem?cartItem.id=1/itemTotalPrice', value: [] }]),
    );
    expect(error.message).to.match(/^itemTotalPrice is computed/);
  });
});
