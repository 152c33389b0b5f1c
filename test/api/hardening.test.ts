import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig, mongoMaxJsonDepth } from '../../src/config/config.js';
import { jsonDepth } from '../../src/http/hardening.js';
import type { Store } from '../../src/store/store.js';
import { base, call, expectTmfError, openTestStore, useTestServer } from '../support/server.js';

const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
};

describe('jsonDepth', () => {
  const cases: [string, number][] = [
    ['1', 0],
    ['"[[[{{{"', 0],
    ['{}', 1],
    ['[[],[[]]]', 3],
    ['{"a":"\\"[[[", "b":[{"c":[]}]}', 4],
    ['{"a":"\\\\", "b":[1]}', 2],
  ];
  for (const [text, depth] of cases) {
    it(`${text} is ${depth} deep`, () => {
      expect(jsonDepth(Buffer.from(text))).to.equal(depth);
    });
  }
});

describe('Hardening', () => {
  const server = useTestServer({ BODY_LIMIT: '2kb', JSON_MAX_DEPTH: '6' });

  it('sends security headers on API answers and probes', async () => {
    for (const path of ['/shoppingCart', '/health']) {
      const res = await call(server, 'GET', path);
      expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
      expect(res.headers.get('x-frame-options'), path).to.equal('SAMEORIGIN');
      expect(res.headers.get('strict-transport-security'), path).to.match(/max-age=\d+/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).to.contain("default-src 'self'");
      expect(csp, path).to.not.contain('upgrade-insecure-requests');
      expect(res.headers.get('x-powered-by'), path).to.equal(null);
    }
  });

  it('sends no CORS headers when CORS_ORIGINS is unset (a preflight is a 405)', async () => {
    const res = await call(server, 'GET', '/shoppingCart', undefined, { Origin: 'https://shop.example.com' });
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    const preflight = await call(server, 'OPTIONS', '/shoppingCart', undefined, {
      Origin: 'https://shop.example.com',
      'Access-Control-Request-Method': 'POST',
    });
    expectTmfError(preflight, 405);
  });

  it('refuses a body over BODY_LIMIT with 413 and stores nothing', async () => {
    const before = await call(server, 'GET', '/shoppingCart');
    const res = await call(server, 'POST', '/shoppingCart', { note: 'x'.repeat(3000) });
    expect(expectTmfError(res, 413).code).to.equal('PAYLOAD_TOO_LARGE');
    const after = await call(server, 'GET', '/shoppingCart');
    expect(after.body).to.have.length(before.body.length);
  });

  it('refuses a body nested deeper than JSON_MAX_DEPTH with 400; at the limit it is fine', async () => {
    const deep = await call(server, 'POST', '/shoppingCart', { note: nested(6) });
    expect(expectTmfError(deep, 400).message).to.contain('deeper than 6');
    const atLimit = await call(server, 'POST', '/shoppingCart', { note: nested(5) });
    expect(atLimit.status).to.equal(201);
    expect(atLimit.body.note).to.deep.equal(nested(5));
    // Brackets inside strings are text, not nesting.
    const text = await call(server, 'POST', '/shoppingCart', { note: '[[[[[[[[{{{{{{{{' });
    expect(text.status).to.equal(201);
  });

  it('answers 414 for a very long path and for a very long query', async () => {
    const longPath = await call(server, 'GET', `/shoppingCart/${'a'.repeat(10_000)}`);
    expect(expectTmfError(longPath, 414).code).to.equal('URI_TOO_LONG');
    const longQuery = await call(server, 'GET', `/shoppingCart?note=${'b'.repeat(8200)}`);
    expectTmfError(longQuery, 414);
    const outside = await call(server, 'GET', `/${'c'.repeat(10_000)}`);
    expectTmfError(outside, 414);
  });

  it('echoes a sane X-Request-ID and replaces an unsafe one with a ULID', async () => {
    const none = await call(server, 'GET', '/shoppingCart');
    expect(none.headers.get('x-request-id')).to.match(ulidPattern);
    const sane = await call(server, 'GET', '/shoppingCart', undefined, { 'X-Request-ID': 'abc-123.x:y_z' });
    expect(sane.headers.get('x-request-id')).to.equal('abc-123.x:y_z');
    for (const bad of ['a'.repeat(129), 'has space', 'semi;colon', '<script>']) {
      const res = await call(server, 'GET', '/shoppingCart', undefined, { 'X-Request-ID': bad });
      expect(res.headers.get('x-request-id'), bad).to.match(ulidPattern);
    }
    const error = await call(server, 'GET', '/shoppingCart/nope', undefined, { 'X-Request-ID': 'req-404' });
    expect(error.status).to.equal(404);
    expect(error.headers.get('x-request-id')).to.equal('req-404');
  });
});

describe('CORS (CORS_ORIGINS)', () => {
  const origin = 'https://shop.example.com';
  const server = useTestServer(
    { CORS_ORIGINS: `${origin}, https://admin.example.com` },
    {},
    { checkErrors: false },
  );

  it('answers a preflight from an allowed origin', async () => {
    const res = await call(server, 'OPTIONS', '/shoppingCart', undefined, {
      Origin: origin,
      'Access-Control-Request-Method': 'PATCH',
      'Access-Control-Request-Headers': 'content-type,if-match,authorization',
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-origin')).to.equal(origin);
    expect(res.headers.get('access-control-allow-methods')).to.contain('PATCH');
    expect(res.headers.get('access-control-allow-headers')).to.equal('content-type,if-match,authorization');
  });

  it('lets an allowed origin read the paging and concurrency headers; others get no grant', async () => {
    const res = await call(server, 'POST', '/shoppingCart', {}, { Origin: origin });
    expect(res.status).to.equal(201);
    expect(res.headers.get('access-control-allow-origin')).to.equal(origin);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',');
    expect(exposed).to.include.members([
      'Location',
      'ETag',
      'X-Total-Count',
      'X-Result-Count',
      'X-Request-ID',
    ]);
    const other = await call(server, 'GET', '/shoppingCart', undefined, {
      Origin: 'https://evil.example.com',
    });
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);
  });
});

describe('Rate limiting (RATE_LIMIT_PER_MIN)', () => {
  const server = useTestServer({ RATE_LIMIT_PER_MIN: '3' }, {}, { checkErrors: false });

  it('answers 429 with Retry-After and a TMF Error past the limit; probes are not limited', async () => {
    for (let i = 0; i < 3; i++) expect((await call(server, 'GET', '/shoppingCart')).status).to.equal(200);
    const res = await call(server, 'POST', '/shoppingCart', {});
    expect(expectTmfError(res, 429).code).to.equal('TOO_MANY_REQUESTS');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).to.be.within(1, 60);
    expect(res.headers.get('ratelimit')).to.match(/limit=3, remaining=0/);
    // Nothing was created by the refused POST.
    const total = (
      await server.store.listCarts(
        { filter: { conditions: [] }, fields: undefined, sort: [], offset: 0, limit: 10 },
        Date.now(),
      )
    ).total;
    expect(total).to.equal(0);
    for (let i = 0; i < 5; i++) expect((await call(server, 'GET', '/health')).status).to.equal(200);
  });
});

describe('Request deadline (REQUEST_TIMEOUT_MS)', () => {
  let release: () => void = () => undefined;
  let entered: () => void = () => undefined;
  let gate: Promise<void>;
  let inside: Promise<void>;
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-deadline-'));

  const slowStore = async (): Promise<Store> => {
    const real = await openTestStore(join(dir, 'slow.db'));
    gate = new Promise((r) => (release = r));
    inside = new Promise((r) => (entered = r));
    // A store whose reads of one cart hang until the test releases them.
    return new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'getCart') {
          return async (id: string, nowMs: number) => {
            if (id === 'slow') {
              entered();
              await gate;
            }
            return target.getCart(id, nowMs);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  after(() => {
    release(); // any gated read ends before the server stops
  });
  const server = useTestServer({ REQUEST_TIMEOUT_MS: '1000' }, async () => ({ store: await slowStore() }));
  before(async () => {
    // Warm up (the validator compiles on first use), so only the gated request is slow.
    expectTmfError(await call(server, 'GET', '/shoppingCart/warm-up'), 404);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 when a handler is too slow, and drops its late answer', async () => {
    const started = Date.now();
    const res = await call(server, 'GET', '/shoppingCart/slow');
    expect(expectTmfError(res, 503).message).to.contain('1000 ms');
    expect(Date.now() - started).to.be.below(5000);
    await inside;
    release();
    // The late answer (a 404) went nowhere; the server is fine.
    const next = await call(server, 'GET', '/shoppingCart/other');
    expectTmfError(next, 404);
  });

  it('sets the Node server timeouts from REQUEST_TIMEOUT_MS', () => {
    expect(server.server.requestTimeout).to.equal(1000);
    expect(server.server.headersTimeout).to.equal(1000);
  });

  it('exposes the base path under the deadline too', async () => {
    const res = await call(server, 'GET', `${base}/`);
    expect(res.status).to.equal(200);
  });
});

describe('JSON_MAX_DEPTH and patched carts', () => {
  // The highest depth the store under test allows (test/support/server.ts picks the store).
  const limit = process.env.STORE === 'mongodb' ? mongoMaxJsonDepth : 1000;
  const server = useTestServer({ JSON_MAX_DEPTH: String(limit) }, {}, { checkErrors: false });

  const arrays = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };

  it(`stores carts as deep as the limit (${limit}), arrays in arrays too, and reads them back`, async () => {
    for (const note of [nested(limit - 1), arrays(limit - 1)]) {
      const created = await call(server, 'POST', '/shoppingCart', { note });
      expect(created.status).to.equal(201);
      const read = await call(server, 'GET', `/shoppingCart/${(created.body as { id: string }).id}`);
      expect((read.body as { note: unknown }).note).to.deep.equal(note);
    }
  });

  it('refuses a patch that would make the cart deeper than the limit (400), and keeps the cart', async () => {
    const created = await call(server, 'POST', '/shoppingCart', { note: nested(limit - 1) });
    expect(created.status).to.equal(201);
    const id = (created.body as { id: string }).id;
    const deepest = `/note${'/n'.repeat(limit - 2)}`; // the innermost object, at depth `limit`
    const patch = (value: unknown) =>
      call(server, 'PATCH', `/shoppingCart/${id}`, [{ op: 'add', path: `${deepest}/more`, value }], {
        'Content-Type': 'application/json-patch+json',
      });
    // A scalar there keeps the depth: fine.
    const same = await patch('x');
    expect(same.status).to.equal(200);
    // An object there is one level too many; so is a body-deep value (twice the limit in all).
    for (const value of [{}, nested(limit - 3)]) {
      const refused = await patch(value);
      expect(expectTmfError(refused, 400).message).to.contain(`deeper than ${limit} levels`);
    }
    const read = await call(server, 'GET', `/shoppingCart/${id}`);
    let node = (read.body as { note: unknown }).note;
    for (let i = 0; i < limit - 2; i++) node = (node as { n: unknown }).n;
    expect(node).to.deep.equal({ n: 'leaf', more: 'x' });
    expect(read.headers.get('etag')).to.equal(same.headers.get('etag'));
  });

  it('is refused above 1000, and above 45 with STORE=mongodb, when the server starts', () => {
    expect(() => loadConfig({ JSON_MAX_DEPTH: '1001' })).to.throw(
      /JSON_MAX_DEPTH must be an integer from 1 to 1000/,
    );
    expect(() =>
      loadConfig({ STORE: 'mongodb', MONGODB_URI: 'mongodb://127.0.0.1:1/', JSON_MAX_DEPTH: '46' }),
    ).to.throw(/JSON_MAX_DEPTH must be at most 45 with STORE=mongodb/);
    expect(
      loadConfig({ STORE: 'mongodb', MONGODB_URI: 'mongodb://127.0.0.1:1/', JSON_MAX_DEPTH: '45' }).http
        .jsonMaxDepth,
    ).to.equal(45);
  });
});
