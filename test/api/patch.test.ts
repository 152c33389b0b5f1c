import { expect } from 'chai';
import { call, expectTmfError, useTestServer } from '../support/server.js';

const eur = (value: number) => ({ unit: 'EUR', value });
const item = (id: string, quantity: number, amount: number, extra: Record<string, unknown> = {}) => ({
  id,
  quantity,
  productOffering: { id: `PO-${id}` },
  itemPrice: [{ priceType: 'oneTime', price: { dutyFreeAmount: eur(amount), taxRate: 20 } }],
  ...extra,
});

describe('PATCH formats, read-only members, ETags and concurrency', () => {
  const server = useTestServer();

  const newCart = async (
    body: Record<string, unknown> = { cartItem: [item('1', 1, 10), item('2', 2, 5)] },
  ) => {
    const res = await call(server, 'POST', '/shoppingCart', body);
    expect(res.status, res.text).to.equal(201);
    return res.body;
  };
  const patch = (id: string, body: unknown, type: string, headers: Record<string, string> = {}) =>
    call(server, 'PATCH', `/shoppingCart/${id}`, typeof body === 'string' ? body : JSON.stringify(body), {
      'Content-Type': type,
      ...headers,
    });
  /** Asserts a rejected request left the stored cart exactly as it was. */
  const expectUnchanged = async (cart: { id: string }) => {
    const got = await call(server, 'GET', `/shoppingCart/${cart.id}`);
    expect(got.body).to.deep.equal(cart);
    expect(got.headers.get('etag')).to.equal('"1"');
  };

  describe('merge patch (RFC 7396)', () => {
    it('null deletes a member, arrays are replaced whole, totals recomputed', async () => {
      const cart = await newCart({ cartItem: [item('1', 1, 10)], contactMedium: [{ mediumType: 'email' }] });
      expect(cart.cartTotalPrice[0].price.taxIncludedAmount.value).to.equal(12);
      const res = await patch(
        cart.id,
        { contactMedium: null, cartItem: [item('9', 3, 10)] },
        'application/merge-patch+json',
      );
      expect(res.status).to.equal(200);
      expect(res.body).to.not.have.property('contactMedium');
      expect(res.body.cartItem.map((i: { id: string }) => i.id)).to.deep.equal(['9']);
      expect(res.body.cartTotalPrice[0].price.taxIncludedAmount.value).to.equal(36);
      expect(res.headers.get('etag')).to.equal('"2"');
    });

    it('rejects computed item totals (400) and a result that breaks the schema (400), storing nothing', async () => {
      const cart = await newCart();
      const withTotals = await patch(
        cart.id,
        { cartItem: [{ ...item('1', 1, 1), itemTotalPrice: [] }] },
        'application/merge-patch+json',
      );
      expect(expectTmfError(withTotals, 400).message).to.contain('itemTotalPrice');
      const invalid = await patch(
        cart.id,
        { relatedParty: [{ role: 'no id' }] },
        'application/merge-patch+json',
      );
      expect(expectTmfError(invalid, 400).message).to.contain('relatedParty');
      await expectUnchanged(cart);
    });

    it('accepts read-only members sent back unchanged', async () => {
      const cart = await newCart();
      const res = await patch(
        cart.id,
        { id: cart.id, href: cart.href, note: 'x' },
        'application/merge-patch+json',
      );
      expect(res.status).to.equal(200);
      expect(res.body.note).to.equal('x');
    });
  });

  describe('JSON Patch (RFC 6902)', () => {
    it('refuses a move into its own child and names unresolvable paths, as 400s that change nothing', async () => {
      const cart = await newCart();
      for (const type of ['application/json-patch+json', 'application/json-patch-query+json']) {
        const into = await patch(
          cart.id,
          [{ op: 'move', from: '/cartItem/0', path: '/cartItem/0/cartItem/-' }],
          type,
        );
        expect(expectTmfError(into, 400).message).to.equal(
          'path: /cartItem/0/cartItem/- is inside from /cartItem/0 (operation 0)',
        );
      }
      const missing = await patch(
        cart.id,
        [{ op: 'replace', path: '/cartItem/7/quantity', value: 2 }],
        'application/json-patch+json',
      );
      expect(expectTmfError(missing, 400).message).to.equal(
        'path: /cartItem/7/quantity does not exist in the cart (operation 0)',
      );
      const badIndex = await patch(
        cart.id,
        [{ op: 'add', path: '/cartItem/x', value: item('3', 1, 1) }],
        'application/json-patch+json',
      );
      expect(expectTmfError(badIndex, 400).message).to.match(/^path: \/cartItem\/x /);
      await expectUnchanged(cart);
    });

    it('applies add, replace, remove, move, copy and test', async () => {
      const cart = await newCart();
      const res = await patch(
        cart.id,
        [
          { op: 'test', path: '/cartItem/0/id', value: '1' },
          { op: 'replace', path: '/cartItem/0/quantity', value: 4 },
          { op: 'add', path: '/cartItem/-', value: item('3', 1, 1) },
          { op: 'remove', path: '/cartItem/1' },
          { op: 'add', path: '/relatedParty', value: [{ id: 'P', '@referredType': 'Individual' }] },
          { op: 'copy', from: '/relatedParty/0', path: '/relatedParty/-' },
          { op: 'move', from: '/relatedParty/1', path: '/relatedParty/0' },
        ],
        'application/json-patch+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(
        res.body.cartItem.map((i: { id: string; quantity: number }) => [i.id, i.quantity]),
      ).to.deep.equal([
        ['1', 4],
        ['3', 1],
      ]);
      expect(res.body.relatedParty).to.have.length(2);
      // 4 x 10 x 1.2 + 1 x 1 x 1.2
      expect(res.body.cartTotalPrice[0].price.taxIncludedAmount.value).to.equal(49.2);
    });

    it('a failed test answers 409 and changes nothing', async () => {
      const cart = await newCart();
      const res = await patch(
        cart.id,
        [
          { op: 'replace', path: '/cartItem/0/quantity', value: 7 },
          { op: 'test', path: '/cartItem/0/id', value: 'not-1' },
        ],
        'application/json-patch+json',
      );
      expectTmfError(res, 409);
      await expectUnchanged(cart);
    });

    for (const [name, ops] of [
      ['id', [{ op: 'replace', path: '/id', value: 'x' }]],
      ['href', [{ op: 'remove', path: '/href' }]],
      ['cartTotalPrice', [{ op: 'add', path: '/cartTotalPrice/-', value: {} }]],
      ['validFor', [{ op: 'replace', path: '/validFor/endDateTime', value: '2031-01-01T00:00:00Z' }]],
      ['itemTotalPrice', [{ op: 'replace', path: '/cartItem/0/itemTotalPrice', value: [] }]],
      ['itemTotalPrice', [{ op: 'move', from: '/cartItem/0/itemTotalPrice', path: '/note' }]],
    ] as const) {
      it(`writing ${name} is a 400 and changes nothing (${ops[0].op})`, async () => {
        const cart = await newCart();
        expect(
          expectTmfError(await patch(cart.id, ops, 'application/json-patch+json'), 400).message,
        ).to.contain(name);
        await expectUnchanged(cart);
      });
    }

    it('rejects prototype keys in any format', async () => {
      const cart = await newCart();
      expectTmfError(
        await patch(
          cart.id,
          [{ op: 'add', path: '/__proto__/polluted', value: 1 }],
          'application/json-patch+json',
        ),
        400,
      );
      expectTmfError(
        await patch(cart.id, [{ op: 'add', path: '/constructor', value: 1 }], 'application/json-patch+json'),
        400,
      );
      expectTmfError(
        await patch(cart.id, '{"__proto__": {"polluted": 1}}', 'application/merge-patch+json'),
        400,
      );
      expectTmfError(
        await patch(cart.id, '{"cartItem": [{"prototype": 1}]}', 'application/merge-patch+json'),
        400,
      );
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      await expectUnchanged(cart);
    });

    it('a path that does not exist or an unknown op is a 400', async () => {
      const cart = await newCart();
      expectTmfError(
        await patch(
          cart.id,
          [{ op: 'replace', path: '/cartItem/7/quantity', value: 1 }],
          'application/json-patch+json',
        ),
        400,
      );
      expectTmfError(
        await patch(cart.id, [{ op: 'jump', path: '/note' }], 'application/json-patch+json'),
        400,
      );
      expectTmfError(await patch(cart.id, { op: 'add' }, 'application/json-patch+json'), 400);
      await expectUnchanged(cart);
    });
  });

  describe('JSON Patch Query (TMF630)', () => {
    it('selects array elements by a TMF query path', async () => {
      const cart = await newCart();
      const res = await patch(
        cart.id,
        [{ op: 'replace', path: '/cartItem?cartItem.id=2/quantity', value: 5 }],
        'application/json-patch-query+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(res.body.cartItem.map((i: { quantity: number }) => i.quantity)).to.deep.equal([1, 5]);
    });

    it('selects by the JSONPath filter form and accepts delete as remove', async () => {
      const cart = await newCart({ cartItem: [item('1', 1, 10), item('2', 2, 5), item('3', 1, 1)] });
      const res = await patch(
        cart.id,
        [
          { op: 'replace', path: "$.cartItem[?(@.id=='1')].quantity", value: 2 },
          { op: 'delete', path: '/cartItem?id=2' },
        ],
        'application/json-patch-query+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(
        res.body.cartItem.map((i: { id: string; quantity: number }) => [i.id, i.quantity]),
      ).to.deep.equal([
        ['1', 2],
        ['3', 1],
      ]);
    });

    it('removes every selected element', async () => {
      const cart = await newCart({
        cartItem: [
          item('1', 1, 1, { status: 'saveForLater' }),
          item('2', 1, 1),
          item('3', 1, 1, { status: 'saveForLater' }),
        ],
      });
      const res = await patch(
        cart.id,
        [{ op: 'remove', path: '/cartItem?status=saveForLater' }],
        'application/json-patch-query+json',
      );
      expect(res.body.cartItem.map((i: { id: string }) => i.id)).to.deep.equal(['2']);
    });

    const recurring = (amount: number) => ({
      priceType: 'recurring',
      recurringChargePeriod: 'month',
      price: { dutyFreeAmount: eur(amount), taxRate: 20 },
    });
    const itemPrices = (res: { body: { cartItem: { id: string; itemPrice: unknown[] }[] } }) =>
      res.body.cartItem.map((i) => [
        i.id,
        (i.itemPrice as { priceType: string; price: { dutyFreeAmount: { value: number } } }[]).map((p) => [
          p.priceType,
          p.price.dutyFreeAmount.value,
        ]),
      ]);

    it("TMF630 Part 5: the query at the end selects the elements whose attribute's value it names", async () => {
      const cart = await newCart();
      const res = await patch(
        cart.id,
        [{ op: 'replace', path: '/cartItem/quantity?cartItem.id=2', value: 7 }],
        'application/json-patch-query+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(res.body.cartItem.map((i: { quantity: number }) => i.quantity)).to.deep.equal([1, 7]);
      expect(res.body.cartItem[1].itemTotalPrice[0].price.dutyFreeAmount.value).to.equal(35);
      const stored = await call(server, 'GET', `/shoppingCart/${cart.id}`);
      expect(stored.body).to.deep.equal(res.body);
    });

    it('TMF630 Part 5: attribute paths select at each array level (nested itemPrice by priceType)', async () => {
      const cart = await newCart({
        cartItem: [
          item('1', 1, 10, {
            itemPrice: [
              recurring(10),
              { priceType: 'oneTime', price: { dutyFreeAmount: eur(3), taxRate: 20 } },
            ],
          }),
          item('2', 1, 10, {
            itemPrice: [
              { priceType: 'oneTime', price: { dutyFreeAmount: eur(4), taxRate: 20 } },
              recurring(20),
            ],
          }),
        ],
      });
      const res = await patch(
        cart.id,
        [
          {
            op: 'replace',
            path: '/cartItem/itemPrice/price?cartItem.id=2&cartItem.itemPrice.priceType=recurring',
            value: { dutyFreeAmount: eur(25), taxRate: 20 },
          },
        ],
        'application/json-patch-query+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(itemPrices(res)).to.deep.equal([
        [
          '1',
          [
            ['recurring', 10],
            ['oneTime', 3],
          ],
        ],
        [
          '2',
          [
            ['oneTime', 4],
            ['recurring', 25],
          ],
        ],
      ]);
      // The same selection in the JSONPath form, one filter per array level.
      const again = await patch(
        cart.id,
        [
          {
            op: 'replace',
            path: "$.cartItem[?(@.id=='1')].itemPrice[?(@.priceType=='oneTime')].price.dutyFreeAmount.value",
            value: 6,
          },
        ],
        'application/json-patch-query+json',
      );
      expect(again.status, again.text).to.equal(200);
      expect(itemPrices(again)).to.deep.equal([
        [
          '1',
          [
            ['recurring', 10],
            ['oneTime', 6],
          ],
        ],
        [
          '2',
          [
            ['oneTime', 4],
            ['recurring', 25],
          ],
        ],
      ]);
    });

    it("TMF630 Part 5: add appends to a selected element's array; remove and a numeric condition", async () => {
      const cart = await newCart({ cartItem: [item('1', 1, 10), item('2', 3, 5), item('3', 4, 1)] });
      const res = await patch(
        cart.id,
        [
          { op: 'add', path: '/cartItem/itemPrice/-?cartItem.id=1', value: recurring(2) },
          { op: 'remove', path: '/cartItem?cartItem.quantity.gte=4' },
          {
            op: 'replace',
            path: '/cartItem/productOffering/id?cartItem.productOffering.id=PO-2',
            value: 'PO-X',
          },
        ],
        'application/json-patch-query+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(itemPrices(res)).to.deep.equal([
        [
          '1',
          [
            ['oneTime', 10],
            ['recurring', 2],
          ],
        ],
        ['2', [['oneTime', 5]]],
      ]);
      expect(res.body.cartItem[1].productOffering.id).to.equal('PO-X');
    });

    it('each operation selects in the cart the operations before it left', async () => {
      const cart = await newCart();
      const res = await patch(
        cart.id,
        [
          { op: 'replace', path: '/cartItem/id?cartItem.id=2', value: '5' },
          { op: 'replace', path: '/cartItem/quantity?cartItem.id=5', value: 9 },
        ],
        'application/json-patch-query+json',
      );
      expect(res.status, res.text).to.equal(200);
      expect(
        res.body.cartItem.map((i: { id: string; quantity: number }) => [i.id, i.quantity]),
      ).to.deep.equal([
        ['1', 1],
        ['5', 9],
      ]);
    });

    it('half-megabyte query paths are answered (400 or 200), not left to stall the server', async () => {
      const cart = await newCart();
      const big = 500_000;
      const paths = [
        `$.cartItem[?(@.id=='${'2'.repeat(big)}')].quantity`,
        `$.cartItem[?(@.id=='2' ${'&& '.repeat(big / 3)}`,
        `$.cartItem[?(@.id==${' '.repeat(big)}x`,
        `$${'.a'.repeat(big / 2)}[?(@.id=='2')].quantity`,
        `/cartItem/quantity?cartItem.id=${'2'.repeat(big)}`,
        `/cartItem/quantity?${'cartItem.id=2&'.repeat(big / 14)}`,
        `${'/a'.repeat(big / 2)}?a.id=2`,
        `/cartItem/quantity?cartItem.id=2${'/'.repeat(big)}`,
      ];
      for (const path of paths) {
        const res = await patch(
          cart.id,
          [{ op: 'replace', path, value: 3 }],
          'application/json-patch-query+json',
        );
        expect([200, 400], `${path.slice(0, 40)}: ${res.text.slice(0, 200)}`).to.include(res.status);
        if (res.status === 400) expect(res.body.message.length).to.be.below(400);
      }
    });

    it('a query path selecting nothing or malformed is a 400 and changes nothing', async () => {
      const cart = await newCart();
      expectTmfError(
        await patch(
          cart.id,
          [{ op: 'remove', path: '/cartItem?cartItem.id=99' }],
          'application/json-patch-query+json',
        ),
        400,
      );
      expectTmfError(
        await patch(cart.id, [{ op: 'remove', path: '/cartItem?id' }], 'application/json-patch-query+json'),
        400,
      );
      expectTmfError(
        await patch(
          cart.id,
          [{ op: 'remove', path: '$.cartItem[?(@.id~1)]' }],
          'application/json-patch-query+json',
        ),
        400,
      );
      expectTmfError(
        await patch(
          cart.id,
          [{ op: 'remove', path: '/relatedParty?id=1' }],
          'application/json-patch-query+json',
        ),
        400,
      );
      await expectUnchanged(cart);
    });
  });

  it('any other media type is a 415 and changes nothing', async () => {
    const cart = await newCart();
    expectTmfError(await patch(cart.id, '<cart/>', 'application/xml'), 415);
    await expectUnchanged(cart);
  });

  describe('ETag, If-Match and If-None-Match', () => {
    it('If-Match with the current ETag succeeds; a stale one is a 412 that changes nothing', async () => {
      const cart = await newCart();
      const ok = await patch(cart.id, { note: 'a' }, 'application/merge-patch+json', { 'If-Match': '"1"' });
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('etag')).to.equal('"2"');
      const stale = await patch(cart.id, { note: 'b' }, 'application/merge-patch+json', {
        'If-Match': '"1"',
      });
      expectTmfError(stale, 412);
      const got = await call(server, 'GET', `/shoppingCart/${cart.id}`);
      expect(got.body.note).to.equal('a');
      expect(got.headers.get('etag')).to.equal('"2"');
    });

    it('If-Match accepts * and lists; a weak or malformed tag never matches', async () => {
      const cart = await newCart();
      expect((await patch(cart.id, { note: 'a' }, 'application/json', { 'If-Match': '*' })).status).to.equal(
        200,
      );
      expect(
        (await patch(cart.id, { note: 'b' }, 'application/json', { 'If-Match': '"7", "2"' })).status,
      ).to.equal(200);
      expectTmfError(await patch(cart.id, { note: 'c' }, 'application/json', { 'If-Match': 'W/"3"' }), 412);
      expectTmfError(
        await patch(cart.id, { note: 'c' }, 'application/json', { 'If-Match': 'nonsense' }),
        412,
      );
    });

    it('DELETE honours If-Match', async () => {
      const cart = await newCart();
      expectTmfError(
        await call(server, 'DELETE', `/shoppingCart/${cart.id}`, undefined, { 'If-Match': '"5"' }),
        412,
      );
      await expectUnchanged(cart);
      expect(
        (await call(server, 'DELETE', `/shoppingCart/${cart.id}`, undefined, { 'If-Match': '"1"' })).status,
      ).to.equal(204);
    });

    it('GET with If-None-Match of the current ETag is a 304; an old one gets the cart', async () => {
      const cart = await newCart();
      const notModified = await call(server, 'GET', `/shoppingCart/${cart.id}`, undefined, {
        'If-None-Match': '"1"',
      });
      expect(notModified.status).to.equal(304);
      expect(notModified.headers.get('etag')).to.equal('"1"');
      expect(notModified.text).to.equal('');
      await patch(cart.id, { note: 'new' }, 'application/json');
      const modified = await call(server, 'GET', `/shoppingCart/${cart.id}`, undefined, {
        'If-None-Match': '"1"',
      });
      expect(modified.status).to.equal(200);
      expect(modified.body.note).to.equal('new');
    });

    it('a PATCH that changes nothing keeps the version', async () => {
      const cart = await newCart({ note: 'same' });
      const res = await patch(cart.id, { note: 'same' }, 'application/json');
      expect(res.status).to.equal(200);
      expect(res.headers.get('etag')).to.equal('"1"');
    });
  });

  it('twenty concurrent JSON Patch appends without If-Match leave exactly twenty new items', async () => {
    const cart = await newCart({ cartItem: [] });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        patch(
          cart.id,
          [{ op: 'add', path: '/cartItem/-', value: item(`n${i}`, 1, 1) }],
          'application/json-patch+json',
        ),
      ),
    );
    expect(results.map((r) => r.status)).to.deep.equal(Array<number>(20).fill(200));
    const got = await call(server, 'GET', `/shoppingCart/${cart.id}`);
    expect(got.body.cartItem).to.have.length(20);
    expect(new Set(got.body.cartItem.map((i: { id: string }) => i.id)).size).to.equal(20);
    expect(got.headers.get('etag')).to.equal('"21"');
    expect(got.body.cartTotalPrice[0].price.dutyFreeAmount.value).to.equal(20);
  });
});
