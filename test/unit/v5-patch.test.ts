/**
 * A v5 PATCH over a stored cart (src/versions/v5/cart-input.ts, write-back.ts): only what the
 * patch changed reaches the stored form; JSON Patch Query selects through v5's own members; a
 * cart that already breaks the v5 schema can still be patched elsewhere; v5's `delete` and the
 * `==` spelling of its user guide; messages in the API's one style.
 */
import { expect } from 'chai';
import type { ShoppingCart } from '../../src/api-types.js';
import { applyV5Patch } from '../../src/versions/v5/cart-input.js';
import type { CartMeta } from '../../src/versions/v5/cart-view.js';
import { appErrorOf } from '../support/app-error.js';

const meta: CartMeta = { createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-02-03T04:05:06.000Z' };

const stored = (): ShoppingCart =>
  ({
    id: 'c1',
    href: 'http://h/tmf-api/shoppingCart/v4/shoppingCart/c1',
    relatedParty: [
      {
        id: 'YY',
        role: 'customer',
        '@referredType': 'Individual',
        partyOrPartyRole: { id: 'XX', href: 'hX' },
      },
      { id: 'q1', role: 'seller', '@referredType': 'Organization', name: 'Old' },
    ],
    contactMedium: [{ mediumType: 'email', characteristic: { emailAddress: 'a@b.c' } }],
    cartItem: [
      {
        id: '1203-100',
        quantity: 1,
        action: 'add',
        product: { productRelationship: [{ relationshipType: 'bundled', product: { name: 'x' } }] },
      },
      { id: '2', quantity: 2, action: 'add' },
    ],
  }) as ShoppingCart;

const patch = (type: Parameters<typeof applyV5Patch>[2], body: unknown) =>
  applyV5Patch(stored(), meta, type, body) as unknown as Record<string, unknown[]>;

describe('v5 PATCH of a stored cart', () => {
  it('a patch that changes nothing gives the stored cart itself', () => {
    const cart = stored();
    expect(applyV5Patch(cart, meta, 'application/json-patch+json', [])).to.equal(cart);
    expect(applyV5Patch(cart, meta, 'application/merge-patch+json', { '@type': 'ShoppingCart' })).to.equal(
      cart,
    );
  });

  it('elements the patch does not touch keep their stored form, extensions included', () => {
    const cart = patch('application/json-patch+json', [{ op: 'add', path: '/description', value: 'd' }]);
    expect(cart.description).to.equal('d');
    expect(cart.relatedParty).to.deep.equal(stored().relatedParty);
    expect(cart.contactMedium).to.deep.equal(stored().contactMedium);
    expect(cart.cartItem).to.deep.equal(stored().cartItem);
  });

  it('a changed element stores only the members that changed', () => {
    const cart = patch('application/json-patch+json', [
      { op: 'replace', path: '/cartItem/1/quantity', value: 5 },
    ]);
    expect(cart.cartItem?.[1]).to.deep.equal({ id: '2', quantity: 5, action: 'add' });
  });

  it('JSON Patch Query selects through a member only v5 has (partyOrPartyRole)', () => {
    const cart = patch('application/json-patch-query+json', [
      {
        op: 'replace',
        path: '/relatedParty/partyOrPartyRole/name?relatedParty.partyOrPartyRole.id=q1',
        value: 'N',
      },
    ]);
    expect(cart.relatedParty?.[1]).to.deep.equal({
      id: 'q1',
      role: 'seller',
      '@referredType': 'Organization',
      name: 'N',
    });
    expect(cart.relatedParty?.[0]).to.deep.equal(stored().relatedParty?.[0]);
  });

  it('JSON Patch Query takes a JSONPath path (the served document allows it; found by the contract fuzzer)', () => {
    const cart = patch('application/json-patch-query+json', [
      { op: 'replace', path: "$.cartItem[?(@.id=='2')].quantity", value: 7 },
    ]);
    expect(cart.cartItem?.[1]).to.deep.equal({ id: '2', quantity: 7, action: 'add' });
  });

  it("takes the v5 user guide's `==` spelling with a quoted value and trailing spaces", () => {
    const cart = patch('application/json-patch-query+json', [
      { op: 'delete', path: "/cartItem?cartItem.id=='1203-100' " },
    ]);
    expect(cart.cartItem?.map((i) => (i as { id: string }).id)).to.deep.equal(['2']);
  });

  it('takes delete as an alias of remove on JSON Patch (the v5 document lists it)', () => {
    const cart = patch('application/json-patch+json', [{ op: 'delete', path: '/cartItem/1' }]);
    expect(cart.cartItem).to.have.length(1);
  });

  it('patches a cart that already breaks the v5 schema elsewhere, but refuses a new violation', () => {
    // The stored product relationship has no id (v5 requires one): unrelated patches still pass.
    expect(patch('application/json-patch+json', [{ op: 'add', path: '/name', value: 'n' }]).name).to.equal(
      'n',
    );
    const e = appErrorOf(() =>
      patch('application/json-patch+json', [{ op: 'replace', path: '/cartItem/1/quantity', value: 'many' }]),
    );
    expect(e.message).to.equal('cartItem[1].quantity: must be integer');
  });

  it('names fields as the rest of the API does', () => {
    const e = appErrorOf(() =>
      patch('application/json-patch+json', [{ op: 'remove', path: '/cartItem/0/@type' }]),
    );
    expect(e.message).to.equal('cartItem[0].@type: is required');
  });
});
