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

type Escaped = { code: number } | { cls: string; negated?: string } | { assertion: string };
type Item = { code: number } | { cls: string };

const itemText = (item: Item): string => ('code' in item ? hex(mapUnit(item.code)) : item.cls);
const boundedQuantifier = /^\{(\d+)(?:(,)(\d*))?\}/;

function translate(source: string, target: RegexTarget): TranslatedRegex {
  return new Translator(source, target).translate();
}

/** One translation: a recursive-descent reading of the pattern, `i` its position in it. */
class Translator {
  private i = 0;
  private readonly seen = { dot: false, notWordBoundary: false };
  private readonly source: string;
  private readonly units: boolean;

  constructor(source: string, target: RegexTarget) {
    this.source = source;
    this.units = target === 'units';
  }

  translate(): TranslatedRegex {
    const result = this.alternatives(true);
    if (this.i < this.source.length) this.fail('unbalanced parenthesis');
    // JavaScript's \B holds between the two halves of a surrogate pair, where a `.*` may stop.
    if (this.seen.dot && this.seen.notWordBoundary && !this.units) this.fail('\\B with .');
    return { source: result.text, weight: result.weight };
  }

  private peek(offset = 0): string | undefined {
    return this.source[this.i + offset];
  }

  private code(): number {
    const c = this.source.charCodeAt(this.i);
    if (Number.isNaN(c)) throw new Untranslatable('unexpected end');
    return c;
  }

  private fail(why: string): never {
    throw new Untranslatable(why);
  }

  /** Parses alternatives until ')' or the end; top-level ones get the `.*` trimming. */
  private alternatives(topLevel: boolean): { text: string; weight: number } {
    const alts: Piece[][] = [[]];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === ')') break;
      const current = alts[alts.length - 1] ?? this.fail('internal');
      if (c === '|') {
        this.i += 1;
        alts.push([]);
        continue;
      }
      current.push(this.quantified(this.atom(c)));
    }
    let weight = 0;
    const out = alts.map((pieces) => {
      let list = pieces;
      if (topLevel) {
        // A search for `.*X` or `X.*` finds a match exactly when a search for X does.
        while (list[0]?.dotStar === true) list = list.slice(1);
        while (list[list.length - 1]?.dotStar === true) list = list.slice(0, -1);
      }
      if (list.some((p) => p.unitSensitive)) this.fail('matches part of a surrogate pair in JavaScript');
      for (const p of list) weight += p.weight;
      return list.map((p) => p.text).join('');
    });
    return { text: out.join('|'), weight: weight + alts.length };
  }

  /** The atom that starts with `c` (a character of the pattern, at i). */
  private atom(c: string): Piece {
    if (c === '\\') {
      this.i += 1;
      const e = this.escape(false);
      if ('assertion' in e) return atomOf(e.assertion, { assertion: true });
      if ('code' in e) return atomOf(literal(mapUnit(e.code)));
      if (e.negated !== undefined) return atomOf(e.negated);
      return atomOf(`[${e.cls}]`);
    } else if (c === '[') {
      this.i += 1;
      return this.charClass();
    } else if (c === '(') {
      this.i += 1;
      if (this.peek() === '?') {
        if (this.peek(1) === ':') this.i += 2;
        else if (this.peek(1) === '<' && /[A-Za-z_$]/.test(this.peek(2) ?? '')) {
          const close = this.source.indexOf('>', this.i);
          if (close < 0) this.fail('unterminated group name');
          this.i = close + 1;
        } else this.fail('unsupported group');
      }
      const inner = this.alternatives(false);
      if (this.peek() !== ')') this.fail('unbalanced parenthesis');
      this.i += 1;
      // A group's own pieces were checked when it was parsed (they fail there if sensitive).
      return atomOf(`(?:${inner.text})`, { weight: inner.weight });
    } else if (c === '.') {
      this.i += 1;
      return atomOf('[^\\n\\r\\x{2028}\\x{2029}]', { unitSensitive: !this.units, dot: true });
    } else if (c === '^') {
      this.i += 1;
      return atomOf('^', { assertion: true });
    } else if (c === '$') {
      this.i += 1;
      // JavaScript's $ (no m flag) is the end of the input; PCRE's also matches before a final \n.
      return atomOf('\\z', { assertion: true });
    } else if (c === '*' || c === '+' || c === '?') {
      return this.fail('nothing to repeat');
    } else {
      const n = this.code();
      if (isSurrogate(n) && !this.units) this.fail('astral character in pattern');
      this.i += 1;
      return atomOf(literal(mapUnit(n)));
    }
  }

  /** The atom with the quantifier that follows it, if any. */
  private quantified(atom: Piece): Piece {
    const q = this.peek();
    let quantifier = '';
    let times = 1;
    if (q === '*' || q === '+' || q === '?') {
      quantifier = q;
      times = q === '+' ? 2 : 1;
      this.i += 1;
    } else if (q === '{') {
      const m = boundedQuantifier.exec(this.source.slice(this.i));
      if (m) {
        quantifier = m[0];
        this.i += m[0].length;
        const [, min, comma, max] = m;
        times = Math.max(1, Number(min) + (comma !== undefined && max === '' ? 1 : 0), Number(max ?? 0));
      }
    }
    if (quantifier !== '') {
      if (atom.assertion) this.fail('quantified assertion');
      if (this.peek() === '?') {
        quantifier += '?';
        this.i += 1;
      }
    }
    const dotStar = atom.dot && (quantifier === '*' || quantifier === '*?');
    if (atom.dot) this.seen.dot = true;
    if (atom.text === '\\B') this.seen.notWordBoundary = true;
    // A run `.*` matches any run of code units in JavaScript and of code points in UTF-8: both
    // find the same matches, unless a \B can hold inside a surrogate pair (see below).
    const unitSensitive = atom.dot ? !this.units && !dotStar : atom.unitSensitive;
    return {
      ...atom,
      text: atom.text + quantifier,
      weight: atom.weight * times,
      unitSensitive,
      dotStar,
    };
  }

  /** An escape after `\` (i at the character after the backslash), as one code or a class text. */
  private escape(inClass: boolean): Escaped {
    const c = this.peek();
    if (c === undefined) return this.fail('lone backslash');
    this.i += 1;
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
        if (!this.units) return this.fail('negated class escape');
        // RE2's \D and \W are JavaScript's (ASCII); its \s is not, so \S is spelled out.
        if (c !== 'S') return { cls: `\\${c}` };
        return inClass ? this.fail('\\S inside a class') : { cls: '', negated: `[^${jsSpaceItems}]` };
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
          /[0-7]/.test(this.peek() ?? '') &&
          parseInt(digits + (this.peek() ?? ''), 8) <= 0o377
        ) {
          digits += this.peek() ?? '';
          this.i += 1;
        }
        return { code: parseInt(digits, 8) };
      }
      case 'x': {
        const h = this.source.slice(this.i, this.i + 2);
        if (/^[0-9A-Fa-f]{2}$/.test(h)) {
          this.i += 2;
          return { code: parseInt(h, 16) };
        }
        return { code: 0x78 };
      }
      case 'u': {
        const h = this.source.slice(this.i, this.i + 4);
        if (/^[0-9A-Fa-f]{4}$/.test(h)) {
          this.i += 4;
          const n = parseInt(h, 16);
          if (isSurrogate(n) && !this.units) this.fail('surrogate escape');
          return { code: n };
        }
        return { code: 0x75 };
      }
      case 'c': {
        const letter = this.peek();
        if (letter !== undefined && /[A-Za-z]/.test(letter)) {
          this.i += 1;
          return { code: letter.charCodeAt(0) % 32 };
        }
        return this.fail('\\c without a letter');
      }
      default:
        if (/[1-9]/.test(c) || c === 'k') return this.fail('backreference');
        return { code: c.charCodeAt(0) };
    }
  }

  /** Class items for the code range a..b, surrogates moved where unitText puts them. */
  private rangeItems(a: number, b: number): string[] {
    if (!this.units || b < 0xd800 || a > 0xdfff) return [`${hex(a)}-${hex(b)}`];
    const out: string[] = [];
    if (a < 0xd800) out.push(`${hex(a)}-${hex(0xd7ff)}`);
    out.push(`${hex(mapUnit(Math.max(a, 0xd800)))}-${hex(mapUnit(Math.min(b, 0xdfff)))}`);
    if (b > 0xdfff) out.push(`${hex(0xe000)}-${hex(b)}`);
    return out;
  }

  private charClass(): Piece {
    // i is after '['
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i += 1;
    }
    if (negated && !this.units) this.fail('negated class');
    const items: string[] = [];
    while (this.peek() !== ']') {
      if (this.peek() === undefined) this.fail('unterminated class');
      const first = this.classItem();
      if ('code' in first && isSurrogate(first.code) && !this.units) this.fail('surrogate in class');
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.i += 1;
        const second = this.classItem();
        if ('cls' in first || 'cls' in second) {
          // Annex B: a class escape at either end makes the '-' a literal.
          if (!this.units) this.fail('class escape in range');
          items.push(itemText(first), hex(0x2d), itemText(second));
        } else {
          if (first.code > second.code) this.fail('range out of order');
          if (first.code <= 0xdfff && second.code >= 0xd800 && !this.units)
            this.fail('range over surrogates');
          items.push(...this.rangeItems(first.code, second.code));
        }
        continue;
      }
      items.push(itemText(first));
    }
    this.i += 1; // ']'
    const all = '\\x{0}-\\x{10FFFF}';
    // An empty class matches nothing; an empty negated one matches anything.
    if (items.length === 0) return atomOf(negated ? `[${all}]` : `[^${all}]`);
    return atomOf(`[${negated ? '^' : ''}${items.join('')}]`);
  }

  /** One item of a class: a code, or the text of a class escape. */
  private classItem(): Item {
    if (this.peek() === '\\') {
      this.i += 1;
      const e = this.escape(true);
      if ('assertion' in e) return this.fail('assertion in class');
      return 'code' in e ? { code: e.code } : { cls: e.cls };
    }
    const c = this.code();
    this.i += 1;
    return { code: c };
  }
}
