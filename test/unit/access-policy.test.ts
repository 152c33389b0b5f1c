// Owner isolation as a policy (src/cart/access-policy.ts): what a caller limited to a party may
// see and do with carts, and that a caller without one may do everything.
import { expect } from 'chai';
import type { ShoppingCart, ShoppingCartCreate } from '../../src/api-types.js';
import {
  accessPolicyFor,
  ownerCondition,
  ownerOnly,
  ownsCart,
  unrestricted,
} from '../../src/cart/access-policy.js';
import { createCartService } from '../../src/cart/cart-service.js';
import { matchesFilter } from '../../src/query/evaluate.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';
import { appErrorOf } from '../support/app-error.js';

const party = (id: string) => ({ id, role: 'customer', '@referredType': 'Individual' });
const cartOf = (...owners: string[]): ShoppingCart => ({
  id: 'c1',
  ...(owners.length === 0 ? {} : { relatedParty: owners.map(party) }),
});

/** The code and message of the AppError `act` throws. */
function refusal(act: () => unknown): { code: string; message: string } {
  const { code, message } = appErrorOf(act);
  return { code, message };
}

/** A stored cart as the store hands it over: the document behind a getter. */
const stored = (doc: ShoppingCart): { readonly doc: ShoppingCart } => ({ doc });

describe('Cart access policy', () => {
  describe('a caller limited to a party', () => {
    const kate = ownerOnly('kate');

    it('sees only the carts that name its party among their related parties', () => {
      expect(kate.canSee(stored(cartOf('kate')))).to.equal(true);
      expect(kate.canSee(stored(cartOf('liam', 'kate')))).to.equal(true);
      expect(kate.canSee(stored(cartOf('liam')))).to.equal(false);
      expect(kate.canSee(stored(cartOf()))).to.equal(false);
      expect(ownsCart(cartOf('kate'), 'kat')).to.equal(false);
    });

    it('creates a cart without parties as its own, and one naming it as it is', () => {
      const none: ShoppingCartCreate = { '@type': 'ShoppingCart' };
      expect(kate.forCreate(none).relatedParty).to.deep.equal([party('kate')]);
      expect(none, 'the input is not changed').to.deep.equal({ '@type': 'ShoppingCart' });
      const shared = { relatedParty: [party('liam'), party('kate')] } as ShoppingCartCreate;
      expect(kate.forCreate(shared)).to.equal(shared);
    });

    it('may not create a cart for another party (403)', () => {
      const forLiam = { relatedParty: [party('liam')] } as ShoppingCartCreate;
      expect(refusal(() => kate.forCreate(forLiam))).to.deep.equal({
        code: 'FORBIDDEN',
        message: 'relatedParty must name party kate: a cart cannot be created for another party',
      });
    });

    it('may store a patched cart that still names it, not one handed to another party (403)', () => {
      expect(() => {
        kate.assertMayStore(cartOf('kate', 'liam'));
      }).not.to.throw();
      expect(
        refusal(() => {
          kate.assertMayStore(cartOf('liam'));
        }),
      ).to.deep.equal({
        code: 'FORBIDDEN',
        message: 'relatedParty must keep party kate: a cart cannot be handed to another party',
      });
    });

    it('lists with one more condition, which selects exactly the carts it can see', () => {
      expect(kate.listConditions).to.deep.equal([ownerCondition('kate')]);
      const filter = { conditions: [...kate.listConditions] };
      for (const cart of [cartOf('kate'), cartOf('liam', 'kate'), cartOf('liam'), cartOf()]) {
        expect(matchesFilter(filter, cart), JSON.stringify(cart)).to.equal(kate.canSee(stored(cart)));
      }
    });
  });

  describe('a caller without a party', () => {
    it('sees every cart, creates as asked, may store anything, lists unfiltered', () => {
      expect(accessPolicyFor(undefined)).to.equal(unrestricted);
      expect(unrestricted.canSee(stored(cartOf()))).to.equal(true);
      expect(unrestricted.canSee(stored(cartOf('liam')))).to.equal(true);
      const forLiam = { relatedParty: [party('liam')] } as ShoppingCartCreate;
      expect(unrestricted.forCreate(forLiam)).to.equal(forLiam);
      expect(() => {
        unrestricted.assertMayStore(cartOf());
      }).not.to.throw();
      expect(unrestricted.listConditions).to.deep.equal([]);
    });

    it('decides without reading the cart, so a GET never parses the stored text', () => {
      const unread = {
        get doc(): ShoppingCart {
          throw new Error('the document was read');
        },
      };
      expect(unrestricted.canSee(unread)).to.equal(true);
      expect(() => ownerOnly('kate').canSee(unread)).to.throw('the document was read');
    });

    it('is told apart from a party-limited caller by accessPolicyFor', () => {
      const policy = accessPolicyFor('kate');
      expect(policy.owner).to.equal('kate');
      expect(policy.canSee(stored(cartOf('liam')))).to.equal(false);
    });
  });
});

describe('The cart service reading a cart under an access policy', () => {
  it('sends an unrestricted caller the stored text without reading the document; a party-limited one has it read', async () => {
    const base = openSqliteStore({ path: ':memory:' });
    let reads = 0;
    // The store's carts, with every read of a document counted.
    const store: Store = {
      ...base,
      getCart: async (id, nowMs) => {
        const found = await base.getCart(id, nowMs);
        if (!found) return undefined;
        return {
          json: found.json,
          version: found.version,
          createdAt: found.createdAt,
          updatedAt: found.updatedAt,
          get doc(): ShoppingCart {
            reads++;
            return found.doc;
          },
        };
      },
    };
    const service = createCartService({
      store,
      now: () => new Date(),
      newId: () => 'k1',
      roundingMode: 'half-even',
      cartTtlMs: 86_400_000,
      maxDepth: 32,
    });
    try {
      await service.create({ relatedParty: [party('kate')] }, (id) => `/x/${id}`, {
        correlationId: undefined,
      });
      const all = await service.get('k1', unrestricted);
      expect(reads, 'an unrestricted GET reads no document').to.equal(0);
      expect(JSON.parse(all.json ?? '')).to.include({ id: 'k1' });
      await service.get('k1', ownerOnly('kate'));
      expect(reads, 'the owner check reads it').to.be.greaterThan(0);
      const refused = await service.get('k1', ownerOnly('liam')).catch((e: unknown) => e);
      expect(
        appErrorOf(() => {
          throw refused;
        }).code,
      ).to.equal('NOT_FOUND');
    } finally {
      await base.close();
    }
  });
});
