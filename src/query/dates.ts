/**
 * Date-times in filters. One grammar serves both sides of a comparison (the literal in the query
 * and the value in the document), and SQLite must read a document value exactly as the reference
 * evaluator does, so the grammar is the subset of what SQLite's date functions accept on which
 * SQLite and this function provably agree (see test/unit/query-dates.test.ts):
 *
 *   YYYY-MM-DD                                     midnight UTC
 *   YYYY-MM-DD(T| )HH:MM[:SS[.f{1,9}]][Z|z|±HH:MM]  no offset means UTC (as SQLite reads it)
 *
 * Ranges are part of the pattern (month 01-12, day 01-31, hour 00-23, minute and second 00-59,
 * offset hours 00-14 as in SQLite), so that a string either matches and both sides compute the
 * same instant, or does not match and neither side treats it as a date. A day past the end of its
 * month rolls over (2024-02-30 is 2024-03-01), as in SQLite and Date.UTC. RFC 3339 date-times with
 * an offset, and toISOString() output, read the same as with Date.parse.
 */

/** The grammar as RegExp source: the SQL compiler hands it to the regex SQL function. */
export const dateTimeSource =
  '^(\\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])' +
  '(?:[T ]([01]\\d|2[0-3]):([0-5]\\d)(?::([0-5]\\d)(?:\\.(\\d{1,9}))?)?(Z|z|[+-](?:0\\d|1[0-4]):[0-5]\\d)?)?$';

const dateTimePattern = new RegExp(dateTimeSource);

/**
 * The instant (epoch ms) a date-time string names, or undefined when it is not one. Fractions of
 * a millisecond are handled with SQLite's own arithmetic (fraction capped at .999, then rounded
 * half up to the millisecond), so both sides agree to the millisecond.
 */
export function parseDateTime(text: string): number | undefined {
  const m = dateTimePattern.exec(text);
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  let frac = 0;
  if (fraction !== undefined) {
    // Same operations, in the same order and precision, as SQLite's parseHhMmSs.
    let scale = 1;
    for (const digit of fraction) {
      frac = frac * 10 + Number(digit);
      scale *= 10;
    }
    frac /= scale;
    if (frac > 0.999) frac = 0.999;
  }
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour ?? 0), Number(minute ?? 0), 0, 0);
  let ms = date.getTime() + Math.trunc((Number(second ?? 0) + frac) * 1000 + 0.5);
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
    ms -= (zone.startsWith('-') ? -1 : 1) * minutes * 60_000;
  }
  return ms;
}
