/** The exact line computation: one line's totals in minor units, on exact rationals. */
import type { Arithmetic } from '../rational.js';
import type { Amount, Change, LinePrice } from './read.js';

/**
 * One exact arithmetic (src/cart/rational.ts) with its memos. Carts repeat amounts, rates and
 * percentages (the same offering or discount on many items), and reading a number into a
 * rational is a sizeable share of the work. The memos live for one priceCart call.
 */
export interface Exact<T> {
  readonly ar: Arithmetic<T>;
  readonly values: Map<number, T>;
  readonly taxFactors: Map<number, T>;
  readonly percentageFactors: Map<number, T>;
}

export const exact = <T>(ar: Arithmetic<T>): Exact<T> => ({
  ar,
  values: new Map(),
  taxFactors: new Map(),
  percentageFactors: new Map(),
});

/** What one priceCart call threads through. */
export interface Context {
  readonly halfEven: boolean;
  /** Plain-number rationals: every line starts here. */
  readonly small: Exact<unknown>;
  /** BigInt rationals, made on first use: a line whose numbers outgrow 2^53 is redone here. */
  big: Exact<unknown> | undefined;
}

const memo = <T>(cache: Map<number, T>, key: number, make: () => T): T => {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
};

const valueOf = <T>(x: Exact<T>, n: number): T => memo(x.values, n, () => x.ar.of(n));

/** 1 + taxRate/100; exactly `one` (so multiplying by it can be skipped) when there is no tax. */
const taxFactorOf = <T>(x: Exact<T>, rate: number | undefined): T =>
  rate === undefined || rate === 0 ? x.ar.one : memo(x.taxFactors, rate, () => x.ar.percentFactor(rate, 1));

/** 1 − p/100. */
const percentageFactorOf = <T>(x: Exact<T>, p: number): T =>
  memo(x.percentageFactors, p, () => x.ar.percentFactor(p, -1));

/**
 * The running amounts of one line, in a form where every step is exact and at most one division
 * (by the tax factor f = 1 + taxRate/100) happens, at the very end:
 * - `dutyFree`: only dutyFree is known, taxIncluded is v × f (no division at all);
 * - `taxIncluded`: taxIncluded is v, dutyFree is v ÷ f;
 * - `both`: independent sides (the client stated both), dutyFree kept scaled by f (dutyFree × f),
 *   so a taxIncluded amount subtracts from it without dividing.
 * Deriving a side, percentages, absolute alterations and × quantity are all linear, so this is the
 * contract's formula (derive, alter, multiply) computed exactly, with half the work of altering
 * both sides. The arithmetic is exact anyway; the single late division keeps the numbers small
 * enough for the plain-number rationals in nearly every cart.
 */
type Running<T> =
  | { readonly kind: 'dutyFree' | 'taxIncluded'; readonly value: T }
  | { readonly kind: 'both'; readonly taxIncluded: T; readonly scaledDutyFree: T };

/** × a factor, skipped when it is exactly one (no tax). */
const times = <T>(ar: Arithmetic<T>, value: T, factor: T): T =>
  factor === ar.one ? value : ar.times(value, factor);

const clamp = <T>(ar: Arithmetic<T>, v: T): T => (ar.isNegative(v) ? ar.zero : v);

/**
 * An absolute amount off independent sides. dutyFree is kept × f, so both subtract exactly; a
 * one-sided amount's missing side is derived with the price's rate, which in these terms is the
 * same number.
 */
const subtractBoth = <T>(
  x: Exact<T>,
  taxIncluded: T,
  scaledDutyFree: T,
  offDutyFree: Amount | undefined,
  offTaxIncluded: Amount | undefined,
  f: T,
): Running<T> => {
  const { ar } = x;
  const offScaled = offDutyFree ? times(ar, valueOf(x, offDutyFree.value), f) : undefined;
  const offIncluded = offTaxIncluded ? valueOf(x, offTaxIncluded.value) : (offScaled ?? ar.zero);
  return {
    kind: 'both',
    taxIncluded: clamp(ar, ar.minus(taxIncluded, offIncluded)),
    scaledDutyFree: clamp(ar, ar.minus(scaledDutyFree, offScaled ?? offIncluded)),
  };
};

const applyChange = <T>(x: Exact<T>, running: Running<T>, change: Change, f: T): Running<T> => {
  const { ar } = x;
  if (change.kind === 'percentage') {
    const factor = percentageFactorOf(x, change.percentage);
    if (running.kind === 'both') {
      return {
        kind: 'both',
        taxIncluded: clamp(ar, ar.times(running.taxIncluded, factor)),
        scaledDutyFree: clamp(ar, ar.times(running.scaledDutyFree, factor)),
      };
    }
    return { kind: running.kind, value: clamp(ar, ar.times(running.value, factor)) };
  }
  const { dutyFree, taxIncluded } = change;
  if (running.kind !== 'both') {
    if (dutyFree && !taxIncluded) {
      // A dutyFree amount: subtract as is on the dutyFree side, × f (exact) on the taxIncluded side.
      const off = valueOf(x, dutyFree.value);
      return {
        kind: running.kind,
        value: clamp(ar, ar.minus(running.value, running.kind === 'dutyFree' ? off : times(ar, off, f))),
      };
    }
    // From here the line is worked in taxIncluded terms; from dutyFree that is × f, exact.
    const current = running.kind === 'taxIncluded' ? running.value : times(ar, running.value, f);
    if (taxIncluded && !dutyFree) {
      return { kind: 'taxIncluded', value: clamp(ar, ar.minus(current, valueOf(x, taxIncluded.value))) };
    }
    // A two-sided amount on a one-sided line: the sides become independent, equal so far.
    return subtractBoth(x, current, current, dutyFree, taxIncluded, f);
  }
  return subtractBoth(x, running.taxIncluded, running.scaledDutyFree, dutyFree, taxIncluded, f);
};

/** A line's two sides in minor units: [dutyFree, taxIncluded]. */
export const lineTotals = <T>(
  x: Exact<T>,
  price: LinePrice,
  changes: readonly Change[],
  quantity: number,
  minor: number,
  halfEven: boolean,
): [number, number] => {
  const { ar } = x;
  const f = taxFactorOf(x, price.taxRate);
  let running: Running<T>;
  if (price.dutyFree && price.taxIncluded) {
    running = {
      kind: 'both',
      taxIncluded: valueOf(x, price.taxIncluded.value),
      scaledDutyFree: times(ar, valueOf(x, price.dutyFree.value), f),
    };
  } else if (price.dutyFree) {
    running = { kind: 'dutyFree', value: valueOf(x, price.dutyFree.value) };
  } else {
    running = { kind: 'taxIncluded', value: valueOf(x, (price.taxIncluded as Amount).value) };
  }
  for (const change of changes) running = applyChange(x, running, change, f);

  // × quantity, then the single division, if any: nothing was rounded before this point.
  const q = quantity === 1 ? undefined : valueOf(x, quantity);
  const round = (v: T): number => ar.toScaledInteger(v, minor, halfEven);
  if (running.kind === 'both') {
    const included = q ? ar.times(running.taxIncluded, q) : running.taxIncluded;
    const scaled = q ? ar.times(running.scaledDutyFree, q) : running.scaledDutyFree;
    return [round(f === ar.one ? scaled : ar.div(scaled, f)), round(included)];
  }
  const tracked = q ? ar.times(running.value, q) : running.value;
  const trackedMinor = round(tracked);
  if (f === ar.one) return [trackedMinor, trackedMinor];
  if (running.kind === 'dutyFree') return [trackedMinor, round(ar.times(tracked, f))];
  return [round(ar.div(tracked, f)), trackedMinor];
};
