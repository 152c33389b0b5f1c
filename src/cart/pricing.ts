/**
 * Cart pricing: the server computes every cart item's `itemTotalPrice` and the cart's
 * `cartTotalPrice`. These are server-owned: whatever the client sent for them, or for the v4
 * spelling `ItemTotalPrice`, is ignored and replaced, and `ItemTotalPrice` is removed. The same
 * contract, in Markdown, is the README section "Pricing: the algorithm"; keep the two in step.
 *
 * Inputs
 * - Each cart item has `quantity` (an integer >= 1, default 1; 0, negative or fractional is a 400),
 *   `status` (`active` by default, or `saveForLater`; anything else is a 400), `itemPrice[]`
 *   (CartPrice entries) and optional nested `cartItem[]` (bundle components), priced recursively.
 *
 * Normalising a Price
 * - `taxRate` is a percentage (10 means 10%), 0 when absent; it must be a finite number >= 0.
 * - Given `dutyFreeAmount`: `taxIncludedAmount = dutyFree × (1 + taxRate/100)`. Given only
 *   `taxIncludedAmount`: `dutyFreeAmount = taxIncluded / (1 + taxRate/100)`. Given both: both are
 *   kept as sent (not checked against the rate).
 * - An amount is a Money with a `value`; a Money without a value counts as absent. A CartPrice with
 *   no price or no amounts contributes nothing and is skipped.
 * - Every amount needs a currency `unit`, and both amounts of one Price must carry the same unit,
 *   otherwise 400. Units are compared exactly as sent (case-sensitive).
 * - Item price amounts must be finite and >= 0 (Money.value is "a positive number"); negatives are a
 *   400, because a credit is expressed as an alteration, not as a negative price.
 *
 * Alterations
 * - A CartPrice's `priceAlteration[]` applies to that CartPrice only, whatever the alteration's own
 *   `priceType` says, in ascending `priority` (missing priority last, ties in array order).
 * - `price.percentage = p` multiplies both running amounts by (1 − p/100); p > 100 clamps to 0,
 *   negative p is a surcharge.
 * - An absolute `dutyFreeAmount`/`taxIncludedAmount` (same currency as the price, else 400) is
 *   subtracted from the running amounts; the missing side is derived with the price's tax rate.
 *   A negative value is a surcharge.
 * - An alteration with both a percentage and an absolute amount is a 400: which one wins is a
 *   guess, and guessing money is worse than refusing. One with neither is a no-op and not listed.
 * - Amounts never go below zero: each side is clamped at 0 after every alteration, so a later
 *   surcharge starts from 0, not from a negative.
 * - `applicationDuration` (periods) marks an introductory alteration. The totals show the price as
 *   charged in the first period, so it is applied and kept in the totals' `priceAlteration[]`.
 *   `applicationDuration: 0` applies in no period at all, so it is skipped; negative is a 400.
 * - Percentages apply to the unrounded running amounts; nothing is rounded before the line total.
 *
 * Item totals
 * - Each `itemPrice` line contributes `alteredUnitAmount × quantity`, each side rounded to the
 *   currency's minor unit (unit amounts are never rounded on their own).
 * - Lines are grouped by (`priceType`, `recurringChargePeriod` — only when priceType is exactly
 *   `recurring` —, currency). `itemTotalPrice[]` holds one CartPrice per group: `priceType`,
 *   `recurringChargePeriod` (recurring only), `price.dutyFreeAmount` and `price.taxIncludedAmount`
 *   as Money `{unit, value}` (sums of the rounded lines), `price.taxRate` only when every line in the
 *   group states the same taxRate (a line without a taxRate does not share one: we do not invent a
 *   rate the client never gave), and `priceAlteration[]` when at least one alteration was applied.
 * - `priceAlteration[]` lists copies of the alterations applied in the group, each distinct one
 *   (equal JSON) once, sorted by priority (missing last) then by canonical JSON text, so the list
 *   is the same whatever order the items come in.
 * - An item's total also includes the totals of its nested items (each with its own quantity, NOT
 *   multiplied by the parent's quantity), except nested items whose status is `saveForLater`.
 * - Groups are sorted by priceType, then recurringChargePeriod, then currency (absent before any
 *   value, plain code-unit order), so totals never depend on item order.
 * - An item with no priced lines gets `itemTotalPrice: []`.
 *
 * Cart total
 * - `cartTotalPrice[]` sums the top-level items' item totals, grouped the same way, over items whose
 *   status is not `saveForLater`. A `saveForLater` item still gets its own `itemTotalPrice`.
 * - No items or no prices: `cartTotalPrice` is `[]`.
 *
 * Arithmetic
 * - Exact rationals (src/cart/rational.ts): numerator and denominator as plain integers below 2^53,
 *   and BigInt for a line whose numbers outgrow that. Input numbers are read from their shortest
 *   string form, so 0.1 × 3 is 0.3 and 1.005 is 1005/1000. Never binary floats for money.
 * - Nothing is rounded before the line total, so line totals are the exactly rounded values of the
 *   formulas. Each line needs at most one division (by 1 + taxRate/100), done last (see Running).
 * - Rounding to the ISO 4217 minor unit (src/cart/currency.ts: 2 for EUR/USD and unknown codes, 0
 *   for JPY/KRW/..., 3 for BHD/KWD/...), half-even by default or half-up.
 * - Sums are exact integer additions of minor units; output values are plain JSON numbers. A total
 *   above 2^53 − 1 minor units cannot be a JSON number exactly and is a 400.
 *
 * Errors are AppError BAD_REQUEST with reason `Invalid <path>` and a message that starts with the
 * field path, e.g. `cartItem[0].itemPrice[1].price.dutyFreeAmount.unit is required on a priced amount`.
 *
 * The result is a new cart; the input is not mutated. Parts the pricer does not rewrite (product,
 * itemPrice, ...) are shared with the input rather than deep-copied, which keeps pricing cheap;
 * treat both as immutable. The alterations listed in totals are fresh copies.
 */
import type { CartItem, CartPrice, Money, Price, PriceAlteration, ShoppingCart } from '../api-types.js';
import { badRequest, fieldProblem, type AppError } from '../errors.js';
import { minorUnit } from './currency.js';
import { bigRationals, OVERFLOW, smallRationals, type Arithmetic } from './rational.js';

export type RoundingMode = 'half-even' | 'half-up';

export interface PricingOptions {
  readonly rounding: RoundingMode;
}

/**
 * One exact arithmetic (src/cart/rational.ts) with its memos. Carts repeat amounts, rates and
 * percentages (the same offering or discount on many items), and reading a number into a
 * rational is a sizeable share of the work. The memos live for one priceCart call.
 */
interface Exact<T> {
  readonly ar: Arithmetic<T>;
  readonly values: Map<number, T>;
  readonly taxFactors: Map<number, T>;
  readonly percentageFactors: Map<number, T>;
}

const exact = <T>(ar: Arithmetic<T>): Exact<T> => ({
  ar,
  values: new Map(),
  taxFactors: new Map(),
  percentageFactors: new Map(),
});

/** What one priceCart call threads through. */
interface Context {
  readonly halfEven: boolean;
  /** Plain-number rationals: every line starts here. */
  readonly small: Exact<unknown>;
  /** BigInt rationals, made on first use: a line whose numbers outgrow 2^53 is redone here. */
  big: Exact<unknown> | undefined;
}

// Field paths travel as thunks (() => string) and are rendered only for an error, so pricing a
// valid cart builds no path strings at all.
const invalid = (path: string, problem: string): AppError =>
  badRequest(`Invalid ${path}`, fieldProblem(path, problem));

const isAbsent = (value: unknown): value is undefined | null => value === undefined || value === null;

const finiteNumber = (value: unknown, path: () => string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path(), 'must be a finite number');
  return value;
};

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

// ---------------------------------------------------------------------------------------------
// Reading and checking prices (no arithmetic: this runs once per line, whatever the arithmetic)

/** A Money with a value, checked. */
interface Amount {
  readonly unit: string;
  /** The number as sent. */
  readonly value: number;
}

/** A Money with a value, checked. `path` renders the Money's own path, only if it is needed. */
const readAmount = (
  money: Money | undefined,
  path: () => string,
  allowNegative: boolean,
): Amount | undefined => {
  if (isAbsent(money)) return undefined;
  const value: unknown = money.value;
  if (isAbsent(value)) return undefined;
  const n = finiteNumber(value, () => `${path()}.value`);
  if (!allowNegative && n < 0) throw invalid(`${path()}.value`, 'must not be negative');
  const unit: unknown = money.unit;
  if (typeof unit !== 'string' || unit === '')
    throw invalid(`${path()}.unit`, 'is required on a priced amount');
  return { unit, value: n };
};

/** A line's price as sent, checked. */
interface LinePrice {
  readonly unit: string;
  readonly dutyFree: Amount | undefined;
  readonly taxIncluded: Amount | undefined;
  /** The taxRate as stated; undefined when the client gave none (computed with 0). */
  readonly taxRate: number | undefined;
}

const readPrice = (price: Price | undefined, linePath: () => string): LinePrice | undefined => {
  if (isAbsent(price)) return undefined;
  const dutyFree = readAmount(price.dutyFreeAmount, () => `${linePath()}.price.dutyFreeAmount`, false);
  const taxIncluded = readAmount(
    price.taxIncludedAmount,
    () => `${linePath()}.price.taxIncludedAmount`,
    false,
  );
  if (dutyFree && taxIncluded && dutyFree.unit !== taxIncluded.unit) {
    throw invalid(
      `${linePath()}.price.taxIncludedAmount.unit`,
      `is ${taxIncluded.unit} but dutyFreeAmount.unit is ${dutyFree.unit}; one price has one currency`,
    );
  }
  if (!dutyFree && !taxIncluded) return undefined;

  let taxRate: number | undefined;
  const rawRate: unknown = price.taxRate;
  if (!isAbsent(rawRate)) {
    taxRate = finiteNumber(rawRate, () => `${linePath()}.price.taxRate`);
    if (taxRate < 0) throw invalid(`${linePath()}.price.taxRate`, 'must not be negative');
  }
  return { unit: (dutyFree ?? (taxIncluded as Amount)).unit, dutyFree, taxIncluded, taxRate };
};

/** One alteration, checked: what it does to the running amounts. */
type Change =
  | { readonly kind: 'percentage'; readonly percentage: number }
  | {
      readonly kind: 'amount';
      readonly dutyFree: Amount | undefined;
      readonly taxIncluded: Amount | undefined;
    };

/** Ascending priority, missing last; Array.prototype.sort is stable, so ties keep array order. */
const byPriority = (a: number | undefined, b: number | undefined): number => {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
};

/** An alteration's effect; undefined when it does not apply (no-op, zero duration). */
const readAlteration = (
  alteration: PriceAlteration,
  unit: string,
  path: () => string,
): Change | undefined => {
  const duration: unknown = alteration.applicationDuration;
  if (!isAbsent(duration)) {
    const periods = finiteNumber(duration, () => `${path()}.applicationDuration`);
    if (periods < 0) throw invalid(`${path()}.applicationDuration`, 'must not be negative');
    if (periods === 0) return undefined;
  }
  const price: Price | undefined = alteration.price;
  if (isAbsent(price)) return undefined;
  const percentage: unknown = price.percentage;
  const dutyFree = readAmount(price.dutyFreeAmount, () => `${path()}.price.dutyFreeAmount`, true);
  const taxIncluded = readAmount(price.taxIncludedAmount, () => `${path()}.price.taxIncludedAmount`, true);

  if (!isAbsent(percentage)) {
    if (dutyFree || taxIncluded) {
      throw invalid(
        `${path()}.price`,
        'has both a percentage and an amount; an alteration is one or the other',
      );
    }
    return { kind: 'percentage', percentage: finiteNumber(percentage, () => `${path()}.price.percentage`) };
  }

  if (!dutyFree && !taxIncluded) return undefined;
  if (dutyFree && dutyFree.unit !== unit) {
    throw invalid(`${path()}.price.dutyFreeAmount.unit`, `is ${dutyFree.unit} but the price is in ${unit}`);
  }
  if (taxIncluded && taxIncluded.unit !== unit) {
    throw invalid(
      `${path()}.price.taxIncludedAmount.unit`,
      `is ${taxIncluded.unit} but the price is in ${unit}`,
    );
  }
  return { kind: 'amount', dutyFree, taxIncluded };
};

// ---------------------------------------------------------------------------------------------
// The exact line computation

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
const lineTotals = <T>(
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

// ---------------------------------------------------------------------------------------------
// Groups: the accumulators behind one totals CartPrice

/** Whether the lines of a group agree on a tax rate: no line yet, one shared rate, or not. */
type RateState = number | 'none' | 'mixed';

interface AppliedAlteration {
  readonly alteration: PriceAlteration;
  readonly priority: number | undefined;
}

/**
 * Totals are kept as integers in the currency's minor units (cents for EUR): every line is rounded
 * to the minor unit before it is added, so sums are exact integer additions. Plain numbers are exact up to 2^53 minor units; past
 * that a total could not be written exactly as a JSON number anyway, so it is refused (addMinor).
 */
interface Group {
  readonly priceType: string | undefined;
  readonly period: string | undefined;
  readonly unit: string;
  dutyFree: number;
  taxIncluded: number;
  rate: RateState;
  /** Every alteration applied to a line of the group; deduped only when the totals are written. */
  readonly alterations: AppliedAlteration[];
}

/**
 * The groups of one item or of the cart. Items have a handful of groups, where comparing three
 * strings beats building a key; past SCAN_LIMIT a keyed index takes over so a hostile cart with
 * thousands of price types stays linear.
 */
interface Groups {
  readonly list: Group[];
  byKey: Map<string, Group> | undefined;
}

const SCAN_LIMIT = 8;

const newGroups = (): Groups => ({ list: [], byKey: undefined });

const combineRates = (a: RateState, b: RateState): RateState => {
  if (a === 'none') return b;
  if (b === 'none') return a;
  return a === b ? a : 'mixed';
};

// Length prefixes keep "absent" (-1), "" and values containing the separator apart.
const keyPart = (s: string | undefined): string => (s === undefined ? '-1:' : `${s.length}:${s}`);
const groupKey = (g: Pick<Group, 'priceType' | 'period' | 'unit'>): string =>
  `${keyPart(g.priceType)}${keyPart(g.period)}${g.unit}`;

const groupFor = (
  groups: Groups,
  priceType: string | undefined,
  period: string | undefined,
  unit: string,
): Group => {
  if (groups.byKey) {
    const found = groups.byKey.get(groupKey({ priceType, period, unit }));
    if (found) return found;
  } else {
    for (const g of groups.list) {
      if (g.priceType === priceType && g.period === period && g.unit === unit) return g;
    }
  }
  const group: Group = {
    priceType,
    period,
    unit,
    dutyFree: 0,
    taxIncluded: 0,
    rate: 'none',
    alterations: [],
  };
  groups.list.push(group);
  if (groups.byKey) groups.byKey.set(groupKey(group), group);
  else if (groups.list.length > SCAN_LIMIT) groups.byKey = new Map(groups.list.map((g) => [groupKey(g), g]));
  return group;
};

/** Exact integer addition of minor units, refusing totals a JSON number cannot carry exactly. */
const addMinor = (a: number, b: number, path: () => string): number => {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) {
    throw invalid(
      path(),
      `total exceeds ${Number.MAX_SAFE_INTEGER} minor units and cannot be represented exactly`,
    );
  }
  return sum;
};

/** Adds source's totals into target. Never aliases source's groups, so target may be mutated later. */
const mergeGroups = (target: Groups, source: Groups, path: () => string): void => {
  for (const g of source.list) {
    const t = groupFor(target, g.priceType, g.period, g.unit);
    t.dutyFree = addMinor(t.dutyFree, g.dutyFree, path);
    t.taxIncluded = addMinor(t.taxIncluded, g.taxIncluded, path);
    t.rate = combineRates(t.rate, g.rate);
    for (const applied of g.alterations) t.alterations.push(applied);
  }
};

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

const addLine = (
  ctx: Context,
  groups: Groups,
  cartPrice: CartPrice,
  quantity: number,
  linePath: () => string,
): void => {
  const price = readPrice(cartPrice.price, linePath);
  if (!price) return;

  const applied: AppliedAlteration[] = [];
  const changes: Change[] = [];
  const alterations: readonly PriceAlteration[] | undefined = cartPrice.priceAlteration;
  if (alterations && alterations.length > 0) {
    const ordered = alterations.map((alteration, index) => {
      const raw: unknown = alteration.priority;
      const priority = isAbsent(raw)
        ? undefined
        : finiteNumber(raw, () => `${linePath()}.priceAlteration[${index}].priority`);
      return { alteration, index, priority };
    });
    if (ordered.length > 1) ordered.sort((a, b) => byPriority(a.priority, b.priority));
    for (const { alteration, index, priority } of ordered) {
      const change = readAlteration(alteration, price.unit, () => `${linePath()}.priceAlteration[${index}]`);
      if (change) {
        changes.push(change);
        applied.push({ alteration, priority });
      }
    }
  }

  const minor = minorUnit(price.unit);
  const priceType = optionalString(cartPrice.priceType);
  const period = priceType === 'recurring' ? optionalString(cartPrice.recurringChargePeriod) : undefined;
  const group = groupFor(groups, priceType, period, price.unit);
  let totals: [number, number];
  try {
    totals = lineTotals(ctx.small, price, changes, quantity, minor, ctx.halfEven);
  } catch (e) {
    if (e !== OVERFLOW) throw e;
    // Some number of this line outgrew 2^53 on the way: the same exact computation on BigInt.
    ctx.big ??= exact(bigRationals);
    totals = lineTotals(ctx.big, price, changes, quantity, minor, ctx.halfEven);
  }
  group.dutyFree = addMinor(group.dutyFree, totals[0], linePath);
  group.taxIncluded = addMinor(group.taxIncluded, totals[1], linePath);
  group.rate = combineRates(group.rate, price.taxRate ?? 'mixed');
  for (const a of applied) group.alterations.push(a);
};

const compareOptional = (a: string | undefined, b: string | undefined): number => {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
};

const compareGroups = (a: Group, b: Group): number =>
  compareOptional(a.priceType, b.priceType) ||
  compareOptional(a.period, b.period) ||
  compareOptional(a.unit, b.unit);

/**
 * Minor units back to a JSON number, e.g. 1235 (EUR) -> 12.35. Both operands are exact integers
 * below 2^53 and IEEE division is correctly rounded, so this is the double nearest to the exact
 * decimal: the same number as Number('12.35'), without building the string.
 */
const money = (unit: string, minorUnits: number): Money => ({
  unit,
  value: minorUnits / 10 ** minorUnit(unit),
});

/** A deep copy of plain JSON data (alterations come from parsed JSON), cheaper than JSON round trips. */
const copyJson = <T>(value: T): T => {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => copyJson(v)) as T;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in source) if (Object.hasOwn(source, k)) out[k] = copyJson(source[k]);
  return out as T;
};

/**
 * Structural equality of JSON data (key order does not matter). Plain loops rather than
 * Object.keys/every: the cart total compares every applied alteration, mostly equal ones, which must
 * be walked to the end.
 */
const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const la = a as unknown[];
    const lb = b as unknown[];
    if (la.length !== lb.length) return false;
    for (let i = 0; i < la.length; i++) if (!jsonEqual(la[i], lb[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let keys = 0;
  for (const k in ra) {
    if (!Object.hasOwn(ra, k)) continue;
    if (!Object.hasOwn(rb, k) || !jsonEqual(ra[k], rb[k])) return false;
    keys++;
  }
  for (const k in rb) if (Object.hasOwn(rb, k)) keys--;
  return keys === 0;
};

/** JSON with object keys sorted, so equal data always gives the same text. */
const canonicalJson = (value: unknown): string => {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const fields = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
  return `{${fields.join(',')}}`;
};

/**
 * The alterations a totals CartPrice lists: each distinct one once, by priority (missing last),
 * equal priorities by canonical JSON text, so the list does not depend on item or line order.
 * Equal alterations always share a priority, so only runs of equal priority need comparing; that
 * keeps the common case (a few alterations with different priorities) free of any serialisation.
 */
const distinctAlterations = (applied: readonly AppliedAlteration[]): PriceAlteration[] => {
  const sorted =
    applied.length > 1 ? [...applied].sort((a, b) => byPriority(a.priority, b.priority)) : applied;
  const runs: PriceAlteration[][] = [];
  let run: PriceAlteration[] | undefined;
  let runPriority: number | undefined;
  for (const { alteration, priority } of sorted) {
    if (!run || priority !== runPriority) {
      run = [alteration];
      runs.push(run);
      runPriority = priority;
    } else if (!run.some((seen) => jsonEqual(seen, alteration))) {
      run.push(alteration);
    }
  }
  const out: PriceAlteration[] = [];
  for (const distinct of runs) {
    if (distinct.length > 1) {
      const keyed = distinct.map((alteration) => ({ key: canonicalJson(alteration), alteration }));
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const { alteration } of keyed) out.push(copyJson(alteration));
    } else {
      for (const alteration of distinct) out.push(copyJson(alteration));
    }
  }
  return out;
};

const toCartPrices = (groups: Groups): CartPrice[] => {
  const sorted = [...groups.list].sort(compareGroups);
  return sorted.map((g) => {
    const out: CartPrice = {};
    if (g.priceType !== undefined) out.priceType = g.priceType;
    if (g.period !== undefined) out.recurringChargePeriod = g.period;
    const price: Price = {
      dutyFreeAmount: money(g.unit, g.dutyFree),
      taxIncludedAmount: money(g.unit, g.taxIncluded),
    };
    if (typeof g.rate === 'number') price.taxRate = g.rate;
    out.price = price;
    if (g.alterations.length > 0) out.priceAlteration = distinctAlterations(g.alterations);
    return out;
  });
};

// ---------------------------------------------------------------------------------------------
// Items and cart

const readQuantity = (value: unknown, path: () => string): number => {
  if (isAbsent(value)) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalid(`${path()}.quantity`, 'must be an integer >= 1');
  }
  return value;
};

const isSaveForLater = (value: unknown, path: () => string): boolean => {
  if (isAbsent(value) || value === 'active') return false;
  if (value === 'saveForLater') return true;
  throw invalid(`${path()}.status`, "must be 'active' or 'saveForLater'");
};

interface PricedItem {
  readonly item: CartItem;
  readonly groups: Groups;
  readonly saveForLater: boolean;
}

const priceItem = (ctx: Context, item: CartItem, path: () => string): PricedItem => {
  const quantity = readQuantity(item.quantity, path);
  const saveForLater = isSaveForLater(item.status, path);

  const groups = newGroups();
  const prices: readonly CartPrice[] = item.itemPrice ?? [];
  for (let i = 0; i < prices.length; i++) {
    const cartPrice = prices[i];
    if (cartPrice) addLine(ctx, groups, cartPrice, quantity, () => `${path()}.itemPrice[${i}]`);
  }

  const children = item.cartItem?.map((child, j) => priceItem(ctx, child, () => `${path()}.cartItem[${j}]`));
  for (const child of children ?? []) {
    if (!child.saveForLater) mergeGroups(groups, child.groups, path);
  }

  const out: CartItem = { ...item };
  // Only when present: delete turns the object into a slow dictionary-mode object.
  if ('ItemTotalPrice' in out) delete out.ItemTotalPrice;
  if (children) out.cartItem = children.map((c) => c.item);
  out.itemTotalPrice = toCartPrices(groups);
  return { item: out, groups, saveForLater };
};

/**
 * Prices a cart: a new cart whose items (recursively) carry a computed `itemTotalPrice` (and no
 * `ItemTotalPrice`) and whose `cartTotalPrice` sums the items that are not saved for later.
 * Throws AppError BAD_REQUEST naming the offending field path. See the module comment for the rules.
 */
export const priceCart = (cart: ShoppingCart, options: PricingOptions): ShoppingCart => {
  const ctx: Context = {
    halfEven: options.rounding === 'half-even',
    small: exact(smallRationals),
    big: undefined,
  };
  const items = cart.cartItem?.map((item, i) => priceItem(ctx, item, () => `cartItem[${i}]`));

  const total = newGroups();
  for (const priced of items ?? []) {
    if (!priced.saveForLater) mergeGroups(total, priced.groups, () => 'cartTotalPrice');
  }

  const out: ShoppingCart = { ...cart };
  if (items) out.cartItem = items.map((p) => p.item);
  out.cartTotalPrice = toCartPrices(total);
  return out;
};
