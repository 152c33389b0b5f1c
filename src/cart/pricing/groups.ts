/** Groups: the accumulators behind one totals CartPrice, and the totals they are written as. */
import type { CartPrice, Money, Price, PriceAlteration } from '../../api-types.js';
import { minorUnit } from '../currency.js';
import { bigRationals, OVERFLOW } from '../rational.js';
import { distinctAlterations, type AppliedAlteration } from './alterations.js';
import { exact, lineTotals, type Context } from './exact.js';
import {
  byPriority,
  finiteNumber,
  invalid,
  isAbsent,
  readAlteration,
  readPrice,
  type Change,
} from './read.js';

/** Whether the lines of a group agree on a tax rate: no line yet, one shared rate, or not. */
type RateState = number | 'none' | 'mixed';

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
export interface Groups {
  readonly list: Group[];
  byKey: Map<string, Group> | undefined;
}

const SCAN_LIMIT = 8;

export const newGroups = (): Groups => ({ list: [], byKey: undefined });

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
export const mergeGroups = (target: Groups, source: Groups, path: () => string): void => {
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

export const addLine = (
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

export const toCartPrices = (groups: Groups): CartPrice[] => {
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
