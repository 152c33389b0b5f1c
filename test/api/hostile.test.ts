/**
 * Hostile bodies and requests (issue 14): prototype keys in any body, prototype paths in any JSON
 * Patch operation, bytes that are not UTF-8, and requests Node's own parser refuses.
 */
import { connect } from 'node:net';
import { expect } from 'chai';
import { startListener, type Listener } from '../support/listener.js';
import { type Answer, call, expectTmfError, type TestServer, useTestServer } from '../support/server.js';

/** Sends raw bytes on a fresh connection and resolves with everything the server sent back. */
const raw = (server: TestServer, bytes: Buffer | string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.end(bytes);
  });

/** The status and TMF Error body of a raw HTTP answer. */
const parseRaw = (text: string): { status: number; body: Record<string, string>; type: string } => {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const type = /content-type: *([^\r\n]*)/i.exec(head)?.[1] ?? '';
  return { status, body: JSON.parse(body) as Record<string, string>, type };
};

describe('Hostile clients', () => {
  const server = useTestServer({}, {}, { checkErrors: false });

  const count = async (): Promise<number> =>
    Number((await call(server, 'GET', '/shoppingCart?limit=1')).headers.get('x-total-count'));

  describe('prototype keys in every body (400, nothing stored)', () => {
    const keys = ['__proto__', 'constructor', 'prototype'];
    for (const key of keys) {
      it(`refuses "${key}" at the top of a cart POST and deep inside one`, async () => {
        const before = await count();
        const top = `{"${key}": {"x": 1}, "cartItem": []}`;
        expectTmfError(await call(server, 'POST', '/shoppingCart', top), 400);
        const deep = `{"cartItem": [{"id": "1", "quantity": 1, "product": {"a": {"${key}": 1}}}]}`;
        const answer = await call(server, 'POST', '/shoppingCart', deep);
        expect(expectTmfError(answer, 400).message).to.contain(key);
        expect(await count()).to.equal(before);
      });

      it(`refuses "${key}" in a hub POST and creates no subscription`, async () => {
        const body = `{"callback": "http://127.0.0.1:9/cb-${key}", "query": "", "${key}": {"polluted": true}}`;
        expectTmfError(await call(server, 'POST', '/hub', body), 400);
        const subs = await call(server, 'GET', '/hub');
        expect(subs.body.map((s: { callback: string }) => s.callback)).not.to.include(
          `http://127.0.0.1:9/cb-${key}`,
        );
      });
    }

    it('refuses an escaped "\\u005f_proto__" key too (the parsed key is what counts)', async () => {
      expectTmfError(await call(server, 'POST', '/shoppingCart', '{"\\u005f_proto__": {"x": 1}}'), 400);
    });

    it('refuses prototype keys in every PATCH format, at any depth', async () => {
      const cart = await call(server, 'POST', '/shoppingCart', { cartItem: [] });
      const id = cart.body.id as string;
      const bodies: [string, string][] = [
        ['application/merge-patch+json', '{"x": {"y": {"constructor": {"z": 1}}}}'],
        ['application/json', '{"prototype": 1}'],
        ['application/json-patch+json', '[{"op": "add", "path": "/x", "value": {"__proto__": {"a": 1}}}]'],
        ['application/json-patch-query+json', '[{"op": "add", "path": "/x", "value": [{"constructor": 1}]}]'],
      ];
      for (const [type, body] of bodies) {
        const answer = await call(server, 'PATCH', `/shoppingCart/${id}`, body, { 'Content-Type': type });
        expectTmfError(answer, 400);
      }
      const after = await call(server, 'GET', `/shoppingCart/${id}`);
      expect(after.headers.get('etag')).to.equal('"1"');
    });
  });

  describe('JSON Patch operations from or at prototype paths (400 in every op)', () => {
    const ops = [
      { op: 'copy', from: '/cartItem/constructor', path: '/note' },
      { op: 'copy', from: '/__proto__', path: '/note' },
      { op: 'move', from: '/constructor', path: '/note' },
      { op: 'test', path: '/constructor', value: 1 },
      { op: 'test', path: '/cartItem/__proto__/x', value: 1 },
      { op: 'add', path: '/relatedParty/prototype', value: 1 },
    ];
    for (const op of ops) {
      it(`${op.op} ${op.from ?? op.path}`, async () => {
        const cart = await call(server, 'POST', '/shoppingCart', { cartItem: [], note: 'n' });
        const answer = await call(server, 'PATCH', `/shoppingCart/${cart.body.id as string}`, [op], {
          'Content-Type': 'application/json-patch+json',
        });
        expectTmfError(answer, 400);
        expect(server.errors).to.deep.equal([]);
        const after = await call(server, 'GET', `/shoppingCart/${cart.body.id as string}`);
        expect(after.body.note).to.equal('n');
      });
    }
  });

  describe('bytes that are not UTF-8', () => {
    it('refuses a cart POST with invalid UTF-8 with 400 and stores nothing', async () => {
      const before = await count();
      const body = Buffer.concat([
        Buffer.from('{"name": "caf'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]);
      const res = await fetch(`${server.url}/tmf-api/shoppingCart/v4/shoppingCart`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      const answer: Answer = { status: res.status, headers: res.headers, text: '', body: await res.json() };
      expect(expectTmfError(answer, 400).reason).to.equal('Invalid UTF-8');
      expect(await count()).to.equal(before);
    });

    it('refuses a PATCH holding a lone surrogate encoded as bytes (CESU) with 400', async () => {
      const cart = await call(server, 'POST', '/shoppingCart', { cartItem: [] });
      const body = Buffer.concat([
        Buffer.from('{"note": "'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]);
      const res = await fetch(
        `${server.url}/tmf-api/shoppingCart/v4/shoppingCart/${cart.body.id as string}`,
        {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/merge-patch+json' },
          body,
        },
      );
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { '@type': string })['@type']).to.equal('Error');
    });
  });

  describe('regular expressions run in linear time, within a budget', () => {
    it('answers a pattern that backtracks polynomially over a long value at once', async () => {
      const cart = await call(server, 'POST', '/shoppingCart', { note: 'x'.repeat(40_000) });
      expect(cart.status).to.equal(201);
      const pattern = encodeURIComponent('x*x*x*x*x*x*x*x*y');
      const list = await call(server, 'GET', `/shoppingCart?note.regex=${pattern}&fields=id`);
      expect(list.status).to.equal(200);
      expect(list.body).to.deep.equal([]);
      const anchored = encodeURIComponent('^x*x*x*x*x*x*x*x*$');
      const hit = await call(server, 'GET', `/shoppingCart?note.regex=${anchored}&fields=id`);
      expect(hit.body.map((c: { id: string }) => c.id)).to.include(cart.body.id);
    });

    it('refuses with 400 a list whose regex work would exceed the per-request budget', async () => {
      await call(server, 'POST', '/shoppingCart', { note: 'a'.repeat(20_000) });
      const pattern = encodeURIComponent('[a-z]{900}.0'); // `.`: evaluated in the application on MongoDB too
      const answer = await call(server, 'GET', `/shoppingCart?note.regex=${pattern}`);
      expect(expectTmfError(answer, 400).reason).to.equal('Query too expensive');
      expect(server.errors).to.deep.equal([]);
    });

    it('refuses a pattern heavier than the limit in a filter and in a subscription query', async () => {
      const heavy = encodeURIComponent('[a-z]{1000}[0-9]{1000}');
      expect(
        expectTmfError(await call(server, 'GET', `/shoppingCart?note.regex=${heavy}`), 400).message,
      ).to.contain('heavy');
      const sub = await call(server, 'POST', '/hub', {
        callback: 'http://127.0.0.1:9/heavy',
        query: `event.shoppingCart.note.regex=${heavy}`,
      });
      expectTmfError(sub, 400);
    });
  });

  describe('filter size: set tests for long value lists, explicit limits beyond', () => {
    it('answers a filter with 900 OR-ed values on an extension attribute and on id (200)', async () => {
      const a = await call(server, 'POST', '/shoppingCart', { channel: 'needle-17', note: 'n1' });
      const b = await call(server, 'POST', '/shoppingCart', { channel: 17 });
      const values = Array.from({ length: 900 }, (_, i) => `v${i}`);
      const ext = await call(
        server,
        'GET',
        `/shoppingCart?channel=${[...values, 'needle-17', '17'].join(',')}&fields=id`,
      );
      expect(ext.status, ext.text).to.equal(200);
      expect(ext.body.map((c: { id: string }) => c.id)).to.include.members([a.body.id, b.body.id]);
      const ids = await call(
        server,
        'GET',
        `/shoppingCart?id=${[...values, a.body.id as string].join(',')}&fields=id`,
      );
      expect(ids.body.map((c: { id: string }) => c.id)).to.deep.equal([a.body.id]);
      const ne = await call(
        server,
        'GET',
        `/shoppingCart?note!=${[...values, 'n1'].join(',')}&id=${a.body.id as string}`,
      );
      expect(ne.body).to.deep.equal([]);
      expect(server.errors).to.deep.equal([]);
    });

    it('refuses with 400 more than 1,000 values, 20 ordered values or 50 conditions', async () => {
      const many = Array.from({ length: 1001 }, (_, i) => String(i)).join(',');
      expect(expectTmfError(await call(server, 'GET', `/shoppingCart?id=${many}`), 400).message).to.contain(
        '1000',
      );
      const ordered = Array.from({ length: 21 }, (_, i) => `note.gt=${i}`).join('&');
      expectTmfError(await call(server, 'GET', `/shoppingCart?${ordered}`), 400);
      const conditions = Array.from({ length: 51 }, (_, i) => `a${i}=1`).join('&');
      expect(
        expectTmfError(await call(server, 'GET', `/shoppingCart?${conditions}`), 400).message,
      ).to.contain('50');
    });
  });

  describe("requests Node's parser refuses get a TMF Error", () => {
    it('a bad request line is a 400 with a TMF Error body', async () => {
      const answer = parseRaw(await raw(server, 'GET /tmf-api/shoppingCart/v4 HTTP/9\r\n\r\n'));
      expect(answer.status).to.equal(400);
      expect(answer.type).to.equal('application/json;charset=utf-8');
      expect(answer.body).to.include({ '@type': 'Error', code: 'BAD_REQUEST', status: '400' });
    });

    it('headers over the limit are a 431 with a TMF Error body', async () => {
      const big = `GET /tmf-api/shoppingCart/v4/shoppingCart HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
      const answer = parseRaw(await raw(server, big));
      expect(answer.status).to.equal(431);
      expect(answer.body).to.include({ '@type': 'Error', code: 'HEADERS_TOO_LARGE', status: '431' });
    });

    it('a URL over the header limit is a 431 with a TMF Error body', async () => {
      const long = `GET /tmf-api/shoppingCart/v4/shoppingCart?${'a=1&'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
      const answer = parseRaw(await raw(server, long));
      expect(answer.status).to.equal(431);
      expect(answer.body['@type']).to.equal('Error');
    });
  });
});

describe('Hostile subscription queries', () => {
  const server = useTestServer({}, {}, { checkErrors: false });
  let listener: Listener;
  before(async () => {
    listener = await startListener();
  });
  after(async () => {
    await listener.close();
  });

  it('an event whose regex routing would exceed the budget goes out unfiltered, and the overrun is logged', async () => {
    const sub = await call(server, 'POST', '/hub', {
      callback: `${listener.url}/budget`,
      query: `event.shoppingCart.note.regex=${encodeURIComponent('^y')}`,
    });
    expect(sub.status).to.equal(201);
    const small = await call(server, 'POST', '/shoppingCart', { note: 'y small' });
    const big = await call(server, 'POST', '/shoppingCart', { note: 'x'.repeat(400_000) });
    const skipped = await call(server, 'POST', '/shoppingCart', { note: 'x small' });
    await server.dispatcher.runOnce();
    await listener.waitFor(2);
    await server.dispatcher.runOnce();
    const ids = listener.received.map(
      (r) => (r.body as { event: { shoppingCart: { id: string } } }).event.shoppingCart.id,
    );
    expect(ids).to.have.members([small.body.id, big.body.id]);
    expect(ids).not.to.include(skipped.body.id);
    expect(server.errors.map((e) => (e as Error).name)).to.deep.equal(['AppError']);
    expect((server.errors[0] as Error).message).to.contain('regex');
  });
});
