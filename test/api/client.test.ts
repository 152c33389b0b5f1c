// The server driven through its own typed client (tmf663-shopping-cart/client), on the store of
// the run: a contract change that breaks clients breaks this file. Also the client's own rules:
// ETags and conflicts, paging, typed errors, Idempotency-Keys and safe retries.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  ConflictError,
  TmfApiError,
  createShoppingCartClient,
  type CartItem,
  type ShoppingCartClientV4,
} from 'tmf663-shopping-cart/client';
import { useTestServer } from '../support/server.js';

const eur = (value: number) => ({ unit: 'EUR', value });
const item = (id: string, quantity: number, amount: number): CartItem => ({
  id,
  quantity,
  action: 'add',
  productOffering: { id: `PO-${id}` },
  itemPrice: [{ priceType: 'oneTime', price: { dutyFreeAmount: eur(amount), taxRate: 20 } }],
});
/** A party of this test only: filtering on it finds exactly the test's carts. */
const newParty = () => ({ id: `party-${randomUUID()}`, role: 'customer', '@referredType': 'Individual' });

/** A fetch that lets the test act on each request; `calls` records them. */
function scriptedFetch(act: (request: Request, n: number) => Promise<Response>) {
  const calls: Request[] = [];
  const fetch = (request: Request): Promise<Response> => {
    calls.push(request);
    return act(request, calls.length);
  };
  return { fetch, calls };
}

const serviceUnavailable = () =>
  new Response(JSON.stringify({ '@type': 'Error', code: 'STORE_UNAVAILABLE', reason: 'r', status: '503' }), {
    status: 503,
    headers: { 'Content-Type': 'application/json;charset=utf-8' },
  });

describe('The typed client against the server', () => {
  const server = useTestServer();
  let client: ShoppingCartClientV4;
  before(() => {
    client = createShoppingCartClient({ baseUrl: server.url });
  });

  it('creates, lists with a filter, patches in the three formats, refuses a stale ETag and deletes', async () => {
    const party = newParty();
    const created = await client.carts.create({ cartItem: [item('1', 1, 10)], relatedParty: [party] });
    expect(created.etag).to.equal('"1"');
    expect(created.cart.id).to.be.a('string');
    expect(created.cart.cartTotalPrice?.[0]?.price?.taxIncludedAmount?.value).to.equal(12);

    const listed = await client.carts.list({ filter: { 'relatedParty.id': party.id }, fields: ['id'] });
    expect(listed).to.deep.equal({
      items: [{ id: created.cart.id, href: created.cart.href }],
      total: 1,
      partial: false,
    });

    const merged = await client.carts.mergePatch(created, { cartItem: [item('1', 2, 10), item('2', 1, 5)] });
    expect(merged.etag).to.equal('"2"');
    expect(merged.cart.cartTotalPrice?.[0]?.price?.taxIncludedAmount?.value).to.equal(30);

    const patched = await client.carts.jsonPatch(merged, [
      { op: 'replace', path: '/cartItem/1/quantity', value: 3 },
    ]);
    expect(patched.etag).to.equal('"3"');
    expect(patched.cart.cartItem?.map((i) => i.quantity)).to.deep.equal([2, 3]);

    const queried = await client.carts.jsonPatchQuery(patched, [
      { op: 'replace', path: '/cartItem?cartItem.id=1/quantity', value: 5 },
    ]);
    expect(queried.etag).to.equal('"4"');
    expect(queried.cart.cartItem?.map((i) => i.quantity)).to.deep.equal([5, 3]);
    // 5 x 12 + 3 x 6
    expect(queried.cart.cartTotalPrice?.[0]?.price?.taxIncludedAmount?.value).to.equal(78);

    // An update of the version read before the last change is a conflict, and changes nothing.
    const stale = await client.carts.mergePatch(patched, { cartItem: [] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(stale).to.be.instanceOf(ConflictError);
    expect(stale).to.include({ status: 412, code: 'PRECONDITION_FAILED' });
    const current = await client.carts.get(created.cart.id!);
    expect(current.etag).to.equal('"4"');
    expect(current.cart.cartItem).to.have.length(2);

    await client.carts.delete(current);
    const gone = await client.carts.get(created.cart.id!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(gone).to.be.instanceOf(TmfApiError);
    expect(gone).to.not.be.instanceOf(ConflictError);
    expect(gone).to.include({ status: 404, code: 'NOT_FOUND', reason: 'Not found' });
  });

  it('reads selected fields, and pages through every match with the async iterator', async () => {
    const party = newParty();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(
        (await client.carts.create({ relatedParty: [party], cartItem: [item(String(i), 1, i)] })).cart.id!,
      );
    }
    const filter = { 'relatedParty.id': party.id };
    const page = await client.carts.list({ filter, limit: 3, offset: 3, sort: ['id'] });
    expect(page.total).to.equal(7);
    expect(page.partial).to.equal(true);
    expect(page.items.map((c) => c.id)).to.deep.equal([...ids].sort().slice(3, 6));

    const seen: string[] = [];
    for await (const cart of client.carts.iterate({ filter, sort: ['id'], fields: ['id'] }, 3))
      seen.push(cart.id!);
    expect(seen).to.deep.equal([...ids].sort());

    const one = await client.carts.get(ids[0]!, { fields: ['cartItem'] });
    expect(Object.keys(one.cart).sort()).to.deep.equal(['cartItem', 'href', 'id']);
  });

  it('subscribes to events and unsubscribes', async () => {
    const callback = `http://127.0.0.1:9/${randomUUID()}`;
    const sub = await client.hub.subscribe({ callback, query: 'eventType=ShoppingCartCreateEvent' });
    expect(sub).to.deep.include({ callback, query: 'eventType=ShoppingCartCreateEvent' });
    expect((await client.hub.list()).map((s) => s.id)).to.include(sub.id);
    await client.hub.unsubscribe(sub.id);
    expect((await client.hub.list()).map((s) => s.id)).to.not.include(sub.id);
  });

  it('sends an Idempotency-Key on every create, so a create retried after a lost answer makes one cart', async () => {
    const party = newParty();
    const backoffs: number[] = [];
    // The first try reaches the server, then the connection "drops" before the answer arrives.
    const net = scriptedFetch(async (request, n) => {
      const response = await fetch(request);
      if (n === 1) throw new TypeError('fetch failed: socket hang up');
      return response;
    });
    const retrying = createShoppingCartClient({
      baseUrl: server.url,
      fetch: net.fetch,
      retry: {
        backoff: (attempt) => {
          backoffs.push(attempt);
          return Promise.resolve();
        },
      },
    });
    const created = await retrying.carts.create({ relatedParty: [party] });
    expect(net.calls).to.have.length(2);
    const keys = net.calls.map((r) => r.headers.get('Idempotency-Key'));
    expect(keys[0]).to.match(/^[0-9a-f-]{36}$/);
    expect(keys[1]).to.equal(keys[0]);
    expect(backoffs).to.deep.equal([1]);
    const listed = await client.carts.list({ filter: { 'relatedParty.id': party.id } });
    expect(listed.total).to.equal(1);
    expect(listed.items[0]?.id).to.equal(created.cart.id);
    // Two creates are two keys.
    await retrying.carts.create({ relatedParty: [party] });
    expect(net.calls[2]?.headers.get('Idempotency-Key')).to.not.equal(keys[0]);
  });

  it('retries a 409 IDEMPOTENCY_KEY_IN_USE after its Retry-After, but not a 409 CONFLICT', async () => {
    const party = newParty();
    const waits: (number | undefined)[] = [];
    const inUse = () =>
      new Response(
        JSON.stringify({ '@type': 'Error', code: 'IDEMPOTENCY_KEY_IN_USE', reason: 'r', status: '409' }),
        { status: 409, headers: { 'Content-Type': 'application/json;charset=utf-8', 'Retry-After': '2' } },
      );
    const net = scriptedFetch((request, n) => (n === 1 ? Promise.resolve(inUse()) : fetch(request)));
    const retrying = createShoppingCartClient({
      baseUrl: server.url,
      fetch: net.fetch,
      retry: {
        backoff: (_attempt, retryAfterMs) => {
          waits.push(retryAfterMs);
          return Promise.resolve();
        },
      },
    });
    const created = await retrying.carts.create({ relatedParty: [party] });
    expect(created.cart.id).to.be.a('string');
    expect(waits).to.deep.equal([2000]);
    expect(net.calls.map((r) => r.headers.get('Idempotency-Key'))).to.satisfy(
      (keys: string[]) => keys.length === 2 && keys[0] === keys[1],
    );
    // A duplicate subscription is a 409 CONFLICT: repeating it cannot help, so it is thrown at once.
    const callback = `http://127.0.0.1:9/dup-${randomUUID()}`;
    await retrying.hub.subscribe({ callback, query: '' });
    const before = net.calls.length;
    const error = await retrying.hub.subscribe({ callback, query: '' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TmfApiError);
    expect((error as TmfApiError).status).to.equal(409);
    expect(net.calls.length - before).to.equal(1);
    expect(waits).to.deep.equal([2000]);
  });

  it('retries 5xx answers of safe requests a bounded number of times, and never an unguarded PATCH', async () => {
    const party = newParty();
    const backoffs: number[] = [];
    let failures = 2;
    const flaky = scriptedFetch(async (request) => {
      if (failures > 0) {
        failures--;
        return serviceUnavailable();
      }
      return fetch(request);
    });
    const retrying = createShoppingCartClient({
      baseUrl: server.url,
      fetch: flaky.fetch,
      retry: {
        maxAttempts: 3,
        backoff: (attempt) => {
          backoffs.push(attempt);
          return Promise.resolve();
        },
      },
    });
    const created = await retrying.carts.create({ relatedParty: [party] });
    expect(created.etag).to.equal('"1"');
    expect(backoffs).to.deep.equal([1, 2]);

    // Bounded: three 503s in a row are reported as the typed error of the last one.
    failures = 3;
    backoffs.length = 0;
    const error = await retrying.carts.get(created.cart.id!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TmfApiError);
    expect(error).to.include({ status: 503, code: 'STORE_UNAVAILABLE' });
    expect(backoffs).to.deep.equal([1, 2]);

    // A PATCH without If-Match could apply twice: it is not retried.
    failures = 1;
    backoffs.length = 0;
    const calls = flaky.calls.length;
    const unguarded = await retrying.carts.mergePatch(created.cart.id!, { cartItem: [] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(unguarded).to.include({ status: 503 });
    expect(flaky.calls.length - calls).to.equal(1);
    expect(backoffs).to.deep.equal([]);
    // With the ETag it is.
    failures = 1;
    const guarded = await retrying.carts.mergePatch(created, { cartItem: [item('1', 1, 1)] });
    expect(guarded.etag).to.equal('"2"');
    expect(backoffs).to.deep.equal([1]);
  });

  it('sends the bearer token, asking a token function for each request', async () => {
    let n = 0;
    const seen = scriptedFetch((request) => fetch(request));
    const withToken = createShoppingCartClient({
      baseUrl: server.url,
      fetch: seen.fetch,
      token: () => `t${++n}`,
    });
    await withToken.hub.list();
    await withToken.hub.list();
    expect(seen.calls.map((r) => r.headers.get('Authorization'))).to.deep.equal(['Bearer t1', 'Bearer t2']);
  });
});
