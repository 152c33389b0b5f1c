/**
 * The document layout of the MongoDB store (the store writes it, filter.ts reads it):
 * - `doc` is the TMF document with every key escaped by escapeKey (`.`, `$`, `%`, `|` and NUL as
 *   `%XX`, the empty key as `%`) and every array that sits directly inside an array wrapped as
 *   `{'%[': [...]}` (FerretDB stores no nested arrays). An escaped user key never contains a raw
 *   `$`, `.` or a lone `%`, so neither the store nor a query can be steered into an operator or a
 *   wrapper: a path segment is escaped the same way and compared as a plain field name.
 * - `_m.dates` maps a path (escaped segments joined by `|`) to the epoch ms of every candidate at
 *   that path that is a date-time string (src/query/dates.ts), collected with the evaluator's walk
 *   (valuesAt); a path with no such candidate has no key. Date conditions compare these numbers.
 */
import { parseDateTime } from '../../query/dates.js';

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// --- keys and values as stored ---

/** The key under which an array nested directly in an array is stored. */
export const nestedArrayKey = '%[';

// NUL is escaped too: a BSON key cannot hold it.
// eslint-disable-next-line no-control-regex
const escapable = /[%.$|\u0000]/g;

/** A document key as stored: never an operator, never a dotted path, never empty. */
export function escapeKey(key: string): string {
  if (key === '') return '%';
  return key.replace(escapable, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function unescapeKey(key: string): string {
  if (key === '%') return '';
  return key.includes('%')
    ? key.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : key;
}

const encode = (value: unknown, inArray: boolean): unknown => {
  if (Array.isArray(value)) {
    // JSON semantics, as the SQLite store has them: undefined and non-finite elements become null.
    const items = (value as unknown[]).map((v) => (v === undefined ? null : encode(v, true)));
    return inArray ? { [nestedArrayKey]: items } : items;
  }
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[escapeKey(k)] = encode(v, false);
    }
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
};

const decode = (value: unknown): unknown => {
  if (Array.isArray(value)) return (value as unknown[]).map(decode);
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === nestedArrayKey && Array.isArray(value[nestedArrayKey])) {
      return decode(value[nestedArrayKey]);
    }
    const out: JsonObject = {};
    for (const k of keys) out[unescapeKey(k)] = decode(value[k]);
    return out;
  }
  return value;
};

/** A JSON object as stored (see the module comment). */
export function encodeDocument(doc: object): JsonObject {
  return encode(doc, false) as JsonObject;
}

/** The JSON object a stored one encodes. */
export function decodeDocument(stored: unknown): JsonObject {
  return isObject(stored) ? (decode(stored) as JsonObject) : {};
}

export const dateKey = (path: readonly string[]): string => path.map(escapeKey).join('|');

/**
 * `_m.dates` of a document: for every path, the epoch ms of its date-time string candidates in
 * document order, walked exactly as valuesAt walks (one level of array, objects only).
 */
export function dateShadow(doc: object): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const visit = (object: JsonObject, prefix: string): void => {
    for (const [k, member] of Object.entries(object)) {
      const key = prefix === '' ? escapeKey(k) : `${prefix}|${escapeKey(k)}`;
      const candidates: unknown[] = Array.isArray(member) ? (member as unknown[]) : [member];
      for (const candidate of candidates) {
        if (typeof candidate === 'string') {
          const ms = parseDateTime(candidate);
          if (ms !== undefined) (out[key] ??= []).push(ms);
        } else if (isObject(candidate)) {
          visit(candidate, key);
        }
      }
    }
  };
  visit(doc as JsonObject, '');
  return out;
}
