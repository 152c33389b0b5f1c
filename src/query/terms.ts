/**
 * The lexical layer of the TMF630 query parser (parse.ts, whose comment has the whole syntax): the
 * raw query string split into `key<op>value` terms, and a term's value into its OR-ed values.
 */
import { fieldProblem, invalidQueryParameter, uriTooLong, type AppError } from '../errors.js';
import type { FilterOp } from './ast.js';

export const maxQueryLength = 8192;

/** A 400 for one query parameter. */
export const invalid = (parameter: string, problem: string): AppError =>
  invalidQueryParameter(fieldProblem(parameter, problem));

/** One `key<op>value` pair of the query, before the key is split into a path. */
export interface QueryTerm {
  /** The decoded key, e.g. `cartItem.quantity.gte`. */
  key: string;
  /** The operator given by a symbol (`=` gives eq). */
  op: FilterOp;
  /** The value as written: still percent-encoded when `encoded`. */
  value: string;
  encoded: boolean;
}

export const decode = (text: string, parameter: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(parameter, 'is not valid percent-encoding');
  }
};

const encodedSymbols: Record<string, string> = { '%3D': '=', '%3C': '<', '%3E': '>', '%21': '!' };

/** The operator character at `i` (literal or percent-encoded) and its length in the raw text. */
const symbolAt = (raw: string, i: number): { ch: string; length: number; literal: boolean } | undefined => {
  const c = raw[i];
  if (c === '=' || c === '<' || c === '>' || c === '!') return { ch: c, length: 1, literal: true };
  if (c === '%') {
    const ch = encodedSymbols[raw.slice(i, i + 3).toUpperCase()];
    if (ch !== undefined) return { ch, length: 3, literal: false };
  }
  return undefined;
};

/** Splits a raw query string into terms; checks its length (414) and its operators (400). */
export function splitQuery(rawQuery: string): QueryTerm[] {
  if (rawQuery.length > maxQueryLength) {
    throw uriTooLong(`the query string is longer than ${maxQueryLength} characters`);
  }
  const terms: QueryTerm[] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    let i = 0;
    while (i < pair.length && symbolAt(pair, i) === undefined) i++;
    const key = decode(pair.slice(0, i), pair);
    if (key === '') throw invalid(pair, 'the attribute name is empty');
    const first = symbolAt(pair, i);
    if (first === undefined) throw invalid(key, 'has no value (expected key=value)');
    let at = i + first.length;
    let op: FilterOp;
    const follower = symbolAt(pair, at);
    switch (first.ch) {
      case '=':
        op = 'eq';
        if (follower?.literal === true && follower.ch !== '!') {
          throw invalid(key, `malformed operator "=${follower.ch}"`);
        }
        break;
      case '!':
        if (follower?.ch !== '=') throw invalid(key, 'malformed operator "!" (use != or .ne)');
        op = 'ne';
        at += follower.length;
        break;
      default: {
        const orEqual = follower?.ch === '=';
        if (orEqual) at += follower.length;
        op = first.ch === '>' ? (orEqual ? 'gte' : 'gt') : orEqual ? 'lte' : 'lt';
      }
    }
    if (first.ch !== '=') {
      const extra = symbolAt(pair, at);
      if (extra !== undefined) throw invalid(key, `malformed operator after "${first.ch}"`);
    }
    terms.push({ key, op, value: pair.slice(at), encoded: true });
  }
  return terms;
}

const stripQuotes = (value: string): string => {
  const q = value[0];
  return value.length >= 2 && (q === '"' || q === "'") && value.endsWith(q) ? value.slice(1, -1) : value;
};

/** The OR-ed values of a term: split on commas (quotes keep theirs), decoded, unquoted. */
export const splitValues = (term: QueryTerm): string[] => {
  const pieces = term.value.split(',').map((p) => (term.encoded ? decode(p, term.key) : p));
  // For each piece, the first piece after it that ends with each quote (one pass from the end),
  // so that unclosed quotes cost nothing more: the split stays linear in the value.
  const nextClose = { '"': new Int32Array(pieces.length + 1), "'": new Int32Array(pieces.length + 1) };
  for (const q of ['"', "'"] as const) {
    let next = -1;
    for (let j = pieces.length - 1; j >= 0; j--) {
      nextClose[q][j] = next;
      if ((pieces[j] ?? '').endsWith(q)) next = j;
    }
  }
  const values: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    let piece = pieces[i] ?? '';
    const q = piece[0];
    if ((q === '"' || q === "'") && !(piece.length >= 2 && piece.endsWith(q))) {
      const close = nextClose[q][i] ?? -1;
      if (close > i) {
        piece = pieces.slice(i, close + 1).join(',');
        i = close;
      }
    }
    values.push(stripQuotes(piece));
  }
  return values;
};

export const wholeValue = (term: QueryTerm): string =>
  stripQuotes(term.encoded ? decode(term.value, term.key) : term.value);

/** Without the blanks (spaces and tabs only) around it: fields and sort items, path segments. */
export const trimBlanks = (s: string): string => {
  let start = 0;
  let end = s.length;
  while (start < end && (s[start] === ' ' || s[start] === '\t')) start++;
  while (end > start && (s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  return s.slice(start, end);
};
