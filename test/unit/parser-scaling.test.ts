/**
 * Every parser of client text (filters, fields, sort, regex checks, hub subscription queries) is
 * linear or bounded (issue 14). Checked two ways on the largest inputs the limits allow:
 * - fuzzing: hostile random text of up to 8,192 characters parses or is refused with an AppError;
 * - scaling: parsing one input of 8,192 characters costs about as much as parsing sixteen of 512
 *   (same number of characters). A quadratic parser costs sixteen times more on the large input;
 *   the check allows six (a linear one measures about one; the margin is for a shared machine). It compares the parser with itself at two sizes, on the same machine at
 *   the same moment (best of several rounds), never against a wall-clock limit.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { parseSubscriptionQuery } from '../../src/events/subscription-query.js';
import { parseListQuery } from '../../src/query/parse.js';
import { maxQueryLength } from '../../src/query/terms.js';
import { regexProblem } from '../../src/query/safe-regex.js';

const attempt = (fn: () => unknown): void => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
  }
};

/** The best of several rounds of `reps` runs, in ms. */
const cost = (fn: () => void, reps: number): number => {
  let best = Infinity;
  for (let round = 0; round < 9; round++) {
    const started = performance.now();
    for (let r = 0; r < reps; r++) fn();
    best = Math.min(best, performance.now() - started);
  }
  return best;
};

/** Repeats `unit` (with {i} numbered) to exactly `n` characters after `prefix`. */
const fill = (prefix: string, unit: string, n: number): string => {
  let out = prefix;
  for (let i = 0; out.length < n; i++) out += unit.replaceAll('{i}', String(i));
  return out.slice(0, n);
};

const list = (q: string) => () => {
  attempt(() => parseListQuery(q, { maxPageSize: 100 }));
};
const hub = (q: string) => () => {
  attempt(() => parseSubscriptionQuery(q));
};

const families: [string, (n: number) => () => void][] = [
  ['values with unclosed quotes', (n) => list(fill('note=', '"x,', n))],
  ['quoted values', (n) => list(fill('note=', "'a,b',", n))],
  ['a long number literal', (n) => list(`quantity=${'1'.repeat(n - 10)}x`)],
  ['a long decimal literal', (n) => list(`quantity=1.${'1'.repeat(n - 12)}e`)],
  ['percent-encoded values', (n) => list(fill('note=', '%41%2C', n))],
  ['many values', (n) => list(fill('note=', 'v{i},', n))],
  ['many fields', (n) => list(fill('fields=', 'a{i}.b,', n))],
  ['repeated fields', (n) => list(fill('fields=', 'a.b,', n))],
  ['many sort keys', (n) => list(fill('sort=', '-a{i}.b,', n))],
  ['many conditions', (n) => list(fill('', 'a{i}.gte=1&', n))],
  ['many operators', (n) => list(fill('', 'a%3E%3D1&', n))],
  ['a long dotted path', (n) => list(fill('', 'a.', n - 2) + '=1')],
  ['a long regex', (n) => list(`note.regex=${'x*'.repeat(n / 2 - 8)}`)],
  ['a long date', (n) => list(`validFor.startDateTime.gt=2024-01-01T00:00:00.${'1'.repeat(n - 60)}Z`)],
  ['hub: unclosed quotes', (n) => hub(fill('event.shoppingCart.note=', '"x,', n))],
  ['hub: many fields', (n) => hub(fill('fields=', 'event.shoppingCart.a{i},', n))],
  ['hub: many event types', (n) => hub(fill('eventType=', 'ShoppingCartCreateEvent,', n))],
  ['hub: many conditions', (n) => hub(fill('', 'event.shoppingCart.a{i}=1&', n))],
  [
    'regex check',
    (n) => () => {
      regexProblem('x*'.repeat(n / 2));
    },
  ],
];

describe('parsers of client text are linear or bounded', () => {
  const small = 512;
  const large = maxQueryLength;
  for (const [name, make] of families) {
    it(`${name}: one input of ${large} characters costs about sixteen of ${small}`, () => {
      const big = make(large);
      const little = make(small);
      big(); // warm up both
      little();
      // Sixteen large inputs against 256 small ones: windows long enough that timer resolution
      // and a scheduler hiccup on a shared machine do not decide the ratio.
      const ratio = cost(big, 16) / cost(little, (16 * large) / small);
      expect(ratio, `cost ratio ${ratio.toFixed(2)}`).to.be.lessThan(6);
    });
  }

  const hostile = fc.string({
    unit: fc.constantFrom(
      'a',
      '.',
      ',',
      '"',
      "'",
      '%',
      '2',
      'C',
      '=',
      '!',
      '<',
      '>',
      '&',
      '-',
      '+',
      '*',
      '(',
      '{',
      '\\',
    ),
    maxLength: maxQueryLength,
  });
  it('fuzz: any list query parses or is refused with a TMF error', () => {
    fc.assert(
      fc.property(hostile, (q) => {
        list(q)();
        list(`note=${q}`)();
        list(`fields=${q}`)();
        list(`sort=${q}`)();
      }),
      { numRuns: 150 },
    );
  });

  it('fuzz: any subscription query parses or is refused with a TMF error', () => {
    fc.assert(
      fc.property(hostile, (q) => {
        hub(q)();
        hub(`event.shoppingCart.note=${q}`)();
        hub(`fields=${q}`)();
      }),
      { numRuns: 150 },
    );
  });
});
