/**
 * The document handed to express-openapi-validator: the served one, with two changes that only
 * the validator needs (the served document and the types keep the original). Each works around
 * a behaviour of express-openapi-validator 5.6, found by feeding it the spec's own examples.
 *
 * - It matches a response's Content-Type against the spec's media types in its own normalised
 *   spelling ("application/json; charset=utf-8") and silently skips validation when the spec
 *   spells it otherwise, as TMF v4 does ("application/json;charset=utf-8"). Response media types
 *   are respelled so that response validation actually runs.
 * - It hands ajv every response schema together with the whole `components` and `paths`, and ajv
 *   reads the `id` of every object it finds there, example values included: TMF v5's examples
 *   (two carts with `id: "1203"`) then make every response validation fail with "resolves to
 *   more than one schema". Examples are documentation, so the validator gets none.
 */
import type * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiDocument } from '../spec/document.js';

/** The document type of the validator's options (its own OpenAPI 3.0 / 3.1 typing, read only). */
export type ValidatorDocument = Exclude<Parameters<typeof OpenApiValidator.middleware>[0]['apiSpec'], string>;

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The typed adapter between our reading of the document and the validator's typing of it: the
 * validator types every OpenAPI object in depth, which a JSON file cannot be checked against
 * statically. This checks the version the validator dispatches on; the validator checks the whole
 * document against the OpenAPI schema when it loads it (validateApiSpec, on by default).
 */
function isValidatorDocument(doc: OpenApiDocument): doc is OpenApiDocument & ValidatorDocument {
  return /^3\.[01]\.\d+$/.test(doc.openapi) && typeof doc.info.title === 'string';
}

export function specForValidator(spec: OpenApiDocument): ValidatorDocument {
  const copy = structuredClone(spec);
  for (const item of Object.values(copy.paths)) {
    for (const op of Object.values(item)) {
      if (!isRecord(op) || !isRecord(op.responses)) continue;
      for (const response of Object.values(op.responses)) {
        if (!isRecord(response) || !isRecord(response.content)) continue;
        response.content = Object.fromEntries(
          Object.entries(response.content).map(([type, media]) => [type.replace(/;\s*/g, '; '), media]),
        );
      }
    }
  }
  const withoutExamples = (node: unknown, inSchema: boolean): void => {
    if (Array.isArray(node)) {
      for (const n of node) withoutExamples(n, inSchema);
      return;
    }
    if (!isRecord(node)) return;
    // A property named "examples" or "example" inside a schema's properties is data, not an example.
    if (!inSchema) {
      delete node.examples;
      delete node.example;
    }
    for (const [key, value] of Object.entries(node)) withoutExamples(value, key === 'properties');
  };
  if (copy.components) delete copy.components.examples;
  withoutExamples(copy.paths, false);
  if (copy.components) withoutExamples(copy.components, false);
  if (!isValidatorDocument(copy))
    throw new Error(`OpenAPI ${copy.openapi} is not a version the validator reads`);
  return copy;
}
