/**
 * Exact rational arithmetic for the pricer (src/cart/pricing/), in two representations behind
 * one interface:
 * - `smallRationals`: numerator and denominator are plain numbers, and every result is checked to
 *   be a safe integer (below 2^53), so each step is either exact or throws OVERFLOW. No binary
 *   fraction ever appears: 0.1 is 1/10.
 * - `bigRationals`: the same on BigInt; it never overflows and is several times slower.
 * The pricer computes a line with the small ones and, only when that throws OVERFLOW, again with
 * the big ones. Both are exact, so both give the same answer; the fallback only costs time.
 *
 * Values are read from a JSON number's shortest round-trip string (String(n)), the decimal the
 * client wrote: 0.1 is 1/10, 1.005 is 1005/1000 (not the binary 1.00499999999999989...).
 */

export interface Arithmetic<T> {
  readonly zero: T;
  readonly one: T;
  /** The exact decimal a finite JSON number stands for. */
  of(n: number): T;
  /** 1 + sign × p/100: a tax factor (sign 1) or a percentage-off factor (sign −1). */
  percentFactor(p: number, sign: 1 | -1): T;
  times(a: T, b: T): T;
  minus(a: T, b: T): T;
  /** a ÷ b; b must not be zero (the pricer only divides by a tax factor, which is >= 1). */
  div(a: T, b: T): T;
  isNegative(a: T): boolean;
  /**
   * a rounded to `decimals` places, as an integer count of those places (12.345 at 2 -> 1235 with
   * half-up, 1234 with half-even). Ties go away from zero (half-up) or to the even neighbour.
   */
  toScaledInteger(a: T, decimals: number, halfEven: boolean): number;
}

/**
 * Thrown by the small rationals when a step would leave the exact range of plain numbers. One
 * shared instance: it is a signal to switch to BigInt, never reported, so it needs no own stack.
 */
export const OVERFLOW = new RangeError('a number left the exact range of the small rationals');

/** A JSON number's decimal digits: value = sign × mantissa × 10^exponent, mantissa as digits. */
interface DecimalParts {
  readonly negative: boolean;
  readonly mantissa: string;
  readonly exponent: number;
}

const decimalParts = (x: number): DecimalParts => {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  let text = String(x);
  const negative = text.startsWith('-');
  if (negative) text = text.slice(1);
  let exponent = 0;
  const e = text.indexOf('e');
  if (e >= 0) {
    exponent = Number(text.slice(e + 1));
    text = text.slice(0, e);
  }
  const dot = text.indexOf('.');
  if (dot >= 0) {
    exponent -= text.length - dot - 1;
    text = text.slice(0, dot) + text.slice(dot + 1);
  }
  return { negative, mantissa: text, exponent };
};

// ---------------------------------------------------------------------------------------------
// Small: plain numbers, checked

export interface SmallRational {
  readonly n: number;
  /** Always > 0. */
  readonly d: number;
}

/** 10^k for k = 0..15, every one a safe integer. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
};

const safe = Number.isSafeInteger;

const small = (n: number, d: number): SmallRational => {
  if (!safe(n) || !safe(d)) throw OVERFLOW;
  return { n, d };
};

const smallTimes = (a: SmallRational, b: SmallRational): SmallRational => {
  const n = a.n * b.n;
  const d = a.d * b.d;
  if (safe(n) && safe(d)) return { n, d };
  // Too big as it stands: cancel common factors first, then try once more.
  const g1 = gcd(a.n, b.d) || 1;
  const g2 = gcd(b.n, a.d) || 1;
  return small((a.n / g1) * (b.n / g2), (a.d / g2) * (b.d / g1));
};

const smallMinus = (a: SmallRational, b: SmallRational): SmallRational => {
  if (a.d === b.d) return small(a.n - b.n, a.d);
  const left = a.n * b.d;
  const right = b.n * a.d;
  const d = a.d * b.d;
  if (safe(left) && safe(right) && safe(d)) return small(left - right, d);
  const g = gcd(a.d, b.d);
  const da = a.d / g;
  const db = b.d / g;
  const l = a.n * db;
  const r = b.n * da;
  if (!safe(l) || !safe(r)) throw OVERFLOW;
  return small(l - r, a.d * db);
};

export const smallRationals: Arithmetic<SmallRational> = {
  zero: { n: 0, d: 1 },
  one: { n: 1, d: 1 },
  of: (x) => {
    const { negative, mantissa, exponent } = decimalParts(x);
    const m = Number(mantissa);
    // A mantissa parsed above 2^53 may have been rounded; isSafeInteger refuses every such value.
    if (!safe(m)) throw OVERFLOW;
    const signed = negative ? -m : m;
    if (exponent >= 0) {
      const scale = POW10[exponent];
      if (scale === undefined) throw OVERFLOW;
      return small(signed * scale, 1);
    }
    const scale = POW10[-exponent];
    if (scale === undefined) throw OVERFLOW;
    return { n: signed, d: scale };
  },
  percentFactor: (p, sign) => {
    const r = smallRationals.of(p);
    // 1 ± n/(100d) = (100d ± n) / (100d)
    const d = r.d * 100;
    return small(sign === 1 ? d + r.n : d - r.n, d);
  },
  times: smallTimes,
  minus: smallMinus,
  div: (a, b) => {
    if (b.n === 0) throw new RangeError('division by zero');
    return smallTimes(a, b.n < 0 ? { n: -b.d, d: -b.n } : { n: b.d, d: b.n });
  },
  isNegative: (a) => a.n < 0,
  toScaledInteger: (a, decimals, halfEven) => {
    const scale = POW10[decimals];
    if (scale === undefined) throw OVERFLOW;
    const scaled = a.n * scale;
    if (!safe(scaled)) throw OVERFLOW;
    const abs = Math.abs(scaled);
    // % is exact on integers below 2^53, and so is the division of an exact multiple.
    const rest = abs % a.d;
    let q = (abs - rest) / a.d;
    const twice = rest * 2;
    if (twice > a.d || (twice === a.d && (!halfEven || q % 2 === 1))) q += 1;
    return scaled < 0 ? -q : q;
  },
};

// ---------------------------------------------------------------------------------------------
// Big: BigInt, unbounded

export interface BigRational {
  readonly n: bigint;
  /** Always > 0. */
  readonly d: bigint;
}

const bigOf = (x: number): BigRational => {
  const { negative, mantissa, exponent } = decimalParts(x);
  const m = BigInt(mantissa);
  const signed = negative ? -m : m;
  return exponent >= 0
    ? { n: signed * 10n ** BigInt(exponent), d: 1n }
    : { n: signed, d: 10n ** BigInt(-exponent) };
};

const bigTimes = (a: BigRational, b: BigRational): BigRational => ({ n: a.n * b.n, d: a.d * b.d });

export const bigRationals: Arithmetic<BigRational> = {
  zero: { n: 0n, d: 1n },
  one: { n: 1n, d: 1n },
  of: bigOf,
  percentFactor: (p, sign) => {
    const r = bigOf(p);
    const d = r.d * 100n;
    return { n: sign === 1 ? d + r.n : d - r.n, d };
  },
  times: bigTimes,
  minus: (a, b) => (a.d === b.d ? { n: a.n - b.n, d: a.d } : { n: a.n * b.d - b.n * a.d, d: a.d * b.d }),
  div: (a, b) => {
    if (b.n === 0n) throw new RangeError('division by zero');
    return bigTimes(a, b.n < 0n ? { n: -b.d, d: -b.n } : { n: b.d, d: b.n });
  },
  isNegative: (a) => a.n < 0n,
  toScaledInteger: (a, decimals, halfEven) => {
    const scaled = a.n * 10n ** BigInt(decimals);
    const abs = scaled < 0n ? -scaled : scaled;
    const rest = abs % a.d;
    let q = abs / a.d;
    const twice = rest * 2n;
    if (twice > a.d || (twice === a.d && (!halfEven || q % 2n === 1n))) q += 1n;
    // Past 2^53 this is no longer exact; the pricer refuses such totals (not a safe integer).
    return Number(scaled < 0n ? -q : q);
  },
};
