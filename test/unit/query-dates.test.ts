import { expect } from 'chai';
import Database from 'better-sqlite3';
import { dateTimeSource, parseDateTime } from '../../src/query/dates.js';
import { sqlRegex } from '../../src/query/sql.js';

describe('query/dates: parseDateTime', () => {
  it('reads RFC 3339 date-times with Z and offsets as Date.parse does', () => {
    for (const text of [
      '2025-01-01T10:00:00Z',
      '2025-01-01T12:00:00+02:00',
      '2025-01-01T05:00:00-05:00',
      '2024-12-31T23:00:00.500Z',
      '2024-11-30T18:00:00.123+01:00',
      '2024-02-29T23:30:00-01:00',
      '2023-12-31T23:59:59.999Z',
      '2025-03-01T00:00:00+05:30',
      '0050-06-01T00:00:00Z',
    ]) {
      expect(parseDateTime(text), text).to.equal(Date.parse(text));
    }
  });

  it('reads plain dates, dates without seconds and without offset as UTC', () => {
    expect(parseDateTime('2025-01-01')).to.equal(Date.UTC(2025, 0, 1));
    expect(parseDateTime('2025-01-01T10:30')).to.equal(Date.UTC(2025, 0, 1, 10, 30));
    expect(parseDateTime('2025-01-01 10:30:15')).to.equal(Date.UTC(2025, 0, 1, 10, 30, 15));
    expect(parseDateTime('2025-01-01t10:30:15z')).to.equal(undefined);
    expect(parseDateTime('2025-01-01T10:30:15z')).to.equal(Date.UTC(2025, 0, 1, 10, 30, 15));
  });

  it('rounds sub-millisecond fractions as SQLite does', () => {
    expect(parseDateTime('2025-01-01T00:00:00.1234Z')).to.equal(Date.UTC(2025, 0, 1) + 123);
    expect(parseDateTime('2025-01-01T00:00:00.1235Z')).to.equal(Date.UTC(2025, 0, 1) + 124);
    expect(parseDateTime('2025-01-01T00:00:00.9999Z')).to.equal(Date.UTC(2025, 0, 1) + 999);
  });

  it('rolls a day past the end of its month over, as SQLite does', () => {
    expect(parseDateTime('2024-02-30')).to.equal(Date.UTC(2024, 2, 1));
  });

  for (const text of [
    '',
    'now',
    '1700000000',
    '2025-1-01',
    '2025-00-01',
    '2025-13-01',
    '2025-01-32',
    '2025-01-01T24:00:00Z',
    '2025-01-01T10:60:00Z',
    '2025-01-01T10:00:60Z',
    '2025-01-01T10:00:00+15:00',
    '2025-01-01T10:00:00+0200',
    '2025-01-01Z',
    '2025-01-01T10Z',
    '10:00:00',
    '2025-01-01T10:00:00.Z',
    '2025-01-01T10:00:00.1234567890Z',
    ' 2025-01-01',
    '+2025-01-01',
    'Wed, 01 Jan 2025 10:00:00 GMT',
  ]) {
    it(`refuses "${text}"`, () => {
      expect(parseDateTime(text)).to.equal(undefined);
    });
  }

  it('agrees with SQLite unixepoch on every string the grammar accepts (random sample)', () => {
    const db = new Database(':memory:');
    const unixMs = db.prepare<[string], { v: number | null }>(
      "SELECT round(unixepoch(?, 'subsec') * 1000) AS v",
    );
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const two = (n: number): string => String(n).padStart(2, '0');
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = `${String(random(10000)).padStart(4, '0')}-${two(random(14))}-${two(random(33))}`;
      if (random(5) > 0) {
        text += `${random(2) ? 'T' : ' '}${two(random(26))}:${two(random(61))}`;
        if (random(4) > 0) {
          text += `:${two(random(61))}`;
          if (random(2)) text += `.${String(random(1e9)).slice(0, 1 + random(9))}`;
        }
        const zone = random(4);
        if (zone === 1) text += 'Z';
        if (zone === 2) text += `${random(2) ? '+' : '-'}${two(random(16))}:${two(random(61))}`;
      }
      const mine = parseDateTime(text);
      expect(sqlRegex(dateTimeSource, text) === 1, text).to.equal(mine !== undefined);
      if (mine === undefined) continue;
      checked++;
      expect(unixMs.get(text)?.v, text).to.equal(mine);
    }
    expect(checked).to.be.greaterThan(5000);
    db.close();
  });
});
