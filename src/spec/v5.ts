/**
 * TMF663 v5.0.0, served beside v4 (src/http/v5.ts; the mapping in src/versions/v5/): its
 * generated document, read once, with its route table, and the generated types. The rest of src/
 * reaches generated/v5 only through this module.
 */
import type { operations as documentOperations } from '../../generated/v5/tmf663.js';
import { loadApiSpec, type ApiSpec } from './document.js';

export type { components } from '../../generated/v5/tmf663.js';

/** The document's listener operations: what a subscriber serves to receive events, not the server. */
type ListenerOperations =
  | 'shoppingCartAttributeValueChangeEvent'
  | 'shoppingCartCreateEvent'
  | 'shoppingCartDeleteEvent';

/** The operations the server serves. */
export type operations = Omit<documentOperations, ListenerOperations>;

const document = loadApiSpec(new URL('../../generated/v5/tmf663-openapi.json', import.meta.url));

/** The served document and its route table, the listener paths left out (404 on the server). */
export const v5: ApiSpec = {
  ...document,
  routes: document.routes.filter((route) => !route.path.startsWith('/listener/')),
};
