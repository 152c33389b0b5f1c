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

/**
 * The Idempotency-Key grammar of src/http/idempotency.ts: 1 to 255 printable ASCII characters,
 * bare or as a quoted string with \\ and \" escapes.
 */
export const idempotencyKeyPattern = (): string => {
  const bare = '[\\x21\\x23-\\x7e][\\x20-\\x7e]{0,254}';
  const quoted = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\["\\\\]){1,255}"';
  return `^(?:${bare}|${quoted})$`;
};

/** The Idempotency-Key request header of the creating operations (a fresh object per document). */
export const idempotencyKeyParameter = (): Json => ({
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'A unique key per create: a retry with the same key and body gets the first answer again instead of a second resource',
  schema: { type: 'string', minLength: 1, maxLength: 257 },
});

/** The answer header that marks a replayed answer. */
export const idempotentReplayedHeader = (): Json => ({
  'Idempotent-Replayed': {
    description: 'true when this is the stored answer of an earlier request with the same Idempotency-Key',
    schema: { type: 'string' },
  },
});

/** The ETag header of a response that returns one cart version. */
export const etagHeader = (): Json => ({
  ETag: { description: 'Strong entity tag of the returned cart version', schema: { type: 'string' } },
});

/** An error response in the document's own JSON media type spelling (v4 adds the charset). */
export const errorResponseIn =
  (mediaType: string) =>
  (description: string): Json => ({
    description,
    content: { [mediaType]: { schema: { $ref: '#/components/schemas/Error' } } },
  });

/** TMF630's sort query parameter, which neither v4 nor v5 declares (a fresh object per document). */
export const sortParameter = (): Json => ({
  name: 'sort',
  in: 'query',
  required: false,
  description: 'Comma-separated attribute paths; a leading - sorts descending (TMF630)',
  allowReserved: true,
  schema: { type: 'string' },
});

/**
 * fields and sort are comma-separated attribute paths (src/query/parse.ts): every item and every
 * path segment holds a character other than a blank (space or tab; blanks around them are
 * ignored), a path has at most 32 segments, and a sort item may start with - or +. Written so that
 * no two parts of the pattern can match the same character (no backtracking on an 8 KB query), in
 * character classes that read the same to every regex engine.
 */
export const fieldsAndSortPatterns = (): { fields: string; sort: string } => {
  const segment = '[ \\t]*[^ \\t,.][^,.]*';
  const path = `${segment}(?:\\.${segment}){0,31}`;
  const list = (item: string): string => `^${item}(?:,${item})*$`;
  return {
    fields: list(path),
    sort: list(`[ \\t]*(?:[-+]${path}|[^ \\t,.+-][^,.]*(?:\\.${segment}){0,31})`),
  };
};

/** The hub refuses a callback that is not an absolute http(s) URL (it could never deliver to it). */
export const absoluteUrlCallback = (callback: Json): void => {
  callback.format = 'uri';
  callback.pattern = '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+(?:[/?#]\\S*)?$';
  callback.description = 'The absolute http or https URL the events are POSTed to.';
};

/**
 * A JSON Patch path is a JSON Pointer to a member: the server refuses "" (the whole cart) and
 * anything else. A JSON Patch Query path may also be a JSONPath ($...). The document's operation
 * schema (`operation`) gets the pointer pattern; JsonPatchQueryOperation and JsonPatchQuery are
 * added for the json-patch-query media type, whose schema the caller points at JsonPatchQuery.
 */
export function jsonPatchPaths(doc: Json, operation: string): void {
  const schemas = doc.components.schemas;
  const pointer = { type: 'string', pattern: '^/' };
  schemas[operation].properties.path = { ...pointer, description: 'A JSON Pointer to a member' };
  schemas[operation].properties.from = { ...pointer, description: 'A JSON Pointer to a member' };
  schemas.JsonPatchQueryOperation = {
    ...schemas[operation],
    description: 'One TMF630 JSON Patch Query operation: the path may select array elements by a query',
    properties: {
      ...schemas[operation].properties,
      path: {
        type: 'string',
        pattern: '^[/$]',
        description: 'A JSON Pointer, with a query (/cartItem/quantity?cartItem.id=2), or a JSONPath',
      },
      from: { type: 'string', pattern: '^[/$]', description: 'As path; a query must select one element' },
    },
  };
  schemas.JsonPatchQuery = { type: 'array', items: { $ref: '#/components/schemas/JsonPatchQueryOperation' } };
}

/**
 * Pricing (src/cart/pricing/) refuses a quantity below 1, a negative tax rate and a negative
 * number of periods. `suffixes` names the variants of each schema a version has ('' for v4;
 * '', '_FVO', '_MVO' for v5).
 */
export function pricingBounds(doc: Json, suffixes: readonly string[]): void {
  // A schema's own property, in its properties or in one of its allOf parts (v5 writes them so).
  const property = (name: string, member: string): Json => {
    const schema: Json = doc.components.schemas[name];
    const parts = [schema, ...((schema.allOf ?? []) as Json[])];
    const owner = parts.find((part) => part.properties?.[member]);
    if (!owner) throw new Error(`pricing-bounds: ${name} has no ${member}`);
    return owner.properties[member];
  };
  for (const suffix of suffixes) {
    property(`CartItem${suffix}`, 'quantity').minimum = 1;
    property(`Price${suffix}`, 'taxRate').minimum = 0;
    property(`PriceAlteration${suffix}`, 'applicationDuration').minimum = 0;
  }
}

/**
 * Calls `fn` on every object under `root` (arrays walked through), parent before children; the
 * children are read after `fn` ran, so what `fn` puts in is walked too.
 */
export function eachObject(root: unknown, fn: (node: Json) => void): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    fn(node as Json);
    Object.values(node).forEach(visit);
  };
  visit(root);
}

/** Every integer the document declares without bounds is bounded to the range a JavaScript number holds exactly. */
export function safeIntegers(doc: Json): void {
  eachObject(doc.components.schemas, (schema) => {
    if (schema.type === 'integer') {
      schema.minimum ??= -Number.MAX_SAFE_INTEGER;
      schema.maximum ??= Number.MAX_SAFE_INTEGER;
    }
  });
}
