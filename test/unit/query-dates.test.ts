import { expect } from 'chai';
import fc from 'fast-check';
import { parseDateTime } from '../../src/query/dates.js';
import { rfc3339Spelling } from '../support/rfc3339.js';

describe('query/dates: parseDateTime, the one RFC 3339 reader', () => {
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

  it('reads every RFC 3339 spelling: t and z in lower case, a space, any offset, any fraction digits', () => {
    const instant = Date.UTC(2025, 0, 1, 10, 30, 15, 120);
    for (const text of [
      '2025-01-01t10:30:15.12z',
      '2025-01-01 10:30:15.120Z',
      '2025-01-02T04:41:15.120+18:11',
      '2024-12-31T10:31:15.1200000000000000-23:59',
      '2025-01-01T10:30:15.120-00:00',
      '2025-01-01T10:30:15.1209999999Z',
    ]) {
      expect(parseDateTime(text), text).to.equal(instant);
    }
  });

  it('truncates to the millisecond, and reads a leap second as the last millisecond of its minute', () => {
    expect(parseDateTime('2025-01-01T00:00:00.9999Z')).to.equal(Date.UTC(2025, 0, 1) + 999);
    expect(parseDateTime('2016-12-31T23:59:60Z')).to.equal(Date.UTC(2016, 11, 31, 23, 59, 59, 999));
  });

  it('reads a filter literal: a date alone is midnight UTC, no zone is UTC; a document may not', () => {
    expect(parseDateTime('2025-01-01', { literal: true })).to.equal(Date.UTC(2025, 0, 1));
    expect(parseDateTime('2025-01-01T10:30', { literal: true })).to.equal(Date.UTC(2025, 0, 1, 10, 30));
    expect(parseDateTime('2025-01-01 10:30:15', { literal: true })).to.equal(
      Date.UTC(2025, 0, 1, 10, 30, 15),
    );
    for (const text of ['2025-01-01', '2025-01-01T10:30', '2025-01-01T10:30:15', '2025-01-01T10:30Z']) {
      expect(parseDateTime(text), text).to.equal(undefined);
    }
  });

  for (const text of [
    '',
    'now',
    '1700000000',
    '2025-1-01T00:00:00Z',
    '2025-00-01T00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2025-01-32T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2025-04-31T00:00:00Z',
    '2025-01-01T24:00:00Z',
    '2025-01-01T10:60:00Z',
    '2025-01-01T10:00:61Z',
    '2025-01-01T10:00:00+24:00',
    '2025-01-01T10:00:00+10:60',
    '2025-01-01T10:00:00+0200',
    '2025-01-01T10:00:00+02',
    '2025-01-01Z',
    '2025-01-01T10Z',
    '10:00:00',
    '2025-01-01T10:00:00.Z',
    '2025-01-01T10:00:00Zx',
    '2025-01-01x10:00:00Z',
    '2025-01-01\t10:00:00Z',
    ' 2025-01-01T10:00:00Z',
    '+2025-01-01T10:00:00Z',
    'Wed, 01 Jan 2025 10:00:00 GMT',
  ]) {
    it(`refuses "${text}"`, () => {
      expect(parseDateTime(text)).to.equal(undefined);
      expect(parseDateTime(text, { literal: true })).to.equal(undefined);
    });
  }

  it('any RFC 3339 spelling of an instant reads as its canonical spelling (fast-check)', () => {
    fc.assert(
      fc.property(rfc3339Spelling(), ({ instant, text }) => {
        expect(parseDateTime(text), text).to.equal(instant);
        expect(parseDateTime(new Date(instant).toISOString())).to.equal(instant);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a long fraction in one pass', () => {
    const text = `2025-01-01T00:00:00.${'1'.repeat(1_000_000)}Z`;
    expect(parseDateTime(text)).to.equal(Date.UTC(2025, 0, 1) + 111);
  });
});
