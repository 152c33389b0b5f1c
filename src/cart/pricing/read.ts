/** Reading and checking prices (no arithmetic: this runs once per line, whatever the arithmetic). */
import type { Money, Price, PriceAlteration } from '../../api-types.js';
import { invalidField } from '../../errors.js';

// Field paths travel as thunks (() => string) and are rendered only for an error, so pricing a
// valid cart builds no path strings at all.
export const invalid = invalidField;

export const isAbsent = (value: unknown): value is undefined | null => value === undefined || value === null;

export const finiteNumber = (value: unknown, path: () => string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path(), 'must be a finite number');
  return value;
};

/** A Money with a value, checked. */
export interface Amount {
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
export interface LinePrice {
  readonly unit: string;
  readonly dutyFree: Amount | undefined;
  readonly taxIncluded: Amount | undefined;
  /** The taxRate as stated; undefined when the client gave none (computed with 0). */
  readonly taxRate: number | undefined;
}

export const readPrice = (price: Price | undefined, linePath: () => string): LinePrice | undefined => {
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
export type Change =
  | { readonly kind: 'percentage'; readonly percentage: number }
  | {
      readonly kind: 'amount';
      readonly dutyFree: Amount | undefined;
      readonly taxIncluded: Amount | undefined;
    };

/** Ascending priority, missing last; Array.prototype.sort is stable, so ties keep array order. */
export const byPriority = (a: number | undefined, b: number | undefined): number => {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
};

/** An alteration's effect; undefined when it does not apply (no-op, zero duration). */
export const readAlteration = (
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
