/**
 * A fix-up mends one defect of a published spec, on its OpenAPI 3 form, so that the served
 * document says what the server really does. Each API version has its own list
 * (scripts/fix-ups/v4.ts, v5.ts); the names end up in the served document under `x-fix-ups`, and
 * every breaking change a fix-up makes to the published contract is allowed, by name and with a
 * reason, in contract/allow-list.json.
 */
// The documents are plain JSON of a shape only the spec knows; fix-ups walk them as such.
export type Json = Record<string, any>;

export interface FixUp {
  /** Stable, kebab-case; referenced by contract/allow-list.json. */
  name: string;
  apply: (doc: Json) => void;
}

/** Every operation of the document, with its path and method. */
export function operations(doc: Json): { path: string; method: string; op: Json }[] {
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  const out: { path: string; method: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) if (methods.has(method)) out.push({ path, method, op });
  }
  return out;
}

/** TMF630's sort query parameter, which neither v4 nor v5 declares (a fresh object per document). */
export const sortParameter = (): Json => ({
  name: 'sort',
  in: 'query',
  required: false,
  description: 'Comma-separated attribute paths; a leading - sorts descending (TMF630)',
  allowReserved: true,
  schema: { type: 'string' },
});
