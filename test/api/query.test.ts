import { expect } from 'chai';
import { call, expectTmfError, useTestServer } from '../support/server.js';

/** TMF630 querying over HTTP: filters, fields, sort, paging, and the error cases. */
describe('listing carts with TMF630 queries', () => {
  const server = useTestServer({ MAX_PAGE_SIZE: '4' });
  // A tag unique to this run, so the assertions see only the carts this file creates.
  const tag = `q${Date.now().toString(36)}`;
  const ids: string[] = [];

  const party = (id: string) => ({ id, '@referredType': 'Individual' });
  const list = (query: string) => call(server, 'GET', `/shoppingCart?relatedParty.id=${tag}&${query}`);
  const idsOf = (body: { id: string }[]) => body.map((c) => ids.indexOf(c.id));

  before(async () => {
    const carts = [
      { quantity: 3, offering: 'A', end: '2030-01-01T00:00:00Z', type: 'ShoppingCart' },
      { quantity: 1, offering: 'B', end: '2029-06-01T00:00:00+02:00', type: 'RetailCart' },
      { quantity: 2, offering: 'A', end: '2031-01-01T00:00:00Z', type: 'RetailCart' },
      { quantity: 5, offering: 'C', end: '2029-01-01T00:00:00Z', type: 'ShoppingCart' },
      { quantity: 4, offering: 'B', end: '2032-01-01T00:00:00Z', type: 'ShoppingCart' },
    ];
    for (const [i, c] of carts.entries()) {
      const res = await call(server, 'POST', '/shoppingCart', {
        '@type': c.type,
        relatedParty: [party(tag), party(`${tag}-${i}`)],
        validFor: { startDateTime: '2026-01-01T00:00:00Z', endDateTime: c.end },
        cartItem: [
          {
            id: '1',
            quantity: c.quantity,
            productOffering: { id: `${tag}-${c.offering}` },
            status: i === 1 ? 'saveForLater' : 'active',
          },
        ],
      });
      expect(res.status).to.equal(201);
      ids.push(res.body.id as string);
    }
  });

  it('filters on nested array paths, with OR by comma and repeated keys, and AND across attributes', async () => {
    expect(idsOf((await list(`cartItem.productOffering.id=${tag}-A&sort=id`)).body)).to.deep.equal([0, 2]);
    expect(idsOf((await list(`cartItem.productOffering.id=${tag}-A,${tag}-C&sort=id`)).body)).to.deep.equal([
      0, 2, 3,
    ]);
    expect(
      idsOf(
        (
          await list(
            `cartItem.productOffering.id=${tag}-A&cartItem.productOffering.id=${tag}-B&sort=id&limit=4`,
          )
        ).body,
      ),
    ).to.deep.equal([0, 1, 2, 4]);
    expect(idsOf((await list(`cartItem.productOffering.id=${tag}-B&@type=RetailCart`)).body)).to.deep.equal([
      1,
    ]);
    expect(idsOf((await list('cartItem.status=saveForLater')).body)).to.deep.equal([1]);
  });

  it('compares numbers and dates by value, in suffix and symbol form', async () => {
    expect(idsOf((await list('cartItem.quantity.gte=3&sort=id')).body)).to.deep.equal([0, 3, 4]);
    expect(idsOf((await list('cartItem.quantity>=3&sort=id')).body)).to.deep.equal([0, 3, 4]);
    expect(idsOf((await list('cartItem.quantity%3E3&sort=id')).body)).to.deep.equal([3, 4]);
    expect(idsOf((await list('cartItem.quantity<2')).body)).to.deep.equal([1]);
    expect(idsOf((await list('cartItem.quantity!=3&cartItem.quantity.lte=2&sort=id')).body)).to.deep.equal([
      1, 2,
    ]);
    // 2029-06-01T00:00+02:00 is 2029-05-31T22:00Z: before June.
    expect(idsOf((await list('validFor.endDateTime.lt=2029-05-31T23:00:00Z&sort=id')).body)).to.deep.equal([
      1, 3,
    ]);
    expect(idsOf((await list('validFor.endDateTime.gt="2030-06-01"&sort=id')).body)).to.deep.equal([2, 4]);
  });

  it('an unknown attribute or an injection attempt yields an empty 200, not an error', async () => {
    for (const q of [
      'noSuchAttribute=1',
      'id[$ne]=x',
      "id=x'%20OR%20'1'='1",
      '$where=1',
      'cartItem.id={"$gt":""}',
    ]) {
      const res = await list(q);
      expect(res.status, q).to.equal(200);
      expect(res.body, q).to.deep.equal([]);
      expect(res.headers.get('x-total-count')).to.equal('0');
    }
  });

  it('sorts ascending and descending on dotted paths, with id breaking ties', async () => {
    expect(idsOf((await list('sort=cartItem.quantity')).body)).to.deep.equal([1, 2, 0, 4]);
    expect(idsOf((await list('sort=-cartItem.quantity')).body)).to.deep.equal([3, 4, 0, 2]);
    const byType = idsOf((await list('sort=-@type,id')).body);
    expect(byType).to.deep.equal([0, 3, 4, 1]);
  });

  it('pages with offset and limit: X-Total-Count, X-Result-Count, 206 for part and 200 for all', async () => {
    const page = await list('sort=id&offset=1&limit=2');
    expect(page.status).to.equal(206);
    expect(idsOf(page.body)).to.deep.equal([1, 2]);
    expect(page.headers.get('x-total-count')).to.equal('5');
    expect(page.headers.get('x-result-count')).to.equal('2');
    const last = await list('sort=id&offset=4&limit=2');
    expect(last.status).to.equal(206);
    expect(idsOf(last.body)).to.deep.equal([4]);
    const whole = await list('cartItem.productOffering.id.regex=-(A|C)$&sort=id');
    expect(whole.status).to.equal(200);
    expect(idsOf(whole.body)).to.deep.equal([0, 2, 3]);
    expect(whole.headers.get('x-result-count')).to.equal('3');
  });

  it('caps an unpaged list at MAX_PAGE_SIZE with 206', async () => {
    const res = await list('sort=id');
    expect(res.status).to.equal(206);
    expect(res.body).to.have.length(4);
    expect(res.headers.get('x-total-count')).to.equal('5');
  });

  it('fields selects top-level and dotted paths, always with id and href; fields=none only those', async () => {
    const res = await list('fields=cartItem.quantity,@type&sort=id&limit=1');
    expect(res.body).to.deep.equal([
      {
        id: ids[0],
        href: `${server.url}/tmf-api/shoppingCart/v4/shoppingCart/${ids[0]}`,
        '@type': 'ShoppingCart',
        cartItem: [{ quantity: 3 }],
      },
    ]);
    const none = await call(server, 'GET', `/shoppingCart/${ids[0]}?fields=none`);
    expect(Object.keys(none.body as object).sort()).to.deep.equal(['href', 'id']);
  });

  describe('errors', () => {
    for (const [q, why] of [
      ['offset=-1', 'negative offset'],
      ['limit=-5', 'negative limit'],
      ['limit=1.5', 'non-integer limit'],
      ['offset=abc', 'non-integer offset'],
      ['cartItem.quantity.gt=many', 'a number attribute with a non-number'],
      ['validFor.endDateTime.gt=tomorrow', 'an unparsable date'],
      ['cartItem.quantity.between=1', 'an unknown operator'],
      ['cartItem.productOffering.id.regex=(a%2B)%2B$', 'a regex that could backtrack catastrophically'],
      ['filter=$.cartItem', 'JSONPath filter'],
    ] as const) {
      it(`${why} is a 400 TMF Error`, async () => {
        expect(expectTmfError(await list(q), 400).message)
          .to.be.a('string')
          .and.not.equal('');
      });
    }

    it('a query string over the size limit is a 414 TMF Error', async () => {
      const res = await call(server, 'GET', `/shoppingCart?note=${'x'.repeat(9000)}`);
      expectTmfError(res, 414);
    });
  });
});
