import { expect } from 'chai';
import { base, call, expectTmfError, useTestServer } from '../support/server.js';

/** Headers that differ between any two answers (time, request id, connection handling). */
const volatile = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);
const stable = (headers: Headers): Record<string, string> =>
  Object.fromEntries([...headers].filter(([k]) => !volatile.has(k)));

describe('HTTP conformance: HEAD, Allow, bodies and messages', () => {
  const server = useTestServer();

  const raw = (method: string, path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${base}${path}`, { method, ...init });

  it('the operations endpoints and the docs page: HEAD as GET, other methods 405 with Allow', async () => {
    const paths = ['/health', '/ready', '/metrics', `${base}/docs/`];
    for (const path of paths) {
      const get = await fetch(`${server.url}${path}`);
      expect(get.status, `GET ${path}`).to.equal(200);
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      expect(head.status, `HEAD ${path}`).to.equal(200);
      expect(await head.text(), `HEAD ${path}`).to.equal('');
      for (const verb of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await fetch(`${server.url}${path}`, { method: verb });
        const text = await res.text();
        expect(res.status, `${verb} ${path}: ${text}`).to.equal(405);
        expect(res.headers.get('allow'), `${verb} ${path}`).to.equal('GET, HEAD');
        expect(JSON.parse(text)).to.include({ '@type': 'Error', code: 'METHOD_NOT_ALLOWED', status: '405' });
      }
    }
  });

  it('every path of the served document: HEAD answers as GET without a body, other methods 405 with Allow', async () => {
    const doc = (await call(server, 'GET', `${base}/openapi.json`)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const cart = await call(server, 'POST', '/shoppingCart', {});
    const hub = await call(server, 'POST', '/hub', { callback: 'http://127.0.0.1:9/listener' });
    const ids: Record<string, string> = { '/shoppingCart/{id}': cart.body.id, '/hub/{id}': hub.body.id };
    const templates = ['/', '/openapi.json', ...Object.keys(doc.paths)];
    expect(templates).to.include.members(['/shoppingCart', '/shoppingCart/{id}', '/hub', '/hub/{id}']);
    const verbs = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    for (const template of templates) {
      const declared =
        template === '/' || template === '/openapi.json'
          ? ['GET']
          : Object.keys(doc.paths[template] ?? {}).map((m) => m.toUpperCase());
      const allowed = declared.includes('GET') ? [...declared, 'HEAD'] : declared;
      const path = template.replace('{id}', ids[template] ?? 'x');
      if (allowed.includes('GET')) {
        // Twice the same read: the answers agree but for the body.
        const get = await raw('GET', path === '/' ? '/' : path);
        const getBody = await get.text();
        const head = await raw('HEAD', path === '/' ? '/' : path);
        expect(head.status, `HEAD ${template}`).to.equal(get.status);
        expect(head.status, `HEAD ${template}`).to.equal(200);
        expect(await head.text(), `HEAD ${template}`).to.equal('');
        expect(stable(head.headers), `HEAD ${template}`).to.deep.equal(stable(get.headers));
        expect(Number(head.headers.get('content-length'))).to.equal(Buffer.byteLength(getBody));
      }
      for (const verb of verbs.filter((v) => !allowed.includes(v))) {
        const res = await raw(verb, path);
        const text = await res.text();
        expect(res.status, `${verb} ${template}: ${text}`).to.equal(405);
        const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
        expect(allow.sort(), `${verb} ${template}`).to.deep.equal([...allowed].sort());
        expect(JSON.parse(text)).to.include({ '@type': 'Error', code: 'METHOD_NOT_ALLOWED', status: '405' });
      }
    }
  });

  it('HEAD of a missing cart is a 404 without a body; the client-side /listener paths are not served', async () => {
    const head = await raw('HEAD', '/shoppingCart/nope');
    expect(head.status).to.equal(404);
    expect(await head.text()).to.equal('');
    expectTmfError(await call(server, 'POST', `${base}/listener/shoppingCartCreateEvent`, {}), 404);
  });

  it('POST with no body at all is a 400; {} is a valid empty cart', async () => {
    const variants: Record<string, string>[] = [
      {},
      { 'Content-Type': 'application/json' },
      { 'Content-Length': '0' },
    ];
    for (const headers of variants) {
      const res = await raw('POST', '/shoppingCart', { headers });
      const body = (await res.json()) as Record<string, string>;
      expect(res.status, JSON.stringify(headers)).to.equal(400);
      expect(body.message).to.equal('the body: is required for POST');
    }
    const hub = await raw('POST', '/hub');
    expect(hub.status).to.equal(400);
    expect((await call(server, 'POST', '/shoppingCart', {})).status).to.equal(201);
  });

  it('names fields as clients write them, whoever finds the problem, and never shows route text', async () => {
    const validator = await call(server, 'POST', '/shoppingCart', { cartItem: [{ id: '1', quantity: 'x' }] });
    expect(expectTmfError(validator, 400).message).to.equal('cartItem[0].quantity: must be integer');
    const required = await call(server, 'POST', '/shoppingCart', {
      relatedParty: [{ id: 'p', role: 'customer' }],
    });
    expect(expectTmfError(required, 400).message).to.equal('relatedParty[0].@referredType: is required');
    const cart = await call(server, 'POST', '/shoppingCart', { cartItem: [{ id: '1', quantity: 1 }] });
    const patched = await call(
      server,
      'PATCH',
      `/shoppingCart/${cart.body.id as string}`,
      [{ op: 'replace', path: '/cartItem/0/quantity', value: 'x' }],
      { 'Content-Type': 'application/json-patch+json' },
    );
    expect(expectTmfError(patched, 400).message).to.equal('cartItem[0].quantity: must be integer');
    const query = await call(server, 'GET', '/shoppingCart?offset=-1');
    expect(expectTmfError(query, 400).message).to.match(/^offset: /);
    for (const [method, path] of [
      ['POST', '/shoppingCart'],
      ['PATCH', `/shoppingCart/${cart.body.id as string}`],
      ['POST', '/hub'],
    ] as const) {
      const res = await call(server, method, path, 'x', { 'Content-Type': 'text/plain' });
      const error = expectTmfError(res, 415);
      expect(error.message, `${method} ${path}`).to.match(/^Content-Type: text\/plain /);
      expect(error.message).to.not.match(/tmf-api|:id|\.shoppingCart/);
    }
  });

  it('found by the contract fuzzer: a 33-segment attribute path and an inexact integer are 400s, not 503s or rounding', async () => {
    const deep = Array.from({ length: 33 }, (_, i) => `a${String(i)}`).join('.');
    const ok = Array.from({ length: 32 }, (_, i) => `a${String(i)}`).join('.');
    expect((await call(server, 'GET', `/shoppingCart?${ok}=x&sort=${ok}&fields=${ok}`)).status).to.equal(200);
    for (const query of [`${deep}=x`, `${deep}.gt=1`, `sort=${deep}`, `sort=-${deep}`, `fields=${deep}`]) {
      const res = await call(server, 'GET', `/shoppingCart?${query}`);
      expect(expectTmfError(res, 400).message, query).to.match(/path segments|must match pattern/);
    }
    const huge = await call(
      server,
      'POST',
      '/shoppingCart',
      '{"cartItem":[{"id":"1","itemPrice":[{"priceType":"oneTime","priceAlteration":[{"priceType":"oneTime","priority":-277777575133855200000000000000,"price":{"percentage":1}}],"price":{"dutyFreeAmount":{"unit":"EUR","value":1}}}]}]}',
      { 'Content-Type': 'application/json' },
    );
    expect(expectTmfError(huge, 400).message).to.contain(
      'cartItem[0].itemPrice[0].priceAlteration[0].priority',
    );
  });

  it('POST /hub answers with an absolute Location, like a cart', async () => {
    const res = await call(server, 'POST', '/hub', { callback: 'http://127.0.0.1:9/absolute' });
    expect(res.status).to.equal(201);
    expect(res.headers.get('location')).to.equal(`${server.url}${base}/hub/${res.body.id as string}`);
    const cart = await call(server, 'POST', '/shoppingCart', {});
    expect(cart.headers.get('location')).to.equal(cart.body.href);
  });
});
