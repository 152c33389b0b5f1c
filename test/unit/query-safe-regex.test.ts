import { expect } from 'chai';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { compileSafeRegex } from '../../src/query/safe-regex.js';
import {
  RegexBudgetExceeded,
  RegexRequestBudgetExceeded,
  regexBudget,
  regexProblem,
  regexScan,
  withRegexBudget,
} from '../../src/query/safe-regex.js';

describe('query/safe-regex', () => {
  const accepted = [
    '^abc$',
    'a.*b',
    '^[a-z]+-[0-9]{2,3}$',
    '(?:Fibre|Mobile) \\d+',
    '^(https?://)?h',
    '(ab)+',
    '(?:a|b)?c',
    '(?<word>x)y',
    '[(]+',
    '\\(a+\\)+',
    'a{2}',
    '{',
    'x{1,}',
    '[\\]a]*',
  ];
  for (const source of accepted) {
    it(`accepts ${source}`, () => {
      expect(regexProblem(source)).to.equal(undefined);
      expect(compileSafeRegex(source).test('')).to.be.a('boolean');
      expect(compileSafeRegex(source)).not.to.be.instanceOf(RegExp);
    });
  }

  const refused: [string, RegExp][] = [
    ['(a+)+$', /quantifier or an alternation/],
    ['(a*)*', /quantifier or an alternation/],
    ['(a|a)*', /quantifier or an alternation/],
    ['(a|ab)+c', /quantifier or an alternation/],
    ['((ab)*c)+', /quantifier or an alternation/],
    ['(a?){20}', /quantifier or an alternation/],
    ['(?:x+y)*', /quantifier or an alternation/],
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
    ['[\\1]', /backreference/],
    ['a(?=b)', /lookaround/],
    ['a(?!b)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['(?i:a)', /lookaround or an unsupported group/],
    ['a{1,5000}', /more than 1000/],
    ['[a-z]{1000}[0-9]{1000}', /too heavy/],
    ['[\\Sa]', /linear-time engine/],
    ['a*b*c*d*e*f*g*h*i*j*k*', /more than 10/],
    ['(a', /unbalanced/],
    ['a)', /unbalanced/],
    ['[a', /unterminated/],
    ['*a', /nothing to repeat/],
    ['a**', /nothing to repeat/],
    ['a\\', /lone backslash/],
    ['x'.repeat(257), /longer than 256/],
  ];
  for (const [source, reason] of refused) {
    it(`refuses ${source.length > 40 ? `${source.slice(0, 20)}...` : source}`, () => {
      expect(regexProblem(source)).to.match(reason);
      expect(() => compileSafeRegex(source)).to.throw(AppError);
    });
  }

  it('refuses what the RegExp engine refuses', () => {
    expect(regexProblem('a{2,1}')).to.match(/not a valid regular expression/);
  });

  it('caches compiled patterns', () => {
    expect(compileSafeRegex('^cache-me$')).to.equal(compileSafeRegex('^cache-me$'));
  });

  // The linear-time engine must keep exactly what JavaScript's RegExp keeps, surrogates included.
  const patterns = [
    'ab',
    '^a.c$',
    '.',
    '^..$',
    '[^a]',
    '[^\\d\\s]+$',
    '\\D\\W',
    '\\S',
    '\\s',
    '\\bx',
    'x\\B',
    '^.*\\B',
    '[\\u0000-\\uffff]{2}',
    '[\\ud800-\\udbff][\\udc00-\\udfff]',
    '\\ud83d',
    '😀',
    '😀?x',
    '[😀]',
    '[\\d-z]',
    '(?:ab){2,3}c',
    'a{,2}',
    'x$',
    '^$',
    '[]',
    '[^]',
    '\\u{2}',
    '\\0\\x41\\cA',
  ];
  const subjects = fc.string({
    unit: fc.oneof(
      fc.constantFrom('a', 'b', 'c', 'x', 'z', '0', '9', ' ', '\n', '\r', '\u2028', '\u00a0', '-', '{', '}'),
      fc.constantFrom('\ud83d', '\ude00', '😀', '\udbff', '\u0000', '\u0001', 'A', '\ufeff', 'u'),
    ),
    maxLength: 12,
  });
  for (const source of patterns) {
    it(`/${source}/ keeps what JavaScript keeps, on any UTF-16 text`, () => {
      expect(regexProblem(source), 'accepted').to.equal(undefined);
      const js = new RegExp(source);
      const mine = compileSafeRegex(source);
      fc.assert(
        fc.property(subjects, (text) => mine.test(text) === js.test(text)),
        { numRuns: 300 },
      );
    });
  }

  it('charges every search to the meter and stops a section past its budget', () => {
    const re = compileSafeRegex('[a-z]{100}');
    const text = '0'.repeat(1000);
    // About (1000 + 32) x ~100 per search: a budget of 1,000,000 allows nine, not ten.
    let searches = 0;
    expect(() =>
      withRegexBudget(() => {
        for (;;) {
          re.test(text);
          searches++;
        }
      }, 1_000_000),
    ).to.throw(RegexBudgetExceeded);
    expect(searches).to.be.within(8, 10);
    // Outside a section nothing is metered; a new section starts with a whole budget.
    expect(re.test(text)).to.equal(false);
    expect(withRegexBudget(() => re.test('b'.repeat(100)))).to.equal(true);
    expect(regexBudget).to.equal(3_000_000);
  });

  describe('regexScan: a large search in slices, the loop turning between them', () => {
    // Each row is one search of 100 characters at weight 10: 100 x 10 + 2,000 = 3,000 units.
    const re = compileSafeRegex('^a');
    const rows = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 'a' : 'b').repeat(100));
    const scanner = () => {
      const sizes: number[] = [];
      const found: number[] = [];
      let next = 0;
      const slice = (size: number) => {
        sizes.push(size);
        const taken = rows.slice(next, next + size);
        const hits = taken.flatMap((r, i) => (re.test(r) ? [next + i] : []));
        found.push(...hits); // only once the slice has run to its end
        next += taken.length;
        return { taken: taken.length, done: next >= rows.length };
      };
      return { sizes, found, slice };
    };

    it('sizes slices to a quarter of a section budget, halving one that overruns, and finds every match', async () => {
      const s = scanner();
      let ticks = 0;
      let running = true;
      const tick = (): void => {
        ticks += 1;
        if (running) setImmediate(tick);
      };
      setImmediate(tick);
      await regexScan(s.slice, { first: 100, sectionBudget: 150_000, requestBudget: 10_000_000 });
      running = false;
      // 100 rows (300,000 units) overrun 150,000: retried with 50, then 12 a slice (a quarter).
      expect(s.sizes.slice(0, 3)).to.deep.equal([100, 50, 12]);
      expect(s.found).to.deep.equal(rows.flatMap((r, i) => (r.startsWith('a') ? [i] : [])));
      expect(ticks).to.be.at.least(1000 / 25 - 1);
    });

    it('refuses a scan past the request budget, and a single row past a section budget', async () => {
      let caught: unknown;
      await regexScan(scanner().slice, { sectionBudget: 150_000, requestBudget: 1_000_000 }).catch(
        (e: unknown) => (caught = e),
      );
      expect(caught).to.be.instanceOf(RegexRequestBudgetExceeded);
      expect((caught as AppError).code).to.equal('BAD_REQUEST');
      caught = undefined;
      await regexScan(scanner().slice, { first: 4, sectionBudget: 2_500 }).catch(
        (e: unknown) => (caught = e),
      );
      expect(caught).to.be.instanceOf(RegexBudgetExceeded);
    });
  });
});
