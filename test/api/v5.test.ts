/**
 * TMF663 v5 served beside v4 over one store (issue 17): every v5 operation over real HTTP, each
 * answer validated against the v5 document (test/support/v5.ts) and by the server's response
 * validator; carts crossing between the versions (read, filter, patch in the three formats,
 * delete); ETags made stale across versions; one change reaching a v4 and a v5 subscriber, each
 * in its own shape.
 */
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { v5Problem } from '../../src/versions/v5/v5-document.js';
import { startListener, type Listener } from '../support/listener.js';
import { base, call, startTestServer, useTestServer, type TestServer } from '../support/server.js';
import { expectV5Error, v5Base, v5call } from '../support/v5.js';

const eur = (value: number) => ({ unit: 'EUR', value });

/** A v5 create body: one priced item, a customer. */
const v5Cart = (party = 'p-1', amount = 10) => ({
  '@type': 'ShoppingCart',
  relatedParty: [
    {
      '@type': 'RelatedPartyOrPartyRole',
      role: 'customer',
      partyOrPartyRole: { '@type': 'PartyRef', id: party, name: 'Ann', '@referredType': 'Individual' },
    },
  ],
  contactMedium: [{ '@type': 'EmailContactMedium', emailAddress: 'ann@example.com', preferred: true }],
  cartItem: [
    {
      '@type': 'CartItem',
      id: '1',
      quantity: 2,
      action: 'add',
      itemPrice: [
        {
          '@type': 'CartPrice',
          priceType: 'oneTime',
          price: { '@type': 'Price', dutyFreeAmount: eur(amount), taxRate: 20 },
        },
      ],
    },
  ],
});

/** The same cart as a v4 client writes it. */
const v4Cart = (party = 'p-1', amount = 10) => ({
  relatedParty: [{ id: party, name: 'Ann', role: 'customer', '@referredType': 'Individual' }],
  contactMedium: [
    { mediumType: 'email', preferred: true, characteristic: { emailAddress: 'ann@example.com' } },
  ],
  cartItem: [
    {
      id: '1',
      quantity: 2,
      action: 'add',
      itemPrice: [{ priceType: 'oneTime', price: { dutyFreeAmount: eur(amount), taxRate: 20 } }],
    },
  ],
});

const totalOf = (cart: { cartTotalPrice?: { price?: { taxIncludedAmount?: unknown } }[] }) =>
  cart.cartTotalPrice?.map((p) => p.price?.taxIncludedAmount);

describe('TMF663 v5 beside v4', () => {
  let server: TestServer;
  const listeners: Listener[] = [];

  before(async () => {
    server = await startTestServer({}, { notifyBackoffMs: 20, notifyPollMs: 50 });
  });
  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await server.stop();
    expect(server.errors).to.deep.equal([]);
  });

  describe('the v5 surface', () => {
    it('has its own entry point, openapi.json under /tmf-api and docs page; listener paths are not ours', async () => {
      const entry = await call(server, 'GET', `${v5Base}/`);
      expect(entry.status).to.equal(200);
      expect(entry.headers.get('content-type')).to.equal('application/json');
      expect(entry.body).to.include({ '@type': 'EntryPoint', version: '5.0.0' });
      expect(entry.body.openapi).to.equal(`${server.url}${v5Base}/openapi.json`);
      const doc = await call(server, 'GET', `${v5Base}/openapi.json`);
      expect(doc.body.info.version).to.equal('5.0.0');
      expect(doc.body.servers).to.deep.equal([{ url: v5Base }]);
      expect((await call(server, 'GET', `${v5Base}/docs/`)).status).to.equal(200);
      expectV5Error(await call(server, 'POST', `${v5Base}/listener/shoppingCartCreateEvent`, {}), 404);
      const put = expectV5Error(await call(server, 'PUT', `${v5Base}/shoppingCart`, {}), 405);
      expect(put.message).to.contain('GET, HEAD, POST');
      // v4 is as it was.
      const v4 = await call(server, 'GET', `${base}/`);
      expect(v4.body.version).to.equal('4.0.0');
      expect(v4.headers.get('content-type')).to.equal('application/json;charset=utf-8');
    });

    it('POST creates (201, v5 Location, ETag, creationDate/lastUpdate, v5 shapes); @type is required', async () => {
      const res = await v5call(server, 'POST', '/shoppingCart', v5Cart());
      expect(res.status, res.text).to.equal(201);
      const id = res.body.id as string;
      expect(res.body.href).to.equal(`${server.url}${v5Base}/shoppingCart/${id}`);
      expect(res.headers.get('location')).to.equal(res.body.href);
      expect(res.headers.get('etag')).to.equal('"1"');
      expect(res.body.creationDate).to.be.a('string');
      expect(res.body.lastUpdate).to.equal(res.body.creationDate);
      expect(res.body.relatedParty[0].partyOrPartyRole).to.include({
        id: 'p-1',
        '@referredType': 'Individual',
      });
      expect(res.body.contactMedium[0]).to.include({
        '@type': 'EmailContactMedium',
        emailAddress: 'ann@example.com',
      });
      expect(totalOf(res.body)).to.deep.equal([eur(24)]);
      const { '@type': _t, ...untyped } = v5Cart();
      const refused = expectV5Error(await v5call(server, 'POST', '/shoppingCart', untyped), 400);
      expect(refused.message).to.contain('@type');
      expectV5Error(
        await v5call(server, 'POST', '/shoppingCart', { ...v5Cart(), cartItem: [{ id: '1' }] }),
        400,
      );
    });

    it('fields on POST, GET and PATCH narrow the v5 view (id, href and @type stay)', async () => {
      const created = await v5call(server, 'POST', '/shoppingCart?fields=relatedParty', v5Cart());
      expect(created.status).to.equal(201);
      expect(Object.keys(created.body).sort()).to.deep.equal(['@type', 'href', 'id', 'relatedParty']);
      const id = created.body.id as string;
      const got = await v5call(server, 'GET', `/shoppingCart/${id}?fields=creationDate,cartItem.quantity`);
      expect(Object.keys(got.body).sort()).to.deep.equal(['@type', 'cartItem', 'creationDate', 'href', 'id']);
      expect(got.body.cartItem).to.deep.equal([{ '@type': 'CartItem', quantity: 2 }]);
      const patched = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}?fields=contactMedium.emailAddress`,
        {
          '@type': 'ShoppingCart',
          contactMedium: [{ '@type': 'EmailContactMedium', emailAddress: 'b@example.com' }],
        },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(patched.status, patched.text).to.equal(200);
      expect(patched.body.contactMedium).to.deep.equal([
        { '@type': 'EmailContactMedium', emailAddress: 'b@example.com' },
      ]);
      expect(patched.headers.get('etag')).to.equal('"2"');
    });

    it('GET list: v5 filters, sort and fields; 206 with X-Total-Count when paged', async () => {
      const party = `list-${Date.now()}`;
      for (const amount of [1, 2, 3]) {
        expect((await v5call(server, 'POST', '/shoppingCart', v5Cart(party, amount))).status).to.equal(201);
      }
      const all = await v5call(
        server,
        'GET',
        `/shoppingCart?relatedParty.partyOrPartyRole.id=${party}&sort=-id`,
      );
      expect(all.status).to.equal(200);
      expect(all.headers.get('x-total-count')).to.equal('3');
      expect(all.body.map((c: { id: string }) => c.id)).to.deep.equal(
        all.body
          .map((c: { id: string }) => c.id)
          .sort()
          .reverse(),
      );
      for (const c of all.body) expect(c.creationDate).to.be.a('string');
      const page = await v5call(
        server,
        'GET',
        `/shoppingCart?relatedParty.partyOrPartyRole.id=${party}&limit=2&fields=lastUpdate,contactMedium.emailAddress`,
      );
      expect(page.status).to.equal(206);
      expect(page.headers.get('x-result-count')).to.equal('2');
      expect(Object.keys(page.body[0]).sort()).to.deep.equal([
        '@type',
        'contactMedium',
        'href',
        'id',
        'lastUpdate',
      ]);
      const byMail = await v5call(
        server,
        'GET',
        `/shoppingCart?relatedParty.partyOrPartyRole.id=${party}&contactMedium.emailAddress=ann@example.com`,
      );
      expect(byMail.body).to.have.length(3);
      const byHref = await v5call(
        server,
        'GET',
        `/shoppingCart?href=${encodeURIComponent(all.body[0].href)}`,
      );
      expect(byHref.body.map((c: { id: string }) => c.id)).to.deep.equal([all.body[0].id]);
    });

    it("GET list: filters and sort on creationDate and lastUpdate (the store's times), any RFC 3339 spelling", async () => {
      const party = `times-${Date.now()}`;
      const ids: string[] = [];
      for (const amount of [1, 2, 3]) {
        const created = await v5call(server, 'POST', '/shoppingCart', v5Cart(party, amount));
        expect(created.status).to.equal(201);
        ids.push(created.body.id);
      }
      const patched = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${ids[0] ?? ''}`,
        { '@type': 'ShoppingCart', note: [{ '@type': 'Note', text: 'later' }] },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(patched.status, patched.text).to.equal(200);
      type Times = { id: string; creationDate: string; lastUpdate: string };
      const mine = `relatedParty.partyOrPartyRole.id=${party}`;
      const list = async (query: string): Promise<Times[]> => {
        const res = await v5call(
          server,
          'GET',
          `/shoppingCart?${mine}&fields=creationDate,lastUpdate&${query}`,
        );
        expect(res.status, res.text).to.equal(200);
        return res.body as Times[];
      };
      const all = await list('sort=creationDate');
      const ms = (iso: string) => Date.parse(iso);
      const byCreation = [...all].sort(
        (a, b) => ms(a.creationDate) - ms(b.creationDate) || (a.id < b.id ? -1 : 1),
      );
      expect(all.map((c) => c.id)).to.deep.equal(byCreation.map((c) => c.id));
      expect((await list('sort=-creationDate')).map((c) => c.id)).to.deep.equal(
        byCreation.map((c) => c.id).reverse(),
      );
      // The patched cart was written last.
      expect((await list('sort=-lastUpdate'))[0]?.id).to.equal(ids[0]);
      const last = all.find((c) => c.id === ids[0]);
      if (last === undefined) throw new Error('the patched cart is not listed');
      expect(ms(last.lastUpdate)).to.be.above(ms(last.creationDate));

      // The same instant spelt with an offset, and without the Z form the store writes.
      const offset = (iso: string) => {
        const t = new Date(ms(iso) + 2 * 3_600_000).toISOString();
        return encodeURIComponent(`${t.slice(0, 23)}+02:00`);
      };
      const middle = byCreation[1];
      if (middle === undefined) throw new Error('three carts expected');
      const idsOf = (list: Times[]) => list.map((c) => c.id).sort();
      const where = (keep: (c: Times) => boolean) => idsOf(all.filter(keep));
      expect(idsOf(await list(`creationDate=${offset(middle.creationDate)}`))).to.deep.equal(
        where((c) => c.creationDate === middle.creationDate),
      );
      expect(idsOf(await list(`creationDate.gt=${offset(middle.creationDate)}`))).to.deep.equal(
        where((c) => ms(c.creationDate) > ms(middle.creationDate)),
      );
      expect(idsOf(await list(`creationDate.lte=${offset(middle.creationDate)}`))).to.deep.equal(
        where((c) => ms(c.creationDate) <= ms(middle.creationDate)),
      );
      expect(idsOf(await list(`lastUpdate.gte=${offset(last.lastUpdate)}`))).to.deep.equal([ids[0]]);
      expect(idsOf(await list(`lastUpdate.lt=${offset(last.lastUpdate)}`))).to.deep.equal(
        where((c) => c.id !== ids[0]),
      );
      // A value that is not a date-time, a regex, or a member of a date-time: 400.
      for (const bad of [
        'creationDate.gt=soon',
        'lastUpdate.regex=^2',
        'creationDate.year=2026',
        'sort=lastUpdate.x',
      ]) {
        expectV5Error(await v5call(server, 'GET', `/shoppingCart?${bad}`), 400);
      }
    });

    it('Idempotency-Key: a retried v5 create replays its answer; the same key on v4 is another operation (422)', async () => {
      const key = { 'Idempotency-Key': `v5-${Math.random().toString(36).slice(2)}` };
      const first = await v5call(server, 'POST', '/shoppingCart', v5Cart(), key);
      expect(first.status, first.text).to.equal(201);
      const again = await v5call(server, 'POST', '/shoppingCart', v5Cart(), key);
      expect(again.status).to.equal(201);
      expect(again.body).to.deep.equal(first.body);
      expect(again.headers.get('location')).to.equal(first.headers.get('location'));
      // A body both versions accept: the key still names a v5 create, not this v4 one.
      const both = { '@type': 'ShoppingCart', name: 'both' };
      const other = { 'Idempotency-Key': `${key['Idempotency-Key']}-both` };
      expect((await v5call(server, 'POST', '/shoppingCart', both, other)).status).to.equal(201);
      const onV4 = await call(server, 'POST', '/shoppingCart', both, other);
      expect(onV4.status, onV4.text).to.equal(422);
    });

    it('HEAD, If-None-Match (304) and DELETE (204, then 404)', async () => {
      const id = (await v5call(server, 'POST', '/shoppingCart', v5Cart())).body.id as string;
      const head = await call(server, 'HEAD', `${v5Base}/shoppingCart/${id}`);
      expect(head.status).to.equal(200);
      expect(head.text).to.equal('');
      const notModified = await v5call(server, 'GET', `/shoppingCart/${id}`, undefined, {
        'If-None-Match': '"1"',
      });
      expect(notModified.status).to.equal(304);
      expect((await v5call(server, 'DELETE', `/shoppingCart/${id}`)).status).to.equal(204);
      expectV5Error(await v5call(server, 'GET', `/shoppingCart/${id}`), 404);
    });

    it('PATCH: an unsupported media type is a 415, a changed creationDate a 400', async () => {
      const id = (await v5call(server, 'POST', '/shoppingCart', v5Cart())).body.id as string;
      const text = await call(server, 'PATCH', `${v5Base}/shoppingCart/${id}`, 'x', {
        'Content-Type': 'text/plain',
      });
      expectV5Error(text, 415);
      expectV5Error(
        await v5call(
          server,
          'PATCH',
          `/shoppingCart/${id}`,
          [{ op: 'replace', path: '/creationDate', value: '2020-01-01T00:00:00Z' }],
          { 'Content-Type': 'application/json-patch+json' },
        ),
        400,
      );
    });
  });

  describe('one cart, both versions', () => {
    const patchFormats = [
      {
        type: 'application/merge-patch+json',
        v4: {
          cartItem: [{ id: '1', quantity: 3, action: 'add', itemPrice: v4Cart().cartItem[0]?.itemPrice }],
        },
        v5: {
          '@type': 'ShoppingCart',
          cartItem: [
            {
              '@type': 'CartItem',
              id: '1',
              quantity: 3,
              action: 'add',
              itemPrice: v5Cart().cartItem[0]?.itemPrice,
            },
          ],
        },
      },
      {
        type: 'application/json-patch+json',
        v4: [{ op: 'replace', path: '/cartItem/0/quantity', value: 3 }],
        v5: [{ op: 'replace', path: '/cartItem/0/quantity', value: 3 }],
      },
      {
        type: 'application/json-patch-query+json',
        v4: [{ op: 'replace', path: '/cartItem?id=1/quantity', value: 3 }],
        v5: [{ op: 'replace', path: '/cartItem?id=1/quantity', value: 3 }],
      },
    ];

    it('created on v5: read, filtered, patched (three formats) and deleted on v4, totals alike', async () => {
      for (const format of patchFormats) {
        const party = `v5-to-v4-${Math.random().toString(36).slice(2)}`;
        const created = await v5call(server, 'POST', '/shoppingCart', v5Cart(party));
        const id = created.body.id as string;
        const v4 = await call(server, 'GET', `/shoppingCart/${id}`);
        expect(v4.status).to.equal(200);
        expect(v4.body.href).to.equal(`${server.url}${base}/shoppingCart/${id}`);
        expect(v4.body.relatedParty[0]).to.include({
          id: party,
          role: 'customer',
          '@referredType': 'Individual',
        });
        expect(v4.body.contactMedium[0]).to.deep.include({
          mediumType: 'email',
          characteristic: { emailAddress: 'ann@example.com' },
        });
        expect(totalOf(v4.body)).to.deep.equal(totalOf(created.body));
        expect(v4.headers.get('etag')).to.equal(created.headers.get('etag'));
        const found = await call(server, 'GET', `/shoppingCart?relatedParty.id=${party}`);
        expect(found.body.map((c: { id: string }) => c.id)).to.deep.equal([id]);
        const patched = await call(server, 'PATCH', `/shoppingCart/${id}`, format.v4, {
          'Content-Type': format.type,
          'If-Match': '"1"',
        });
        expect(patched.status, `${format.type}: ${patched.text}`).to.equal(200);
        expect(totalOf(patched.body)).to.deep.equal([eur(36)]);
        const seen = await v5call(server, 'GET', `/shoppingCart/${id}`);
        expect(seen.body.cartItem[0].quantity).to.equal(3);
        expect(totalOf(seen.body)).to.deep.equal([eur(36)]);
        expect(seen.body.relatedParty[0].partyOrPartyRole.id).to.equal(party);
        expect(Date.parse(seen.body.lastUpdate)).to.be.at.least(Date.parse(seen.body.creationDate));
        expect((await call(server, 'DELETE', `/shoppingCart/${id}`)).status).to.equal(204);
        expectV5Error(await v5call(server, 'GET', `/shoppingCart/${id}`), 404);
      }
    });

    it('created on v4: read, filtered, patched (three formats) and deleted on v5, totals alike', async () => {
      for (const format of patchFormats) {
        const party = `v4-to-v5-${Math.random().toString(36).slice(2)}`;
        const created = await call(server, 'POST', '/shoppingCart', v4Cart(party));
        expect(created.status, created.text).to.equal(201);
        const id = created.body.id as string;
        const v5 = await v5call(server, 'GET', `/shoppingCart/${id}`);
        expect(v5.body.href).to.equal(`${server.url}${v5Base}/shoppingCart/${id}`);
        expect(v5.body.relatedParty[0]).to.deep.include({
          role: 'customer',
          partyOrPartyRole: { '@type': 'PartyRef', id: party, name: 'Ann', '@referredType': 'Individual' },
        });
        expect(v5.body.contactMedium[0]).to.include({
          '@type': 'EmailContactMedium',
          emailAddress: 'ann@example.com',
        });
        expect(totalOf(v5.body)).to.deep.equal(totalOf(created.body));
        const found = await v5call(server, 'GET', `/shoppingCart?relatedParty.partyOrPartyRole.id=${party}`);
        expect(found.body.map((c: { id: string }) => c.id)).to.deep.equal([id]);
        const patched = await v5call(server, 'PATCH', `/shoppingCart/${id}`, format.v5, {
          'Content-Type': format.type,
          'If-Match': v5.headers.get('etag') ?? '',
        });
        expect(patched.status, `${format.type}: ${patched.text}`).to.equal(200);
        expect(totalOf(patched.body)).to.deep.equal([eur(36)]);
        const seen = await call(server, 'GET', `/shoppingCart/${id}`);
        expect(seen.body.cartItem[0].quantity).to.equal(3);
        expect(totalOf(seen.body)).to.deep.equal([eur(36)]);
        expect(seen.body.relatedParty[0]).to.include({ id: party, '@referredType': 'Individual' });
        expect(seen.body.href).to.equal(`${server.url}${base}/shoppingCart/${id}`);
        expect((await v5call(server, 'DELETE', `/shoppingCart/${id}`)).status).to.equal(204);
        expect((await call(server, 'GET', `/shoppingCart/${id}`)).status).to.equal(404);
      }
    });

    it('a v5 patch that changes nothing keeps a v4 cart as it was: same ETag, stored form untouched', async () => {
      const v4 = {
        ...v4Cart(),
        relatedParty: [{ ...v4Cart().relatedParty[0], id: 'YY', partyOrPartyRole: { id: 'XX', href: 'hX' } }],
      };
      const created = await call(server, 'POST', '/shoppingCart', v4);
      expect(created.status).to.equal(201);
      const id = created.body.id as string;
      const etag = created.headers.get('etag');
      const noOps: [string, unknown][] = [
        ['application/json-patch+json', []],
        [
          'application/merge-patch+json',
          {
            '@type': 'ShoppingCart',
            relatedParty: (await v5call(server, 'GET', `/shoppingCart/${id}`)).body.relatedParty,
          },
        ],
      ];
      for (const [type, body] of noOps) {
        const answer = await v5call(server, 'PATCH', `/shoppingCart/${id}`, body, { 'Content-Type': type });
        expect(answer.status, type).to.equal(200);
        expect(answer.headers.get('etag'), type).to.equal(etag);
      }
      const seen = await call(server, 'GET', `/shoppingCart/${id}`);
      expect(seen.body).to.deep.equal(created.body);
      // A change elsewhere leaves the related party's stored form as it was.
      const named = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        [{ op: 'add', path: '/name', value: 'n' }],
        {
          'Content-Type': 'application/json-patch+json',
        },
      );
      expect(named.status).to.equal(200);
      expect((await call(server, 'GET', `/shoppingCart/${id}`)).body.relatedParty).to.deep.equal(
        v4.relatedParty,
      );
    });

    it("v5 patches: JSON Patch Query through partyOrPartyRole, the guide's == example, delete on JSON Patch", async () => {
      const id = (await v5call(server, 'POST', '/shoppingCart', v5Cart('q1'))).body.id as string;
      const query = { 'Content-Type': 'application/json-patch-query+json' };
      const named = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        [
          {
            op: 'replace',
            path: '/relatedParty/partyOrPartyRole/name?relatedParty.partyOrPartyRole.id=q1',
            value: 'N',
          },
        ],
        query,
      );
      expect(named.status).to.equal(200);
      expect(named.body.relatedParty[0].partyOrPartyRole.name).to.equal('N');
      const item = { ...v5Cart().cartItem[0], id: '1203-100' };
      const added = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        [{ op: 'add', path: '/cartItem/-', value: item }],
        {
          'Content-Type': 'application/json-patch+json',
        },
      );
      expect(added.body.cartItem).to.have.length(2);
      const removed = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        [{ op: 'delete', path: "/cartItem?cartItem.id=='1203-100' " }],
        query,
      );
      expect(removed.status).to.equal(200);
      expect(removed.body.cartItem.map((i: { id: string }) => i.id)).to.deep.equal(['1']);
      const deleted = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        [{ op: 'delete', path: '/contactMedium/0' }],
        {
          'Content-Type': 'application/json-patch+json',
        },
      );
      expect(deleted.status).to.equal(200);
      expect(deleted.body.contactMedium ?? []).to.deep.equal([]);
    });

    it('an ETag is made stale by a write through the other version (412 both ways)', async () => {
      const id = (await v5call(server, 'POST', '/shoppingCart', v5Cart())).body.id as string;
      const v5etag = (await v5call(server, 'GET', `/shoppingCart/${id}`)).headers.get('etag') ?? '';
      const v4write = await call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        { name: 'by v4' },
        {
          'Content-Type': 'application/merge-patch+json',
        },
      );
      expect(v4write.status).to.equal(200);
      expectV5Error(
        await v5call(
          server,
          'PATCH',
          `/shoppingCart/${id}`,
          { '@type': 'ShoppingCart', name: 'lost' },
          {
            'Content-Type': 'application/merge-patch+json',
            'If-Match': v5etag,
          },
        ),
        412,
      );
      expectV5Error(
        await v5call(server, 'DELETE', `/shoppingCart/${id}`, undefined, { 'If-Match': v5etag }),
        412,
      );
      const v4etag = v4write.headers.get('etag') ?? '';
      const v5write = await v5call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        { '@type': 'ShoppingCart', name: 'by v5' },
        {
          'Content-Type': 'application/merge-patch+json',
          'If-Match': v4etag,
        },
      );
      expect(v5write.status).to.equal(200);
      const stale = await call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        { name: 'lost' },
        {
          'Content-Type': 'application/merge-patch+json',
          'If-Match': v4etag,
        },
      );
      expect(stale.status).to.equal(412);
      expect((await call(server, 'GET', `/shoppingCart/${id}`)).body.name).to.equal('by v5');
    });
  });

  describe('events per subscriber version', () => {
    it('POST /hub on v5 takes Hub_FVO and answers a Hub; both versions list it in their shape', async () => {
      const l = await startListener();
      listeners.push(l);
      const created = await v5call(server, 'POST', '/hub', { '@type': 'Hub_FVO', callback: l.url });
      expect(created.status, created.text).to.equal(201);
      expect(created.body).to.include({ '@type': 'Hub', callback: l.url });
      expect(created.headers.get('location')).to.equal(`${server.url}${v5Base}/hub/${created.body.id}`);
      expectV5Error(await v5call(server, 'POST', '/hub', { callback: `${l.url}/x` }), 400);
      // The store records the version (events are shaped by it); a v4 subscription records none.
      expect(await server.store.getSubscription(created.body.id as string)).to.include({ apiVersion: 'v5' });
      const onV4 = await call(server, 'GET', `/hub/${created.body.id}`);
      expect(onV4.body).to.deep.equal({ id: created.body.id, callback: l.url, query: '' });
      expect((await v5call(server, 'GET', `/hub/${created.body.id}`)).body).to.deep.equal(created.body);
      expect((await v5call(server, 'GET', '/hub')).body).to.deep.include(created.body);
      expect((await v5call(server, 'DELETE', `/hub/${created.body.id}`)).status).to.equal(204);
      expectV5Error(await v5call(server, 'GET', `/hub/${created.body.id}`), 404);
    });

    it('one change reaches a v4 and a v5 subscriber, each in its own shape; v5 queries use v5 paths', async () => {
      const party = `ev-${Math.random().toString(36).slice(2)}`;
      const v4l = await startListener();
      const v5l = await startListener();
      listeners.push(v4l, v5l);
      v5l.script = [204, 204];
      const v4sub = await call(server, 'POST', '/hub', {
        callback: v4l.url,
        query: `event.shoppingCart.relatedParty.id=${party}`,
      });
      expect(v4sub.status, v4sub.text).to.equal(201);
      expect(await server.store.getSubscription(v4sub.body.id as string)).not.to.have.property('apiVersion');
      const v5sub = await v5call(server, 'POST', '/hub', {
        '@type': 'Hub_FVO',
        callback: v5l.url,
        query: `event.shoppingCart.relatedParty.partyOrPartyRole.id=${party}`,
      });
      expect(v5sub.status, v5sub.text).to.equal(201);
      // Another party's cart reaches neither.
      await v5call(server, 'POST', '/shoppingCart', v5Cart('someone-else'));
      const id = (await v5call(server, 'POST', '/shoppingCart', v5Cart(party))).body.id as string;
      const patched = await call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        { name: 'x' },
        {
          'Content-Type': 'application/merge-patch+json',
        },
      );
      expect(patched.status).to.equal(200);
      const [v4create, v4change] = await v4l.waitFor(2);
      const [v5create, v5change] = await v5l.waitFor(2);
      expect(v4create?.body).to.include({ eventType: 'ShoppingCartCreateEvent' });
      expect(v4create?.body).to.have.property('timeOcurred');
      expect(v4create?.body.event.shoppingCart.relatedParty[0].id).to.equal(party);
      expect(v4create?.body.event.shoppingCart.href).to.equal(`${server.url}${base}/shoppingCart/${id}`);
      expect(v4change?.body).to.include({ eventType: 'ShoppingCartAttributeValueChangeEvent' });
      for (const [received, type] of [
        [v5create, 'ShoppingCartCreateEvent'],
        [v5change, 'ShoppingCartAttributeValueChangeEvent'],
      ] as const) {
        expect(received?.body).to.include({ '@type': type, eventType: type });
        expect(received?.body).to.have.property('timeOccurred');
        expect(received?.body).not.to.have.property('timeOcurred');
        const cart = received?.body.event.shoppingCart;
        expect(cart.relatedParty[0].partyOrPartyRole.id).to.equal(party);
        expect(cart.href).to.equal(`${server.url}${v5Base}/shoppingCart/${id}`);
        expect(v5Problem(type, received?.body)).to.equal(undefined);
      }
      expect(v4l.received).to.have.length(2);
      expect(v5l.attempts.map((a) => a.status)).to.deep.equal([204, 204]);
    });

    it("a v5 subscriber's events carry the cart's own creationDate and lastUpdate, on change and delete too", async () => {
      const party = `times-ev-${Math.random().toString(36).slice(2)}`;
      const l = await startListener();
      listeners.push(l);
      l.script = [204, 204, 204];
      const sub = await v5call(server, 'POST', '/hub', {
        '@type': 'Hub_FVO',
        callback: l.url,
        query: `event.shoppingCart.relatedParty.partyOrPartyRole.id=${party}`,
      });
      expect(sub.status, sub.text).to.equal(201);
      const id = (await v5call(server, 'POST', '/shoppingCart', v5Cart(party))).body.id as string;
      const created = (await v5call(server, 'GET', `/shoppingCart/${id}`)).body;
      const patched = await call(
        server,
        'PATCH',
        `/shoppingCart/${id}`,
        { name: 'x' },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(patched.status).to.equal(200);
      const changed = (await v5call(server, 'GET', `/shoppingCart/${id}`)).body;
      expect(changed.creationDate).to.equal(created.creationDate);
      expect(changed.lastUpdate).not.to.equal(created.lastUpdate);
      expect((await call(server, 'DELETE', `/shoppingCart/${id}`)).status).to.equal(204);
      const [onCreate, onChange, onDelete] = await l.waitFor(3);
      const times = (e: typeof onCreate) => {
        const cart = e?.body.event.shoppingCart;
        return { type: e?.body['@type'], creationDate: cart?.creationDate, lastUpdate: cart?.lastUpdate };
      };
      expect([onCreate, onChange, onDelete].map(times)).to.deep.equal([
        {
          type: 'ShoppingCartCreateEvent',
          creationDate: created.creationDate,
          lastUpdate: created.lastUpdate,
        },
        {
          type: 'ShoppingCartAttributeValueChangeEvent',
          creationDate: created.creationDate,
          lastUpdate: changed.lastUpdate,
        },
        // A delete names the cart as it was last written.
        {
          type: 'ShoppingCartDeleteEvent',
          creationDate: created.creationDate,
          lastUpdate: changed.lastUpdate,
        },
      ]);
      for (const e of [onCreate, onChange, onDelete])
        expect(v5Problem(e?.body['@type'], e?.body)).to.equal(undefined);
      expect((await v5call(server, 'DELETE', `/hub/${sub.body.id}`)).status).to.equal(204);
    });

    it('a v5 subscription query that names an unknown path or metadata is refused (400)', async () => {
      expectV5Error(
        await v5call(server, 'POST', '/hub', {
          '@type': 'Hub_FVO',
          callback: 'http://127.0.0.1:9/x',
          query: 'event.shoppingCart.creationDate.gt=2020-01-01T00:00:00Z',
        }),
        400,
      );
    });
  });
});

describe('TMF663 v5: refusals in front of the routes, in v5 media type', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ BODY_LIMIT: '2kb', RATE_LIMIT_PER_MIN: '3' });
  });
  after(async () => {
    await server.stop();
    expect(server.errors).to.deep.equal([]);
  });

  it('413 for a body over BODY_LIMIT, 414 for a long URI, 429 past the rate limit shared with v4', async () => {
    const big = { ...v5Cart(), note: [{ '@type': 'Note', text: 'x'.repeat(3000) }] };
    expect(expectV5Error(await v5call(server, 'POST', '/shoppingCart', big), 413).code).to.equal(
      'PAYLOAD_TOO_LARGE',
    );
    expect(
      expectV5Error(await v5call(server, 'GET', `/shoppingCart/${'a'.repeat(10_000)}`), 414).code,
    ).to.equal('URI_TOO_LONG');
    // The 413 spent one request (the 414 is refused before the limit counts); one on v4 and one
    // on v5 spend the rest of the one allowance.
    expect((await call(server, 'GET', '/shoppingCart')).status).to.equal(200);
    expect((await v5call(server, 'GET', '/shoppingCart')).status).to.equal(200);
    const limited = await v5call(server, 'GET', '/shoppingCart');
    expect(expectV5Error(limited, 429).code).to.equal('TOO_MANY_REQUESTS');
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
  });
});

describe('TMF663 v5 under owner isolation (AUTH_OWNER_CLAIM)', () => {
  const secret = 'a-local-test-secret-of-at-least-32-bytes!';
  const server = useTestServer({
    AUTH_MODE: 'jwt',
    AUTH_SECRET: secret,
    AUTH_ISSUER: 'https://issuer.example.com/',
    AUTH_AUDIENCE: 'tmf663',
    AUTH_OWNER_CLAIM: 'party_id',
  });
  const as = async (party: string) => ({
    Authorization: `Bearer ${await new SignJWT({
      scope: 'shoppingCart:read shoppingCart:write',
      party_id: party,
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setIssuer('https://issuer.example.com/')
      .setAudience('tmf663')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))}`,
  });

  it('a party sees, lists and writes only its own carts through v5, and cannot hand one to another', async () => {
    const ann = await as('ann-v5');
    const bob = await as('bob-v5');
    const created = await v5call(server, 'POST', '/shoppingCart', v5Cart('ann-v5'), ann);
    expect(created.status, created.text).to.equal(201);
    const id = created.body.id as string;
    expect((await v5call(server, 'POST', '/shoppingCart', v5Cart('bob-v5'), bob)).status).to.equal(201);
    expectV5Error(await v5call(server, 'GET', `/shoppingCart/${id}`, undefined, bob), 404);
    expect((await call(server, 'GET', `/shoppingCart/${id}`, undefined, bob)).status).to.equal(404);
    const patchAsBob = await v5call(
      server,
      'PATCH',
      `/shoppingCart/${id}`,
      { '@type': 'ShoppingCart', name: 'bob' },
      {
        ...bob,
        'Content-Type': 'application/merge-patch+json',
      },
    );
    expectV5Error(patchAsBob, 404);
    const mine = await v5call(server, 'GET', '/shoppingCart', undefined, ann);
    expect(mine.body.map((c: { id: string }) => c.id)).to.deep.equal([id]);
    const handOver = await v5call(
      server,
      'PATCH',
      `/shoppingCart/${id}`,
      [{ op: 'replace', path: '/relatedParty/0/partyOrPartyRole/id', value: 'mallory' }],
      { ...ann, 'Content-Type': 'application/json-patch+json' },
    );
    expectV5Error(handOver, 403);
    expectV5Error(await v5call(server, 'DELETE', `/shoppingCart/${id}`, undefined, bob), 404);
    expect((await v5call(server, 'DELETE', `/shoppingCart/${id}`, undefined, ann)).status).to.equal(204);
  });
});
