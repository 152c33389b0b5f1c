/**
 * Worst event-loop hold per parser and per regex path (issue 14). Each case runs the hostile
 * input it names at the largest size the limits allow (8,192-character queries, 1 MB bodies) and
 * records the longest single synchronous run, which is how long it holds the event loop. Prints a
 * table and writes bench/results-parsers.json. Target: every case under 100 ms.
 *
 *   npm run bench:parsers [-- rounds]
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ShoppingCart } from '../src/api-types.js';
import { AppError } from '../src/errors.js';
import { parseSubscriptionQuery, shapeForSubscription } from '../src/events/subscription-query.js';
import { matchesFilter } from '../src/query/evaluate.js';
import { parseFilterQuery, parseListQuery } from '../src/query/parse.js';
import { maxQueryLength } from '../src/query/terms.js';
import {
  compileSafeRegex,
  regexBudget,
  regexProblem,
  regexRequestBudget,
  regexScan,
  withRegexBudget,
} from '../src/query/safe-regex.js';
import { openSqliteStore } from '../src/store/sqlite/store.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.argv[2] ?? 5);
const body = 1_000_000; // characters of one string in a body at the 1 MB limit

interface Row {
  path: string;
  input: string;
  worstMs: number;
  /** Longest whole run, when it is longer than the hold (the run yields between sections). */
  wallMs?: number;
  outcome: string;
}
const rows: Row[] = [];

/**
 * The longest the event loop was held while `run` ran: for a synchronous run its whole duration;
 * for a run that yields (a promise), the longest gap between two turns of a setImmediate ticker
 * (each gap is one synchronous section of the run, or of the ticker's own bookkeeping).
 */
async function holdOf(run: () => unknown): Promise<{ holdMs: number; wallMs: number; outcome: string }> {
  const started = performance.now();
  let outcome: string;
  let last = started;
  let longest = 0;
  let running = true;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  try {
    const r = run();
    if (r instanceof Promise) {
      setImmediate(tick);
      outcome = String(await r);
    } else {
      outcome = String(r);
    }
  } catch (e) {
    outcome = e instanceof AppError ? `${e.code}: ${e.reason}` : `THREW ${String(e)}`;
  }
  running = false;
  const now = performance.now();
  return { holdMs: Math.max(longest, now - last), wallMs: now - started, outcome };
}

/** Longest hold of ROUNDS runs (after one warm-up), and what the last run gave. */
async function measure(path: string, input: string, run: () => unknown, rounds = ROUNDS): Promise<void> {
  let worst = 0;
  let wall = 0;
  let outcome = '';
  for (let round = 0; round <= rounds; round++) {
    const r = await holdOf(run);
    outcome = r.outcome;
    if (round > 0) {
      worst = Math.max(worst, r.holdMs);
      wall = Math.max(wall, r.wallMs);
    }
  }
  const tenths = (ms: number): number => Math.round(ms * 10) / 10;
  const yielded = wall > worst * 1.5 ? { wallMs: tenths(wall) } : {};
  rows.push({ path, input, worstMs: tenths(worst), ...yielded, outcome: outcome.slice(0, 60) });
  const whole = yielded.wallMs === undefined ? '' : ` (whole run ${wall.toFixed(0)} ms)`;
  console.log(`${worst.toFixed(1).padStart(8)} ms  ${path}: ${input}${whole}  -> ${outcome.slice(0, 60)}`);
}

const fill = (prefix: string, unit: string, n: number): string => {
  let out = prefix;
  for (let i = 0; out.length < n; i++) out += unit.replaceAll('{i}', String(i));
  return out.slice(0, n);
};

// --- parsers of client text, at the query limit ---
const n = maxQueryLength;
const listInputs: [string, string][] = [
  ['unclosed quotes', fill('note=', '"x,', n)],
  ['quoted values', fill('note=', "'a,b',", n)],
  ['long number', `quantity=${'1'.repeat(n - 10)}x`],
  ['many values', fill('note=', 'v{i},', n)],
  ['percent-encoded', fill('note=', '%41%2C', n)],
  ['many fields', fill('fields=', 'a{i}.b,', n)],
  ['many sort keys', fill('sort=', '-a{i}.b,', n)],
  ['many conditions', fill('', 'a{i}.gte=1&', n)],
  ['encoded operators', fill('', 'a%3E%3D1&', n)],
  ['long dotted path', fill('', 'a.', n - 2) + '=1'],
];
for (const [name, q] of listInputs) {
  await measure(
    'list query parser',
    name,
    () => parseListQuery(q, { maxPageSize: 100 }).filter.conditions.length,
  );
}
const hubInputs: [string, string][] = [
  ['unclosed quotes', fill('event.shoppingCart.note=', '"x,', n)],
  ['many fields', fill('fields=', 'event.shoppingCart.a{i},', n)],
  ['many conditions', fill('', 'event.shoppingCart.a{i}=1&', n)],
  ['a 1 MB query', fill('event.shoppingCart.note=', 'x', body)],
];
for (const [name, q] of hubInputs) {
  await measure('subscription query parser', name, () => parseSubscriptionQuery(q).filter.conditions.length);
}
await measure('regex check', '8,192-character pattern', () => regexProblem('x*'.repeat(n / 2)) ?? 'accepted');
await measure('regex check', '256-character pattern', () => regexProblem('x*'.repeat(128)) ?? 'accepted');

// --- regex paths, worst patterns over the largest strings ---
const patterns = [
  'x*x*x*x*x*x*x*x*x*y', // polynomial backtracking in JavaScript (the case)
  '[a-z]{1,990}[0-9]', // the heaviest NFA: ~1,000 live threads per character
  '(?:ab){1,300}c',
  '[^y]{1,400}y',
  '.{1,900}y',
  '\\bx{1,450}\\B0',
];
const texts: [string, string][] = [
  ['x', 'x'.repeat(body)],
  ['ab', 'ab'.repeat(body / 2)],
];

for (const p of patterns) {
  const re = compileSafeRegex(p);
  for (const [tname, text] of texts) {
    await measure('evaluator (metered section)', `/${p}/ over 1 MB of "${tname}"`, () =>
      withRegexBudget(() => re.test(text)),
    );
  }
}

// The most one section may search: each pattern over the longest text its budget allows (the
// 1 MB texts above are refused before any search, being over the budget).
for (const p of patterns) {
  const re = compileSafeRegex(p);
  const length = Math.floor((regexBudget - 2_000) / Math.max(re.weight, 10)) - 1;
  for (const [tname, unit] of [
    ['x', 'x'],
    ['ab', 'ab'],
  ] as const) {
    const text = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
    await measure(
      'evaluator (metered section)',
      `/${p}/ (weight ${re.weight}) over ${length} "${tname}"`,
      () => withRegexBudget(() => re.test(text)),
    );
  }
}

// Many small values: the per-search charge keeps the count of crossings into WebAssembly bounded.
{
  const re = compileSafeRegex('x*x*x*x*x*x*x*x*x*y');
  const small = Array.from({ length: 200_000 }, (_, i) => `x${i}`);
  await measure('evaluator (metered section)', '200,000 short values', () =>
    withRegexBudget(() => small.filter((s) => re.test(s)).length),
  );
}

// SQLite: a list query over carts holding 1 MB strings, regex inside the SQL.
{
  const store = openSqliteStore({ path: ':memory:', synchronous: 'normal' });
  for (let i = 0; i < 12; i++) {
    const doc = {
      id: `c${i}`,
      href: `/c${i}`,
      note: (i % 2 === 0 ? 'x' : 'ab').repeat(body / (i % 2 === 0 ? 1 : 2)),
    };
    await store.createCart(doc as ShoppingCart, { now: new Date().toISOString(), expiresAt: undefined }, []);
  }
  for (const p of [...patterns, 'x', 'x$']) {
    const query = parseListQuery(`note.regex=${encodeURIComponent(p)}&fields=id`, { maxPageSize: 100 });
    await measure(
      'SQLite list query (12 carts x 1 MB)',
      `/${p}/`,
      async () => (await store.listCarts(query, Date.now())).total,
    );
  }
  await store.close();
}

// SQLite: many carts with mid-sized strings: a list searches them in slices (regexScan), up to
// the request's budget; one round each, since a run searches for seconds.
{
  const store = openSqliteStore({ path: ':memory:', synchronous: 'normal' });
  for (let i = 0; i < 2000; i++) {
    const doc = { id: `m${i}`, href: `/m${i}`, note: 'x'.repeat(2000) };
    await store.createCart(doc as ShoppingCart, { now: new Date().toISOString(), expiresAt: undefined }, []);
  }
  for (const p of [...patterns, 'x$', 'y']) {
    const query = parseListQuery(`note.regex=${encodeURIComponent(p)}&fields=id`, { maxPageSize: 100 });
    await measure(
      'SQLite list query (2,000 carts x 2 KB)',
      `/${p}/`,
      async () => (await store.listCarts(query, Date.now())).total,
      1,
    );
  }
  await store.close();
}

// Many small carts: the case a single metered section used to refuse (2,000 carts were enough).
const smallCarts = 100_000;
const description = (i: number): string => (i % 4 === 0 ? `cart-${i}` : `other-${i}`);
{
  const store = openSqliteStore({ path: ':memory:', synchronous: 'normal' });
  const now = new Date().toISOString();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < smallCarts; i++) {
    const doc = { id: `s${i}`, href: `/s${i}`, description: description(i) };
    writes.push(store.createCart(doc as ShoppingCart, { now, expiresAt: undefined }, []));
  }
  await Promise.all(writes);
  for (const q of ['description.regex=^cart&limit=5', 'description.regex=^cart.1&limit=5&sort=-id']) {
    const query = parseListQuery(q, { maxPageSize: 100 });
    await measure(
      'SQLite list query (100,000 small carts)',
      q,
      async () => (await store.listCarts(query, Date.now())).total,
      2,
    );
  }
  await store.close();
}

// MongoDB's residual filter over many candidates: the same slices (src/store/mongo/list.ts).
{
  const docs = Array.from({ length: smallCarts }, (_, i) => ({ id: `s${i}`, description: description(i) }));
  const { filter } = parseFilterQuery('description.regex=^cart.1');
  await measure(
    'MongoDB residual filter (100,000 small carts)',
    '/^cart.1/',
    async () => {
      let next = 0;
      let found = 0;
      await regexScan((size) => {
        found += docs.slice(next, next + size).filter((d) => matchesFilter(filter, d)).length;
        next += size;
        return { taken: size, done: next >= docs.length };
      });
      return found;
    },
    2,
  );
}

// MongoDB's residual filter and the dispatcher's routing use the evaluator on the same budget.
{
  const cart = { id: 'c', note: 'x'.repeat(body) };
  const docs = Array.from({ length: 12 }, () => cart);
  for (const p of ['.{1,900}y', 'x*x*x*x*x*x*x*x*x*y']) {
    const { filter } = parseFilterQuery(`note.regex=${encodeURIComponent(p)}`);
    await measure('MongoDB residual filter (12 carts x 1 MB)', `/${p}/`, () =>
      withRegexBudget(() => docs.filter((d) => matchesFilter(filter, d)).length),
    );
    const sub = parseSubscriptionQuery(`event.shoppingCart.note.regex=${encodeURIComponent(p)}`);
    const event = { event: { shoppingCart: cart } };
    await measure('dispatcher routing (one event, 1 MB cart)', `/${p}/`, () =>
      withRegexBudget(() =>
        JSON.stringify(shapeForSubscription(sub, 'ShoppingCartCreateEvent', () => event) ?? null),
      ),
    );
  }
}

const worst = Math.max(...rows.map((r) => r.worstMs));
const byPath = new Map<string, number>();
for (const r of rows) byPath.set(r.path, Math.max(byPath.get(r.path) ?? 0, r.worstMs));
const result = {
  bench: 'parsers',
  node: process.version,
  regexBudget,
  regexRequestBudget,
  rounds: ROUNDS,
  worstMsByPath: Object.fromEntries(byPath),
  worstMs: worst,
  targetMs: 100,
  pass: worst < 100,
  rows,
};
writeFileSync(join(root, 'bench/results-parsers.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify({ worstMsByPath: result.worstMsByPath, worstMs: worst, pass: result.pass }));
