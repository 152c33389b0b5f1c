/**
 * Unit tests of the pricing contract (docs/pricing.md), one block per rule, table-driven where
 * the rule has several cases. Amounts are checked as exact JSON numbers: the pricer promises the
 * number nearest to the exact decimal, so 0.3 must be 0.3, not 0.30000000000000004.
 */
import { expect } from 'chai';
import type {
  CartItem,
  CartPrice,
  Money,
  Price,
  PriceAlteration,
  ShoppingCart,
} from '../../src/api-types.js';
import { priceCart, type RoundingMode } from '../../src/cart/pricing/index.js';
import { isAppError } from '../../src/errors.js';

// ---------------------------------------------------------------------------------------------
// Builders and readers

const money = (value: number, unit = 'EUR'): Money => ({ unit, value });

const oneTime = (price: Price, extra: Partial<CartPrice> = {}): CartPrice => ({
  priceType: 'oneTime',
  price,
  ...extra,
});

const monthly = (price: Price, extra: Partial<CartPrice> = {}): CartPrice => ({
  priceType: 'recurring',
  recurringChargePeriod: 'month',
  price,
  ...extra,
});

const cartOf = (...items: CartItem[]): ShoppingCart => ({ id: 'cart-1', cartItem: items });

const price = (cart: ShoppingCart, rounding: RoundingMode = 'half-even'): ShoppingCart =>
  priceCart(cart, { rounding });

/** itemTotalPrice of a single-item cart. */
const itemTotals = (item: CartItem, rounding: RoundingMode = 'half-even'): CartPrice[] => {
  const priced = price(cartOf(item), rounding);
  const totals = priced.cartItem?.[0]?.itemTotalPrice;
  expect(totals, 'itemTotalPrice is set').to.be.an('array');
  return totals ?? [];
};

/** The only totals CartPrice of a single-item cart. */
const onlyTotal = (item: CartItem, rounding: RoundingMode = 'half-even'): CartPrice => {
  const totals = itemTotals(item, rounding);
  expect(totals).to.have.length(1);
  return totals[0] ?? {};
};

/** [dutyFree, taxIncluded] values of a totals CartPrice. */
const values = (cp: CartPrice): [number | undefined, number | undefined] => [
  cp.price?.dutyFreeAmount?.value,
  cp.price?.taxIncludedAmount?.value,
];

const expectBadRequest = (run: () => unknown, path: string): void => {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(isAppError(caught), `throws an AppError naming ${path}`).to.equal(true);
  if (!isAppError(caught)) return;
  expect(caught.code).to.equal('BAD_REQUEST');
  expect(caught.message.startsWith(`${path}: `), `message "${caught.message}" starts with ${path}`).to.equal(
    true,
  );
  expect(caught.reason).to.equal(`Invalid ${path}`);
};

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
};

// ---------------------------------------------------------------------------------------------

describe('priceCart', () => {
  describe('acceptance example (introductory 50% off a 29 EUR monthly price, 10% tax)', () => {
    const alteration: PriceAlteration = {
      priceType: 'recurring',
      priority: 1,
      applicationDuration: 3,
      price: { percentage: 50 },
    };
    const cases = [
      { quantity: 1, dutyFree: 14.5, taxIncluded: 15.95 },
      { quantity: 3, dutyFree: 43.5, taxIncluded: 47.85 },
    ];
    for (const c of cases) {
      it(`quantity ${c.quantity}: ${c.dutyFree} / ${c.taxIncluded}`, () => {
        const cart = cartOf({
          id: '1',
          quantity: c.quantity,
          itemPrice: [monthly({ dutyFreeAmount: money(29), taxRate: 10 }, { priceAlteration: [alteration] })],
        });
        const expected: CartPrice[] = [
          {
            priceType: 'recurring',
            recurringChargePeriod: 'month',
            price: {
              dutyFreeAmount: { unit: 'EUR', value: c.dutyFree },
              taxIncludedAmount: { unit: 'EUR', value: c.taxIncluded },
              taxRate: 10,
            },
            priceAlteration: [alteration],
          },
        ];
        const priced = price(cart);
        expect(priced.cartItem?.[0]?.itemTotalPrice).to.deep.equal(expected);
        expect(priced.cartTotalPrice).to.deep.equal(expected);
      });
    }
  });

  describe('normalising a price', () => {
    const cases: { name: string; price: Price; expected: [number, number]; taxRate?: number }[] = [
      {
        name: 'derives taxIncluded from dutyFree',
        price: { dutyFreeAmount: money(100), taxRate: 20 },
        expected: [100, 120],
        taxRate: 20,
      },
      {
        name: 'derives dutyFree from taxIncluded',
        price: { taxIncludedAmount: money(120), taxRate: 20 },
        expected: [100, 120],
        taxRate: 20,
      },
      {
        name: 'derives a non-terminating dutyFree and rounds it (100 / 1.07 = 93.457...)',
        price: { taxIncludedAmount: money(100), taxRate: 7 },
        expected: [93.46, 100],
        taxRate: 7,
      },
      {
        name: 'keeps both amounts when both are given, even if they disagree with the rate',
        price: { dutyFreeAmount: money(100), taxIncludedAmount: money(150), taxRate: 20 },
        expected: [100, 150],
        taxRate: 20,
      },
      {
        name: 'treats an absent taxRate as 0 and does not invent one in the totals',
        price: { dutyFreeAmount: money(10) },
        expected: [10, 10],
      },
      {
        name: 'keeps an explicit taxRate of 0',
        price: { taxIncludedAmount: money(10), taxRate: 0 },
        expected: [10, 10],
        taxRate: 0,
      },
      {
        name: 'accepts a fractional taxRate (5.5%)',
        price: { dutyFreeAmount: money(200), taxRate: 5.5 },
        expected: [200, 211],
        taxRate: 5.5,
      },
      {
        name: 'ignores a Money that has no value',
        price: { dutyFreeAmount: money(10), taxIncludedAmount: { unit: 'EUR' }, taxRate: 10 },
        expected: [10, 11],
        taxRate: 10,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const total = onlyTotal({ itemPrice: [oneTime(c.price)] });
        expect(values(total)).to.deep.equal(c.expected);
        expect(total.price?.dutyFreeAmount?.unit).to.equal('EUR');
        expect(total.price?.taxIncludedAmount?.unit).to.equal('EUR');
        if (c.taxRate === undefined) expect(total.price).to.not.have.property('taxRate');
        else expect(total.price?.taxRate).to.equal(c.taxRate);
      });
    }

    const skipped: { name: string; cartPrice: CartPrice }[] = [
      { name: 'no price', cartPrice: { priceType: 'oneTime' } },
      { name: 'a price without amounts', cartPrice: oneTime({ taxRate: 20 }) },
      {
        name: 'amounts without values',
        cartPrice: oneTime({ dutyFreeAmount: { unit: 'EUR' }, taxIncludedAmount: { unit: 'EUR' } }),
      },
      { name: 'only a percentage', cartPrice: oneTime({ percentage: 10 }) },
    ];
    for (const c of skipped) {
      it(`skips a CartPrice with ${c.name}`, () => {
        const priced = price(cartOf({ itemPrice: [c.cartPrice] }));
        expect(priced.cartItem?.[0]?.itemTotalPrice).to.deep.equal([]);
        expect(priced.cartTotalPrice).to.deep.equal([]);
      });
    }
  });

  describe('alterations', () => {
    const base = (alterations: PriceAlteration[], p: Price = { dutyFreeAmount: money(100) }): CartItem => ({
      itemPrice: [oneTime(p, { priceAlteration: alterations })],
    });
    const pct = (percentage: number, priority?: number): PriceAlteration => ({
      priceType: 'oneTime',
      ...(priority === undefined ? {} : { priority }),
      price: { percentage },
    });
    const off = (value: number, priority?: number): PriceAlteration => ({
      priceType: 'oneTime',
      ...(priority === undefined ? {} : { priority }),
      price: { dutyFreeAmount: money(value) },
    });

    const cases: { name: string; item: CartItem; expected: [number, number]; rounding?: RoundingMode }[] = [
      {
        name: 'percentage reduces both amounts',
        item: base([pct(25)], { dutyFreeAmount: money(100), taxRate: 20 }),
        expected: [75, 90],
      },
      {
        name: 'absolute dutyFree amount derives the taxIncluded side with the price rate',
        item: base([off(5)], { dutyFreeAmount: money(29), taxRate: 10 }),
        expected: [24, 26.4],
      },
      {
        name: 'absolute taxIncluded amount derives the dutyFree side with the price rate',
        item: base([{ priceType: 'oneTime', price: { taxIncludedAmount: money(5.5) } }], {
          dutyFreeAmount: money(29),
          taxRate: 10,
        }),
        expected: [24, 26.4],
      },
      {
        name: 'absolute amounts on both sides are used as given',
        item: base(
          [{ priceType: 'oneTime', price: { dutyFreeAmount: money(5), taxIncludedAmount: money(6) } }],
          { dutyFreeAmount: money(29), taxRate: 10 },
        ),
        expected: [24, 25.9],
      },
      {
        name: 'absolute alteration on a taxIncluded-only price',
        item: base([off(10)], { taxIncludedAmount: money(120), taxRate: 20 }),
        expected: [90, 108],
      },
      { name: 'negative percentage is a surcharge', item: base([pct(-10)]), expected: [110, 110] },
      { name: 'negative absolute amount is a surcharge', item: base([off(-5)]), expected: [105, 105] },
      { name: 'percentage above 100 clamps at 0', item: base([pct(150)]), expected: [0, 0] },
      { name: 'absolute amount above the price clamps at 0', item: base([off(250)]), expected: [0, 0] },
      {
        name: 'clamps after each step: a surcharge after a >100% discount starts from 0',
        item: base([pct(150, 1), off(-5, 2)]),
        expected: [5, 5],
      },
      {
        name: 'applies in ascending priority, not array order',
        item: base([off(10, 2), pct(50, 1)]),
        expected: [40, 40],
      },
      {
        name: 'applies alterations without priority last',
        item: base([pct(50), off(10, 5)]),
        expected: [45, 45],
      },
      {
        name: 'keeps array order on priority ties (absolute first)',
        item: base([off(10, 1), pct(50, 1)]),
        expected: [45, 45],
      },
      {
        name: 'keeps array order on priority ties (percentage first)',
        item: base([pct(50, 1), off(10, 1)]),
        expected: [40, 40],
      },
      {
        name: 'applies an introductory alteration (applicationDuration) as charged in the first period',
        item: base([{ ...pct(100), applicationDuration: 2 }]),
        expected: [0, 0],
      },
      {
        name: 'skips an alteration with applicationDuration 0 (applies in no period)',
        item: base([{ ...pct(100), applicationDuration: 0 }]),
        expected: [100, 100],
      },
      {
        name: 'does not round between steps: 0.05 − 50% − 50% is 0.0125 -> 0.01 half-up (0.02 if rounded in between)',
        item: base([pct(50, 1), pct(50, 2)], { dutyFreeAmount: money(0.05) }),
        expected: [0.01, 0.01],
        rounding: 'half-up',
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(values(onlyTotal(c.item, c.rounding))).to.deep.equal(c.expected);
      });
    }

    it('lists applied alterations in the totals, sorted by priority, as copies', () => {
      const a1 = pct(10, 2);
      const a2 = { ...off(1, 1), name: 'welcome', applicationDuration: 1 };
      const item = base([a1, a2]);
      const total = onlyTotal(item);
      expect(total.priceAlteration).to.deep.equal([a2, a1]);
      expect(total.priceAlteration?.[0]).to.not.equal(a2);
      expect(total.priceAlteration?.[0]?.price).to.not.equal(a2.price);
    });

    it('does not list alterations that did not apply (zero duration, no amount)', () => {
      const total = onlyTotal(
        base([
          { ...pct(10), applicationDuration: 0 },
          { priceType: 'oneTime', price: {} },
        ]),
      );
      expect(values(total)).to.deep.equal([100, 100]);
      expect(total).to.not.have.property('priceAlteration');
    });

    it('omits priceAlteration from a group without alterations', () => {
      const total = onlyTotal({ itemPrice: [oneTime({ dutyFreeAmount: money(1) })] });
      expect(total).to.not.have.property('priceAlteration');
    });

    it('lists an alteration applied on several lines once per group', () => {
      const discount = pct(10, 1);
      const cart = cartOf(
        { id: 'a', itemPrice: [oneTime({ dutyFreeAmount: money(10) }, { priceAlteration: [discount] })] },
        {
          id: 'b',
          itemPrice: [oneTime({ dutyFreeAmount: money(20) }, { priceAlteration: [{ ...discount }] })],
        },
      );
      const total = price(cart).cartTotalPrice ?? [];
      expect(total).to.have.length(1);
      expect(values(total[0] ?? {})).to.deep.equal([27, 27]);
      expect(total[0]?.priceAlteration).to.deep.equal([discount]);
    });

    it('applies an alteration to its own CartPrice only, whatever its priceType says', () => {
      const item: CartItem = {
        itemPrice: [
          oneTime({ dutyFreeAmount: money(100) }),
          monthly(
            { dutyFreeAmount: money(20) },
            { priceAlteration: [{ priceType: 'oneTime', price: { percentage: 50 } }] },
          ),
        ],
      };
      const totals = itemTotals(item);
      expect(totals.map((t) => [t.priceType, ...values(t)])).to.deep.equal([
        ['oneTime', 100, 100],
        ['recurring', 10, 10],
      ]);
    });

    it('is exact where dividing early would miss a half-cent tie (10 EUR at 7%, 0.015 off taxIncluded)', () => {
      // taxIncluded = 10 × 1.07 − 0.015 = 10.685 exactly: half-even 10.68, half-up 10.69.
      const item = base([{ priceType: 'oneTime', price: { taxIncludedAmount: money(0.015) } }], {
        dutyFreeAmount: money(10),
        taxRate: 7,
      });
      expect(values(onlyTotal(item, 'half-even'))).to.deep.equal([9.99, 10.68]);
      expect(values(onlyTotal(item, 'half-up'))).to.deep.equal([9.99, 10.69]);
    });
  });

  describe('item totals and grouping', () => {
    it('groups by priceType, period (recurring only) and currency, in a fixed order', () => {
      const item: CartItem = {
        itemPrice: [
          monthly({ dutyFreeAmount: money(5, 'USD') }),
          { priceType: 'usage', price: { dutyFreeAmount: money(0.5) } },
          { priceType: 'recurring', recurringChargePeriod: 'year', price: { dutyFreeAmount: money(100) } },
          monthly({ dutyFreeAmount: money(10) }),
          oneTime({ dutyFreeAmount: money(50) }),
          monthly({ dutyFreeAmount: money(2.5) }),
          oneTime({ dutyFreeAmount: money(1) }, { recurringChargePeriod: 'month' }), // period ignored
          { price: { dutyFreeAmount: money(3) } }, // no priceType
        ],
      };
      const totals = itemTotals(item);
      expect(
        totals.map((t) => [
          t.priceType,
          t.recurringChargePeriod,
          t.price?.dutyFreeAmount?.unit,
          t.price?.dutyFreeAmount?.value,
        ]),
      ).to.deep.equal([
        [undefined, undefined, 'EUR', 3],
        ['oneTime', undefined, 'EUR', 51],
        ['recurring', 'month', 'EUR', 12.5],
        ['recurring', 'month', 'USD', 5],
        ['recurring', 'year', 'EUR', 100],
        ['usage', undefined, 'EUR', 0.5],
      ]);
      expect(totals[0]).to.not.have.property('priceType');
      expect(totals[1]).to.not.have.property('recurringChargePeriod');
    });

    it('multiplies each line by the quantity before rounding, and sums the rounded lines', () => {
      // 0.335 × 3 = 1.005 -> 1.00 (half-even); rounding the unit first would give 0.34 × 3 = 1.02.
      const total = onlyTotal({ quantity: 3, itemPrice: [oneTime({ dutyFreeAmount: money(0.335) })] });
      expect(values(total)).to.deep.equal([1, 1]);
      // Two lines of 0.125 each: 0.12 + 0.12 = 0.24, not round(0.25) = 0.25.
      const two = onlyTotal({
        itemPrice: [oneTime({ dutyFreeAmount: money(0.125) }), oneTime({ dutyFreeAmount: money(0.125) })],
      });
      expect(values(two)).to.deep.equal([0.24, 0.24]);
    });

    const rates: { name: string; rates: (number | undefined)[]; expected: number | undefined }[] = [
      { name: 'shows taxRate when every line shares it', rates: [20, 20], expected: 20 },
      { name: 'omits taxRate when lines differ', rates: [20, 10], expected: undefined },
      { name: 'omits taxRate when a line states none', rates: [20, undefined], expected: undefined },
    ];
    for (const c of rates) {
      it(c.name, () => {
        const total = onlyTotal({
          itemPrice: c.rates.map((taxRate) =>
            oneTime({ dutyFreeAmount: money(10), ...(taxRate === undefined ? {} : { taxRate }) }),
          ),
        });
        if (c.expected === undefined) expect(total.price).to.not.have.property('taxRate');
        else expect(total.price?.taxRate).to.equal(c.expected);
      });
    }

    it('gives an item with no priced lines an empty itemTotalPrice', () => {
      const priced = price(cartOf({ id: 'x' }, { id: 'y', itemPrice: [] }));
      expect(priced.cartItem?.map((i) => i.itemTotalPrice)).to.deep.equal([[], []]);
      expect(priced.cartTotalPrice).to.deep.equal([]);
    });

    it('gives a cart without items an empty cartTotalPrice and no cartItem', () => {
      const priced = price({ id: 'empty' });
      expect(priced).to.deep.equal({ id: 'empty', cartTotalPrice: [] });
      expect(price({ id: 'e', cartItem: [] })).to.deep.equal({ id: 'e', cartItem: [], cartTotalPrice: [] });
    });
  });

  describe('quantities and nested items', () => {
    const bundle = (): CartItem => ({
      id: 'bundle',
      quantity: 2,
      itemPrice: [oneTime({ dutyFreeAmount: money(10) })],
      cartItem: [
        { id: 'c1', quantity: 3, itemPrice: [oneTime({ dutyFreeAmount: money(1) })] },
        {
          id: 'c2',
          itemPrice: [monthly({ dutyFreeAmount: money(5) })],
          cartItem: [{ id: 'c2a', quantity: 4, itemPrice: [monthly({ dutyFreeAmount: money(0.25) })] }],
        },
      ],
    });

    it("adds nested totals to the parent's, each with its own quantity (not the parent's)", () => {
      const priced = price(cartOf(bundle()));
      const parent = priced.cartItem?.[0];
      expect(parent?.itemTotalPrice?.map((t) => [t.priceType, ...values(t)])).to.deep.equal([
        ['oneTime', 23, 23], // 2 × 10 + 3 × 1
        ['recurring', 6, 6], // 5 + 4 × 0.25
      ]);
      expect(parent?.cartItem?.[0]?.itemTotalPrice?.map(values)).to.deep.equal([[3, 3]]);
      expect(parent?.cartItem?.[1]?.itemTotalPrice?.map(values)).to.deep.equal([[6, 6]]);
      expect(parent?.cartItem?.[1]?.cartItem?.[0]?.itemTotalPrice?.map(values)).to.deep.equal([[1, 1]]);
      // The cart counts the bundle once: nested totals are inside the parent's.
      expect(priced.cartTotalPrice?.map(values)).to.deep.equal([
        [23, 23],
        [6, 6],
      ]);
    });

    it("excludes a saveForLater nested item from its parent's total but still prices it", () => {
      const item = bundle();
      const c1 = item.cartItem?.[0];
      if (c1) c1.status = 'saveForLater';
      const parent = price(cartOf(item)).cartItem?.[0];
      expect(parent?.itemTotalPrice?.map(values)).to.deep.equal([
        [20, 20],
        [6, 6],
      ]);
      expect(parent?.cartItem?.[0]?.itemTotalPrice?.map(values)).to.deep.equal([[3, 3]]);
    });

    const badQuantities: { quantity: unknown; name: string }[] = [
      { quantity: 0, name: 'zero' },
      { quantity: -1, name: 'negative' },
      { quantity: 1.5, name: 'fractional' },
      { quantity: '2', name: 'string' },
      { quantity: Number.NaN, name: 'NaN' },
    ];
    for (const c of badQuantities) {
      it(`rejects a ${c.name} quantity with a 400 naming the field`, () => {
        const item = { quantity: c.quantity, itemPrice: [oneTime({ dutyFreeAmount: money(1) })] } as CartItem;
        expectBadRequest(() => price(cartOf({ id: 'ok' }, item)), 'cartItem[1].quantity');
      });
    }

    it('rejects a bad nested quantity with the nested path', () => {
      const cart = cartOf({ cartItem: [{ id: 'a' }, { id: 'b', quantity: 0 }] });
      expectBadRequest(() => price(cart), 'cartItem[0].cartItem[1].quantity');
    });

    it('defaults quantity to 1', () => {
      expect(values(onlyTotal({ itemPrice: [oneTime({ dutyFreeAmount: money(7) })] }))).to.deep.equal([7, 7]);
    });
  });

  describe('cart total', () => {
    it('sums top-level items, excluding saveForLater ones (which keep their own totals)', () => {
      const cart = cartOf(
        { id: 'a', itemPrice: [oneTime({ dutyFreeAmount: money(10), taxRate: 20 })] },
        {
          id: 'b',
          status: 'saveForLater',
          itemPrice: [oneTime({ dutyFreeAmount: money(1000), taxRate: 20 })],
        },
        {
          id: 'c',
          status: 'active',
          quantity: 2,
          itemPrice: [oneTime({ dutyFreeAmount: money(5), taxRate: 20 })],
        },
      );
      const priced = price(cart);
      expect(priced.cartTotalPrice).to.deep.equal([
        {
          priceType: 'oneTime',
          price: { dutyFreeAmount: money(20), taxIncludedAmount: money(24), taxRate: 20 },
        },
      ]);
      expect(priced.cartItem?.[1]?.itemTotalPrice?.map(values)).to.deep.equal([[1000, 1200]]);
    });

    it('is empty when every item is saved for later', () => {
      const cart = cartOf({ status: 'saveForLater', itemPrice: [oneTime({ dutyFreeAmount: money(1) })] });
      const priced = price(cart);
      expect(priced.cartTotalPrice).to.deep.equal([]);
      expect(priced.cartItem?.[0]?.itemTotalPrice?.map(values)).to.deep.equal([[1, 1]]);
    });

    it('keeps currencies apart', () => {
      const cart = cartOf(
        { itemPrice: [oneTime({ dutyFreeAmount: money(10) })] },
        { itemPrice: [oneTime({ dutyFreeAmount: money(1000, 'JPY') })] },
        { itemPrice: [oneTime({ dutyFreeAmount: money(2.5) })] },
      );
      expect(price(cart).cartTotalPrice?.map((t) => t.price?.dutyFreeAmount)).to.deep.equal([
        money(12.5),
        money(1000, 'JPY'),
      ]);
    });

    it('rejects an unknown status with a 400', () => {
      const item = { status: 'archived' } as unknown as CartItem;
      expectBadRequest(() => price(cartOf(item)), 'cartItem[0].status');
    });
  });

  describe('rounding', () => {
    const cases: { name: string; unit: string; value: number; halfEven: number; halfUp: number }[] = [
      { name: 'EUR to 2 places', unit: 'EUR', value: 0.125, halfEven: 0.12, halfUp: 0.13 },
      { name: 'EUR, odd digit before the half', unit: 'EUR', value: 0.135, halfEven: 0.14, halfUp: 0.14 },
      { name: 'USD to 2 places', unit: 'USD', value: 2.675, halfEven: 2.68, halfUp: 2.68 },
      { name: 'JPY to 0 places', unit: 'JPY', value: 100.5, halfEven: 100, halfUp: 101 },
      { name: 'KRW to 0 places', unit: 'KRW', value: 101.5, halfEven: 102, halfUp: 102 },
      { name: 'BHD to 3 places', unit: 'BHD', value: 1.0005, halfEven: 1, halfUp: 1.001 },
      { name: 'KWD to 3 places', unit: 'KWD', value: 0.0125, halfEven: 0.012, halfUp: 0.013 },
      { name: 'an unknown code to 2 places', unit: 'XYZ', value: 0.125, halfEven: 0.12, halfUp: 0.13 },
      { name: 'a lower-case code by its ISO minor unit', unit: 'jpy', value: 2.5, halfEven: 2, halfUp: 3 },
      { name: 'not below the half', unit: 'EUR', value: 0.1249, halfEven: 0.12, halfUp: 0.12 },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.value} -> ${c.halfEven} half-even, ${c.halfUp} half-up`, () => {
        const item: CartItem = { itemPrice: [oneTime({ dutyFreeAmount: money(c.value, c.unit) })] };
        expect(onlyTotal(item, 'half-even').price?.dutyFreeAmount).to.deep.equal(money(c.halfEven, c.unit));
        expect(onlyTotal(item, 'half-up').price?.dutyFreeAmount).to.deep.equal(money(c.halfUp, c.unit));
      });
    }

    it('rounds a divided amount once, at the end: 0.01225 × 9 at 5% has dutyFree exactly 0.105', () => {
      // 0.01225 / 1.05 does not terminate, so dividing first and then × 9 lands just above 0.105.
      const item: CartItem = {
        quantity: 9,
        itemPrice: [oneTime({ taxIncludedAmount: money(0.01225), taxRate: 5 })],
      };
      expect(values(onlyTotal(item, 'half-even'))).to.deep.equal([0.1, 0.11]);
      expect(values(onlyTotal(item, 'half-up'))).to.deep.equal([0.11, 0.11]);
    });
  });

  describe('exact decimal arithmetic (float traps)', () => {
    const cases: {
      name: string;
      value: number;
      quantity: number;
      expected: number;
      rounding?: RoundingMode;
    }[] = [
      { name: '0.1 × 3 is 0.3', value: 0.1, quantity: 3, expected: 0.3 },
      { name: '19.99 × 3 is 59.97', value: 19.99, quantity: 3, expected: 59.97 },
      {
        name: '1.005 rounds half-up to 1.01 (as a float it is 1.00499...)',
        value: 1.005,
        quantity: 1,
        expected: 1.01,
        rounding: 'half-up',
      },
      { name: '1.005 rounds half-even to 1.00', value: 1.005, quantity: 1, expected: 1 },
      { name: '4.35 × 100 is 435', value: 4.35, quantity: 100, expected: 435 },
      { name: '0.07 × 7 is 0.49', value: 0.07, quantity: 7, expected: 0.49 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const item: CartItem = {
          quantity: c.quantity,
          itemPrice: [oneTime({ dutyFreeAmount: money(c.value) })],
        };
        expect(values(onlyTotal(item, c.rounding))).to.deep.equal([c.expected, c.expected]);
      });
    }

    it('sums 0.1 + 0.2 to 0.3', () => {
      const item: CartItem = {
        itemPrice: [oneTime({ dutyFreeAmount: money(0.1) }), oneTime({ dutyFreeAmount: money(0.2) })],
      };
      expect(values(onlyTotal(item))).to.deep.equal([0.3, 0.3]);
    });

    it('derives tax exactly: 0.1 at 10% is 0.11', () => {
      expect(
        values(onlyTotal({ itemPrice: [oneTime({ dutyFreeAmount: money(0.1), taxRate: 10 })] })),
      ).to.deep.equal([0.1, 0.11]);
    });

    it('stays exact past 2^53: 1.25e-16 × 40,000,000,000,000 is exactly 0.005, a tie', () => {
      // 1.25e-16 is 125 / 10^18: the plain-number rationals overflow and BigInt takes the line.
      const item: CartItem = {
        quantity: 40_000_000_000_000,
        itemPrice: [oneTime({ dutyFreeAmount: money(1.25e-16) })],
      };
      expect(values(onlyTotal(item, 'half-even'))).to.deep.equal([0, 0]);
      expect(values(onlyTotal(item, 'half-up'))).to.deep.equal([0.01, 0.01]);
    });

    it('reads a 17-digit amount exactly (BigInt) and derives the other side from it', () => {
      // 0.30000000000000004 × 25 = 7.500000000000001 -> 7.50; at 20% tax 9.0000000000000012 -> 9.00.
      const item: CartItem = {
        quantity: 25,
        itemPrice: [oneTime({ dutyFreeAmount: money(0.30000000000000004), taxRate: 20 })],
      };
      expect(values(onlyTotal(item))).to.deep.equal([7.5, 9]);
    });

    it('refuses a total that a JSON number cannot carry exactly', () => {
      const item: CartItem = { quantity: 1000, itemPrice: [oneTime({ dutyFreeAmount: money(1e14) })] };
      expectBadRequest(() => price(cartOf(item)), 'cartItem[0].itemPrice[0]');
    });
  });

  describe('invalid prices', () => {
    const cases: { name: string; item: CartItem; path: string }[] = [
      {
        name: 'a priced amount without a unit',
        item: {
          itemPrice: [oneTime({ dutyFreeAmount: money(1) }), oneTime({ dutyFreeAmount: { value: 1 } })],
        },
        path: 'cartItem[0].itemPrice[1].price.dutyFreeAmount.unit',
      },
      {
        name: 'an empty unit',
        item: { itemPrice: [oneTime({ taxIncludedAmount: { unit: '', value: 1 } })] },
        path: 'cartItem[0].itemPrice[0].price.taxIncludedAmount.unit',
      },
      {
        name: 'two currencies inside one price',
        item: { itemPrice: [oneTime({ dutyFreeAmount: money(1), taxIncludedAmount: money(1.2, 'USD') })] },
        path: 'cartItem[0].itemPrice[0].price.taxIncludedAmount.unit',
      },
      {
        name: 'a negative price amount',
        item: { itemPrice: [oneTime({ dutyFreeAmount: money(-1) })] },
        path: 'cartItem[0].itemPrice[0].price.dutyFreeAmount.value',
      },
      {
        name: 'a non-number amount',
        item: { itemPrice: [oneTime({ dutyFreeAmount: { unit: 'EUR', value: '1' as unknown as number } })] },
        path: 'cartItem[0].itemPrice[0].price.dutyFreeAmount.value',
      },
      {
        name: 'a negative taxRate',
        item: { itemPrice: [oneTime({ dutyFreeAmount: money(1), taxRate: -5 })] },
        path: 'cartItem[0].itemPrice[0].price.taxRate',
      },
      {
        name: 'an alteration in another currency',
        item: {
          itemPrice: [
            oneTime(
              { dutyFreeAmount: money(10) },
              { priceAlteration: [{ priceType: 'oneTime', price: { dutyFreeAmount: money(1, 'USD') } }] },
            ),
          ],
        },
        path: 'cartItem[0].itemPrice[0].priceAlteration[0].price.dutyFreeAmount.unit',
      },
      {
        name: 'an alteration amount without a unit',
        item: {
          itemPrice: [
            oneTime(
              { dutyFreeAmount: money(10) },
              {
                priceAlteration: [
                  { priceType: 'oneTime', price: { percentage: 5 } },
                  { priceType: 'oneTime', price: { taxIncludedAmount: { value: 1 } } },
                ],
              },
            ),
          ],
        },
        path: 'cartItem[0].itemPrice[0].priceAlteration[1].price.taxIncludedAmount.unit',
      },
      {
        name: 'an alteration with both a percentage and an amount',
        item: {
          itemPrice: [
            oneTime(
              { dutyFreeAmount: money(10) },
              {
                priceAlteration: [
                  { priceType: 'oneTime', price: { percentage: 5, dutyFreeAmount: money(1) } },
                ],
              },
            ),
          ],
        },
        path: 'cartItem[0].itemPrice[0].priceAlteration[0].price',
      },
      {
        name: 'a negative applicationDuration',
        item: {
          itemPrice: [
            oneTime(
              { dutyFreeAmount: money(10) },
              {
                priceAlteration: [
                  { priceType: 'oneTime', applicationDuration: -1, price: { percentage: 5 } },
                ],
              },
            ),
          ],
        },
        path: 'cartItem[0].itemPrice[0].priceAlteration[0].applicationDuration',
      },
      {
        name: 'a non-number priority',
        item: {
          itemPrice: [
            oneTime(
              { dutyFreeAmount: money(10) },
              {
                priceAlteration: [
                  { priceType: 'oneTime', priority: 'high' as unknown as number, price: { percentage: 5 } },
                ],
              },
            ),
          ],
        },
        path: 'cartItem[0].itemPrice[0].priceAlteration[0].priority',
      },
      {
        name: 'a missing unit in a nested item',
        item: { cartItem: [{}, { itemPrice: [monthly({ taxIncludedAmount: { value: 3 } })] }] },
        path: 'cartItem[0].cartItem[1].itemPrice[0].price.taxIncludedAmount.unit',
      },
    ];
    for (const c of cases) {
      it(`rejects ${c.name} with a 400 naming ${c.path}`, () => {
        expectBadRequest(() => price(cartOf(c.item)), c.path);
      });
    }

    it('rejects a missing unit on a saveForLater item too (it is still priced)', () => {
      const item: CartItem = {
        status: 'saveForLater',
        itemPrice: [oneTime({ dutyFreeAmount: { value: 1 } })],
      };
      expectBadRequest(() => price(cartOf(item)), 'cartItem[0].itemPrice[0].price.dutyFreeAmount.unit');
    });
  });

  describe('server-owned fields and immutability', () => {
    const clientTotals: CartPrice[] = [{ priceType: 'oneTime', price: { dutyFreeAmount: money(0.01) } }];

    it('replaces client-supplied itemTotalPrice, ItemTotalPrice and cartTotalPrice', () => {
      const cart: ShoppingCart = {
        id: 'c',
        cartTotalPrice: clientTotals,
        cartItem: [
          {
            id: '1',
            ItemTotalPrice: clientTotals,
            itemTotalPrice: clientTotals,
            itemPrice: [oneTime({ dutyFreeAmount: money(5) })],
            cartItem: [
              { id: '1.1', ItemTotalPrice: clientTotals, itemPrice: [oneTime({ dutyFreeAmount: money(1) })] },
            ],
          },
        ],
      };
      const priced = price(cart);
      const item = priced.cartItem?.[0];
      expect(item).to.not.have.property('ItemTotalPrice');
      expect(item?.cartItem?.[0]).to.not.have.property('ItemTotalPrice');
      expect(item?.itemTotalPrice?.map(values)).to.deep.equal([[6, 6]]);
      expect(item?.cartItem?.[0]?.itemTotalPrice?.map(values)).to.deep.equal([[1, 1]]);
      expect(priced.cartTotalPrice?.map(values)).to.deep.equal([[6, 6]]);
    });

    it('removes ItemTotalPrice even from an item without prices', () => {
      const priced = price(cartOf({ id: 'x', ItemTotalPrice: clientTotals }));
      expect(priced.cartItem?.[0]).to.deep.equal({ id: 'x', itemTotalPrice: [] });
    });

    it('does not mutate its input and returns new cart and item objects', () => {
      const cart: ShoppingCart = {
        id: 'c',
        relatedParty: [{ id: 'p1', role: 'customer', '@referredType': 'Individual' }],
        cartTotalPrice: clientTotals,
        cartItem: [
          {
            id: '1',
            quantity: 2,
            ItemTotalPrice: clientTotals,
            itemPrice: [
              monthly(
                { dutyFreeAmount: money(29), taxRate: 10 },
                { priceAlteration: [{ priceType: 'recurring', priority: 1, price: { percentage: 50 } }] },
              ),
            ],
            cartItem: [{ id: '1.1', itemPrice: [oneTime({ taxIncludedAmount: money(12) })] }],
          },
        ],
      };
      const before = structuredClone(cart);
      const priced = price(deepFreeze(cart)); // frozen: any write would throw in strict mode
      expect(cart).to.deep.equal(before);
      expect(priced).to.not.equal(cart);
      expect(priced.cartItem?.[0]).to.not.equal(cart.cartItem?.[0]);
      // Fields the pricer does not own come through unchanged.
      expect(priced.id).to.equal('c');
      expect(priced.relatedParty).to.deep.equal(before.relatedParty);
      expect(priced.cartItem?.[0]?.itemPrice).to.deep.equal(before.cartItem?.[0]?.itemPrice);
      expect(priced.cartItem?.[0]?.quantity).to.equal(2);
    });

    it('gives the same result for the same input (pure)', () => {
      const cart = cartOf({ itemPrice: [oneTime({ taxIncludedAmount: money(99.99), taxRate: 19 })] });
      expect(price(cart)).to.deep.equal(price(cart));
    });
  });
});
