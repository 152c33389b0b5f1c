/** Whether a cart names a party among its relatedParty: the owner isolation rule (docs/operations.md, "Authentication and authorisation"). */
import type { ShoppingCart } from '../api-types.js';

export const ownsCart = (cart: ShoppingCart, owner: string): boolean =>
  (cart.relatedParty ?? []).some((p) => p.id === owner);
