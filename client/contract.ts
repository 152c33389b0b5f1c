/**
 * The one module of the client that imports the generated contract: each served API version's
 * paths and the schema names the client speaks, so that moving or adding generated files changes
 * this file only. A new version is one more import, one more interface and one more entry in
 * `apiVersions`.
 */
import type {
  components as V4Components,
  operations as V4Operations,
  paths as V4Paths,
} from '../generated/v4/tmf663.js';

type V4Schemas = V4Components['schemas'];

/** TMF663 v4.0.0 as served under /tmf-api/shoppingCart/v4. */
export interface ContractV4 {
  paths: V4Paths;
  ShoppingCart: V4Schemas['ShoppingCart'];
  ShoppingCartCreate: V4Schemas['ShoppingCart_Create'];
  /** application/merge-patch+json (and application/json) PATCH bodies. */
  ShoppingCartMergePatch: V4Schemas['ShoppingCart_MergePatch'];
  /** application/json-patch+json and application/json-patch-query+json PATCH bodies. */
  JsonPatchOperation: V4Schemas['JsonPatchOperation'];
  CartItem: V4Schemas['CartItem'];
  EventSubscription: V4Schemas['EventSubscription'];
  EventSubscriptionInput: V4Schemas['EventSubscriptionInput'];
  Error: V4Schemas['Error'];
  /** The list parameters the spec declares (fields, offset, limit, sort). */
  ListParameters: NonNullable<V4Operations['listShoppingCart']['parameters']['query']>;
  ShoppingCartCreateEvent: V4Schemas['ShoppingCartCreateEvent'];
  ShoppingCartAttributeValueChangeEvent: V4Schemas['ShoppingCartAttributeValueChangeEvent'];
  ShoppingCartDeleteEvent: V4Schemas['ShoppingCartDeleteEvent'];
}

/** Every served version, by the name callers pick it with. */
export interface Contracts {
  v4: ContractV4;
}

export type ApiVersion = keyof Contracts;

/** Where each version is served, relative to the server's URL. */
export const apiVersions: Record<ApiVersion, { basePath: string }> = {
  v4: { basePath: '/tmf-api/shoppingCart/v4' },
};
