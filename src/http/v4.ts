/** TMF663 v4.0.0 as served: its document and route table (src/spec/v4.ts) and its handlers. */
import { v4, type operations } from '../spec/v4.js';
import type { ApiVersion } from './api-version.js';
import { jsonType } from './errors.js';
import { cartHandlers } from './cart-routes.js';
import { hubHandlers } from './hub-routes.js';

export const v4Api: ApiVersion<operations> = {
  name: 'v4',
  spec: v4,
  title: 'TMF663 Shopping Cart Management',
  jsonType,
  handlers: (context) => ({ ...cartHandlers(context), ...hubHandlers(context) }),
};
