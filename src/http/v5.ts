/**
 * TMF663 v5.0.0 as served beside v4: its document and route table (src/spec/v5.ts, the listener
 * paths left out) and its handlers, over the same cart and subscription services
 * (docs/api.md, "TMF663 v5 beside v4"; the mapping in docs/v5-mapping.md).
 */
import { v5, type operations } from '../spec/v5.js';
import type { ApiVersion } from './api-version.js';
import { v5CartHandlers } from './v5/cart-routes.js';
import { v5HubHandlers } from './v5/hub-routes.js';

export const v5Api: ApiVersion<operations> = {
  name: 'v5',
  spec: v5,
  title: 'TMF663 Shopping Cart Management',
  // v5 drops v4's charset parameter.
  jsonType: 'application/json',
  handlers: (context) => ({ ...v5CartHandlers(context), ...v5HubHandlers(context) }),
};
