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
 * - Exact decimals (an isolated decimal.js clone, precision 40); input numbers are read from their
 *   shortest string form, so 0.1 × 3 is 0.3. Never binary floats for money.
 * - Each line needs at most one division (by 1 + taxRate/100), done last (see Running), so line
 *   totals are the exactly rounded values of the formulas, with no early 40-digit rounding.
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
import { Decimal } from 'decimal.js';
import type { CartItem, CartPrice, Money, Price, PriceAlteration, ShoppingCart } from '../api-types.js';
import { badRequest, type AppError } from '../errors.js';
import { minorUnit } from './currency.js';

export type RoundingMode = 'half-even' | 'half-up';

export interface PricingOptions {
  readonly rounding: RoundingMode;
}

// An isolated constructor: a Decimal.set() anywhere else in the process cannot change our precision.
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN });
const ZERO = new D(0);
const ONE = new D(1);
const HUNDRED = new D(100);

const ROUNDING: Readonly<Record<RoundingMode, Decimal.Rounding>> = {
  'half-even': Decimal.ROUND_HALF_EVEN,
  'half-up': Decimal.ROUND_HALF_UP,
};

/** What one priceCart call threads through: the rounding mode and its own parse memo. */
interface Context {
  readonly rounding: Decimal.Rounding;
  /**
   * Input numbers already parsed. Carts repeat amounts (the same offering or discount on many
   * items) and parsing is a sizeable share of the work; the memo lives for one call only.
   */
  readonly parsed: Map<number, Decimal>;
}

// Field paths travel as thunks (() => string) and are rendered only for an error, so pricing a
// valid cart builds no path strings at all.
const invalid = (path: string, problem: string): AppError =>
  badRequest(`Invalid ${path}`, `${path} ${problem}`);

/**
 * Parse via the shortest round-trip string, so 0.1 is the decimal 0.1 and not its binary neighbour.
 * decimal.js parses a number argument exactly as `new D(String(n))` does (through n.toString(),
 * with a fast path for small integers), minus a regex test; pricing.test.ts pins that behaviour.
 */
const dec = (n: number): Decimal => new D(n);

const isAbsent = (value: unknown): value is undefined | null => value === undefined || value === null;

const finiteNumber = (value: unknown, path: () => string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path(), 'must be a finite number');
  return value;
};

/**
 * Small memo for the factors derived from rates and percentages (1 + r/100, 1 − p/100): a catalogue
 * uses a handful of distinct values, and each derivation costs three Decimal operations. Decimals are
 * immutable, so sharing them is safe; the cap keeps hostile input from growing it without bound.
 */
const memoFactor = (derive: (n: number) => Decimal): ((n: number) => Decimal) => {
  const cache = new Map<number, Decimal>();
  return (n) => {
    let factor = cache.get(n);
    if (factor === undefined) {
      if (cache.size >= 256) cache.clear();
      factor = derive(n);
      cache.set(n, factor);
    }
    return factor;
  };
};

const taxFactorOf = memoFactor((rate) => ONE.plus(dec(rate).div(HUNDRED)));
const percentageFactorOf = memoFactor((percentage) => ONE.minus(dec(percentage).div(HUNDRED)));

// ---------------------------------------------------------------------------------------------
// Reading and normalising prices

interface Amount {
  readonly unit: string;
  readonly value: Decimal;
  /** The number as sent. */
  readonly sent: number;
}

/**
 * The running amounts of one line, in a form where every step is exact and at most one division
 * (by the tax factor f = 1 + taxRate/100) happens, at the very end:
 * - `dutyFree`: only dutyFree is known, taxIncluded is v × f (no division at all);
 * - `taxIncluded`: taxIncluded is v, dutyFree is v ÷ f;
 * - `both`: independent sides (the client stated both), dutyFree kept scaled by f (dutyFree × f),
 *   so a taxIncluded amount subtracts from it without dividing.
 * Deriving a side, percentages, absolute alterations and × quantity are all linear, so this is the
 * contract's formula (derive, alter, multiply) computed exactly: dividing first would round to 40
 * digits early, and a later × f or × quantity could land a hair off an exact half-cent tie.
 * It is also about half the Decimal work of altering both sides.
 */
type Running =
  | { readonly kind: 'dutyFree' | 'taxIncluded'; readonly value: Decimal }
  | { readonly kind: 'both'; readonly taxIncluded: Decimal; readonly scaledDutyFree: Decimal };

interface NormalisedPrice {
  readonly unit: string;
  readonly running: Running;
  /** The amounts as sent, for the exact integer fast path of lines without alterations. */
  readonly sent: { readonly dutyFree: number | undefined; readonly taxIncluded: number | undefined };
  /** The taxRate as stated; undefined when the client gave none (computed with 0). */
  readonly taxRate: number | undefined;
  /** 1 + taxRate/100, reused to derive missing sides of absolute alterations. */
  readonly taxFactor: Decimal;
}

/** A Money with a value, checked. `path` renders the Money's own path, only if it is needed. */
const readAmount = (
  ctx: Context,
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
  let parsed = ctx.parsed.get(n);
  if (parsed === undefined) {
    parsed = dec(n);
    ctx.parsed.set(n, parsed);
  }
  return { unit, value: parsed, sent: n };
};

const normalisePrice = (
  ctx: Context,
  price: Price | undefined,
  linePath: () => string,
): NormalisedPrice | undefined => {
  if (isAbsent(price)) return undefined;
  const dutyFree = readAmount(ctx, price.dutyFreeAmount, () => `${linePath()}.price.dutyFreeAmount`, false);
  const taxIncluded = readAmount(
    ctx,
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
  const taxFactor = taxRate === undefined || taxRate === 0 ? ONE : taxFactorOf(taxRate);

  let running: Running;
  if (dutyFree && taxIncluded) {
    running = {
      kind: 'both',
      taxIncluded: taxIncluded.value,
      scaledDutyFree: times(dutyFree.value, taxFactor),
    };
  } else if (dutyFree) {
    running = { kind: 'dutyFree', value: dutyFree.value };
  } else {
    // Only taxIncluded is given here (both absent returned above).
    running = { kind: 'taxIncluded', value: (taxIncluded as Amount).value };
  }
  const sent = { dutyFree: dutyFree?.sent, taxIncluded: taxIncluded?.sent };
  return { unit: (dutyFree ?? (taxIncluded as Amount)).unit, running, taxRate, taxFactor, sent };
};

/** × the tax factor, skipped when it is 1 (no tax) to save a Decimal operation. */
const times = (value: Decimal, factor: Decimal): Decimal => (factor === ONE ? value : value.times(factor));

// ---------------------------------------------------------------------------------------------
// Alterations

const clamp = (d: Decimal): Decimal => (d.isNegative() ? ZERO : d);

/** Ascending priority, missing last; Array.prototype.sort is stable, so ties keep array order. */
const byPriority = (a: number | undefined, b: number | undefined): number => {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
};

/**
 * An absolute amount off independent sides. dutyFree is kept × f, so both subtract exactly; a
 * one-sided amount's missing side is derived with the price's rate, which in these terms is the
 * same number.
 */
const subtractBoth = (
  taxIncluded: Decimal,
  scaledDutyFree: Decimal,
  offDutyFree: Amount | undefined,
  offTaxIncluded: Amount | undefined,
  f: Decimal,
): Running => {
  const offScaled = offDutyFree ? times(offDutyFree.value, f) : undefined;
  const offIncluded = offTaxIncluded?.value ?? offScaled ?? ZERO;
  return {
    kind: 'both',
    taxIncluded: clamp(taxIncluded.minus(offIncluded)),
    scaledDutyFree: clamp(scaledDutyFree.minus(offScaled ?? offIncluded)),
  };
};

/** One alteration on the running amounts; undefined when it does not apply (no-op, zero duration). */
const applyAlteration = (
  ctx: Context,
  running: Running,
  alteration: PriceAlteration,
  base: NormalisedPrice,
  path: () => string,
): Running | undefined => {
  const duration: unknown = alteration.applicationDuration;
  if (!isAbsent(duration)) {
    const periods = finiteNumber(duration, () => `${path()}.applicationDuration`);
    if (periods < 0) throw invalid(`${path()}.applicationDuration`, 'must not be negative');
    if (periods === 0) return undefined;
  }
  const price: Price | undefined = alteration.price;
  if (isAbsent(price)) return undefined;
  const percentage: unknown = price.percentage;
  const dutyFree = readAmount(ctx, price.dutyFreeAmount, () => `${path()}.price.dutyFreeAmount`, true);
  const taxIncluded = readAmount(
    ctx,
    price.taxIncludedAmount,
    () => `${path()}.price.taxIncludedAmount`,
    true,
  );

  if (!isAbsent(percentage)) {
    if (dutyFree || taxIncluded) {
      throw invalid(
        `${path()}.price`,
        'has both a percentage and an amount; an alteration is one or the other',
      );
    }
    const factor = percentageFactorOf(finiteNumber(percentage, () => `${path()}.price.percentage`));
    if (running.kind === 'both') {
      return {
        kind: 'both',
        taxIncluded: clamp(running.taxIncluded.times(factor)),
        scaledDutyFree: clamp(running.scaledDutyFree.times(factor)),
      };
    }
    return { kind: running.kind, value: clamp(running.value.times(factor)) };
  }

  if (!dutyFree && !taxIncluded) return undefined;
  if (dutyFree && dutyFree.unit !== base.unit) {
    throw invalid(
      `${path()}.price.dutyFreeAmount.unit`,
      `is ${dutyFree.unit} but the price is in ${base.unit}`,
    );
  }
  if (taxIncluded && taxIncluded.unit !== base.unit) {
    throw invalid(
      `${path()}.price.taxIncludedAmount.unit`,
      `is ${taxIncluded.unit} but the price is in ${base.unit}`,
    );
  }
  const f = base.taxFactor;

  if (running.kind !== 'both') {
    if (dutyFree && !taxIncluded) {
      // A dutyFree amount: subtract as is on the dutyFree side, × f (exact) on the taxIncluded side.
      const off = running.kind === 'dutyFree' ? dutyFree.value : times(dutyFree.value, f);
      return { kind: running.kind, value: clamp(running.value.minus(off)) };
    }
    // From here the line is worked in taxIncluded terms; from dutyFree that is × f, exact.
    const current = running.kind === 'taxIncluded' ? running.value : times(running.value, f);
    if (taxIncluded && !dutyFree) {
      return { kind: 'taxIncluded', value: clamp(current.minus(taxIncluded.value)) };
    }
    // A two-sided amount on a one-sided line: the sides become independent, equal so far.
    return subtractBoth(current, current, dutyFree, taxIncluded, f);
  }
  return subtractBoth(running.taxIncluded, running.scaledDutyFree, dutyFree, taxIncluded, f);
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
 * to the minor unit before it is added, so sums are exact integer additions, far cheaper than
 * Decimal additions (which allocate twice each). Plain numbers are exact up to 2^53 minor units; past
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

/** Rounds to the minor unit and returns it as an integer count of minor units ("12.35" -> 1235). */
const toMinorUnits = (d: Decimal, minor: number, rounding: Decimal.Rounding): number => {
  const fixed = d.toFixed(minor, rounding);
  return Number(minor === 0 ? fixed : fixed.replace('.', ''));
};

/**
 * The exact fast path for the simplest lines: an amount sent with no more decimals than the
 * currency has, times an integer quantity, needs no rounding, so its total in minor units is plain
 * integer arithmetic on the number's own digits (its shortest string, as decimal.js would read it;
 * no binary fractions involved). undefined whenever that does not hold, and Decimal takes over.
 */
const exactLineMinorUnits = (
  sent: number | undefined,
  minor: number,
  quantity: number,
): number | undefined => {
  if (sent === undefined) return undefined;
  const text = String(sent);
  if (text.includes('e')) return undefined;
  const dot = text.indexOf('.');
  const fraction = dot < 0 ? '' : text.slice(dot + 1);
  if (fraction.length > minor) return undefined;
  const units = Number((dot < 0 ? text : text.slice(0, dot)) + fraction.padEnd(minor, '0')) * quantity;
  return Number.isSafeInteger(units) ? units : undefined;
};

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

const addLine = (
  ctx: Context,
  groups: Groups,
  cartPrice: CartPrice,
  quantity: Decimal | undefined,
  quantityNumber: number,
  linePath: () => string,
): void => {
  const { rounding } = ctx;
  const base = normalisePrice(ctx, cartPrice.price, linePath);
  if (!base) return;

  let running = base.running;
  const applied: AppliedAlteration[] = [];
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
      const next = applyAlteration(
        ctx,
        running,
        alteration,
        base,
        () => `${linePath()}.priceAlteration[${index}]`,
      );
      if (next) {
        running = next;
        applied.push({ alteration, priority });
      }
    }
  }

  const minor = minorUnit(base.unit);
  const priceType = optionalString(cartPrice.priceType);
  const period = priceType === 'recurring' ? optionalString(cartPrice.recurringChargePeriod) : undefined;
  const group = groupFor(groups, priceType, period, base.unit);
  // The single division, if any, happens here, after all exact steps. A side the client sent
  // that needs no rounding takes the integer fast path instead (only when no alteration applied).
  const f = base.taxFactor;
  const sent = applied.length === 0 ? base.sent : undefined;
  let dutyFree: number;
  let taxIncluded: number;
  if (running.kind === 'both') {
    taxIncluded =
      exactLineMinorUnits(sent?.taxIncluded, minor, quantityNumber) ??
      toMinorUnits(quantity ? running.taxIncluded.times(quantity) : running.taxIncluded, minor, rounding);
    const fastDutyFree = f === ONE ? exactLineMinorUnits(sent?.dutyFree, minor, quantityNumber) : undefined;
    if (fastDutyFree !== undefined) {
      dutyFree = fastDutyFree;
    } else {
      const scaled = quantity ? running.scaledDutyFree.times(quantity) : running.scaledDutyFree;
      dutyFree = toMinorUnits(f === ONE ? scaled : scaled.div(f), minor, rounding);
    }
  } else {
    const sentTracked = running.kind === 'dutyFree' ? sent?.dutyFree : sent?.taxIncluded;
    const fastTracked = exactLineMinorUnits(sentTracked, minor, quantityNumber);
    let trackedMinor: number;
    let otherMinor: number;
    if (fastTracked !== undefined && f === ONE) {
      // Without tax both sides are the same number.
      trackedMinor = fastTracked;
      otherMinor = fastTracked;
    } else {
      const tracked = quantity ? running.value.times(quantity) : running.value;
      trackedMinor = fastTracked ?? toMinorUnits(tracked, minor, rounding);
      otherMinor =
        f === ONE
          ? trackedMinor
          : toMinorUnits(running.kind === 'dutyFree' ? tracked.times(f) : tracked.div(f), minor, rounding);
    }
    dutyFree = running.kind === 'dutyFree' ? trackedMinor : otherMinor;
    taxIncluded = running.kind === 'dutyFree' ? otherMinor : trackedMinor;
  }
  group.dutyFree = addMinor(group.dutyFree, dutyFree, linePath);
  group.taxIncluded = addMinor(group.taxIncluded, taxIncluded, linePath);
  group.rate = combineRates(group.rate, base.taxRate ?? 'mixed');
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
  // Quantity 1 is the common case; skipping the multiplication saves a Decimal per side.
  const qty = quantity === 1 ? undefined : dec(quantity);

  const groups = newGroups();
  const prices: readonly CartPrice[] = item.itemPrice ?? [];
  for (let i = 0; i < prices.length; i++) {
    const cartPrice = prices[i];
    if (cartPrice) addLine(ctx, groups, cartPrice, qty, quantity, () => `${path()}.itemPrice[${i}]`);
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
  const ctx: Context = { rounding: ROUNDING[options.rounding], parsed: new Map() };
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
