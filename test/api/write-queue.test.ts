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
import { openTestStore } from '../support/server.js';

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
});
