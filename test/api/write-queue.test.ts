/**
 * Many writers on one cart in one process: the cart service queues them per cart, so none of
 * them loses every version-conflict retry round (runs on MongoDB too with STORE=mongodb).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createCartService } from '../../src/cart/cart-service.js';
import type { Store } from '../../src/store/store.js';
import { call, openTestStore, startTestServer } from '../support/server.js';

describe('per-cart write queue', function () {
  this.timeout(180_000);
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tmf663-queue-'));
    store = await openTestStore(join(dir, 'queue.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two hundred concurrent appends through the service give two hundred successes and items', async () => {
    let n = 0;
    const service = createCartService({
      store,
      now: () => new Date(),
      newId: () => `q${String(++n).padStart(6, '0')}-${Math.random().toString(36).slice(2, 8)}`,
      roundingMode: 'half-even',
      cartTtlMs: 86_400_000,
      maxDepth: 32,
    });
    const cart = await service.create({ cartItem: [] }, (id) => `/x/${id}`, { correlationId: undefined });
    const id = cart.doc.id ?? '';
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        service.patch(
          id,
          'application/json-patch+json',
          [{ op: 'add', path: '/cartItem/-', value: { id: `i${i}`, quantity: 1 } }],
          undefined,
          { correlationId: undefined },
        ),
      ),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed.map((f) => String(f.reason))).to.deep.equal([]);
    const after = await service.get(id);
    expect(after.doc.cartItem).to.have.length(200);
    expect(after.version).to.equal(201);
    // Served in arrival order.
    expect(after.doc.cartItem?.map((i) => i.id)).to.deep.equal(
      Array.from({ length: 200 }, (_, i) => `i${i}`),
    );
  });

  it('two hundred concurrent JSON Patch appends over HTTP: two hundred 200s and two hundred items', async () => {
    // Queued writers wait for those before them: on a slow store (FerretDB on a busy machine,
    // ~150 ms a write) the last waits tens of seconds, so this server's deadline is generous.
    const server = await startTestServer({ REQUEST_TIMEOUT_MS: '170000' });
    try {
      const created = await call(server, 'POST', '/shoppingCart', { cartItem: [] });
      const id = created.body.id as string;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          call(
            server,
            'PATCH',
            `/shoppingCart/${id}`,
            [{ op: 'add', path: '/cartItem/-', value: { id: `h${i}`, quantity: 1 } }],
            {
              'Content-Type': 'application/json-patch+json',
            },
          ),
        ),
      );
      expect(results.filter((r) => r.status !== 200).map((r) => r.text)).to.deep.equal([]);
      const got = await call(server, 'GET', `/shoppingCart/${id}`);
      expect(got.body.cartItem).to.have.length(200);
      expect(new Set(got.body.cartItem.map((i: { id: string }) => i.id)).size).to.equal(200);
      expect(got.headers.get('etag')).to.equal('"201"');
    } finally {
      await server.stop();
    }
  });
});
