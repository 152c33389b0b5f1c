// The complete example of docs/client.md, kept as code so that it is type-checked and run
// (test/api/client-example.test.ts); the test also checks the docs show exactly this text.
// --- docs/client.md example start
import { ConflictError, createShoppingCartClient } from 'tmf663-shopping-cart/client';

export async function shopperJourney(baseUrl: string, callbackUrl: string, customerId: string) {
  const client = createShoppingCartClient({ baseUrl /* , token: () => getAccessToken() */ });

  // Subscribe: the callback URL receives a POST for every cart created from now on.
  const subscription = await client.hub.subscribe({
    callback: callbackUrl,
    query: 'eventType=ShoppingCartCreateEvent',
  });

  // Create a cart. The client sends an Idempotency-Key, so its retries never make a second cart.
  const created = await client.carts.create({
    cartItem: [],
    relatedParty: [{ id: customerId, role: 'customer', '@referredType': 'Individual' }],
  });

  // Add an item. The ETag of the version read goes out as If-Match: if someone changed the cart
  // meanwhile, the answer is a ConflictError (412) and nothing is applied; read it, try again.
  let cart;
  try {
    cart = await client.carts.jsonPatch(created, [
      {
        op: 'add',
        path: '/cartItem/-',
        value: {
          id: '1',
          action: 'add',
          quantity: 2,
          productOffering: { id: 'phone-x' },
          itemPrice: [
            { priceType: 'oneTime', price: { dutyFreeAmount: { unit: 'EUR', value: 100 }, taxRate: 20 } },
          ],
        },
      },
    ]);
  } catch (e) {
    if (e instanceof ConflictError) console.log('changed meanwhile:', e.message);
    throw e;
  }

  // Read the totals the server computed: 2 x 100 EUR + 20% tax = 240 EUR.
  const total = cart.cart.cartTotalPrice?.[0]?.price?.taxIncludedAmount;

  // Page through the customer's carts, 50 per request, with a filter and selected fields.
  const cartIds: string[] = [];
  const customerCarts = client.carts.iterate(
    { filter: { 'relatedParty.id': customerId }, fields: ['id'], sort: ['id'] },
    50,
  );
  for await (const c of customerCarts) cartIds.push(c.id ?? '');

  return { subscriptionId: subscription.id, cartId: cart.cart.id, etag: cart.etag, total, cartIds };
}
// --- docs/client.md example end
