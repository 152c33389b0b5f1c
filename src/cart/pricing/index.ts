/**
 * Cart pricing: the server computes every cart item's `itemTotalPrice` and the cart's
 * `cartTotalPrice` (server-owned: whatever the client sent for them, or for the v4 spelling
 * `ItemTotalPrice`, is ignored and replaced). The algorithm: docs/pricing.md.
 *
 * Files: read.ts checks what the client sent, exact.ts computes one line exactly, groups.ts sums
 * lines into totals, alterations.ts lists the applied alterations; this file walks items and cart.
 *
 * Errors are AppError BAD_REQUEST with reason `Invalid <path>` and a message that starts with the
 * field path, e.g. `cartItem[0].itemPrice[1].price.dutyFreeAmount.unit is required on a priced amount`.
 *
 * The result is a new cart; the input is not mutated. Parts the pricer does not rewrite (product,
 * itemPrice, ...) are shared with the input rather than deep-copied, which keeps pricing cheap;
 * treat both as immutable. The alterations listed in totals are fresh copies.
 */
import type { CartItem, CartPrice, ShoppingCart } from '../../api-types.js';
import { smallRationals } from '../rational.js';
import { exact, type Context } from './exact.js';
import { addLine, mergeGroups, newGroups, toCartPrices, type Groups } from './groups.js';
import { invalid, isAbsent } from './read.js';

export type RoundingMode = 'half-even' | 'half-up';

export interface PricingOptions {
  readonly rounding: RoundingMode;
}

const readQuantity = (value: unknown, path: () => string): number => {
  if (isAbsent(value)) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalid(`${path()}.quantity`, 'must be an integer >= 1');
  }
  return value;
};

const isSaveForLater = (value: unknown, path: () => string): boolean => {
  if (isAbsent(value) || value === 'active') return false;
  if (value === 'saveForLater') return true;
  throw invalid(`${path()}.status`, "must be 'active' or 'saveForLater'");
};

interface PricedItem {
  readonly item: CartItem;
  readonly groups: Groups;
  readonly saveForLater: boolean;
}

const priceItem = (ctx: Context, item: CartItem, path: () => string): PricedItem => {
  const quantity = readQuantity(item.quantity, path);
  const saveForLater = isSaveForLater(item.status, path);

  const groups = newGroups();
  const prices: readonly CartPrice[] = item.itemPrice ?? [];
  for (let i = 0; i < prices.length; i++) {
    const cartPrice = prices[i];
    if (cartPrice) addLine(ctx, groups, cartPrice, quantity, () => `${path()}.itemPrice[${i}]`);
  }

  const children = item.cartItem?.map((child, j) => priceItem(ctx, child, () => `${path()}.cartItem[${j}]`));
  for (const child of children ?? []) {
    if (!child.saveForLater) mergeGroups(groups, child.groups, path);
  }

  const out: CartItem = { ...item };
  // Only when present: delete turns the object into a slow dictionary-mode object.
  if ('ItemTotalPrice' in out) delete out.ItemTotalPrice;
  if (children) out.cartItem = children.map((c) => c.item);
  out.itemTotalPrice = toCartPrices(groups);
  return { item: out, groups, saveForLater };
};

/**
 * Prices a cart: a new cart whose items (recursively) carry a computed `itemTotalPrice` (and no
 * `ItemTotalPrice`) and whose `cartTotalPrice` sums the items that are not saved for later.
 * Throws AppError BAD_REQUEST naming the offending field path. The rules: docs/pricing.md.
 */
export const priceCart = (cart: ShoppingCart, options: PricingOptions): ShoppingCart => {
  const ctx: Context = {
    halfEven: options.rounding === 'half-even',
    small: exact(smallRationals),
    big: undefined,
  };
  const items = cart.cartItem?.map((item, i) => priceItem(ctx, item, () => `cartItem[${i}]`));

  const total = newGroups();
  for (const priced of items ?? []) {
    if (!priced.saveForLater) mergeGroups(total, priced.groups, () => 'cartTotalPrice');
  }

  const out: ShoppingCart = { ...cart };
  if (items) out.cartItem = items.map((p) => p.item);
  out.cartTotalPrice = toCartPrices(total);
  return out;
};
