/**
 * `attr.regex=...` runs a client's pattern against every candidate value, in the evaluator and
 * inside SQLite, so a pattern that backtracks catastrophically would stall the server (ReDoS).
 * The check below is deliberately conservative (it rejects some harmless patterns) and needs no
 * library: it reads the pattern's structure and refuses
 * - more than 256 characters;
 * - backreferences (`\1`, `\k<name>`) and lookarounds (`(?=`, `(?!`, `(?<=`, `(?<!`), and any
 *   other `(?` construct except non-capturing `(?:` and named `(?<name>` groups;
 * - a group repeated by `*`, `+` or `{n,m}` (m > 1) that contains a quantifier or an alternation
 *   anywhere inside it: `(a+)+`, `(a|a)*`, `(ab?){2,}` (star height above one, the exponential case);
 * - more than 10 repeating quantifiers, or a bound above 1000.
 * Patterns are compiled without flags and match anywhere in the value (anchor with ^ and $).
 */
import { badRequest } from '../errors.js';

export const maxRegexLength = 256;
const maxRepeats = 10;
const maxBound = 1000;

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
    new RegExp(source);
  } catch {
    return 'is not a valid regular expression';
  }
  return undefined;
}

const cache = new Map<string, RegExp>();
const cacheSize = 256;

/**
 * Compiles a pattern that passed regexProblem (throws a 400 otherwise). Compiled patterns are
 * cached: SQLite calls the regex function once per candidate value.
 */
export function compileSafeRegex(source: string): RegExp {
  const hit = cache.get(source);
  if (hit) return hit;
  const problem = regexProblem(source);
  if (problem !== undefined) throw badRequest('Invalid regex', `regex pattern ${problem}`);
  if (cache.size >= cacheSize) cache.clear();
  const re = new RegExp(source);
  cache.set(source, re);
  return re;
}
