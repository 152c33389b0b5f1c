/**
 * The parsers of the configuration table (table.ts): each turns a variable's text into a value,
 * or says what the text must be. The loader (config.ts) adds the variable's name and the text.
 */

/** What a variable's text must be, and the part of it shown after "got" (default: all of it). */
export class Invalid {
  constructor(
    readonly mustBe: string,
    readonly got?: string,
  ) {}
}

export type Parser<T> = (raw: string) => T | Invalid;

export const text: Parser<string> = (raw) => raw;

export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max
      ? n
      : new Invalid(`must be an integer from ${min} to ${max}`);
  };
}

export function oneOf<const T extends string>(allowed: readonly T[]): Parser<T> {
  return (raw) =>
    (allowed as readonly string[]).includes(raw)
      ? (raw as T)
      : new Invalid(`must be one of ${allowed.join(', ')}`);
}

/** Durations like 30d, 12h, 15m, 90s, 500ms, or a bare number of milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * factor;
}

/** A positive duration, in milliseconds. */
export const duration: Parser<number> = (raw) => {
  const ms = parseDuration(raw);
  return ms === undefined || ms <= 0
    ? new Invalid('must be a positive duration such as 30d, 12h, 90s or 500ms')
    : ms;
};

export const boolean: Parser<boolean> = (raw) => {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  return new Invalid('must be true or false');
};

/** An absolute http(s) URL, trailing slashes dropped. */
export const baseUrl: Parser<string> = (raw) => {
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return raw.replace(/\/+$/, '');
  } catch {
    // not a URL at all
  }
  return new Invalid('must be an absolute http(s) URL');
};

/** Express's body-parser size: 1mb, 512kb, or bytes. */
export const byteSize: Parser<string> = (raw) =>
  /^\d+(b|kb|mb)?$/i.test(raw) ? raw : new Invalid('must look like 1mb, 512kb or 1048576');

/** A comma-separated list, trimmed, empty entries dropped; undefined when nothing is left. */
export const list: Parser<string[] | undefined> = (raw) => {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length === 0 ? undefined : items;
};

/** Express `trust proxy`: false, true, a hop count, or addresses/subnets. */
export const trustProxy: Parser<boolean | number | string[]> = (raw) => {
  if (raw.trim() === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    return hops > 100 ? new Invalid('hop count must be at most 100') : hops;
  }
  const entries = list(raw) ?? [];
  if (entries instanceof Invalid) return entries;
  const bad = entries.filter(
    (e) => !/^[0-9A-Fa-f:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(e),
  );
  return bad.length > 0
    ? new Invalid('must be true, false, a hop count or addresses/subnets', bad.join(', '))
    : entries;
};

/** A PEM keeps its line breaks; env files often carry them as literal "\n". */
export const secret: Parser<string> = (raw) => raw.replaceAll('\\n', '\n');
