import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import {
  bigRationals as big,
  type BigRational,
  OVERFLOW,
  smallRationals as small,
  type SmallRational,
} from '../../src/cart/rational.js';

/** Equal as fractions (the two representations need not be reduced alike). */
const sameValue = (s: SmallRational, b: BigRational): boolean => BigInt(s.n) * b.d === b.n * BigInt(s.d);

/** The small result, or undefined when it left the exact range (OVERFLOW). */
const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch (e) {
    if (e === OVERFLOW) return undefined;
    throw e;
  }
};

describe('cart/rational: exact rationals on plain numbers and on BigInt', () => {
  it('reads a JSON number as the decimal it is written as', () => {
    expect(small.of(0.1)).to.deep.equal({ n: 1, d: 10 });
    expect(small.of(1.005)).to.deep.equal({ n: 1005, d: 1000 });
    expect(small.of(-2.5)).to.deep.equal({ n: -25, d: 10 });
    expect(small.of(5e-7)).to.deep.equal({ n: 5, d: 10_000_000 });
    expect(small.of(1200)).to.deep.equal({ n: 1200, d: 1 });
    expect(big.of(1e21)).to.deep.equal({ n: 10n ** 21n, d: 1n });
    expect(big.of(0.30000000000000004)).to.deep.equal({ n: 30000000000000004n, d: 10n ** 17n });
    expect(big.of(5e-324)).to.deep.equal({ n: 5n, d: 10n ** 324n });
  });

  it('throws OVERFLOW on the small side instead of rounding', () => {
    expect(() => small.of(1e21))
      .to.throw(RangeError)
      .that.equals(OVERFLOW);
    expect(() => small.of(0.30000000000000004))
      .to.throw()
      .that.equals(OVERFLOW); // 17 digits
    expect(() => small.of(1e-16))
      .to.throw()
      .that.equals(OVERFLOW);
    expect(() => small.times(small.of(2 ** 40), small.of(2 ** 20)))
      .to.throw()
      .that.equals(OVERFLOW);
    expect(() => small.toScaledInteger(small.of(2 ** 52), 2, true))
      .to.throw()
      .that.equals(OVERFLOW);
  });

  it('cancels common factors before giving up on a product', () => {
    const a = { n: 2 ** 40, d: 3 };
    const b = { n: 3, d: 2 ** 30 };
    const p = small.times(a, b);
    expect(p.n / p.d).to.equal(2 ** 10);
  });

  it('rounds ties half-even or half-up, symmetrically for negatives', () => {
    const cases: [number, number, number, number][] = [
      // value, decimals, half-even, half-up
      [0.125, 2, 12, 13],
      [0.135, 2, 14, 14],
      [-0.125, 2, -12, -13],
      [2.5, 0, 2, 3],
      [3.5, 0, 4, 4],
      [1.0049, 2, 100, 100],
      [1.0051, 2, 101, 101],
      [0.0005, 3, 0, 1],
      [7, 2, 700, 700],
    ];
    for (const [v, decimals, even, up] of cases) {
      expect(small.toScaledInteger(small.of(v), decimals, true), `${v} half-even`).to.equal(even);
      expect(small.toScaledInteger(small.of(v), decimals, false), `${v} half-up`).to.equal(up);
      expect(big.toScaledInteger(big.of(v), decimals, true), `${v} half-even (big)`).to.equal(even);
      expect(big.toScaledInteger(big.of(v), decimals, false), `${v} half-up (big)`).to.equal(up);
    }
  });

  it('derives factors: 1 + 20/100 is 6/5, 1 − 15/100 is 17/20', () => {
    const f = small.percentFactor(20, 1);
    expect(f.n / f.d).to.equal(1.2);
    const g = big.percentFactor(15, -1);
    expect(Number(g.n) / Number(g.d)).to.equal(0.85);
    expect(
      small.toScaledInteger(small.div(small.of(0.01225 * 9), small.percentFactor(5, 1)), 2, true),
    ).to.equal(10);
  });

  // Numbers as prices arrive, plus some that force the small side out of range.
  const numbers = fc.oneof(
    fc.integer({ min: 0, max: 100_000 }).map((n) => n / 100),
    fc.integer({ min: -5000, max: 5000 }).map((n) => n / 1000),
    fc.double({ min: 1e-20, max: 1e20, noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, 1, 0.1, 0.2, 1.005, 1e21, 2 ** 53, 123456789.123456),
  );
  type Op = ['times' | 'minus' | 'div', number];
  const ops = fc.array(
    fc.tuple(fc.constantFrom<'times' | 'minus' | 'div'>('times', 'minus', 'div'), numbers),
    { maxLength: 6 },
  );

  it('small and big agree whenever small stays in range, and big agrees with decimal.js', () => {
    const Exact = Decimal.clone({ precision: 1000 });
    let inRange = 0;
    let outOfRange = 0;
    fc.assert(
      fc.property(numbers, ops, fc.integer({ min: 0, max: 4 }), (start, steps: Op[], decimals) => {
        let b = big.of(start);
        let s: SmallRational | undefined = attempt(() => small.of(start));
        let dec: Decimal | undefined = new Exact(String(start));
        for (const [op, x] of steps) {
          if (op === 'div' && x === 0) continue;
          b = big[op](b, big.of(x));
          const prev = s;
          s = prev === undefined ? undefined : attempt(() => small[op](prev, small.of(x)));
          // decimal.js is exact for products and differences at this precision, not for quotients.
          dec =
            op === 'div' || dec === undefined
              ? undefined
              : op === 'times'
                ? dec.times(String(x))
                : dec.minus(String(x));
        }
        if (s === undefined) outOfRange++;
        else inRange++;
        if (s !== undefined) {
          const done = s;
          expect(sameValue(done, b)).to.equal(true);
          const rounded = attempt(() => small.toScaledInteger(done, decimals, true));
          if (rounded !== undefined) expect(rounded).to.equal(big.toScaledInteger(b, decimals, true));
        }
        if (dec !== undefined) {
          expect((b.n * 10n ** 400n) / b.d).to.equal(
            BigInt(dec.times(new Exact(10).pow(400)).toFixed(0, Decimal.ROUND_DOWN)),
          );
        }
      }),
      { numRuns: 3000 },
    );
    // Both paths were really exercised.
    expect(inRange).to.be.above(500);
    expect(outOfRange).to.be.above(300);
  });
});
