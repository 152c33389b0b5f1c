import { expect } from 'chai';
import { AppError } from '../../src/errors.js';
import { compileSafeRegex } from '../../src/query/parse.js';
import { regexProblem } from '../../src/query/safe-regex.js';

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
      expect(compileSafeRegex(source)).to.be.instanceOf(RegExp);
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

  it('runs a refused pattern family quickly once made safe (no catastrophic backtracking)', () => {
    const started = Date.now();
    compileSafeRegex('^(?:a)+$').test(`${'a'.repeat(50_000)}!`);
    expect(Date.now() - started).to.be.lessThan(500);
  });
});
