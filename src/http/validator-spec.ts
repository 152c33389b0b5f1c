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
type Json = Record<string, unknown>;
type Operation = { responses?: Record<string, { content?: Record<string, unknown> }> };

export function specForValidator(spec: Json): Json {
  const copy = structuredClone(spec) as Json & {
    paths: Record<string, Record<string, Operation>>;
    components?: Json;
  };
  for (const item of Object.values(copy.paths)) {
    for (const op of Object.values(item)) {
      for (const response of Object.values(op.responses ?? {})) {
        if (!response.content) continue;
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
    if (node === null || typeof node !== 'object') return;
    const object = node as Json;
    // A property named "examples" or "example" inside a schema's properties is data, not an example.
    if (!inSchema) {
      delete object.examples;
      delete object.example;
    }
    for (const [key, value] of Object.entries(object)) withoutExamples(value, key === 'properties');
  };
  if (copy.components) delete copy.components.examples;
  withoutExamples(copy.paths, false);
  if (copy.components) withoutExamples(copy.components, false);
  return copy;
}
