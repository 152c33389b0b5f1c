/**
 * Owner isolation (AUTH_OWNER_CLAIM): a caller without the admin scope sees and changes only the
 * carts whose relatedParty names its own party id. It wraps the cart service per request, so the
 * routes stay as they are: another party's cart is "not found" (404, never 403, so ids of other
 * parties' carts cannot be probed), the list gets the owner as one more filter condition, and a
 * write is conditional on the version whose ownership was checked (no check-then-act race).
 */
import type { RelatedParty } from '../api-types.js';
import type { CartAccess, CartService } from '../cart/cart-service.js';
import { ownsCart } from '../cart/owners.js';
import { AppError, notFound } from '../errors.js';
import type { Condition } from '../query/ast.js';

export { ownsCart };

/** The party added to a cart created without the caller in relatedParty. */
export const ownerParty = (owner: string): RelatedParty => ({
  id: owner,
  role: 'customer',
  '@referredType': 'Individual',
});

export function ownerCondition(owner: string): Condition {
  return {
    path: ['relatedParty', 'id'],
    op: 'eq',
    kind: 'string',
    values: [{ kind: 'string', value: owner }],
  };
}

export function ownedCarts(service: CartService, owner: string): CartService {
  // Checked by the cart service after every read of its read-apply-write loop, so a write is
  // conditional on the version whose ownership was checked (no check-then-act race).
  const access: CartAccess = {
    canSee: (cart) => ownsCart(cart, owner),
    assertMayStore: (patched) => {
      // A caller may not hand its cart over: the patched cart must still name it.
      if (!ownsCart(patched, owner)) {
        throw new AppError(
          'FORBIDDEN',
          'Forbidden',
          `relatedParty must keep party ${owner}: a cart cannot be handed to another party`,
        );
      }
    },
  };

  return {
    // The creator is always a party of its cart, or it could never see it again. A cart that
    // names parties, none of them the creator, would be made for someone else: refused, as a
    // PATCH that hands a cart over is.
    create: (input, hrefOf, ctx) => {
      const parties = input.relatedParty ?? [];
      if (parties.length === 0)
        return service.create({ ...input, relatedParty: [ownerParty(owner)] }, hrefOf, ctx);
      if (!parties.some((p) => p.id === owner)) {
        return Promise.reject(
          new AppError(
            'FORBIDDEN',
            'Forbidden',
            `relatedParty must name party ${owner}: a cart cannot be created for another party`,
          ),
        );
      }
      return service.create(input, hrefOf, ctx);
    },

    get: async (id) => {
      const cart = await service.get(id);
      if (!ownsCart(cart.doc, owner)) throw notFound(`No shopping cart with id ${id}`);
      return cart;
    },

    list: (query) =>
      service.list({
        ...query,
        filter: { conditions: [...query.filter.conditions, ownerCondition(owner)] },
      }),

    patch: (id, mediaType, body, ifMatch, ctx) =>
      service.patch(id, mediaType, body, ifMatch, { ...ctx, access }),

    remove: (id, ifMatch, ctx) => service.remove(id, ifMatch, { ...ctx, access }),
  };
}
