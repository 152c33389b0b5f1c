// Idempotency-Key on POST /shoppingCart and POST /hub (src/http/idempotency.ts), on the store of
// the run: replays, mismatches, concurrency, restart, scoping, retention and key syntax.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { loadConfig } from '../../src/config/config.js';
import { storeUnavailable, type AppError } from '../../src/errors.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';
import { startServer } from '../../src/server.js';
import {
  type Answer,
  call,
  expectTmfError,
  freshDbName,
  openTestStore,
  startTestServer,
  useTestServer,
} from '../support/server.js';

const key = (): string => `key-${randomUUID()}`;
const withKey = (k: string) => ({ 'Idempotency-Key': k });

/** How many carts carry this note: the test's own data, whatever else the store holds. */
async function cartsNamed(server: { url: string }, name: string): Promise<number> {
  const list = await call(server, 'GET', `/shoppingCart?name=${encodeURIComponent(name)}&fields=id`);
  expect(list.status).to.equal(200);
  return Number(list.headers.get('x-total-count'));
}

/** The parts of an answer a replay must repeat exactly. */
const essence = (a: Answer) => ({
  status: a.status,
  location: a.headers.get('location'),
  etag: a.headers.get('etag'),
  contentType: a.headers.get('content-type'),
  text: a.text,
});

describe('Idempotency-Key', () => {
  const server = useTestServer({}, {}, { checkErrors: false });

  it('answers a repeated create with the first answer and creates nothing more', async () => {
    const k = key();
    const name = `repeat-${k}`;
    const body = { name, cartItem: [{ id: '1', quantity: 2, action: 'add' }] };
    const first = await call(server, 'POST', '/shoppingCart', body, withKey(k));
    expect(first.status).to.equal(201);
    expect(first.headers.get('idempotent-replayed')).to.equal(null);
    // The same body with its keys in another order is the same request.
    const reordered = { cartItem: [{ action: 'add', quantity: 2, id: '1' }], name };
    const second = await call(server, 'POST', '/shoppingCart', reordered, withKey(k));
    expect(essence(second)).to.deep.equal(essence(first));
    expect(second.headers.get('idempotent-replayed')).to.equal('true');
    expect(await cartsNamed(server, name)).to.equal(1);
    // Without a key, the same body creates another cart (the header is the opt-in).
    expect((await call(server, 'POST', '/shoppingCart', body)).status).to.equal(201);
    expect(await cartsNamed(server, name)).to.equal(2);
  });

  it('refuses the same key with a different body (422) and creates nothing', async () => {
    const k = key();
    const name = `mismatch-${k}`;
    expect((await call(server, 'POST', '/shoppingCart', { name }, withKey(k))).status).to.equal(201);
    const other = await call(server, 'POST', '/shoppingCart', { name, description: 'x' }, withKey(k));
    const error = expectTmfError(other, 422);
    expect(error.code).to.equal('IDEMPOTENCY_KEY_REUSED');
    expect(await cartsNamed(server, name)).to.equal(1);
    // The same key on the other creating operation is a different request too.
    const hub = await call(server, 'POST', '/hub', { callback: 'http://127.0.0.1:9/x' }, withKey(k));
    expect(expectTmfError(hub, 422).code).to.equal('IDEMPOTENCY_KEY_REUSED');
  });

  it('makes exactly one cart of 50 concurrent creates with one key, and 50 identical answers', async () => {
    const k = key();
    const name = `burst-${k}`;
    const body = { name, cartItem: [{ id: '1', quantity: 1, action: 'add' }] };
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => call(server, 'POST', '/shoppingCart', body, withKey(k))),
    );
    const first = essence(answers[0]!);
    expect(first.status).to.equal(201);
    for (const a of answers) expect(essence(a)).to.deep.equal(first);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === null)).to.have.length(1);
    expect(await cartsNamed(server, name)).to.equal(1);
    const id = JSON.parse(first.text).id as string;
    expect((await call(server, 'GET', `/shoppingCart/${id}`)).status).to.equal(200);
  });

  it('makes exactly one subscription of concurrent POST /hub with one key', async () => {
    const k = key();
    const body = { callback: `http://127.0.0.1:9/${k}` };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call(server, 'POST', '/hub', body, withKey(k))),
    );
    const first = essence(answers[0]!);
    expect(first.status).to.equal(201);
    for (const a of answers) expect(essence(a)).to.deep.equal(first);
    const subs = (await call(server, 'GET', '/hub')).body as { callback: string }[];
    expect(subs.filter((s) => s.callback === body.callback)).to.have.length(1);
    await call(server, 'DELETE', `/hub/${JSON.parse(first.text).id as string}`);
  });

  it('gives the key up after a 4xx answer: nothing was created, so a retry runs afresh', async () => {
    const k = key();
    const name = `released-${k}`;
    const bad = {
      name,
      validFor: { startDateTime: '2030-01-02T00:00:00Z', endDateTime: '2030-01-01T00:00:00Z' },
    };
    expectTmfError(await call(server, 'POST', '/shoppingCart', bad, withKey(k)), 400);
    // A corrected body with the same key is not a "different request": the key was never used.
    const fixed = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(fixed.status).to.equal(201);
    expect(await cartsNamed(server, name)).to.equal(1);
  });

  it('answers 409 with Retry-After while another process holds the key, then replays its answer', async () => {
    const k = key();
    const name = `elsewhere-${k}`;
    const body = { name };
    // First, learn the fingerprint of this request as the server makes it.
    const probeKey = key();
    await call(server, 'POST', '/shoppingCart', body, withKey(probeKey));
    const now = Date.now();
    const probe = await server.store.claimIdempotencyKey(
      { scope: '', key: probeKey, fingerprint: '', token: 't', expiresAt: now + 60_000 },
      now,
    );
    if (probe.claimed) throw new Error('the probe key should be held');
    // Another process claims `k` for the same request and is still running it.
    const claim = await server.store.claimIdempotencyKey(
      { scope: '', key: k, fingerprint: probe.record.fingerprint, token: 'other', expiresAt: now + 60_000 },
      now,
    );
    expect(claim.claimed).to.equal(true);
    const busy = await call(server, 'POST', '/shoppingCart', body, withKey(k));
    expect(expectTmfError(busy, 409).code).to.equal('IDEMPOTENCY_KEY_IN_USE');
    expect(busy.headers.get('retry-after')).to.equal('1');
    expect(await cartsNamed(server, name)).to.equal(1); // only the probe's cart
    // The other process answers; the retry gets its answer.
    const answer = { status: 201, headers: { ETag: '"1"' }, body: '{"id":"elsewhere"}' };
    expect(await server.store.completeIdempotencyKey('', k, 'other', answer, now + 60_000)).to.equal(true);
    const replayed = await call(server, 'POST', '/shoppingCart', body, withKey(k));
    expect(replayed.status).to.equal(201);
    expect(replayed.text).to.equal('{"id":"elsewhere"}');
    expect(replayed.headers.get('etag')).to.equal('"1"');
  });

  it('accepts the draft quoted form and refuses malformed keys with 400', async () => {
    const k = key();
    const name = `quoted-${k}`;
    const a = await call(server, 'POST', '/shoppingCart', { name }, { 'Idempotency-Key': `"${k}"` });
    const b = await call(server, 'POST', '/shoppingCart', { name }, { 'Idempotency-Key': k });
    expect(essence(b)).to.deep.equal(essence(a)); // "k" and k are the same key
    for (const bad of ['""', '"unterminated', 'x'.repeat(256)]) {
      const answer = await call(server, 'POST', '/shoppingCart', { name }, { 'Idempotency-Key': bad });
      expect(answer.status, bad).to.equal(400);
      expectTmfError(answer, 400);
    }
    expect(await cartsNamed(server, name)).to.equal(1);
  });
});

describe('Idempotency-Key retention (IDEMPOTENCY_TTL)', () => {
  let clock = Date.parse('2031-01-01T00:00:00Z');
  const server = useTestServer(
    { IDEMPOTENCY_TTL: '1h' },
    { now: () => new Date(clock) },
    { checkErrors: false },
  );

  it('keeps a key for the configured time, then forgets it and purges it', async () => {
    const k = key();
    const name = `ttl-${k}`;
    const first = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    clock += 59 * 60_000;
    expect(essence(await call(server, 'POST', '/shoppingCart', { name }, withKey(k)))).to.deep.equal(
      essence(first),
    );
    clock += 2 * 60_000;
    // Past the retention the key is free: the same request creates again.
    const later = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(later.status).to.equal(201);
    expect(later.text).to.not.equal(first.text);
    expect(await cartsNamed(server, name)).to.equal(2);
    clock += 2 * 3_600_000;
    expect(await server.store.purgeIdempotencyKeys(clock)).to.be.at.least(1);
  });
});

describe('Idempotency-Key across a restart', () => {
  it('answers a key used before the restart with the same answer, creating nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-idem-restart-'));
    const path = join(dir, 'r.db');
    const dbName = freshDbName();
    const env = { PORT: '0', HOST: '127.0.0.1', SQLITE_PATH: path, LOG_LEVEL: 'silent' };
    const k = key();
    const name = `restart-${k}`;
    try {
      const store1 = await openTestStore(path, dbName);
      const first = await startServer(loadConfig(env), store1, { validateResponses: true });
      const before = await call(first, 'POST', '/shoppingCart', { name }, withKey(k));
      expect(before.status).to.equal(201);
      await first.close();
      await store1.close();

      const store2 = await openTestStore(path, dbName);
      const second = await startServer(loadConfig(env), store2, { validateResponses: true });
      try {
        const after = await call(second, 'POST', '/shoppingCart', { name }, withKey(k));
        // The href, Location and body name the first server's address; the port changed, so
        // the same text proves the answer was remembered, not made again.
        expect(essence(after)).to.deep.equal(essence(before));
        expect(after.headers.get('idempotent-replayed')).to.equal('true');
        expect(await cartsNamed(second, name)).to.equal(1);
        const other = await call(second, 'POST', '/shoppingCart', { name, note: [] }, withKey(k));
        expect(expectTmfError(other, 422).code).to.equal('IDEMPOTENCY_KEY_REUSED');
      } finally {
        await second.close();
        await store2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Idempotency-Key with authentication on', () => {
  const secret = new TextEncoder().encode('an idempotency test secret of 32+ bytes!');
  const server = useTestServer(
    { AUTH_MODE: 'jwt', AUTH_SECRET: new TextDecoder().decode(secret) },
    {},
    { checkErrors: false },
  );
  const tokenOf = (sub: string) =>
    new SignJWT({ scope: 'shoppingCart:admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('5m')
      .sign(secret);

  it("scopes keys to the caller: another caller's key is its own", async () => {
    const k = key();
    const name = `scoped-${k}`;
    const alice = { Authorization: `Bearer ${await tokenOf('alice')}`, ...withKey(k) };
    const bob = { Authorization: `Bearer ${await tokenOf('bob')}`, ...withKey(k) };
    const a1 = await call(server, 'POST', '/shoppingCart', { name }, alice);
    const b1 = await call(server, 'POST', '/shoppingCart', { name }, bob);
    const a2 = await call(server, 'POST', '/shoppingCart', { name }, alice);
    expect(a1.status).to.equal(201);
    expect(b1.status).to.equal(201);
    expect(b1.body.id).to.not.equal(a1.body.id);
    expect(essence(a2)).to.deep.equal(essence(a1));
    // Bob reusing his key with another body is refused; Alice's record is untouched by it.
    const b2 = await call(server, 'POST', '/shoppingCart', { name, description: 'd' }, bob);
    expect(expectTmfError(b2, 422).code).to.equal('IDEMPOTENCY_KEY_REUSED');
    const list = await call(server, 'GET', `/shoppingCart?name=${name}&fields=id`, undefined, {
      Authorization: alice.Authorization,
    });
    expect(list.headers.get('x-total-count')).to.equal('2');
  });
});

describe('Idempotency-Key under owner isolation (AUTH_OWNER_CLAIM), tokens without `sub`', () => {
  const secret = new TextEncoder().encode('an idempotency owner secret of 32+ bytes');
  const server = useTestServer(
    {
      AUTH_MODE: 'jwt',
      AUTH_SECRET: new TextDecoder().decode(secret),
      AUTH_OWNER_CLAIM: 'party_id',
    },
    {},
    { checkErrors: false },
  );
  const bearerOf = async (claims: Record<string, string>) => ({
    Authorization: `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret)}`,
  });
  const rw = 'shoppingCart:read shoppingCart:write';

  it('scopes keys by the party: two parties with one key and one body get a cart each', async () => {
    const k = key();
    const name = `owner-scoped-${k}`;
    const alice = await bearerOf({ scope: rw, party_id: 'alice' });
    const bob = await bearerOf({ scope: rw, party_id: 'bob' });
    const a1 = await call(server, 'POST', '/shoppingCart', { name }, { ...alice, ...withKey(k) });
    const b1 = await call(server, 'POST', '/shoppingCart', { name }, { ...bob, ...withKey(k) });
    expect([a1.status, b1.status]).to.deep.equal([201, 201]);
    expect(b1.headers.get('idempotent-replayed')).to.equal(null);
    expect(b1.body.id).to.not.equal(a1.body.id);
    // Each replay is the party's own cart.
    const a2 = await call(server, 'POST', '/shoppingCart', { name }, { ...alice, ...withKey(k) });
    const b2 = await call(server, 'POST', '/shoppingCart', { name }, { ...bob, ...withKey(k) });
    expect(essence(a2)).to.deep.equal(essence(a1));
    expect(essence(b2)).to.deep.equal(essence(b1));
    const list = async (who: Record<string, string>) =>
      (await call(server, 'GET', `/shoppingCart?name=${name}&fields=id`, undefined, who)).body.map(
        (c: { id: string }) => c.id,
      );
    expect(await list(alice)).to.deep.equal([a1.body.id]);
    expect(await list(bob)).to.deep.equal([b1.body.id]);
  });

  it('refuses a key from a token naming no caller (admin without sub): 400, nothing created', async () => {
    const k = key();
    const name = `no-caller-${k}`;
    const admin = await bearerOf({ scope: 'shoppingCart:admin' });
    const refused = await call(server, 'POST', '/shoppingCart', { name }, { ...admin, ...withKey(k) });
    const error = expectTmfError(refused, 400);
    expect(error.code).to.equal('BAD_REQUEST');
    expect(error.message).to.contain('sub');
    const list = await call(server, 'GET', `/shoppingCart?name=${name}&fields=id`, undefined, admin);
    expect(list.headers.get('x-total-count')).to.equal('0');
    // Without the key the same request runs as ever.
    expect((await call(server, 'POST', '/shoppingCart', { name }, admin)).status).to.equal(201);
  });
});

describe('Idempotency-Key after a 5xx', () => {
  // The store of the run, with createCart failing or stalling when a test says so.
  let failNext: AppError | undefined;
  let gate: Promise<void> | undefined;
  let dir: string;
  const faultyStore = async (): Promise<Store> => {
    dir = mkdtempSync(join(tmpdir(), 'tmf663-idem-5xx-'));
    const store = await openTestStore(join(dir, 'f.db'));
    const faulty: Store = {
      ...store,
      createCart: async (...args) => {
        const error = failNext;
        failNext = undefined;
        if (error) throw error;
        if (gate) await gate;
        return store.createCart(...args);
      },
    };
    return faulty;
  };
  // A deadline short enough for the stalled request to pass it, long enough for the others;
  // the key's lease (twice the deadline) outlasts the stalled test.
  const server = useTestServer({ REQUEST_TIMEOUT_MS: '3000' }, async () => ({ store: await faultyStore() }), {
    checkErrors: false,
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the key up at once when the error says nothing was stored, so the retry creates the cart', async () => {
    const k = key();
    const name = `nothing-stored-${k}`;
    failNext = storeUnavailable('SQLite: lock timeout', { nothingStored: true });
    const failed = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(expectTmfError(failed, 503).code).to.equal('STORE_UNAVAILABLE');
    expect(await cartsNamed(server, name)).to.equal(0);
    const retried = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(retried.status).to.equal(201);
    expect(retried.headers.get('idempotent-replayed')).to.equal(null);
    expect(await cartsNamed(server, name)).to.equal(1);
    const replayed = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(essence(replayed)).to.deep.equal(essence(retried));
  });

  it('keeps the key when a 5xx does not say nothing was stored (409 with Retry-After)', async () => {
    const k = key();
    const name = `unmarked-${k}`;
    failNext = storeUnavailable('unknown outcome');
    expectTmfError(await call(server, 'POST', '/shoppingCart', { name }, withKey(k)), 503);
    const retried = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(expectTmfError(retried, 409).code).to.equal('IDEMPOTENCY_KEY_IN_USE');
    expect(retried.headers.get('retry-after')).to.equal('1');
  });

  it('keeps the key when the request deadline passes while the handler runs (the outcome is unknown)', async () => {
    const k = key();
    const name = `deadline-${k}`;
    let open: () => void = () => undefined;
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    try {
      const late = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
      expect(expectTmfError(late, 503).code).to.equal('SERVICE_UNAVAILABLE');
    } finally {
      gate = undefined;
      open();
    }
    // The stalled create goes on and commits; the key must not let a retry make a second cart.
    const deadline = Date.now() + 10_000;
    while ((await cartsNamed(server, name)) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await cartsNamed(server, name)).to.equal(1);
    const retried = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
    expect(expectTmfError(retried, 409).code).to.equal('IDEMPOTENCY_KEY_IN_USE');
    expect(await cartsNamed(server, name)).to.equal(1);
  });
});

describe('Idempotency-Key after an SQLite lock timeout (another process holds the write lock)', () => {
  it('answers 503 and gives the key up, so a retry once the lock is free creates the cart', async function () {
    if (process.env.STORE === 'mongodb') this.skip(); // SQLite's write lock; the 5xx tests above run on both
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-idem-lock-'));
    const path = join(dir, 'l.db');
    const store = openSqliteStore({ path, synchronous: 'normal', lockTimeoutMs: 50 });
    const holder = new Database(path, { timeout: 0 });
    let lockNext = false;
    // Another process takes the lock after the key was claimed, just before the cart's write.
    const locking: Store = {
      ...store,
      createCart: (...args) => {
        if (lockNext) holder.exec('BEGIN IMMEDIATE');
        lockNext = false;
        return store.createCart(...args);
      },
    };
    const server = await startTestServer({}, { store: locking });
    try {
      const k = key();
      const name = `locked-${k}`;
      lockNext = true;
      const locked = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
      expect(expectTmfError(locked, 503).code).to.equal('STORE_UNAVAILABLE');
      expect(locked.headers.get('retry-after')).to.equal('1');
      expect(holder.inTransaction, 'the lock was taken by the other connection').to.equal(true);
      holder.exec('COMMIT');
      // The release waited for the same lock and failed; it is tried again in the background.
      // Meanwhile a retry is told to wait (409), never given a second cart.
      const deadline = Date.now() + 10_000;
      let retried = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
      while (retried.status === 409 && Date.now() < deadline) {
        expect(expectTmfError(retried, 409).code).to.equal('IDEMPOTENCY_KEY_IN_USE');
        await new Promise((resolve) => setTimeout(resolve, 50));
        retried = await call(server, 'POST', '/shoppingCart', { name }, withKey(k));
      }
      expect(retried.status).to.equal(201);
      expect(retried.headers.get('idempotent-replayed')).to.equal(null);
      expect(await cartsNamed(server, name)).to.equal(1);
    } finally {
      holder.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Idempotency-Key from a browser (CORS_ORIGINS)', () => {
  const origin = 'https://shop.example.com';
  const server = useTestServer({ CORS_ORIGINS: origin }, {}, { checkErrors: false });

  it('allows the header in a preflight and lets the page read the replay marker', async () => {
    const preflight = await call(server, 'OPTIONS', '/shoppingCart', undefined, {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type,idempotency-key',
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-headers')).to.equal('content-type,idempotency-key');
    const k = key();
    await call(server, 'POST', '/shoppingCart', {}, { Origin: origin, ...withKey(k) });
    const replay = await call(server, 'POST', '/shoppingCart', {}, { Origin: origin, ...withKey(k) });
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    expect((replay.headers.get('access-control-expose-headers') ?? '').split(',')).to.include.members([
      'Idempotent-Replayed',
      'Location',
      'ETag',
    ]);
  });
});
