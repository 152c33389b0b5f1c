import { expect } from 'chai';
import { base, call, expectTmfError, startTestServer, useTestServer } from '../support/server.js';

describe('ShoppingCart CRUD over HTTP', () => {
  const server = useTestServer();

  const party = (id: string) => ({ id, '@referredType': 'Individual', role: 'customer' });

  it('POST {} creates a cart with a ULID, an absolute href, Location, ETag and default @type', async () => {
    const res = await call(server, 'POST', '/shoppingCart', {});
    expect(res.status).to.equal(201);
    expect(res.headers.get('content-type')).to.equal('application/json;charset=utf-8');
    expect(res.body.id).to.match(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.body.href).to.equal(`${server.url}${base}/shoppingCart/${res.body.id}`);
    expect(res.headers.get('location')).to.equal(res.body.href);
    expect(res.headers.get('etag')).to.equal('"1"');
    expect(res.body['@type']).to.equal('ShoppingCart');
    expect(res.body.cartTotalPrice).to.deep.equal([]);
    expect(res.body.validFor.startDateTime).to.be.a('string');
    const stored = await server.store.getCart(res.body.id as string, Date.now());
    expect(stored?.doc).to.deep.equal(res.body);
  });

  it('ignores a client id and href, keeps @-attributes and extensions as sent', async () => {
    const res = await call(server, 'POST', '/shoppingCart', {
      id: 'mine',
      href: 'http://evil/x',
      '@type': 'RetailCart',
      '@baseType': 'ShoppingCart',
      '@schemaLocation': 'https://example.com/retail-cart.json',
      relatedParty: [party('P1')],
      channelCode: 'web',
    });
    expect(res.status).to.equal(201);
    expect(res.body.id).to.not.equal('mine');
    expect(res.body.href).to.not.equal('http://evil/x');
    expect(res.body['@type']).to.equal('RetailCart');
    expect(res.body['@baseType']).to.equal('ShoppingCart');
    expect(res.body['@schemaLocation']).to.equal('https://example.com/retail-cart.json');
    expect(res.body.channelCode).to.equal('web');
    expect(res.body.relatedParty).to.deep.equal([party('P1')]);
  });

  it('uses PUBLIC_BASE_URL for href when set', async () => {
    const other = await startTestServer({ PUBLIC_BASE_URL: 'https://carts.example.com/' });
    try {
      const res = await call(other, 'POST', '/shoppingCart', {});
      expect(res.body.href).to.equal(`https://carts.example.com${base}/shoppingCart/${res.body.id}`);
    } finally {
      await other.stop();
    }
  });

  it('GET by id returns the cart with its ETag; unknown id is a 404 TMF Error', async () => {
    const created = await call(server, 'POST', '/shoppingCart', { relatedParty: [party('P2')] });
    const got = await call(server, 'GET', `/shoppingCart/${created.body.id}`);
    expect(got.status).to.equal(200);
    expect(got.body).to.deep.equal(created.body);
    expect(got.headers.get('etag')).to.equal('"1"');
    const missing = await call(server, 'GET', '/shoppingCart/894a108c-9fc9-45d8-a63b-13dcfd3a6bc3');
    expect(expectTmfError(missing, 404).code).to.equal('NOT_FOUND');
  });

  it('lists carts and finds one by ?id= and by ?href= (as the CTK does)', async () => {
    const created = await call(server, 'POST', '/shoppingCart', {});
    const byId = await call(server, 'GET', `/shoppingCart?id=${created.body.id}`);
    expect(byId.status).to.equal(200);
    expect(byId.body).to.deep.equal([created.body]);
    expect(byId.headers.get('x-total-count')).to.equal('1');
    expect(byId.headers.get('x-result-count')).to.equal('1');
    const byHref = await call(server, 'GET', `/shoppingCart?href=${created.body.href}`);
    expect(byHref.body).to.deep.equal([created.body]);
    const all = await call(server, 'GET', '/shoppingCart');
    expect(all.status).to.equal(200);
    expect(all.body.map((c: { id: string }) => c.id)).to.include(created.body.id);
    expect(all.headers.get('x-total-count')).to.equal(String(all.body.length));
  });

  it('fields=id and fields=href return only id and href', async () => {
    const created = await call(server, 'POST', '/shoppingCart', { relatedParty: [party('P3')] });
    const res = await call(server, 'GET', `/shoppingCart?id=${created.body.id}&fields=id`);
    expect(res.body).to.deep.equal([{ id: created.body.id, href: created.body.href }]);
    const one = await call(server, 'GET', `/shoppingCart/${created.body.id}?fields=relatedParty`);
    expect(one.body).to.deep.equal({
      id: created.body.id,
      href: created.body.href,
      relatedParty: [party('P3')],
    });
  });

  it('PATCH with merge patch changes the cart, bumps the ETag and keeps the rest', async () => {
    const created = await call(server, 'POST', '/shoppingCart', { relatedParty: [party('P4')], note: 'x' });
    for (const type of ['application/merge-patch+json', 'application/json']) {
      const res = await call(
        server,
        'PATCH',
        `/shoppingCart/${created.body.id}`,
        { relatedParty: [party(type)] },
        {
          'Content-Type': type,
        },
      );
      expect(res.status).to.equal(200);
      expect(res.body.relatedParty).to.deep.equal([party(type)]);
      expect(res.body.note).to.equal('x');
    }
    const got = await call(server, 'GET', `/shoppingCart/${created.body.id}`);
    expect(got.headers.get('etag')).to.equal('"3"');
    expect(got.body.relatedParty).to.deep.equal([party('application/json')]);
  });

  for (const member of ['id', 'href', 'cartTotalPrice', 'validFor']) {
    it(`PATCH that changes ${member} is a 400 and changes nothing`, async () => {
      const created = await call(server, 'POST', '/shoppingCart', {});
      const values: Record<string, unknown> = {
        id: 'other',
        href: 'http://x/y',
        cartTotalPrice: [{ priceType: 'oneTime' }],
        validFor: { endDateTime: '2030-01-01T00:00:00Z' },
      };
      const res = await call(server, 'PATCH', `/shoppingCart/${created.body.id}`, {
        [member]: values[member],
      });
      expect(expectTmfError(res, 400).message).to.contain(member);
      const got = await call(server, 'GET', `/shoppingCart/${created.body.id}`);
      expect(got.body).to.deep.equal(created.body);
      expect(got.headers.get('etag')).to.equal('"1"');
    });
  }

  it('DELETE answers 204, then GET and DELETE answer 404', async () => {
    const created = await call(server, 'POST', '/shoppingCart', {});
    const del = await call(server, 'DELETE', `/shoppingCart/${created.body.id}`);
    expect(del.status).to.equal(204);
    expect(del.text).to.equal('');
    expectTmfError(await call(server, 'GET', `/shoppingCart/${created.body.id}`), 404);
    expectTmfError(await call(server, 'DELETE', `/shoppingCart/${created.body.id}`), 404);
    expect(await server.store.getCart(created.body.id as string, Date.now())).to.equal(undefined);
  });

  it('GET on the base path answers an entry point, with or without trailing slash', async () => {
    for (const path of [base, `${base}/`]) {
      const res = await call(server, 'GET', path);
      expect(res.status).to.equal(200);
      expect(res.body.resources.map((r: { name: string }) => r.name)).to.deep.equal(['shoppingCart', 'hub']);
    }
  });

  describe('errors', () => {
    it('malformed JSON is a 400 and creates nothing', async () => {
      const before = await call(server, 'GET', '/shoppingCart?fields=id');
      const res = await call(server, 'POST', '/shoppingCart', '{"relatedParty": [', {
        'Content-Type': 'application/json',
      });
      expect(expectTmfError(res, 400).reason).to.equal('Malformed JSON');
      const after = await call(server, 'GET', '/shoppingCart?fields=id');
      expect(after.headers.get('x-total-count')).to.equal(before.headers.get('x-total-count'));
    });

    it('a schema violation is a 400 naming the field', async () => {
      const res = await call(server, 'POST', '/shoppingCart', { relatedParty: [{ name: 'no id' }] });
      expect(expectTmfError(res, 400).message).to.match(/relatedParty/);
      const wrongType = await call(server, 'POST', '/shoppingCart', { cartItem: [{ quantity: 'two' }] });
      expect(expectTmfError(wrongType, 400).message).to.match(/cartItem.*quantity/);
    });

    it('a body of another media type is a 415', async () => {
      const res = await call(server, 'POST', '/shoppingCart', 'a=b', { 'Content-Type': 'text/plain' });
      expectTmfError(res, 415);
      const patch = await call(server, 'POST', '/shoppingCart', {});
      const bad = await call(server, 'PATCH', `/shoppingCart/${patch.body.id}`, '{}', {
        'Content-Type': 'text/xml',
      });
      expectTmfError(bad, 415);
    });

    it('a body over BODY_LIMIT is a 413', async () => {
      const small = await startTestServer({ BODY_LIMIT: '1kb' });
      try {
        const res = await call(small, 'POST', '/shoppingCart', { note: 'x'.repeat(2000) });
        expectTmfError(res, 413);
        const list = await call(small, 'GET', '/shoppingCart');
        expect(list.body).to.deep.equal([]);
      } finally {
        await small.stop();
      }
    });

    it('an unsupported method on a known path is a 405; an unknown path a 404', async () => {
      expectTmfError(await call(server, 'PUT', '/shoppingCart/abc', {}), 405);
      expectTmfError(await call(server, 'DELETE', '/shoppingCart'), 405);
      expectTmfError(await call(server, 'GET', `${base}/nothingHere`), 404);
      expectTmfError(await call(server, 'GET', '/elsewhere'), 404);
      expectTmfError(await call(server, 'POST', `${base}/listener/shoppingCartCreateEvent`, {}), 404);
    });

    it('an unexpected failure is a 500 without a stack trace', async () => {
      const failing = await startTestServer();
      try {
        failing.store.getCart = () => Promise.reject(new Error('boom at /secret/path.ts:12'));
        const res = await call(failing, 'GET', '/shoppingCart/x');
        const body = expectTmfError(res, 500);
        expect(res.text).to.not.contain('secret');
        expect(body.code).to.equal('INTERNAL');
        expect(failing.errors).to.have.length(1);
      } finally {
        await failing.stop();
      }
    });
  });
});
