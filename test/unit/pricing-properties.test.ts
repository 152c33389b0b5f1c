/**
 * Properties of priceCart over random carts (fast-check):
 * - every line matches an exact-rational oracle that follows the contract literally (derive the
 *   missing side, apply alterations in order with clamping, × quantity, round once);
 * - the cart total is the sum of the top-level active items' totals, and an item's total is its own
 *   lines plus its active nested items' totals (sums recomputed independently with decimal.js);
 * - totals do not depend on the order of items or of price lines;
 * - the input is not mutated, and every output amount is >= 0 with at most the currency's decimals.
 */
import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import type {
  CartItem,
  CartPrice,
  Money,
  Price,
  PriceAlteration,
  ShoppingCart,
} from '../../src/api-types.js';
import { priceCart, type RoundingMode } from '../../src/cart/pricing/index.js';

// Spelled out here rather than imported, so the tests do not share the table they check.
const MINOR: Readonly<Record<string, number>> = { EUR: 2, USD: 2, JPY: 0, BHD: 3, XYZ: 2 };
const UNITS = Object.keys(MINOR);
const minorOf = (unit: string): number => MINOR[unit] ?? 2;

// ---------------------------------------------------------------------------------------------
// An exact oracle: rationals over BigInt, no rounding until the line total.

interface Q {
  readonly n: bigint;
  readonly d: bigint; // > 0
}

const pow10 = (k: number): bigint => 10n ** BigInt(k);
const gcd = (a: bigint, b: bigint): bigint => {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
};
const q = (n: bigint, d: bigint): Q => {
  const sign = d < 0n ? -1n : 1n;
  const g = gcd(n, d < 0n ? -d : d);
  return { n: (sign * n) / g, d: (sign * d) / g };
};
/** The decimal a JSON number stands for: its shortest round-trip string, read exactly. */
const fromNumber = (x: number): Q => {
  const [mantissa = '0', exponent] = String(x).toLowerCase().split('e');
  const negative = mantissa.startsWith('-');
  const [int = '0', frac = ''] = (negative ? mantissa.slice(1) : mantissa).split('.');
  const e = exponent === undefined ? 0 : Number(exponent);
  let n = BigInt(int + frac) * (negative ? -1n : 1n);
  let d = pow10(frac.length);
  if (e > 0) n *= pow10(e);
  else d *= pow10(-e);
  return q(n, d);
};
const ONE: Q = { n: 1n, d: 1n };
const ZERO: Q = { n: 0n, d: 1n };
const add = (a: Q, b: Q): Q => q(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Q, b: Q): Q => q(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Q, b: Q): Q => q(a.n * b.n, a.d * b.d);
const div = (a: Q, b: Q): Q => q(a.n * b.d, a.d * b.n);
const clamp = (a: Q): Q => (a.n < 0n ? ZERO : a);

/** Rounds a non-negative rational to `minor` places; returns the count of minor units. */
const roundMinor = (a: Q, minor: number, mode: RoundingMode): bigint => {
  const num = a.n * pow10(minor);
  const floor = num / a.d;
  const twice = 2n * (num - floor * a.d);
  if (twice < a.d) return floor;
  if (twice > a.d) return floor + 1n;
  return mode === 'half-up' || floor % 2n !== 0n ? floor + 1n : floor;
};

/** Minor units as the JSON number of the exact decimal, built from its digits. */
const toJsonNumber = (units: bigint, minor: number): number => {
  if (minor === 0) return Number(units);
  const digits = units.toString().padStart(minor + 1, '0');
  return Number(`${digits.slice(0, -minor)}.${digits.slice(-minor)}`);
};

const byPriority = (a: PriceAlteration, b: PriceAlteration): number =>
  (a.priority ?? Number.POSITIVE_INFINITY) - (b.priority ?? Number.POSITIVE_INFINITY) || 0;

/** The contract, literally, for one line: [dutyFree, taxIncluded] as JSON numbers. */
const oracleLine = (cp: CartPrice, quantity: number, mode: RoundingMode): [number, number] | undefined => {
  const p = cp.price;
  const dfIn = p?.dutyFreeAmount?.value;
  const tiIn = p?.taxIncludedAmount?.value;
  const unit = p?.dutyFreeAmount?.unit ?? p?.taxIncludedAmount?.unit;
  if (!p || unit === undefined || (dfIn === undefined && tiIn === undefined)) return undefined;
  const f = add(ONE, div(fromNumber(p.taxRate ?? 0), fromNumber(100)));
  let df = dfIn !== undefined ? fromNumber(dfIn) : div(fromNumber(tiIn ?? 0), f);
  let ti = tiIn !== undefined ? fromNumber(tiIn) : mul(df, f);
  // Array.prototype.sort is stable: ties keep array order, missing priority sorts last.
  for (const a of [...(cp.priceAlteration ?? [])].sort(byPriority)) {
    if (a.applicationDuration === 0) continue;
    if (a.price.percentage !== undefined) {
      const m = sub(ONE, div(fromNumber(a.price.percentage), fromNumber(100)));
      df = clamp(mul(df, m));
      ti = clamp(mul(ti, m));
      continue;
    }
    const aDf = a.price.dutyFreeAmount?.value;
    const aTi = a.price.taxIncludedAmount?.value;
    if (aDf === undefined && aTi === undefined) continue;
    const offDf = aDf !== undefined ? fromNumber(aDf) : div(fromNumber(aTi ?? 0), f);
    const offTi = aTi !== undefined ? fromNumber(aTi) : mul(fromNumber(aDf ?? 0), f);
    df = clamp(sub(df, offDf));
    ti = clamp(sub(ti, offTi));
  }
  const qty = fromNumber(quantity);
  const minor = minorOf(unit);
  return [
    toJsonNumber(roundMinor(mul(df, qty), minor, mode), minor),
    toJsonNumber(roundMinor(mul(ti, qty), minor, mode), minor),
  ];
};

// ---------------------------------------------------------------------------------------------
// Generators

/** Up to three decimals, the way prices arrive in JSON (1.005 is the number nearest to 1.005). */
const amount = (max: number, min = 0): fc.Arbitrary<number> =>
  fc.integer({ min: min * 1000, max: max * 1000 }).map((n) => n / 1000);

const alterationFor = (unit: string): fc.Arbitrary<PriceAlteration> => {
  const m = (value: number): Money => ({ unit, value });
  const price: fc.Arbitrary<Price> = fc.oneof(
    fc.integer({ min: -500, max: 1500 }).map((n) => ({ percentage: n / 10 })),
    amount(60, -10).map((v) => ({ dutyFreeAmount: m(v) })),
    amount(60, -10).map((v) => ({ taxIncludedAmount: m(v) })),
    fc
      .tuple(amount(60, -10), amount(60, -10))
      .map(([a, b]) => ({ dutyFreeAmount: m(a), taxIncludedAmount: m(b) })),
  );
  return fc.record(
    {
      priceType: fc.constantFrom('recurring', 'oneTime'),
      priority: fc.integer({ min: 0, max: 3 }),
      applicationDuration: fc.constantFrom(0, 1, 3, 12),
      price,
    },
    { requiredKeys: ['priceType', 'price'] },
  );
};

const cartPrice: fc.Arbitrary<CartPrice> = fc.constantFrom(...UNITS).chain((unit) => {
  const m = (value: number): Money => ({ unit, value });
  const price: fc.Arbitrary<Price> = fc
    .record({
      amounts: fc.oneof(
        amount(500).map((v) => ({ dutyFreeAmount: m(v) })),
        amount(500).map((v) => ({ taxIncludedAmount: m(v) })),
        fc
          .tuple(amount(500), amount(600))
          .map(([a, b]) => ({ dutyFreeAmount: m(a), taxIncludedAmount: m(b) })),
      ),
      taxRate: fc.option(fc.constantFrom(0, 5, 5.5, 7, 10, 19, 20, 21), { nil: undefined }),
    })
    .map(({ amounts, taxRate }) => (taxRate === undefined ? amounts : { ...amounts, taxRate }));
  return fc
    .record({
      type: fc.constantFrom('oneTime', 'recurring', 'usage'),
      period: fc.constantFrom('month', 'year'),
      price,
      priceAlteration: fc.array(alterationFor(unit), { maxLength: 3 }),
    })
    .map(
      ({ type, period, price: p, priceAlteration }): CartPrice => ({
        priceType: type,
        ...(type === 'recurring' ? { recurringChargePeriod: period } : {}),
        price: p,
        ...(priceAlteration.length > 0 ? { priceAlteration } : {}),
      }),
    );
});

const itemArb = (depth: number): fc.Arbitrary<CartItem> =>
  fc
    .record({
      quantity: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
      status: fc.constantFrom<CartItem['status']>('active', 'active', 'saveForLater', undefined),
      itemPrice: fc.array(cartPrice, { maxLength: 3 }),
      cartItem: depth > 0 ? fc.array(itemArb(depth - 1), { maxLength: 2 }) : fc.constant<CartItem[]>([]),
    })
    .map(
      ({ quantity, status, itemPrice, cartItem }): CartItem => ({
        ...(quantity === undefined ? {} : { quantity }),
        ...(status === undefined ? {} : { status }),
        itemPrice,
        ...(cartItem.length > 0 ? { cartItem } : {}),
      }),
    );

/** Ids by position, so items can be matched after shuffling. */
const withIds = (items: CartItem[], prefix = ''): CartItem[] =>
  items.map((item, i) => {
    const id = `${prefix}${i + 1}`;
    return { ...item, id, ...(item.cartItem ? { cartItem: withIds(item.cartItem, `${id}.`) } : {}) };
  });

const cartArb: fc.Arbitrary<ShoppingCart> = fc
  .array(itemArb(2), { maxLength: 6 })
  .map((items) => ({ id: 'cart', cartItem: withIds(items) }));

const rounding = fc.constantFrom<RoundingMode>('half-even', 'half-up');

// ---------------------------------------------------------------------------------------------
// Helpers for the sums

const groupKey = (cp: CartPrice): string =>
  JSON.stringify([cp.priceType ?? null, cp.recurringChargePeriod ?? null, cp.price?.dutyFreeAmount?.unit]);

/** Sums totals per group with decimal.js: key -> [dutyFree, taxIncluded] as decimal strings. */
const sumByGroup = (lists: CartPrice[][]): Map<string, [string, string]> => {
  const sums = new Map<string, [Decimal, Decimal]>();
  for (const list of lists) {
    for (const cp of list) {
      const key = groupKey(cp);
      const [df, ti] = sums.get(key) ?? [new Decimal(0), new Decimal(0)];
      sums.set(key, [
        df.plus(String(cp.price?.dutyFreeAmount?.value)),
        ti.plus(String(cp.price?.taxIncludedAmount?.value)),
      ]);
    }
  }
  return new Map([...sums].map(([k, [df, ti]]) => [k, [df.toString(), ti.toString()]]));
};

const asSums = (list: CartPrice[]): Map<string, [string, string]> => sumByGroup([list]);

const isActive = (item: CartItem): boolean => item.status !== 'saveForLater';

/** Checks, for an item and everything under it: total = own lines + active nested totals. */
const checkItemSums = (original: CartItem, priced: CartItem, mode: RoundingMode): void => {
  const ownOnly: CartItem = { ...original };
  delete ownOnly.cartItem;
  const own = priceCart({ cartItem: [ownOnly] }, { rounding: mode }).cartItem?.[0]?.itemTotalPrice ?? [];
  const nested = (priced.cartItem ?? []).filter(isActive).map((c) => c.itemTotalPrice ?? []);
  expect(asSums(priced.itemTotalPrice ?? []), `item ${String(priced.id)}`).to.deep.equal(
    sumByGroup([own, ...nested]),
  );
  (original.cartItem ?? []).forEach((child, i) => {
    const pricedChild = priced.cartItem?.[i];
    expect(pricedChild).to.not.equal(undefined);
    if (pricedChild) checkItemSums(child, pricedChild, mode);
  });
};

/** Every totals CartPrice has two non-negative Money amounts with at most the currency's decimals. */
const checkAmounts = (list: CartPrice[]): void => {
  for (const cp of list) {
    for (const m of [cp.price?.dutyFreeAmount, cp.price?.taxIncludedAmount]) {
      expect(m?.unit).to.be.a('string');
      expect(m?.value).to.be.a('number');
      const value = new Decimal(String(m?.value));
      expect(value.isNegative(), `${String(m?.value)} >= 0`).to.equal(false);
      expect(value.decimalPlaces()).to.be.at.most(minorOf(m?.unit ?? ''));
    }
  }
};

const allItems = (items: CartItem[] | undefined): CartItem[] =>
  (items ?? []).flatMap((item) => [item, ...allItems(item.cartItem)]);

/** A deterministic shuffle driven by fast-check's seed values. */
const shuffle = <T>(list: readonly T[], keys: readonly number[]): T[] =>
  list
    .map((value, i) => ({ value, key: keys[i % Math.max(keys.length, 1)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || b.i - a.i)
    .map((x) => x.value);

const shuffleCart = (items: CartItem[], keys: readonly number[]): CartItem[] =>
  shuffle(items, keys).map((item) => ({
    ...item,
    ...(item.itemPrice ? { itemPrice: shuffle(item.itemPrice, [...keys].reverse()) } : {}),
    ...(item.cartItem ? { cartItem: shuffleCart(item.cartItem, keys.slice(1)) } : {}),
  }));

// ---------------------------------------------------------------------------------------------

describe('priceCart properties', () => {
  it('prices every line exactly as the contract says (exact rational oracle)', () => {
    fc.assert(
      fc.property(cartPrice, fc.integer({ min: 1, max: 25 }), rounding, (line, quantity, mode) => {
        const priced = priceCart({ cartItem: [{ quantity, itemPrice: [line] }] }, { rounding: mode });
        const totals = priced.cartItem?.[0]?.itemTotalPrice ?? [];
        const expected = oracleLine(line, quantity, mode);
        expect(totals).to.have.length(1);
        const total = totals[0];
        expect([total?.price?.dutyFreeAmount?.value, total?.price?.taxIncludedAmount?.value]).to.deep.equal(
          expected,
        );
        expect(total?.priceType).to.equal(line.priceType);
        expect(total?.recurringChargePeriod).to.equal(line.recurringChargePeriod);
        expect(total?.price?.taxRate).to.equal(line.price?.taxRate);
      }),
      { numRuns: 500 },
    );
  });

  it('cart total is the sum of its parts, and each item total is its lines plus its nested totals', () => {
    fc.assert(
      fc.property(cartArb, rounding, (cart, mode) => {
        const before = structuredClone(cart);
        const priced = priceCart(cart, { rounding: mode });
        expect(cart, 'input not mutated').to.deep.equal(before);

        const topLevel = (priced.cartItem ?? []).filter(isActive).map((i) => i.itemTotalPrice ?? []);
        expect(asSums(priced.cartTotalPrice ?? [])).to.deep.equal(sumByGroup(topLevel));
        expect(priced.cartTotalPrice).to.have.length(sumByGroup(topLevel).size);

        (cart.cartItem ?? []).forEach((item, i) => {
          const pricedItem = priced.cartItem?.[i];
          if (pricedItem) checkItemSums(item, pricedItem, mode);
        });

        checkAmounts(priced.cartTotalPrice ?? []);
        for (const item of allItems(priced.cartItem)) {
          expect(item).to.not.have.property('ItemTotalPrice');
          checkAmounts(item.itemTotalPrice ?? []);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('totals do not depend on the order of items or price lines', () => {
    fc.assert(
      fc.property(
        cartArb,
        fc.array(fc.integer(), { minLength: 1, maxLength: 8 }),
        rounding,
        (cart, keys, mode) => {
          const shuffled: ShoppingCart = { ...cart, cartItem: shuffleCart(cart.cartItem ?? [], keys) };
          const a = priceCart(cart, { rounding: mode });
          const b = priceCart(shuffled, { rounding: mode });
          expect(b.cartTotalPrice).to.deep.equal(a.cartTotalPrice);
          const totalsById = (c: ShoppingCart): Map<string | undefined, CartPrice[] | undefined> =>
            new Map(allItems(c.cartItem).map((item) => [item.id, item.itemTotalPrice]));
          expect(totalsById(b)).to.deep.equal(totalsById(a));
        },
      ),
      { numRuns: 200 },
    );
  });
});
