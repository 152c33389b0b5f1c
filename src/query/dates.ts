/**
 * The one date-time reader of the server. Request validation (the `date-time` format of both
 * validators), the end-before-start check, expiry (SQLite's expires_at, MongoDB's _m.expiresAt),
 * date filters and sorting on both stores all read a date-time with parseDateTime, so a value
 * means one instant everywhere; a value it cannot read is refused by validation (400 naming the
 * field) and is never stored.
 *
 * The grammar is RFC 3339 section 5.6, read by one left-to-right scan (no regular expression):
 *
 *   YYYY-MM-DD(T|t| )HH:MM:SS[.f+](Z|z|(+|-)HH:MM)
 *
 * - the day must exist in its month (leap years as in RFC 3339 appendix C); hours 00-23,
 *   minutes 00-59, seconds 00-59, and 60 (a leap second) which reads as 59.999: the last
 *   millisecond of that minute, since the server's instants are POSIX milliseconds;
 * - any number of fraction digits; the instant is truncated to the millisecond (digits after
 *   the third never change it);
 * - offsets from -23:59 to +23:59 (RFC 3339 allows any); -00:00 reads as Z.
 *
 * Filter literals (`validFor.endDateTime.gt=2026-01-01`) may also be a date alone (midnight UTC)
 * or a date-time without seconds or zone (UTC): `{ literal: true }`. Documents never may.
 */

/** How a date-time reads: an RFC 3339 date-time, or (literal) a filter value's shorter forms too. */
export interface DateTimeOptions {
  literal?: boolean;
}

const digit = (c: number): boolean => c >= 48 && c <= 57;

const daysIn = (year: number, month: number): number => {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
};

/** The instant (epoch ms) a date-time string names, or undefined when it is not one. */
export function parseDateTime(text: string, options: DateTimeOptions = {}): number | undefined {
  let i = 0;
  /** Reads exactly `n` digits as a number, or -1. */
  const number = (n: number): number => {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const c = text.charCodeAt(i);
      if (!digit(c)) return -1;
      v = v * 10 + (c - 48);
      i++;
    }
    return v;
  };
  const expect = (ch: string): boolean => {
    if (text[i] !== ch) return false;
    i++;
    return true;
  };

  const year = number(4);
  if (year < 0 || !expect('-')) return undefined;
  const month = number(2);
  if (month < 1 || month > 12 || !expect('-')) return undefined;
  const day = number(2);
  if (day < 1 || day > daysIn(year, month)) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  const midnight = date.getTime();
  if (i === text.length) return options.literal ? midnight : undefined;

  const separator = text[i];
  if (separator !== 'T' && separator !== 't' && separator !== ' ') return undefined;
  i++;
  const hour = number(2);
  if (hour < 0 || hour > 23 || !expect(':')) return undefined;
  const minute = number(2);
  if (minute < 0 || minute > 59) return undefined;
  let second = 0;
  let millis = 0;
  const hasSeconds = expect(':');
  if (hasSeconds) {
    second = number(2);
    if (second < 0 || second > 60) return undefined;
    if (expect('.')) {
      const from = i;
      let scale = 100;
      while (digit(text.charCodeAt(i))) {
        millis += (text.charCodeAt(i) - 48) * scale;
        scale /= 10;
        if (scale < 1) scale = 0;
        i++;
      }
      if (i === from) return undefined;
    }
    if (second === 60) {
      second = 59;
      millis = 999;
    }
  } else if (!options.literal) return undefined;

  let offsetMinutes = 0;
  const zone = text[i];
  if (zone === 'Z' || zone === 'z') {
    i++;
  } else if (zone === '+' || zone === '-') {
    i++;
    const h = number(2);
    if (h < 0 || h > 23 || !expect(':')) return undefined;
    const m = number(2);
    if (m < 0 || m > 59) return undefined;
    offsetMinutes = (zone === '-' ? -1 : 1) * (h * 60 + m);
  } else if (zone === undefined) {
    if (!options.literal) return undefined;
  } else return undefined;
  if (i !== text.length) return undefined;
  return midnight + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

/** The `date-time` format for ajv (both validators): what parseDateTime reads, as a document. */
export const dateTimeFormat = {
  type: 'string' as const,
  validate: (text: string): boolean => parseDateTime(text) !== undefined,
};
