/** The alterations a totals CartPrice lists: distinct, in a stable order, as fresh copies. */
import type { PriceAlteration } from '../../api-types.js';
import { byPriority } from './read.js';

export interface AppliedAlteration {
  readonly alteration: PriceAlteration;
  readonly priority: number | undefined;
}

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
export const distinctAlterations = (applied: readonly AppliedAlteration[]): PriceAlteration[] => {
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
