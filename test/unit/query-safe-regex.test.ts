import { expect } from 'chai';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { compileSafeRegex } from '../../src/query/parse.js';
import {
  RegexBudgetExceeded,
  regexBudget,
  regexProblem,
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
});
