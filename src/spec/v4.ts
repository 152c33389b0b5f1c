/**
 * TMF663 v4.0.0, served beside v5 (src/spec/v5.ts): its generated document, read once, with its
 * route table, and the generated types. The rest of src/ reaches generated/v4 only through this
 * module.
 */
import { loadApiSpec } from './document.js';

export type { components, operations } from '../../generated/v4/tmf663.js';

export const v4 = loadApiSpec(new URL('../../generated/v4/tmf663-openapi.json', import.meta.url));
