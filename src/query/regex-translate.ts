/**
 * Translates a `regex` filter value (a JavaScript RegExp source without flags, already accepted
 * by safe-regex.ts) into RE2 syntax with the same meaning. Two targets:
 *
 * - 'utf8': what Go RE2 (FerretDB) and PCRE (MongoDB) read alike over UTF-8 text. Constructs
 *   that can match half of a surrogate pair in JavaScript (`.`, negated classes, `\D\W\S`,
 *   ranges over surrogates) have no equivalent in a UTF-8 engine, so such patterns give
 *   undefined (the store evaluates them in the application). `.*` is the exception: a run of
 *   any units finds the same matches as a run of any code points, as long as no `\B` (which
 *   holds inside a pair) is in the pattern; a leading or trailing `.*` is dropped, since it never
 *   changes whether a search finds a match.
 * - 'units': for the in-process RE2 engine (safe-regex.ts), which matches a string whose UTF-16
 *   units were made one code point each (unitText): a surrogate unit U becomes the private-use
 *   code point U - 0xD800 + 0xF0000. Every JavaScript construct then has an exact equivalent
 *   (a surrogate in the pattern maps the same way, `.` and negated classes meet the mapped units
 *   as JavaScript meets lone units), so only a few rare forms are untranslatable (`\S` inside a
 *   class, `\c` without a letter) and the parser refuses those.
 *
 * Both give the translated source and its weight: how many positions the RE2 program has once
 * counted repetitions are expanded (an atom counts once, times the bound of every counted
 * repetition around it). An RE2 search costs at most about input length x weight steps, so the
 * weight is what the per-request budget is charged with.
 */

/** JavaScript's \s (WhiteSpace and LineTerminator), as class items in RE2/PCRE syntax. */
const jsSpaceItems =
  '\\x{9}-\\x{D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';

export type RegexTarget = 'utf8' | 'units';

export interface TranslatedRegex {
  source: string;
  weight: number;
}

/** Where the 'units' target puts the surrogate units (Supplementary Private Use Area-A). */
const unitBase = 0xf0000;

const hex = (code: number): string => `\\x{${code.toString(16).toUpperCase()}}`;
const literal = (code: number): string =>
  /^[A-Za-z0-9]$/.test(String.fromCharCode(code)) ? String.fromCharCode(code) : hex(code);
const isSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdfff;
const mapUnit = (code: number): number => (isSurrogate(code) ? code - 0xd800 + unitBase : code);

const surrogates = /[\uD800-\uDFFF]/;
const surrogatesAll = /[\uD800-\uDFFF]/g;

/** The text the 'units' target matches: each surrogate unit as its own code point (linear). */
export function unitText(text: string): string {
  if (!surrogates.test(text)) return text;
  return text.replace(surrogatesAll, (u) => String.fromCodePoint(u.charCodeAt(0) - 0xd800 + unitBase));
}

/** Thrown inside the translator when a construct has no exact equivalent; never escapes it. */
class Untranslatable extends Error {}

interface Piece {
  text: string;
  weight: number;
  /** Can match (part of) a surrogate pair in JavaScript (the 'utf8' target only). */
  unitSensitive: boolean;
  /** The atom is `.`. */
  dot: boolean;
  /** `.*` or `.*?`: removable at either end of a top-level alternative. */
  dotStar: boolean;
  /** An assertion (`^`, `$`, `\b`, `\B`): takes no quantifier. */
  assertion: boolean;
}

const atomOf = (text: string, more: Partial<Piece> = {}): Piece => ({
  text,
  weight: 1,
  unitSensitive: false,
  dot: false,
  dotStar: false,
  assertion: false,
  ...more,
});

/**
 * The MongoDB form (see the module comment), or undefined when no exact translation exists (the
 * condition is then evaluated in the application).
 */
export function translateRegex(source: string): string | undefined {
  return translateRegexFor(source, 'utf8')?.source;
}

/** The translation for a target, or undefined when none is exact. */
export function translateRegexFor(source: string, target: RegexTarget): TranslatedRegex | undefined {
  try {
    return translate(source, target);
  } catch (e) {
    if (e instanceof Untranslatable) return undefined;
    throw e;
  }
}

function translate(source: string, target: RegexTarget): TranslatedRegex {
  const units = target === 'units';
  let i = 0;
  const peek = (offset = 0): string | undefined => source[i + offset];
  const code = (): number => {
    const c = source.charCodeAt(i);
    if (Number.isNaN(c)) throw new Untranslatable('unexpected end');
    return c;
  };
  const fail = (why: string): never => {
    throw new Untranslatable(why);
  };

  type Escaped = { code: number } | { cls: string; negated?: string } | { assertion: string };

  /** An escape after `\` (i at the character after the backslash), as one code or a class text. */
  const escape = (inClass: boolean): Escaped => {
    const c = peek();
    if (c === undefined) return fail('lone backslash');
    i += 1;
    switch (c) {
      case 'd':
        return { cls: '0-9' };
      case 'w':
        return { cls: 'A-Za-z0-9_' };
      case 's':
        return { cls: jsSpaceItems };
      case 'D':
      case 'W':
      case 'S':
        if (!units) return fail('negated class escape');
        // RE2's \D and \W are JavaScript's (ASCII); its \s is not, so \S is spelled out.
        if (c !== 'S') return { cls: `\\${c}` };
        return inClass ? fail('\\S inside a class') : { cls: '', negated: `[^${jsSpaceItems}]` };
      case 'b':
        return inClass ? { code: 8 } : { assertion: '\\b' };
      case 'B':
        return inClass ? { code: 0x42 } : { assertion: '\\B' };
      case 'n':
        return { code: 10 };
      case 'r':
        return { code: 13 };
      case 't':
        return { code: 9 };
      case 'f':
        return { code: 12 };
      case 'v':
        return { code: 11 };
      case '0': {
        // Annex B legacy octal: \0 followed by octal digits reads up to three of them.
        let digits = '0';
        while (
          digits.length < 3 &&
          /[0-7]/.test(peek() ?? '') &&
          parseInt(digits + (peek() ?? ''), 8) <= 0o377
        ) {
          digits += peek() ?? '';
          i += 1;
        }
        return { code: parseInt(digits, 8) };
      }
      case 'x': {
        const h = source.slice(i, i + 2);
        if (/^[0-9A-Fa-f]{2}$/.test(h)) {
          i += 2;
          return { code: parseInt(h, 16) };
        }
        return { code: 0x78 };
      }
      case 'u': {
        const h = source.slice(i, i + 4);
        if (/^[0-9A-Fa-f]{4}$/.test(h)) {
          i += 4;
          const n = parseInt(h, 16);
          if (isSurrogate(n) && !units) fail('surrogate escape');
          return { code: n };
        }
        return { code: 0x75 };
      }
      case 'c': {
        const letter = peek();
        if (letter !== undefined && /[A-Za-z]/.test(letter)) {
          i += 1;
          return { code: letter.charCodeAt(0) % 32 };
        }
        return fail('\\c without a letter');
      }
      default:
        if (/[1-9]/.test(c) || c === 'k') return fail('backreference');
        return { code: c.charCodeAt(0) };
    }
  };

  /** Class items for the code range a..b, surrogates moved where unitText puts them. */
  const rangeItems = (a: number, b: number): string[] => {
    if (!units || b < 0xd800 || a > 0xdfff) return [`${hex(a)}-${hex(b)}`];
    const out: string[] = [];
    if (a < 0xd800) out.push(`${hex(a)}-${hex(0xd7ff)}`);
    out.push(`${hex(mapUnit(Math.max(a, 0xd800)))}-${hex(mapUnit(Math.min(b, 0xdfff)))}`);
    if (b > 0xdfff) out.push(`${hex(0xe000)}-${hex(b)}`);
    return out;
  };

  const charClass = (): Piece => {
    // i is after '['
    let negated = false;
    if (peek() === '^') {
      negated = true;
      i += 1;
    }
    if (negated && !units) fail('negated class');
    const items: string[] = [];
    type Item = { code: number } | { cls: string };
    const readItem = (): Item => {
      if (peek() === '\\') {
        i += 1;
        const e = escape(true);
        if ('assertion' in e) return fail('assertion in class');
        return 'code' in e ? { code: e.code } : { cls: e.cls };
      }
      const c = code();
      i += 1;
      return { code: c };
    };
    const itemText = (item: Item): string => ('code' in item ? hex(mapUnit(item.code)) : item.cls);
    while (peek() !== ']') {
      if (peek() === undefined) fail('unterminated class');
      const first = readItem();
      if ('code' in first && isSurrogate(first.code) && !units) fail('surrogate in class');
      if (peek() === '-' && peek(1) !== ']' && peek(1) !== undefined) {
        i += 1;
        const second = readItem();
        if ('cls' in first || 'cls' in second) {
          // Annex B: a class escape at either end makes the '-' a literal.
          if (!units) fail('class escape in range');
          items.push(itemText(first), hex(0x2d), itemText(second));
        } else {
          if (first.code > second.code) fail('range out of order');
          if (first.code <= 0xdfff && second.code >= 0xd800 && !units) fail('range over surrogates');
          items.push(...rangeItems(first.code, second.code));
        }
        continue;
      }
      items.push(itemText(first));
    }
    i += 1; // ']'
    const all = '\\x{0}-\\x{10FFFF}';
    // An empty class matches nothing; an empty negated one matches anything.
    if (items.length === 0) return atomOf(negated ? `[${all}]` : `[^${all}]`);
    return atomOf(`[${negated ? '^' : ''}${items.join('')}]`);
  };

  const boundedQuantifier = /^\{(\d+)(?:(,)(\d*))?\}/;
  const seen = { dot: false, notWordBoundary: false };

  /** Parses alternatives until ')' or the end; top-level ones get the `.*` trimming. */
  const alternatives = (topLevel: boolean): { text: string; weight: number } => {
    const alts: Piece[][] = [[]];
    for (;;) {
      const c = peek();
      if (c === undefined || c === ')') break;
      const current = alts[alts.length - 1] ?? fail('internal');
      if (c === '|') {
        i += 1;
        alts.push([]);
        continue;
      }
      let atom: Piece;
      if (c === '\\') {
        i += 1;
        const e = escape(false);
        if ('assertion' in e) atom = atomOf(e.assertion, { assertion: true });
        else if ('code' in e) atom = atomOf(literal(mapUnit(e.code)));
        else if (e.negated !== undefined) atom = atomOf(e.negated);
        else atom = atomOf(`[${e.cls}]`);
      } else if (c === '[') {
        i += 1;
        atom = charClass();
      } else if (c === '(') {
        i += 1;
        if (peek() === '?') {
          if (peek(1) === ':') i += 2;
          else if (peek(1) === '<' && /[A-Za-z_$]/.test(peek(2) ?? '')) {
            const close = source.indexOf('>', i);
            if (close < 0) fail('unterminated group name');
            i = close + 1;
          } else fail('unsupported group');
        }
        const inner = alternatives(false);
        if (peek() !== ')') fail('unbalanced parenthesis');
        i += 1;
        // A group's own pieces were checked when it was parsed (they fail there if sensitive).
        atom = atomOf(`(?:${inner.text})`, { weight: inner.weight });
      } else if (c === '.') {
        i += 1;
        atom = atomOf('[^\\n\\r\\x{2028}\\x{2029}]', { unitSensitive: !units, dot: true });
      } else if (c === '^') {
        i += 1;
        atom = atomOf('^', { assertion: true });
      } else if (c === '$') {
        i += 1;
        // JavaScript's $ (no m flag) is the end of the input; PCRE's also matches before a final \n.
        atom = atomOf('\\z', { assertion: true });
      } else if (c === '*' || c === '+' || c === '?') {
        return fail('nothing to repeat');
      } else {
        const n = code();
        if (isSurrogate(n) && !units) fail('astral character in pattern');
        i += 1;
        atom = atomOf(literal(mapUnit(n)));
      }
      // A quantifier, if any.
      const q = peek();
      let quantifier = '';
      let times = 1;
      if (q === '*' || q === '+' || q === '?') {
        quantifier = q;
        times = q === '+' ? 2 : 1;
        i += 1;
      } else if (q === '{') {
        const m = boundedQuantifier.exec(source.slice(i));
        if (m) {
          quantifier = m[0];
          i += m[0].length;
          const [, min, comma, max] = m;
          times = Math.max(1, Number(min) + (comma !== undefined && max === '' ? 1 : 0), Number(max ?? 0));
        }
      }
      if (quantifier !== '') {
        if (atom.assertion) fail('quantified assertion');
        if (peek() === '?') {
          quantifier += '?';
          i += 1;
        }
      }
      const dotStar = atom.dot && (quantifier === '*' || quantifier === '*?');
      if (atom.dot) seen.dot = true;
      if (atom.text === '\\B') seen.notWordBoundary = true;
      // A run `.*` matches any run of code units in JavaScript and of code points in UTF-8: both
      // find the same matches, unless a \B can hold inside a surrogate pair (see below).
      const unitSensitive = atom.dot ? !units && !dotStar : atom.unitSensitive;
      current.push({
        ...atom,
        text: atom.text + quantifier,
        weight: atom.weight * times,
        unitSensitive,
        dotStar,
      });
    }
    let weight = 0;
    const out = alts.map((pieces) => {
      let list = pieces;
      if (topLevel) {
        // A search for `.*X` or `X.*` finds a match exactly when a search for X does.
        while (list[0]?.dotStar === true) list = list.slice(1);
        while (list[list.length - 1]?.dotStar === true) list = list.slice(0, -1);
      }
      if (list.some((p) => p.unitSensitive)) fail('matches part of a surrogate pair in JavaScript');
      for (const p of list) weight += p.weight;
      return list.map((p) => p.text).join('');
    });
    return { text: out.join('|'), weight: weight + alts.length };
  };

  const result = alternatives(true);
  if (i < source.length) fail('unbalanced parenthesis');
  // JavaScript's \B holds between the two halves of a surrogate pair, where a `.*` may stop.
  if (seen.dot && seen.notWordBoundary && !units) fail('\\B with .');
  return { source: result.text, weight: result.weight };
}
