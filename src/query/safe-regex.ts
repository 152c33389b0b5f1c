/**
 * `attr.regex=...` runs a client's pattern against every candidate value, in the evaluator, inside
 * SQLite and in hub subscription queries. Patterns mean what a JavaScript RegExp without flags
 * means, but never run on a backtracking engine: they are translated (regex-translate.ts, target
 * 'units') and run on RE2 compiled to WebAssembly (the re2-wasm package), whose cost is linear in
 * the input. What remains is bounded:
 * - the pattern: at most 256 characters, a weight (positions once counted repetitions are
 *   expanded; regex-translate.ts) of at most 1,000, bounds of at most 1,000, at most 10 repeats;
 *   and, so that MongoDB's own engine (PCRE, backtracking) never meets one either, no
 *   backreferences, no lookarounds or other `(?` constructs but `(?:` and `(?<name>`, and no group
 *   repeated by `*`, `+` or `{n,m}` (m > 1) that contains a quantifier or an alternation;
 * - the work: every search is charged about input length x weight (regexBudget says exactly)
 *   against the meter of the synchronous section it runs in (withRegexBudget: one routed event,
 *   one slice of a list's candidates in regexScan); past regexBudget the search throws
 *   RegexBudgetExceeded. At the measured worst rate (docs/performance.md, "Hostile input") a budget's worth of
 *   searching holds the event loop well under 100 ms. A list searches its candidates in slices
 *   (regexScan), the loop turning between them, up to regexRequestBudget per request.
 * Patterns match anywhere in the value (anchor with ^ and $).
 */
import { RE2 } from 're2-wasm';
import { AppError, invalidRegex, queryTooExpensive } from '../errors.js';
import { translateRegexFor, unitText } from './regex-translate.js';

export const maxRegexLength = 256;
const maxRepeats = 10;
const maxBound = 1000;
export const maxRegexWeight = 1000;
/**
 * Work units one metered section may spend on searches. A search is charged
 * length x max(weight, minWeight) + perSearch: RE2 in WebAssembly runs at worst about 8 ns per
 * unit here (bench/parsers.ts: about 15 ns), light patterns never faster than about ten units
 * per character, and each search costs up to about 16 µs of crossing into WebAssembly whatever its
 * length; a budget's worth of searching is then about 50 ms at worst.
 */
export const regexBudget = 3_000_000;
const minWeight = 10;
const perSearch = 2_000;

interface Group {
  /** A quantifier (any, `?` included) occurs somewhere inside. */
  quantified: boolean;
  /** A `|` occurs somewhere inside. */
  alternation: boolean;
}

/** What the previous atom was, for the quantifier that may follow it. */
type Atom = { group: Group } | 'simple' | undefined;

const boundedQuantifier = /^\{(\d+)(?:(,)(\d*))?\}/;

/** Why `source` is refused, or undefined when it is accepted. */
export function regexProblem(source: string): string | undefined {
  if (source.length > maxRegexLength) return `is longer than ${maxRegexLength} characters`;
  const stack: Group[] = [{ quantified: false, alternation: false }];
  let atom: Atom;
  let repeats = 0;
  let i = 0;
  const current = (): Group => stack[stack.length - 1] ?? { quantified: false, alternation: false };
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined) return 'ends with a lone backslash';
      if (/[1-9]/.test(next) || next === 'k') return 'uses a backreference';
      atom = 'simple';
      i += 2;
    } else if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      while (j < source.length && source[j] !== ']') {
        if (source[j] === '\\' && /[1-9]/.test(source[j + 1] ?? '')) return 'uses a backreference';
        j += source[j] === '\\' ? 2 : 1;
      }
      if (j >= source.length) return 'has an unterminated character class';
      atom = 'simple';
      i = j + 1;
    } else if (c === '(') {
      let length = 1;
      if (source[i + 1] === '?') {
        const kind = source[i + 2];
        const name = kind === '<' ? /^\(\?<[A-Za-z_$][\w$]*>/.exec(source.slice(i)) : null;
        if (kind === ':') length = 3;
        else if (name !== null) length = name[0].length;
        else return 'uses a lookaround or an unsupported group';
      }
      stack.push({ quantified: false, alternation: false });
      atom = undefined;
      i += length;
    } else if (c === ')') {
      const group = stack.pop();
      if (group === undefined || stack.length === 0) return 'has an unbalanced parenthesis';
      const parent = current();
      parent.quantified ||= group.quantified;
      parent.alternation ||= group.alternation;
      atom = { group };
      i += 1;
    } else if (c === '|') {
      current().alternation = true;
      atom = undefined;
      i += 1;
    } else if (
      c === '*' ||
      c === '+' ||
      c === '?' ||
      (c === '{' && boundedQuantifier.test(source.slice(i)))
    ) {
      let length = 1;
      let repeating = c !== '?';
      if (c === '{') {
        const m = boundedQuantifier.exec(source.slice(i));
        if (m === null) return 'has an invalid quantifier';
        const [text, min, comma, max] = m;
        const upper = comma === undefined ? Number(min) : max === '' ? Infinity : Number(max);
        if (Number(min) > maxBound || (upper !== Infinity && upper > maxBound)) {
          return `repeats more than ${maxBound} times`;
        }
        repeating = upper > 1;
        length = text.length;
      }
      if (atom === undefined) return 'has a quantifier with nothing to repeat';
      if (repeating) {
        repeats += 1;
        if (repeats > maxRepeats) return `has more than ${maxRepeats} repeated parts`;
        if (atom !== 'simple' && (atom.group.quantified || atom.group.alternation)) {
          return 'repeats a group that contains a quantifier or an alternation (catastrophic backtracking)';
        }
      }
      current().quantified = true;
      atom = undefined;
      i += length;
      if (source[i] === '?') i += 1; // lazy
    } else {
      atom = 'simple';
      i += 1;
    }
  }
  if (stack.length !== 1) return 'has an unbalanced parenthesis';
  try {
    new RegExp(source); // compiled, never run: JavaScript's syntax is the reference
  } catch {
    return 'is not a valid regular expression';
  }
  const translated = translateRegexFor(source, 'units');
  if (translated === undefined) return 'uses a construct the linear-time engine cannot run exactly';
  if (translated.weight > maxRegexWeight) {
    return `is too heavy (weight ${translated.weight} over ${maxRegexWeight}: fewer or smaller repetitions)`;
  }
  return undefined;
}

/** A search over one metered section went past regexBudget. */
export class RegexBudgetExceeded extends AppError {
  constructor() {
    const { code, message, reason } = queryTooExpensive(
      `the regex conditions would search more than ${regexBudget} character-weights in one value or event; use a lighter pattern or narrower conditions`,
    );
    super(code, message, { reason });
  }
}

interface Meter {
  remaining: number;
}
let meter: Meter | undefined;

/**
 * Runs a synchronous section (one SQLite query, one residual filter, one routed event) with a
 * fresh regex budget; searches in it throw RegexBudgetExceeded past the budget.
 */
export function withRegexBudget<T>(fn: () => T, budget = regexBudget): T {
  const outer = meter;
  meter = { remaining: budget };
  try {
    return fn();
  } finally {
    meter = outer;
  }
}

/**
 * Work units one request may spend on regex searches over all its sections (regexScan): about
 * 400,000 small values, so a regex filter over 100,000 carts still answers; past it the request
 * is refused as too expensive. Each section stays within regexBudget and the event loop turns
 * between sections, so the cap bounds the CPU one request takes, not how long the loop is held.
 */
export const regexRequestBudget = 1_000_000_000;

/** A request's regex searches went past regexRequestBudget (over all its sections). */
export class RegexRequestBudgetExceeded extends AppError {
  constructor() {
    const { code, message, reason } = queryTooExpensive(
      `the regex conditions would search more than ${regexRequestBudget} character-weights in one request; add narrower conditions`,
    );
    super(code, message, { reason });
  }
}

/** Runs fn with a fresh meter of `budget` units; returns its result and the units it spent. */
export function measureRegexWork<T>(fn: () => T, budget = regexBudget): { result: T; spent: number } {
  const outer = meter;
  const own = { remaining: budget };
  meter = own;
  try {
    const result = fn();
    return { result, spent: budget - own.remaining };
  } finally {
    meter = outer;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How regexScan sizes its slices. */
export interface RegexScanOptions {
  /** Rows in the first slice. */
  first?: number;
  /** Most rows in one slice, whatever the regex work (bounds the rest of a slice's cost): 2,000. */
  most?: number;
  /** Units one slice may spend (regexBudget). */
  sectionBudget?: number;
  /** Units the whole scan may spend (regexRequestBudget). */
  requestBudget?: number;
}

/**
 * Runs a regex filter over a large candidate set as a series of synchronous slices, each under
 * its own regexBudget, letting the event loop turn (setImmediate) before every slice after the
 * first. `slice(size)` handles up to `size` more candidates and reports how many it took and
 * whether any remain; it must have no effect until it returns, because a slice that runs past
 * the budget is retried with half the rows (a single row over the budget is the 400). Slice sizes
 * follow the work measured per row, aiming at a quarter of the budget: the rest of a slice's cost
 * (reading and decoding the candidates) is not metered. Past requestBudget in all, the
 * scan throws RegexRequestBudgetExceeded.
 */
export async function regexScan(
  slice: (size: number) => { taken: number; done: boolean },
  options: RegexScanOptions = {},
): Promise<void> {
  const most = options.most ?? 2_000;
  const sectionBudget = options.sectionBudget ?? regexBudget;
  const requestBudget = options.requestBudget ?? regexRequestBudget;
  let size = Math.min(options.first ?? 500, most);
  let total = 0;
  let first = true;
  for (;;) {
    if (!first) await nextTurn();
    first = false;
    let step: { result: { taken: number; done: boolean }; spent: number };
    try {
      step = measureRegexWork(() => slice(size), sectionBudget);
    } catch (e) {
      if (!(e instanceof RegexBudgetExceeded) || size === 1) throw e;
      total += sectionBudget;
      if (total > requestBudget) throw new RegexRequestBudgetExceeded();
      size = Math.max(1, Math.floor(size / 2));
      continue;
    }
    total += step.spent;
    if (total > requestBudget) throw new RegexRequestBudgetExceeded();
    if (step.result.done) return;
    const perRow = step.spent / Math.max(step.result.taken, 1);
    size = perRow === 0 ? most : Math.max(1, Math.min(most, Math.floor(sectionBudget / 4 / perRow)));
  }
}

/** A compiled filter pattern: searches in linear time, charged to the current meter. */
export interface SafeRegex {
  readonly source: string;
  readonly weight: number;
  test(text: string): boolean;
}

interface Compiled extends SafeRegex {
  free(): void;
}

const compile = (source: string): Compiled => {
  const translated = translateRegexFor(source, 'units');
  if (translated === undefined) throw invalidRegex('the regex cannot run exactly');
  const re = new RE2(translated.source, 'u');
  const { weight } = translated;
  return {
    source,
    weight,
    test: (text) => {
      if (meter !== undefined) {
        meter.remaining -= text.length * Math.max(weight, minWeight) + perSearch;
        if (meter.remaining < 0) throw new RegexBudgetExceeded();
      }
      return re.test(unitText(text));
    },
    // The compiled program lives in WebAssembly memory, which JavaScript's GC does not see.
    free: () => {
      (re as unknown as { wrapper?: { delete?: () => void } }).wrapper?.delete?.();
    },
  };
};

const cache = new Map<string, Compiled>();
const cacheSize = 256;

/**
 * Compiles a pattern that passed regexProblem (throws a 400 otherwise). Compiled patterns are
 * cached (SQLite calls the regex function once per candidate value); the least recently used is
 * freed past 256.
 */
export function compileSafeRegex(source: string): SafeRegex {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  const problem = regexProblem(source);
  if (problem !== undefined) throw invalidRegex(`regex pattern ${problem}`);
  const re = compile(source);
  cache.set(source, re);
  if (cache.size > cacheSize) {
    const [oldest] = cache;
    if (oldest) {
      cache.delete(oldest[0]);
      oldest[1].free();
    }
  }
  return re;
}
