/**
 * Owner isolation (AUTH_OWNER_CLAIM) as a policy: what a caller may see and do with carts. A
 * caller limited to a party sees and changes only the carts whose relatedParty names that party;
 * another party's cart is "not found" (404, never 403, so ids of other parties' carts cannot be
 * probed), a list gets the party as one more filter condition, and a cart may be neither created
 * for nor handed over to another party (403). A caller without a party (admin scope, or isolation
 * off) may do everything. The cart service applies the policy, at every read of its
 * read-apply-write loop, so a write is conditional on the version whose ownership was checked.
 * Pure: no I/O, no HTTP. Documented in docs/operations.md, "Authentication and authorisation".
 */
import type { RelatedParty, ShoppingCart, ShoppingCartCreate } from '../api-types.js';
import { cartForAnotherParty, cartHandedOver } from '../errors.js';
import type { Condition } from '../query/ast.js';

export interface CartAccessPolicy {
  /** The party the caller is limited to; undefined for a caller who may see every cart. */
  readonly owner: string | undefined;
  /**
   * Whether the caller may see (and so read or change) this cart. It takes the stored cart, whose
   * document the SQLite store parses only when read: a caller who may see everything never makes
   * a GET parse the JSON it sends as text.
   */
  canSee(cart: { readonly doc: ShoppingCart }): boolean;
  /** The cart to create for the caller; throws 403 when it would be made for another party. */
  forCreate(input: ShoppingCartCreate): ShoppingCartCreate;
  /** Throws 403 when the caller may not store this patched cart. */
  assertMayStore(patched: ShoppingCart): void;
  /** Conditions every list of the caller gets, on top of its own filter. */
  readonly listConditions: readonly Condition[];
}

/** Whether a cart names a party among its relatedParty (the dispatcher asks it per event too). */
export const ownsCart = (cart: ShoppingCart, owner: string): boolean =>
  (cart.relatedParty ?? []).some((p) => p.id === owner);

/** The party added to a cart created without the caller in relatedParty. */
export const ownerParty = (owner: string): RelatedParty => ({
  id: owner,
  role: 'customer',
  '@referredType': 'Individual',
});

/** The list condition `relatedParty.id = owner`. */
export const ownerCondition = (owner: string): Condition => ({
  path: ['relatedParty', 'id'],
  op: 'eq',
  kind: 'string',
  values: [{ kind: 'string', value: owner }],
});

/** A caller who may see and do everything. */
export const unrestricted: CartAccessPolicy = {
  owner: undefined,
  canSee: () => true,
  forCreate: (input) => input,
  assertMayStore: () => undefined,
  listConditions: [],
};

/** A caller limited to the carts of party `owner`. */
export function ownerOnly(owner: string): CartAccessPolicy {
  return {
    owner,
    canSee: (cart) => ownsCart(cart.doc, owner),
    // The creator is always a party of its cart, or it could never see it again. A cart that
    // names parties, none of them the creator, would be made for someone else: refused, as a
    // patch that hands a cart over is.
    forCreate: (input) => {
      const parties = input.relatedParty ?? [];
      if (parties.length === 0) return { ...input, relatedParty: [ownerParty(owner)] };
      if (!parties.some((p) => p.id === owner)) throw cartForAnotherParty(owner);
      return input;
    },
    // A caller may not hand its cart over: the patched cart must still name it.
    assertMayStore: (patched) => {
      if (!ownsCart(patched, owner)) throw cartHandedOver(owner);
    },
    listConditions: [ownerCondition(owner)],
  };
}

/** The policy of a caller limited to `owner`, or of one who is not (undefined). */
export const accessPolicyFor = (owner: string | undefined): CartAccessPolicy =>
  owner === undefined ? unrestricted : ownerOnly(owner);
