/**
 * Deterministic benchmark data: carts of five priced items, with party and offering ids spread so
 * that known fractions of the carts match each filter.
 *
 *   relatedParty.id = party-(i mod 1000)           1 cart in 1,000 matches a party
 *   cartItem.productOffering.id = po-(i mod 100)   1% of carts hold an offering
 *   channelCode = ch-(i mod 100)                   an unindexed extension attribute, 1% match
 */
import type { CartItem, ShoppingCart } from '../src/api-types.js';

export const parties = 1000;
export const offerings = 100;

export function benchItems(i: number): CartItem[] {
  return Array.from({ length: 5 }, (_, k) => ({
    id: String(k + 1),
    quantity: 1 + ((i + k) % 3),
    action: 'add',
    status: 'active',
    productOffering: { id: k === 0 ? `po-${i % offerings}` : `po-extra-${k}`, name: `Offering ${k}` },
    itemPrice: [
      {
        priceType: k % 2 === 0 ? 'recurring' : 'oneTime',
        ...(k % 2 === 0 ? { recurringChargePeriod: 'month' } : {}),
        price: { dutyFreeAmount: { unit: 'EUR', value: 9.99 + k * 10 }, taxRate: 20 },
        ...(k === 0
          ? {
              priceAlteration: [
                { priceType: 'recurring', priority: 1, applicationDuration: 3, price: { percentage: 50 } },
              ],
            }
          : {}),
      },
    ],
  }));
}

/** The body a client would POST for cart number i. */
export function benchCart(i: number): ShoppingCart {
  return {
    relatedParty: [
      { id: `party-${i % parties}`, '@referredType': 'Individual', role: 'customer', name: `Customer ${i}` },
    ],
    cartItem: benchItems(i),
    channelCode: `ch-${i % 100}`,
  } as ShoppingCart;
}
