/**
 * Named aliases of the TMF663 v4 types (generated, reached through src/spec/v4.ts, the version
 * served), so a spec bump shows up as type errors in one place.
 */
import type { components } from './spec/v4.js';

type Schemas = components['schemas'];

export type ShoppingCart = Schemas['ShoppingCart'];
export type ShoppingCartCreate = Schemas['ShoppingCart_Create'];
export type ShoppingCartUpdate = Schemas['ShoppingCart_Update'];
export type CartItem = Schemas['CartItem'];
export type CartPrice = Schemas['CartPrice'];
export type Price = Schemas['Price'];
export type PriceAlteration = Schemas['PriceAlteration'];
export type Money = Schemas['Money'];
export type TimePeriod = Schemas['TimePeriod'];
export type RelatedParty = Schemas['RelatedParty'];
export type TmfError = Schemas['Error'];
export type EventSubscription = Schemas['EventSubscription'];
export type EventSubscriptionInput = Schemas['EventSubscriptionInput'];
export type ShoppingCartCreateEvent = Schemas['ShoppingCartCreateEvent'];
export type ShoppingCartAttributeValueChangeEvent = Schemas['ShoppingCartAttributeValueChangeEvent'];
export type ShoppingCartDeleteEvent = Schemas['ShoppingCartDeleteEvent'];
export type JsonPatchOperation = Schemas['JsonPatchOperation'];
