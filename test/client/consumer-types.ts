/**
 * A consumer's view of the client, checked by `npm run typecheck` (never run): it imports the
 * package entry as an application would, and each `@ts-expect-error` line is a mistake the types
 * must refuse. If a line stopped being an error (a type loosened, the contract drifted), tsc
 * fails with "Unused '@ts-expect-error' directive".
 */
import {
  ConflictError,
  TmfApiError,
  createShoppingCartClient,
  type ShoppingCart,
  type VersionedCart,
} from 'tmf663-shopping-cart/client';

/** true only when A and B are the same type (the usual type-test idiom). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the idiom needs it
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- checked at compile time only
const assertType = <T extends true>(): T => true as T;

const client = createShoppingCartClient({ baseUrl: 'http://localhost:8663', token: () => 'jwt' });

export async function consumer(): Promise<void> {
  // Right shapes compile, and answers are typed.
  const created = await client.carts.create({
    cartItem: [{ id: '1', action: 'add', quantity: 2, productOffering: { id: 'po-1' } }],
    relatedParty: [{ id: 'p-1', role: 'customer', '@referredType': 'Individual' }],
  });
  assertType<Equal<typeof created, VersionedCart>>();
  assertType<Equal<typeof created.cart, ShoppingCart>>();
  await client.carts.mergePatch(created, { cartItem: [] });
  await client.carts.jsonPatch(created, [{ op: 'replace', path: '/cartItem/0/quantity', value: 3 }]);
  await client.carts.list({
    filter: { 'cartItem.productOffering.id': 'po-1', 'validFor.endDateTime.gt': 'x' },
  });
  const everyCart = client.carts.iterate({ sort: ['id'], fields: ['id', 'cartItem.quantity'] });
  assertType<Equal<typeof everyCart, AsyncIterable<ShoppingCart>>>();
  for await (const cart of everyCart) console.log(cart.cartTotalPrice);
  await client.raw.POST('/shoppingCart', { body: { cartItem: [] } });

  // Wrong body shapes do not.
  // @ts-expect-error cartItem is an array of CartItem
  await client.carts.create({ cartItem: { id: '1' } });
  // @ts-expect-error quantity is a number
  await client.carts.create({ cartItem: [{ quantity: '2' }] });
  // @ts-expect-error an attribute ShoppingCart_Create does not have
  await client.carts.create({ cartItm: [] });
  // @ts-expect-error id and href are the server's, not part of ShoppingCart_Create
  await client.carts.create({ id: 'mine' });
  // @ts-expect-error relatedParty entries need an id
  await client.carts.create({ relatedParty: [{ role: 'customer' }] });
  // @ts-expect-error a JSON Patch operation needs op and path
  await client.carts.jsonPatch(created, [{ value: 1 }]);
  // @ts-expect-error op is one of the RFC 6902 operations
  await client.carts.jsonPatchQuery('id-1', [{ op: 'increment', path: '/x' }]);
  // @ts-expect-error a merge patch of a cart, not a list of operations
  await client.carts.mergePatch(created, [{ op: 'remove', path: '/cartItem' }]);
  // @ts-expect-error the raw client checks bodies against the spec too
  await client.raw.POST('/shoppingCart', { body: { cartItem: 'none' } });
  // @ts-expect-error the raw client checks paths too
  await client.raw.GET('/shoppingCarts');
  // @ts-expect-error filters start with a ShoppingCart attribute
  await client.carts.list({ filter: { colour: 'red' } });
  // @ts-expect-error fields name ShoppingCart attributes
  await client.carts.list({ fields: ['colour'] });
  // @ts-expect-error limit is a number
  await client.carts.list({ limit: '10' });
  // @ts-expect-error a subscription needs a callback
  await client.hub.subscribe({ query: 'eventType=ShoppingCartCreateEvent' });
  // @ts-expect-error only served versions exist
  createShoppingCartClient({ baseUrl: 'http://x', version: 'v3' });

  try {
    await client.carts.get('x');
  } catch (e) {
    if (e instanceof ConflictError) assertType<Equal<typeof e.status, number>>();
    if (e instanceof TmfApiError) assertType<Equal<typeof e.code, string>>();
  }
}
