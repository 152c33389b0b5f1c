import { expect } from 'chai';
import { AppError } from '../../src/errors.js';
import { parsePatchPath, selectElements, type ParseWork } from '../../src/cart/patch-query.js';
import type { ShoppingCart } from '../../src/api-types.js';

/** The characters the parser visited for `path` (whether it parsed or was refused). */
const workFor = (path: string): number => {
  const work: ParseWork = { steps: 0 };
  try {
    parsePatchPath(path, work);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
  }
  return work.steps;
};

describe('cart/patch-query: parsing JSON Patch Query paths', () => {
  it('parses the TMF630 Part 5 form into steps with conditions at their array level', () => {
    expect(parsePatchPath('/cartItem/quantity?cartItem.id=2')).to.deep.equal([
      { key: 'cartItem', where: [['id', '2']] },
      { key: 'quantity' },
    ]);
    expect(
      parsePatchPath('/cartItem/itemPrice/price?cartItem.id=2&cartItem.itemPrice.priceType=recurring'),
    ).to.deep.equal([
      { key: 'cartItem', where: [['id', '2']] },
      { key: 'itemPrice', where: [['priceType', 'recurring']] },
      { key: 'price' },
    ]);
    // An attribute path through a non-array member stays with the array it starts in.
    expect(parsePatchPath('/cartItem/productOffering/name?cartItem.productOffering.id=PO-1')).to.deep.equal([
      { key: 'cartItem', where: [['productOffering.id', 'PO-1']] },
      { key: 'productOffering' },
      { key: 'name' },
    ]);
  });

  it('keeps the earlier form (query after the array, relative keys, the rest after it)', () => {
    const steps = [{ key: 'cartItem', where: [['id', '2']] }, { key: 'quantity' }];
    expect(parsePatchPath('/cartItem?cartItem.id=2/quantity')).to.deep.equal(steps);
    expect(parsePatchPath('/cartItem?id=2/quantity')).to.deep.equal(steps);
    expect(parsePatchPath('/cartItem?id=a%2Fb')).to.deep.equal([{ key: 'cartItem', where: [['id', 'a/b']] }]);
  });

  it('parses the JSONPath form, one filter per array level', () => {
    expect(parsePatchPath("$.cartItem[?(@.id=='2')].quantity")).to.deep.equal([
      { key: 'cartItem', where: [['id', '2']] },
      { key: 'quantity' },
    ]);
    expect(
      parsePatchPath(
        `$.cartItem[?(@.id=="2" && @.productOffering.id == 'PO-2')].itemPrice[?(@.priceType=='recurring')].price`,
      ),
    ).to.deep.equal([
      {
        key: 'cartItem',
        where: [
          ['id', '2'],
          ['productOffering.id', 'PO-2'],
        ],
      },
      { key: 'itemPrice', where: [['priceType', 'recurring']] },
      { key: 'price' },
    ]);
    expect(parsePatchPath('/cartItem/0/quantity')).to.equal(undefined);
  });

  it('refuses malformed paths with a 400 that does not echo a long path', () => {
    for (const path of [
      '$.cartItem[?(@.id~1)]',
      "$.cartItem[?(@.id=='2'",
      '$[?(@.id==1)]',
      '/cartItem?id',
      '/cartItem?',
      `/cartItem?${'x'.repeat(10_000)}`,
      '/cartItem?id=%E0%A4%A',
      `/cartItem?${'id=1&'.repeat(65)}`,
    ]) {
      let error: unknown;
      try {
        parsePatchPath(path);
      } catch (e) {
        error = e;
      }
      expect(error, path.slice(0, 40)).to.be.instanceOf(AppError);
      expect((error as AppError).code).to.equal('BAD_REQUEST');
      expect((error as AppError).message.length).to.be.below(300);
    }
  });

  it('reads every input in linear work: ten times the input is at most ten times the steps (plus a constant)', () => {
    const shapes: ((n: number) => string)[] = [
      (n) => `$.cartItem[?(@.id=='${'2'.repeat(n)}')].quantity`,
      (n) => `$.cartItem[?(@.id==${'2'.repeat(n)})].quantity`,
      (n) => `$.cartItem[?(@.id=='2' ${'&& '.repeat(n / 3)}`,
      (n) => `$.cartItem[?(@.id==${' '.repeat(n)}x`,
      (n) => `$.cartItem[?(@.id==${' '.repeat(n)}`,
      (n) => `$${'.a'.repeat(n / 2)}[?(@.id=='2')].quantity`,
      (n) => `$${'.a'.repeat(n / 2)}`,
      (n) => `$.cartItem[?(@.${'a.'.repeat(n / 2)}id=='2')]`,
      (n) => `$.cartItem${')]'.repeat(n / 2)}`,
      (n) => `/cartItem/quantity?cartItem.id=${'2'.repeat(n)}`,
      (n) => `/cartItem/quantity?${'cartItem.id=2&'.repeat(n / 14)}`,
      (n) => `${'/a'.repeat(n / 2)}?a.id=2`,
      (n) => `${'/a'.repeat(n / 2)}?${'a.'.repeat(n / 4)}id=2`,
      (n) => `/cartItem?id=2${'/'.repeat(n)}`,
      (n) => `/cartItem?${'='.repeat(n)}`,
      (n) => `/cartItem?id=${'%41'.repeat(n / 3)}`,
    ];
    for (const shape of shapes) {
      const small = workFor(shape(50_000));
      const large = workFor(shape(500_000));
      expect(large, shape(20)).to.be.at.most(10 * small + 100);
      // And the work is about the input's size, never a multiple of its square.
      expect(large, shape(20)).to.be.at.most(4 * shape(500_000).length);
    }
  });

  it('selects nothing as a 400, and expands a selection into pointers, highest index first', () => {
    const cart = {
      cartItem: [
        { id: '1', status: 'active' },
        { id: '2', status: 'saveForLater' },
        { id: '3', status: 'saveForLater' },
      ],
    } as ShoppingCart;
    expect(selectElements(cart, '/cartItem?cartItem.status=saveForLater')).to.deep.equal([
      '/cartItem/2',
      '/cartItem/1',
    ]);
    expect(selectElements(cart, '/cartItem/status?cartItem.id=3')).to.deep.equal(['/cartItem/2/status']);
    expect(() => selectElements(cart, '/cartItem?cartItem.id=9')).to.throw(AppError, /selects no element/);
    expect(() => selectElements(cart, '/cartItem/status')).to.not.throw();
  });
});
