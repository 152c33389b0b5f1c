/**
 * fast-check arbitrary: an instant (epoch ms, years 0001-9999) and one RFC 3339 spelling of it,
 * chosen at random among what RFC 3339 allows: T or t or a space, Z or z or any offset from
 * -23:59 to +23:59 (the local time shifted to match), and the milliseconds written with 0 to 15
 * fraction digits (trailing zeros, or none when they are zero).
 */
import fc from 'fast-check';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export const minInstant = Date.UTC(1, 0, 2);
export const maxInstant = Date.UTC(9999, 11, 30);

export function spell(
  instant: number,
  separator: string,
  offsetMinutes: number | 'Z' | 'z',
  digits: number,
): string {
  const local = new Date(instant + (typeof offsetMinutes === 'number' ? offsetMinutes : 0) * 60_000);
  const ms = local.getUTCMilliseconds();
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`;
  const time = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}`;
  const width = ms === 0 ? digits : Math.max(digits, 3);
  const fraction = width === 0 ? '' : `.${(pad(ms, 3) + '0'.repeat(width)).slice(0, width)}`;
  let zone: string;
  if (typeof offsetMinutes === 'number') {
    const abs = Math.abs(offsetMinutes);
    zone = `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  } else zone = offsetMinutes;
  return `${date}${separator}${time}${fraction}${zone}`;
}

export const rfc3339Spelling = (
  instants: fc.Arbitrary<number> = fc.integer({ min: minInstant, max: maxInstant }),
): fc.Arbitrary<{ instant: number; text: string }> =>
  fc
    .record({
      instant: instants,
      separator: fc.constantFrom('T', 't', ' '),
      zone: fc.oneof(
        fc.constantFrom<'Z' | 'z'>('Z', 'z'),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
      ),
      digits: fc.integer({ min: 0, max: 15 }),
    })
    .map(({ instant, separator, zone, digits }) => ({
      instant,
      text: spell(instant, separator, zone, digits),
    }));
