/**
 * Named aliases of the TMF663 v5.0.0 types, as src/api-types.ts
 * is for v4, so a v5 spec bump shows up as type errors in one place. The rest of src/ speaks the
 * canonical (stored, v4-shaped) cart and reaches v5 only through src/versions/v5/.
 */
import type { components } from '../../spec/v5.js';

type Schemas = components['schemas'];

export type V5ShoppingCart = Schemas['ShoppingCart'];
export type V5ShoppingCartCreate = Schemas['ShoppingCart_FVO'];
export type V5ShoppingCartMergePatch = Schemas['ShoppingCart_MergePatch'];
export type V5JsonPatchOperations = Schemas['JsonPatchOperations'];
export type V5ShoppingCartCreateEvent = Schemas['ShoppingCartCreateEvent'];
export type V5ShoppingCartAttributeValueChangeEvent = Schemas['ShoppingCartAttributeValueChangeEvent'];
export type V5ShoppingCartDeleteEvent = Schemas['ShoppingCartDeleteEvent'];
export type V5Hub = Schemas['Hub'];
export type V5HubCreate = Schemas['Hub_FVO'];
export type V5Error = Schemas['Error'];

/** The names of the v5 schemas, for validation by name (v5-document.ts). */
export type V5SchemaName = Extract<keyof Schemas, string>;
