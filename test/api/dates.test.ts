import { expect } from 'chai';
import fc from 'fast-check';
import { call, expectTmfError, useTestServer } from '../support/server.js';
import { rfc3339Spelling } from '../support/rfc3339.js';

/**
 * Every RFC 3339 spelling of an instant behaves as its canonical spelling (toISOString) in
 * expiry, filters and sorting; on MongoDB too when STORE=mongodb (CI's second leg).
 */
describe('date-times: one RFC 3339 reader in validation, expiry, filters and sorting', () => {
  const clock = Date.parse('2026-06-15T12:00:00.000Z');
  const day = 86_400_000;
  const server = useTestServer({}, { now: () => new Date(clock) });

  const iso = (ms: number): string => new Date(ms).toISOString();
  let runs = 0;

  it('a cart behaves as the same cart with canonical dates (fast-check, real HTTP)', async () => {
    const instants = fc.integer({ min: clock - 3 * day, max: clock + 3 * day });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(rfc3339Spelling(instants), rfc3339Spelling(fc.constant(clock - 10 * day))), {
          minLength: 2,
          maxLength: 4,
        }),
        fc.nat(),
        async (spelt, pick) => {
          const tag = `dates-${String(runs++)}-${String(Date.now())}`;
          const carts: { id: string; end: number; start: number; canonical: boolean }[] = [];
          for (const [end, start] of spelt) {
            for (const canonical of [true, false]) {
              const validFor = canonical
                ? { startDateTime: iso(start.instant), endDateTime: iso(end.instant) }
                : { startDateTime: start.text, endDateTime: end.text };
              const res = await call(server, 'POST', '/shoppingCart', { runTag: tag, validFor });
              expect(res.status, res.text).to.equal(201);
              expect(res.body.validFor).to.deep.equal(validFor);
              carts.push({ id: res.body.id as string, end: end.instant, start: start.instant, canonical });
            }
          }
          // Expiry: gone exactly when its canonical twin is, and exactly when its end has passed.
          for (const cart of carts) {
            const got = await call(server, 'GET', `/shoppingCart/${cart.id}`);
            expect(got.status, `end ${iso(cart.end)}`).to.equal(cart.end > clock ? 200 : 404);
          }
          const live = carts.filter((c) => c.end > clock);
          const byId = new Map(carts.map((c) => [c.id, c]));
          const list = async (query: string): Promise<string[]> => {
            const res = await call(server, 'GET', `/shoppingCart?runTag=${tag}&fields=id&${query}`);
            expect(res.status, res.text).to.equal(200);
            return (res.body as { id: string }[]).map((c) => c.id);
          };
          // Filters, with a pivot that is one of the instants, on the expiry path and another.
          const pivotCart = carts[pick % carts.length] ?? carts[0];
          if (pivotCart === undefined) return;
          const ops: [string, (a: number, b: number) => boolean][] = [
            ['eq', (a, b) => a === b],
            ['gt', (a, b) => a > b],
            ['gte', (a, b) => a >= b],
            ['lt', (a, b) => a < b],
            ['lte', (a, b) => a <= b],
          ];
          for (const [op, holds] of ops) {
            const got = await list(`validFor.endDateTime.${op}=${encodeURIComponent(iso(pivotCart.end))}`);
            const want = live.filter((c) => holds(c.end, pivotCart.end)).map((c) => c.id);
            expect([...got].sort(), `endDateTime.${op}`).to.deep.equal([...want].sort());
            const gotStart = await list(
              `validFor.startDateTime.${op}=${encodeURIComponent(iso(pivotCart.start))}`,
            );
            const wantStart = live.filter((c) => holds(c.start, pivotCart.start)).map((c) => c.id);
            expect([...gotStart].sort(), `startDateTime.${op}`).to.deep.equal([...wantStart].sort());
          }
          // Sorting: in the order of the instants, whatever their spelling.
          for (const [key, of] of [
            ['validFor.endDateTime', (c: { end: number }) => c.end],
            ['validFor.startDateTime', (c: { start: number }) => c.start],
          ] as const) {
            const up = (await list(`sort=${key}`)).map((id) => of(byId.get(id) ?? { end: NaN, start: NaN }));
            expect(up, `sort=${key}`).to.deep.equal([...up].sort((a, b) => a - b));
            expect(up).to.have.length(live.length);
            const down = (await list(`sort=-${key}`)).map((id) =>
              of(byId.get(id) ?? { end: NaN, start: NaN }),
            );
            expect(down, `sort=-${key}`).to.deep.equal([...down].sort((a, b) => b - a));
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it('a date-time no reader can read is a 400 naming the field, and stores nothing', async () => {
    for (const [validFor, field] of [
      [{ endDateTime: '2026-07-01T10:00:00+0200' }, 'validFor.endDateTime'],
      [{ startDateTime: '2026-02-29T10:00:00Z' }, 'validFor.startDateTime'],
      [{ endDateTime: '2026-07-01T10:00:00' }, 'validFor.endDateTime'],
      [{ endDateTime: '2026-07-01' }, 'validFor.endDateTime'],
    ] as const) {
      const tag = `bad-${field}-${String(Date.now())}`;
      const res = await call(server, 'POST', '/shoppingCart', { runTag: tag, validFor });
      const error = expectTmfError(res, 400);
      expect(error.message, JSON.stringify(validFor)).to.contain(field);
      expect((await call(server, 'GET', `/shoppingCart?runTag=${tag}`)).body).to.deep.equal([]);
    }
    const res = await call(server, 'GET', '/shoppingCart?validFor.endDateTime.gt=2026-02-30');
    expect(expectTmfError(res, 400).message).to.contain('validFor.endDateTime');
  });

  it('checks end before start on the instants, whatever the spelling', async () => {
    const res = await call(server, 'POST', '/shoppingCart', {
      validFor: { startDateTime: '2026-07-01t00:00:00z', endDateTime: '2026-07-01T05:00:00+18:11' },
    });
    expect(expectTmfError(res, 400).message).to.contain('validFor.endDateTime');
  });
});
