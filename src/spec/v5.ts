/**
 * TMF663 v5.0.0 (mapped in src/versions/v5/, not served yet): its generated document, read once,
 * with its route table, and the generated types. The rest of src/ reaches generated/v5 only
 * through this module.
 */
import { loadApiSpec } from './document.js';

export type { components, operations } from '../../generated/v5/tmf663.js';

export const v5 = loadApiSpec(new URL('../../generated/v5/tmf663-openapi.json', import.meta.url));
