import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { startListener, type Listener } from '../support/listener.js';
import { base, call, expectTmfError, startTestServer, useTestServer } from '../support/server.js';

const issuer = 'https://issuer.example.com/';
const audience = 'tmf663';
const realm = 'Bearer realm="tmf663-shopping-cart"';

interface Claims {
  scope?: string;
  scp?: string[];
  party_id?: string;
  iss?: string;
  aud?: string;
  exp?: number | string;
  sub?: string;
}

async function sign(key: CryptoKey | Uint8Array, alg: string, claims: Claims, kid?: string): Promise<string> {
  const { exp = '5m', iss = issuer, aud = audience, ...rest } = claims;
  const jwt = new SignJWT({ ...rest })
    .setProtectedHeader({ alg, ...(kid === undefined ? {} : { kid }) })
    .setIssuedAt()
    .setIssuer(iss)
    .setAudience(aud);
  if (exp !== 0) jwt.setExpirationTime(exp);
  return jwt.sign(key);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A JWKS endpoint on loopback, as an identity provider would publish it. */
async function serveJwks(jwks: unknown): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('Authentication with JWKS (AUTH_MODE=jwt)', () => {
  let jwks: Awaited<ReturnType<typeof serveJwks>>;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  const token = (claims: Claims) => sign(key, 'RS256', claims, 'k1');

  before(async () => {
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = await serveJwks({ keys: [jwk] });
  });
  const server = useTestServer(() => ({
    AUTH_MODE: 'jwt',
    AUTH_JWKS_URL: jwks.url,
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: audience,
  }));
  after(async () => {
    await jwks.close();
  });

  it('answers 401 with a bare Bearer challenge when no token is sent', async () => {
    for (const headers of [{}, { Authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
      const res = await call(server, 'GET', '/shoppingCart', undefined, headers);
      expect(expectTmfError(res, 401).code).to.equal('UNAUTHORIZED');
      // RFC 6750 section 3.1: no error code when the request carried no token.
      expect(res.headers.get('www-authenticate')).to.equal(realm);
    }
  });

  it('accepts a valid token with the read scope, and the write scope for POST', async () => {
    const reader = await token({ scope: 'shoppingCart:read' });
    const writer = await token({ scope: 'openid shoppingCart:write' });
    const created = await call(server, 'POST', '/shoppingCart', {}, bearer(writer));
    expect(created.status).to.equal(201);
    const got = await call(server, 'GET', `/shoppingCart/${created.body.id}`, undefined, bearer(reader));
    expect(got.status).to.equal(200);
    expect(got.body.id).to.equal(created.body.id);
  });

  it('accepts scopes in an `scp` array', async () => {
    const res = await call(
      server,
      'GET',
      '/shoppingCart',
      undefined,
      bearer(await token({ scp: ['shoppingCart:read'] })),
    );
    expect(res.status).to.equal(200);
  });

  const rejected: [string, () => Promise<string>, RegExp][] = [
    ['a bad signature', () => sign(otherKey, 'RS256', { scope: 'shoppingCart:read' }, 'k1'), /signature/],
    [
      'an expired token',
      () => token({ scope: 'shoppingCart:read', exp: Math.floor(Date.now() / 1000) - 3600 }),
      /expired/,
    ],
    ['a wrong audience', () => token({ scope: 'shoppingCart:read', aud: 'someone-else' }), /"aud"/],
    [
      'a wrong issuer',
      () => token({ scope: 'shoppingCart:read', iss: 'https://evil.example.com/' }),
      /"iss"/,
    ],
    ['a token without exp', () => token({ scope: 'shoppingCart:read', exp: 0 }), /"exp"/],
    ['an unknown key id', () => sign(key, 'RS256', { scope: 'shoppingCart:read' }, 'nope'), /key/],
    [
      'an unsigned token (alg none)',
      () =>
        Promise.resolve(
          new UnsecuredJWT({ scope: 'shoppingCart:read' })
            .setIssuer(issuer)
            .setAudience(audience)
            .setExpirationTime('5m')
            .encode(),
        ),
      /not a valid|algorithm/,
    ],
    ['garbage', () => Promise.resolve('not.a.jwt'), /not a valid/],
  ];
  for (const [what, make, message] of rejected) {
    it(`answers 401 invalid_token for ${what}`, async () => {
      const res = await call(server, 'GET', '/shoppingCart', undefined, bearer(await make()));
      const body = expectTmfError(res, 401);
      expect(body.code).to.equal('UNAUTHORIZED');
      expect(body.message).to.match(message);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).to.match(
        /^Bearer realm="tmf663-shopping-cart", error="invalid_token", error_description="/,
      );
    });
  }

  it('answers 403 insufficient_scope naming the missing scope, and changes nothing', async () => {
    const reader = await token({ scope: 'shoppingCart:read' });
    const before = await call(server, 'GET', '/shoppingCart', undefined, bearer(reader));
    const res = await call(server, 'POST', '/shoppingCart', { note: 'no' }, bearer(reader));
    expect(expectTmfError(res, 403).code).to.equal('FORBIDDEN');
    expect(res.headers.get('www-authenticate')).to.equal(
      `${realm}, error="insufficient_scope", error_description="this operation needs shoppingCart:write", scope="shoppingCart:write"`,
    );
    const after = await call(server, 'GET', '/shoppingCart', undefined, bearer(reader));
    expect(after.body).to.have.length(before.body.length);

    const writer = await token({ scope: 'shoppingCart:write' });
    const list = await call(server, 'GET', '/shoppingCart', undefined, bearer(writer));
    expect(expectTmfError(list, 403).message).to.contain('shoppingCart:read');
  });

  it('guards the hub with the hub scope; admin implies every scope', async () => {
    const body = { callback: 'http://127.0.0.1:9/listener' };
    const writer = await token({ scope: 'shoppingCart:read shoppingCart:write' });
    expectTmfError(await call(server, 'POST', '/hub', body, bearer(writer)), 403);
    const hub = await token({ scope: 'shoppingCart:hub' });
    const created = await call(server, 'POST', '/hub', body, bearer(hub));
    expect(created.status).to.equal(201);
    const admin = await token({ scope: 'shoppingCart:admin' });
    expect(
      (await call(server, 'DELETE', `/hub/${created.body.id}`, undefined, bearer(admin))).status,
    ).to.equal(204);
    expect((await call(server, 'POST', '/shoppingCart', {}, bearer(admin))).status).to.equal(201);
  });

  it('leaves the entry point, the OpenAPI document, the docs and the probes public', async () => {
    for (const path of [
      `${base}/`,
      `${base}/openapi.json`,
      `${base}/docs/`,
      '/health',
      '/ready',
      '/metrics',
    ]) {
      const res = await call(server, 'GET', path);
      expect(res.status, path).to.equal(200);
    }
  });

  it('checks the token before reading the body (malformed JSON without a token is a 401)', async () => {
    const res = await call(server, 'POST', '/shoppingCart', '{not json');
    expectTmfError(res, 401);
  });
});

describe('Authentication when the JWKS cannot be fetched', () => {
  it('answers 503 (the token may be fine; we cannot tell), not 401', async () => {
    const jwks = await serveJwks({ keys: [] });
    const url = jwks.url;
    await jwks.close(); // nothing listens there any more
    const server = await startTestServer({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: url });
    try {
      const { privateKey } = await generateKeyPair('RS256');
      const res = await call(
        server,
        'GET',
        '/shoppingCart',
        undefined,
        bearer(await sign(privateKey, 'RS256', { scope: 'shoppingCart:read' }, 'k1')),
      );
      expectTmfError(res, 503);
    } finally {
      await server.stop();
    }
  });
});

describe('Authentication with a PEM public key (AUTH_SECRET)', () => {
  let key: CryptoKey;
  let pem: string;
  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    pem = await exportSPKI(pair.publicKey);
  });
  const server = useTestServer(() => ({ AUTH_MODE: 'jwt', AUTH_SECRET: pem }), {}, { checkErrors: false });

  it('accepts a token signed with the matching private key', async () => {
    const res = await call(
      server,
      'GET',
      '/shoppingCart',
      undefined,
      bearer(await sign(key, 'ES256', { scope: 'shoppingCart:read' })),
    );
    expect(res.status).to.equal(200);
  });

  it('refuses an HS256 token keyed with the public key text (algorithm confusion)', async () => {
    const forged = await sign(new TextEncoder().encode(pem), 'HS256', { scope: 'shoppingCart:admin' });
    expectTmfError(await call(server, 'GET', '/shoppingCart', undefined, bearer(forged)), 401);
  });
});

describe('Owner isolation (AUTH_OWNER_CLAIM)', () => {
  const secret = new TextEncoder().encode('a-local-test-secret-of-at-least-32-bytes!');
  const server = useTestServer({
    AUTH_MODE: 'jwt',
    AUTH_SECRET: new TextDecoder().decode(secret),
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: audience,
    AUTH_OWNER_CLAIM: 'party_id',
  });
  const rw = 'shoppingCart:read shoppingCart:write';
  const as = async (party: string | undefined, scope = rw) =>
    bearer(await sign(secret, 'HS256', { scope, ...(party === undefined ? {} : { party_id: party }) }));
  const party = (id: string) => ({ id, '@referredType': 'Individual', role: 'customer' });

  it('adds the creator to relatedParty when absent, and keeps it once when present', async () => {
    const alice = await as('alice');
    const bare = await call(server, 'POST', '/shoppingCart', {}, alice);
    expect(bare.status).to.equal(201);
    expect(bare.body.relatedParty).to.deep.equal([party('alice')]);
    const withOthers = await call(
      server,
      'POST',
      '/shoppingCart',
      { relatedParty: [party('shop-7'), { id: 'alice', '@referredType': 'Individual', role: 'buyer' }] },
      alice,
    );
    expect(withOthers.body.relatedParty.map((p: { id: string }) => p.id)).to.deep.equal(['shop-7', 'alice']);
    const stored = await server.store.getCart(withOthers.body.id as string, Date.now());
    expect(stored?.doc.relatedParty).to.deep.equal(withOthers.body.relatedParty);
  });

  it("answers 404 (never 403) for another party's cart, and leaves it unchanged", async () => {
    const alice = await as('alice');
    const bob = await as('bob');
    const cart = await call(server, 'POST', '/shoppingCart', { note: 'alice' }, alice);
    const id = cart.body.id as string;
    expectTmfError(await call(server, 'GET', `/shoppingCart/${id}`, undefined, bob), 404);
    expectTmfError(await call(server, 'PATCH', `/shoppingCart/${id}`, { note: 'bob was here' }, bob), 404);
    expectTmfError(await call(server, 'DELETE', `/shoppingCart/${id}`, undefined, bob), 404);
    const got = await call(server, 'GET', `/shoppingCart/${id}`, undefined, alice);
    expect(got.status).to.equal(200);
    expect(got.body).to.deep.equal(cart.body);
    expect(got.headers.get('etag')).to.equal('"1"');
  });

  it('lists only the caller’s own carts, even when it filters by another id', async () => {
    const carol = await as('carol');
    const dave = await as('dave');
    const mine = await call(server, 'POST', '/shoppingCart', {}, carol);
    const theirs = await call(server, 'POST', '/shoppingCart', {}, dave);
    const list = await call(server, 'GET', '/shoppingCart', undefined, carol);
    expect(list.status).to.equal(200);
    expect(list.body.map((c: { id: string }) => c.id)).to.deep.equal([mine.body.id]);
    expect(list.headers.get('x-total-count')).to.equal('1');
    const probe = await call(server, 'GET', `/shoppingCart?id=${theirs.body.id}`, undefined, carol);
    expect(probe.body).to.deep.equal([]);
    const admin = await call(
      server,
      'GET',
      '/shoppingCart',
      undefined,
      await as(undefined, 'shoppingCart:admin'),
    );
    const ids = admin.body.map((c: { id: string }) => c.id);
    expect(ids).to.include.members([mine.body.id, theirs.body.id]);
  });

  it('lets the owner patch and delete its cart, but not hand it to another party', async () => {
    const erin = await as('erin');
    const cart = await call(server, 'POST', '/shoppingCart', {}, erin);
    const id = cart.body.id as string;
    const patched = await call(server, 'PATCH', `/shoppingCart/${id}`, { note: 'mine' }, erin);
    expect(patched.status).to.equal(200);
    expect(patched.body.note).to.equal('mine');
    const handOver = await call(
      server,
      'PATCH',
      `/shoppingCart/${id}`,
      { relatedParty: [party('mallory')] },
      erin,
    );
    expect(expectTmfError(handOver, 403).message).to.contain('erin');
    expect((await server.store.getCart(id, Date.now()))?.doc.relatedParty).to.deep.equal([party('erin')]);
    // If-Match is honoured through the owner check.
    expectTmfError(
      await call(server, 'DELETE', `/shoppingCart/${id}`, undefined, { ...erin, 'If-Match': '"1"' }),
      412,
    );
    const del = await call(server, 'DELETE', `/shoppingCart/${id}`, undefined, {
      ...erin,
      'If-Match': '"2"',
    });
    expect(del.status).to.equal(204);
    expect(await server.store.getCart(id, Date.now())).to.equal(undefined);
  });

  it('refuses a cart that names only other parties (403), so it never shows up in their list', async () => {
    const frank = await as('frank');
    const before = await call(server, 'GET', '/shoppingCart', undefined, await as('victim'));
    const res = await call(server, 'POST', '/shoppingCart', { relatedParty: [party('victim')] }, frank);
    expect(expectTmfError(res, 403).message).to.contain('frank');
    const after = await call(server, 'GET', '/shoppingCart', undefined, await as('victim'));
    expect(after.body).to.deep.equal(before.body);
  });

  describe('hub subscriptions', () => {
    const hub = 'shoppingCart:hub';
    let listenerA: Listener;
    let listenerB: Listener;
    before(async () => {
      listenerA = await startListener();
      listenerB = await startListener();
    });
    after(async () => {
      await listenerA.close();
      await listenerB.close();
    });

    it('belong to their creator: another party cannot list, read or delete them; admin can', async () => {
      const gina = await as('gina', hub);
      const hank = await as('hank', hub);
      const g = await call(server, 'POST', '/hub', { callback: `${listenerA.url}/gina`, query: '' }, gina);
      expect(g.status).to.equal(201);
      expect(g.body).to.have.keys(['id', 'callback', 'query']);
      const h = await call(server, 'POST', '/hub', { callback: `${listenerB.url}/hank`, query: '' }, hank);
      const ginaList = await call(server, 'GET', '/hub', undefined, gina);
      expect(ginaList.body).to.deep.equal([g.body]);
      expectTmfError(await call(server, 'GET', `/hub/${h.body.id as string}`, undefined, gina), 404);
      expectTmfError(await call(server, 'DELETE', `/hub/${h.body.id as string}`, undefined, gina), 404);
      expect(await server.store.getSubscription(h.body.id as string)).to.include({ owner: 'hank' });
      const admin = await as(undefined, 'shoppingCart:admin');
      const all = await call(server, 'GET', '/hub', undefined, admin);
      expect(all.body.map((x: { id: string }) => x.id)).to.include.members([g.body.id, h.body.id]);
      expect((await call(server, 'GET', `/hub/${h.body.id as string}`, undefined, hank)).body).to.deep.equal(
        h.body,
      );
      expect((await call(server, 'DELETE', `/hub/${g.body.id as string}`, undefined, admin)).status).to.equal(
        204,
      );
      expect((await call(server, 'DELETE', `/hub/${h.body.id as string}`, undefined, hank)).status).to.equal(
        204,
      );
    });

    it('are unique per owner: two parties may use the same callback and query; one party twice is 409', async () => {
      const kate = await as('kate', hub);
      const liam = await as('liam', hub);
      const admin = await as(undefined, 'shoppingCart:admin');
      const body = {
        callback: `${listenerA.url}/shared-${Date.now()}`,
        query: 'eventType=ShoppingCartCreateEvent',
      };
      const k = await call(server, 'POST', '/hub', body, kate);
      const l = await call(server, 'POST', '/hub', body, liam);
      expect([k.status, l.status]).to.deep.equal([201, 201]);
      expect(l.body.id).to.not.equal(k.body.id);
      expect(expectTmfError(await call(server, 'POST', '/hub', body, kate), 409).reason).to.equal(
        'Duplicate subscription',
      );
      // The admin side (no owner) is one more owner of its own: once, then 409.
      expect((await call(server, 'POST', '/hub', body, admin)).status).to.equal(201);
      expectTmfError(await call(server, 'POST', '/hub', body, admin), 409);
      expect((await call(server, 'GET', '/hub', undefined, liam)).body).to.deep.equal([l.body]);
      const owners = (await server.store.listSubscriptions())
        .filter((x) => x.callback === body.callback)
        .map((x) => x.owner ?? '(none)');
      expect(owners).to.have.members(['kate', 'liam', '(none)']);
    });

    it('deliver only events about carts the subscriber may read, whatever its query says', async () => {
      const ivy = await as('ivy', `${hub} ${rw}`);
      const jack = await as('jack', rw);
      const sub = await call(server, 'POST', '/hub', { callback: `${listenerA.url}/ivy`, query: '' }, ivy);
      expect(sub.status).to.equal(201);
      const theirs = await call(server, 'POST', '/shoppingCart', { note: 'jack' }, jack);
      const shared = await call(
        server,
        'POST',
        '/shoppingCart',
        { note: 'shared', relatedParty: [party('jack'), party('ivy')] },
        jack,
      );
      const mine = await call(server, 'POST', '/shoppingCart', { note: 'ivy' }, ivy);
      await server.dispatcher.runOnce();
      await listenerA.waitFor(2);
      await server.dispatcher.runOnce();
      const ids = listenerA.received
        .filter((r) => r.path === '/ivy')
        .map((r) => (r.body as { event: { shoppingCart: { id: string } } }).event.shoppingCart.id);
      expect(ids).to.have.members([shared.body.id, mine.body.id]);
      expect(ids).not.to.include(theirs.body.id);
      await call(server, 'DELETE', `/hub/${sub.body.id as string}`, undefined, ivy);
    });
  });

  it('refuses a non-admin token without the owner claim (401)', async () => {
    const res = await call(server, 'GET', '/shoppingCart', undefined, await as(undefined));
    expect(expectTmfError(res, 401).message).to.contain('party_id');
    expect(res.headers.get('www-authenticate')).to.contain('error="invalid_token"');
  });
});
