/**
 * A v5 patch written back into the stored cart, pure: only what the patch changed. The v5 view
 * before and after the patch are both mapped back to the stored form (`fromV5Cart`); what differs
 * between the two is applied to the stored cart, and everything else keeps its stored form byte
 * for byte (no v5 default @type stored where the patch did not write, no extension rewritten).
 * A patch that changes nothing returns the stored cart itself. docs/v5-mapping.md, "Writing
 * through v5".
 */
import { isDeepStrictEqual } from 'node:util';
import { isRecord, type Json } from './cart-view.js';

/**
 * `stored` with the change from `before` to `after` applied (both in the stored form; `before`
 * is `stored` as the v5 view shows it, mapped back): members equal in both keep the stored value,
 * or its absence; changed ones are applied member by member where both sides are objects, element
 * by element where both are arrays; a value that is new takes `after`'s.
 */
export function applyChanges(stored: unknown, before: unknown, after: unknown): unknown {
  if (isDeepStrictEqual(before, after)) return stored;
  if (Array.isArray(stored) && Array.isArray(before) && Array.isArray(after)) {
    return applyToElements(stored, before, after);
  }
  if (!isRecord(stored) || !isRecord(before) || !isRecord(after)) return after;
  const out: Json = {};
  for (const key of new Set([...Object.keys(stored), ...Object.keys(after)])) {
    if (isDeepStrictEqual(before[key], after[key])) {
      // Unchanged by the patch, including members the v5 view does not show.
      if (Object.hasOwn(stored, key)) out[key] = stored[key];
    } else if (Object.hasOwn(after, key)) {
      out[key] = applyChanges(stored[key], before[key], after[key]);
    }
  }
  return out;
}

const idOf = (v: unknown): unknown => (isRecord(v) ? v.id : undefined);

/**
 * Each element of `after` from the element of `before` it came from (`before` and `stored` are
 * index for index): the same element unchanged (at its index, else anywhere: a move, or a removal
 * before it), else a changed one with the same `id`, else the one at the same index. An element
 * from none is new and taken as written.
 */
function applyToElements(stored: unknown[], before: unknown[], after: unknown[]): unknown[] {
  const origin: (number | undefined)[] = after.map((a, i) =>
    isDeepStrictEqual(before[i], a) ? i : undefined,
  );
  const used = new Set(origin.filter((o) => o !== undefined));
  const unused = new Map<string, number[]>();
  before.forEach((b, j) => {
    if (used.has(j)) return;
    const text = JSON.stringify(b);
    unused.set(text, [...(unused.get(text) ?? []), j]);
  });
  after.forEach((a, i) => {
    if (origin[i] !== undefined) return;
    const j = unused.get(JSON.stringify(a))?.shift();
    if (j !== undefined) {
      origin[i] = j;
      used.add(j);
    }
  });
  const free = (j: number): boolean => j >= 0 && j < before.length && !used.has(j);
  return after.map((a, i) => {
    let j = origin[i];
    if (j === undefined) {
      const id = idOf(a);
      const sameId = id === undefined ? -1 : before.findIndex((b, k) => free(k) && idOf(b) === id);
      j = sameId >= 0 ? sameId : free(i) ? i : undefined;
      if (j === undefined) return a;
      used.add(j);
    }
    return applyChanges(stored[j], before[j], a);
  });
}
