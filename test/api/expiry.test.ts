import { expect } from 'chai';
import { call, expectTmfError, useTestServer } from '../support/server.js';

describe('cart validity and expiry', () => {
  let clock = Date.parse('2026-03-01T10:00:00.000Z');
  const server = useTestServer({ CART_TTL: '2d' }, { now: () => new Date(clock) }, { checkErrors: false });

  it('defaults validFor to now .. now + CART_TTL', async () => {
    const res = await call(server, 'POST', '/shoppingCart', {});
    expect(res.body.validFor).to.deep.equal({
      startDateTime: new Date(clock).toISOString(),
      endDateTime: new Date(clock + 2 * 86_400_000).toISOString(),
    });
  });

  it('keeps a validFor the client gives', async () => {
    const validFor = { startDateTime: '2026-03-01T00:00:00Z', endDateTime: '2026-04-01T00:00:00+02:00' };
    const res = await call(server, 'POST', '/shoppingCart', { validFor });
    expect(res.body.validFor).to.deep.equal(validFor);
  });

  it('refuses an end before the start (400) and stores nothing', async () => {
    const before = await call(server, 'GET', '/shoppingCart?fields=id');
    const res = await call(server, 'POST', '/shoppingCart', {
      validFor: { startDateTime: '2026-03-02T00:00:00Z', endDateTime: '2026-03-01T00:00:00Z' },
    });
    expect(expectTmfError(res, 400).message).to.contain('validFor');
    const after = await call(server, 'GET', '/shoppingCart?fields=id');
    expect(after.body).to.deep.equal(before.body);
  });

  it('hides an expired cart from GET, PATCH, DELETE and lists, and the sweep purges it', async () => {
    const short = await call(server, 'POST', '/shoppingCart', {
      validFor: {
        startDateTime: new Date(clock).toISOString(),
        endDateTime: new Date(clock + 60_000).toISOString(),
      },
    });
    const long = await call(server, 'POST', '/shoppingCart', {});
    expect((await call(server, 'GET', `/shoppingCart/${short.body.id}`)).status).to.equal(200);
    clock += 120_000;
    expectTmfError(await call(server, 'GET', `/shoppingCart/${short.body.id}`), 404);
    expectTmfError(await call(server, 'PATCH', `/shoppingCart/${short.body.id}`, { note: 'x' }), 404);
    expectTmfError(await call(server, 'DELETE', `/shoppingCart/${short.body.id}`), 404);
    const list = await call(server, 'GET', '/shoppingCart?fields=id');
    const ids = list.body.map((c: { id: string }) => c.id);
    expect(ids).to.include(long.body.id);
    expect(ids).to.not.include(short.body.id);
    expect(await server.store.purgeExpired(clock)).to.be.greaterThan(0);
    expect(await server.store.getCart(short.body.id as string, 0)).to.equal(undefined);
    expect(await server.store.getCart(long.body.id as string, clock)).to.not.equal(undefined);
  });
});
