/**
 * Regex filters over many carts (both stores): the regex work of one list is far past one
 * synchronous section's budget (safe-regex.ts), so the store evaluates it in slices between which
 * the event loop turns, and still answers exactly.
 */
import { expect } from 'chai';
import type { ShoppingCart } from '../../src/api-types.js';
import { parseListQuery } from '../../src/query/parse.js';
import type { Store } from '../../src/store/store.js';

/** Registers the cases on a store of `count` carts; `count` x 2,000 units must exceed 3,000,000. */
export function regexAtScale(name: string, open: () => Promise<Store>, count: number): void {
  describe(`${name}: regex filters over ${count} carts`, function () {
    this.timeout(300_000);
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const now = new Date(t0).toISOString();
    const id = (i: number): string => `r${String(i).padStart(6, '0')}`;
    const description = (i: number): string => (i % 4 === 0 ? `cart-${i}` : `other-${i}`);
    const party = (i: number): string => (i % 8 === 0 ? 'pa' : 'pb');
    let store: Store;

    before(async () => {
      store = await open();
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        writes.push(
          store.createCart(
            {
              id: id(i),
              description: description(i),
              relatedParty: [{ id: party(i), role: 'customer', '@referredType': 'Individual' }],
            } as ShoppingCart,
            { now, expiresAt: undefined },
            [],
          ),
        );
      }
      await Promise.all(writes);
    });
    after(() => store.close());

    // `.` keeps the pattern in the application on MongoDB too (mongo.ts: residual).
    const pattern = '^cart.1';
    const expected = Array.from({ length: count }, (_, i) => i)
      .filter((i) => new RegExp(pattern).test(description(i)))
      .map(id);

    it('answers a page and the exact total, the loop turning while it searches', async () => {
      expect(expected.length).to.be.greaterThan(5);
      let ticks = 0;
      let running = true;
      const tick = (): void => {
        ticks += 1;
        if (running) setImmediate(tick);
      };
      setImmediate(tick);
      const query = parseListQuery(`description.regex=${encodeURIComponent(pattern)}&limit=5`, {
        maxPageSize: 100,
      });
      const result = await store.listCarts(query, t0).finally(() => {
        running = false;
      });
      expect(result.total).to.equal(expected.length);
      expect(result.items.map((c) => c.id)).to.deep.equal(expected.slice(0, 5));
      // At least one turn of the loop for every 3,000,000 units of searching (about 1,500 carts).
      expect(ticks).to.be.at.least(Math.floor(count / 1_500));
    });

    it('keeps the other conditions, sort and offset over the regex matches', async () => {
      const query = parseListQuery(
        `description.regex=${encodeURIComponent(pattern)}&id.ne=${expected[0]}&sort=-id&offset=1&limit=3`,
        { maxPageSize: 100 },
      );
      const result = await store.listCarts(query, t0);
      const rest = expected.slice(1).reverse();
      expect(result.total).to.equal(rest.length);
      expect(result.items.map((c) => c.id)).to.deep.equal(rest.slice(1, 4));
    });

    it('keeps an indexed condition (relatedParty.id) together with the regex', async () => {
      const query = parseListQuery(
        `relatedParty.id=pa&description.regex=${encodeURIComponent(pattern)}&limit=5`,
        { maxPageSize: 100 },
      );
      const result = await store.listCarts(query, t0);
      const kept = expected.filter((i) => party(Number(i.slice(1))) === 'pa');
      expect(result.total).to.equal(kept.length);
      expect(result.items.map((c) => c.id)).to.deep.equal(kept.slice(0, 5));
    });
  });
}
