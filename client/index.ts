/**
 * tmf663-shopping-cart/client: typed clients of the TMF663 Shopping Cart API, one per served
 * version, generated from nothing at run time: openapi-fetch over the types `npm run generate`
 * makes from the same contract the server validates against.
 *
 *   const client = createShoppingCartClient({ baseUrl: 'https://shop.example.com', token });
 *   const { cart, etag } = await client.carts.create({ cartItem: [...] });
 *
 * Adding a version: its contract in contract.ts, its client module, one entry in `clients`.
 */
import type { ApiVersion } from './contract.js';
import { createShoppingCartClientV4, type ClientOptions, type ShoppingCartClientV4 } from './v4.js';

export type { ApiVersion, Contracts, ContractV4 } from './contract.js';
export { apiVersions } from './contract.js';
export {
  ConflictError,
  TmfApiError,
  defaultBackoff,
  isSafeToRetry,
  type RetryOptions,
  type TmfErrorBody,
  type TransportOptions,
} from './http.js';
export {
  createShoppingCartClientV4,
  listQueryString,
  type CartFilter,
  type CartItem,
  type CartPage,
  type CartTarget,
  type ClientOptions,
  type CreateOptions,
  type EventSubscription,
  type EventSubscriptionInput,
  type FilterOperator,
  type JsonPatchOperation,
  type ListCartsQuery,
  type ShoppingCart,
  type ShoppingCartClientV4,
  type ShoppingCartCreate,
  type ShoppingCartEvent,
  type ShoppingCartMergePatch,
  type TmfError,
  type VersionedCart,
} from './v4.js';

/** The client of each served version. */
export interface ShoppingCartClients {
  v4: ShoppingCartClientV4;
}

const clients: { [V in ApiVersion]: (options: ClientOptions) => ShoppingCartClients[V] } = {
  v4: createShoppingCartClientV4,
};

/** A client of one API version (default v4, the version served today). */
export function createShoppingCartClient<V extends ApiVersion = 'v4'>(
  options: ClientOptions & { version?: V },
): ShoppingCartClients[V] {
  const version = (options.version ?? 'v4') as V;
  return clients[version](options);
}
