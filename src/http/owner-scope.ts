/**
 * Owner isolation (AUTH_OWNER_CLAIM): a caller without the admin scope sees and changes only the
 * carts whose relatedParty names its own party id. It wraps the cart service per request, so the
 * routes stay as they are: another party's cart is "not found" (404, never 403, so ids of other
 * parties' carts cannot be probed), the list gets the owner as one more filter condition, and a
 * write is conditional on the version whose ownership was checked (no check-then-act race).
 */
import type { RelatedParty, ShoppingCart } from '../api-types.js';
import type { CartService } from '../cart/cart-service.js';
import { applyCartPatch } from '../cart/patch.js';
import { AppError, notFound } from '../errors.js';
import type { Condition } from '../query/ast.js';
import type { StoredCart } from '../store/store.js';

/** How many times a write is retried when the cart changed between the check and the write. */
const maxAttempts = 30;

export const ownsCart = (cart: ShoppingCart, owner: string): boolean =>
  (cart.relatedParty ?? []).some((p) => p.id === owner);

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

const isPreconditionFailed = (e: unknown): boolean =>
  e instanceof AppError && e.code === 'PRECONDITION_FAILED';

export function ownedCarts(service: CartService, owner: string): CartService {
  const get = async (id: string): Promise<StoredCart> => {
    const cart = await service.get(id);
    if (!ownsCart(cart.doc, owner)) throw notFound(`No shopping cart with id ${id}`);
    return cart;
  };

  /**
   * Loads and checks the cart, then runs the write conditional on that version. When the client
   * sent no If-Match, a version that moved on meanwhile is not its problem: check again.
   */
  const guarded = async <T>(
    id: string,
    ifMatch: number | undefined,
    write: (current: StoredCart) => Promise<T>,
  ): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const current = await get(id);
      if (ifMatch !== undefined && ifMatch !== current.version) {
        throw new AppError(
          'PRECONDITION_FAILED',
          'Precondition failed',
          `If-Match does not match the current version of ${id}`,
        );
      }
      try {
        return await write(current);
      } catch (e) {
        if (!isPreconditionFailed(e) || ifMatch !== undefined) throw e;
        if (attempt >= maxAttempts)
          throw new AppError('CONFLICT', 'Conflict', `${id} kept changing concurrently; try again`);
      }
    }
  };

  return {
    // The creator is always a party of its cart, or it could never see it again.
    create: (input, hrefOf, ctx) =>
      service.create(
        (input.relatedParty ?? []).some((p) => p.id === owner)
          ? input
          : { ...input, relatedParty: [...(input.relatedParty ?? []), ownerParty(owner)] },
        hrefOf,
        ctx,
      ),

    get,

    list: (query) =>
      service.list({
        ...query,
        filter: { conditions: [...query.filter.conditions, ownerCondition(owner)] },
      }),

    patch: (id, mediaType, body, ifMatch, ctx) =>
      guarded(id, ifMatch, (current) => {
        // A caller may not hand its cart over: the patched cart must still name it.
        if (!ownsCart(applyCartPatch(current.doc, mediaType, body), owner)) {
          throw new AppError(
            'FORBIDDEN',
            'Forbidden',
            `relatedParty must keep party ${owner}: a cart cannot be handed to another party`,
          );
        }
        return service.patch(id, mediaType, body, current.version, ctx);
      }),

    remove: (id, ifMatch, ctx) => guarded(id, ifMatch, (current) => service.remove(id, current.version, ctx)),
  };
}
