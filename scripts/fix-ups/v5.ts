/**
 * The named fix-ups of TMF663 v5.0.0 (openapi/v5/), applied in this order to the published
 * OpenAPI 3.0.1 document. Found the way v4's were: by loading the document into
 * express-openapi-validator with request and response validation on, feeding it the spec's own
 * examples and what the server sends (docs/api.md), and by reading the oasdiff
 * report of v4 -> v5. Fixed in v5 itself, so not repeated here: the ItemTotalPrice casing, the
 * savedForLater description, the missing PATCH media types. docs/contract/README.md lists them.
 */
import {
  absoluteUrlCallback,
  errorResponseIn,
  etagHeader,
  eachObject,
  fieldsAndSortPatterns,
  idempotencyKeyParameter,
  idempotencyKeyPattern,
  idempotentReplayedHeader,
  jsonPatchPaths,
  operations,
  pricingBounds,
  safeIntegers,
  sortParameter,
  type FixUp,
  type Json,
} from './fix-up.js';

const errorResponse = errorResponseIn('application/json');
const schemaName = (ref: string): string => ref.replace('#/components/schemas/', '');

/** The properties and required names of a schema, through its allOf chain of $refs. */
function flatten(doc: Json, schema: Json): { properties: Json; required: string[] } {
  if (typeof schema.$ref === 'string') return flatten(doc, doc.components.schemas[schemaName(schema.$ref)]);
  const out = {
    properties: { ...(schema.properties ?? {}) } as Json,
    required: [...(schema.required ?? [])],
  };
  for (const part of (schema.allOf ?? []) as Json[]) {
    const inner = flatten(doc, part);
    Object.assign(out.properties, inner.properties);
    out.required.push(...inner.required);
  }
  return out;
}

export const fixUps: FixUp[] = [
  {
    // The file's server is https://serverRoot/shoppingCart/v5/, without the /tmf-api prefix every
    // other TMF API keeps (TMF629 5.0.1 has it, so does v4): a quirk of this file. The server
    // serves v5 beside v4, under /tmf-api/shoppingCart/v5/.
    name: 'server-base-path',
    apply: (doc) => {
      doc.servers = [{ url: '/tmf-api/shoppingCart/v5' }];
    },
  },
  {
    // Polymorphic attributes (relatedParty.partyOrPartyRole, product, contactMedium, ...) are a
    // oneOf of open schemas with a discriminator on @type. A validator that does not apply the
    // discriminator (ajv in express-openapi-validator does not, for such schemas) finds that a
    // PartyRoleRef also matches PartyRef and rejects the spec's own examples: "must match
    // exactly one schema in oneOf". Each branch is made to hold only for the @type values the
    // mapping gives it, which is what the discriminator says. One mapping contradicts its own
    // schema: GeographicLocation's @type is an enum of GeoJSON names (GeoJsonPoint, ...), never
    // "GeographicLocation"; there the branch's own enum selects it.
    name: 'one-of-by-type',
    apply: (doc) => {
      eachObject(doc.components.schemas, (schema) => {
        const mapping = schema.discriminator?.mapping as Record<string, string> | undefined;
        if (Array.isArray(schema.oneOf) && mapping) {
          const property = schema.discriminator.propertyName as string;
          schema.oneOf = (schema.oneOf as Json[]).map((branch) => {
            const mapped = Object.keys(mapping).filter((t) => mapping[t] === branch.$ref);
            if (mapped.length === 0) return branch;
            const own = flatten(doc, branch).properties[property]?.enum as string[] | undefined;
            const types = own ?? mapped;
            return {
              allOf: [
                branch,
                { type: 'object', required: [property], properties: { [property]: { enum: types } } },
              ],
            };
          });
        }
      });
    },
  },
  {
    // The spec's own JSON Patch example deletes with "op": "delete", which its JsonPatch schema
    // does not list; the server accepts it as an alias of remove (as v4's does).
    name: 'json-patch-delete-op',
    apply: (doc) => {
      const op = doc.components.schemas.JsonPatch.properties.op;
      op.enum = [...op.enum, 'delete'];
    },
  },
  {
    // RFC 7396: in a merge patch, null deletes a member; ShoppingCart_MVO allows no null, so a
    // merge patch that removes an attribute would be refused. The merge-patch media types
    // (application/json is one, as the CTK family sends it) get ShoppingCart_MVO where each
    // top-level attribute may also be null. Its required names stay required.
    name: 'merge-patch-null-deletes',
    apply: (doc) => {
      const schemas = doc.components.schemas;
      const mvo = flatten(doc, { $ref: '#/components/schemas/ShoppingCart_MVO' });
      schemas.ShoppingCart_MergePatch = {
        type: 'object',
        description: 'A JSON Merge Patch (RFC 7396) of a ShoppingCart: ShoppingCart_MVO where null deletes',
        required: [...new Set(mvo.required)],
        properties: Object.fromEntries(
          Object.entries(mvo.properties).map(([k, v]) => [k, { anyOf: [v, { enum: [null] }] }]),
        ),
      };
      const body = doc.components.requestBodies.ShoppingCart_MVO.content;
      for (const type of ['application/json', 'application/merge-patch+json']) {
        body[type].schema = { $ref: '#/components/schemas/ShoppingCart_MergePatch' };
      }
    },
  },
  {
    // Statuses the server sends that v5 leaves out, so response validation holds for every
    // answer: 206 partial list, 304/412 conditional requests, 413/414/415 request limits, 429
    // rate limit. ETag headers document concurrency. (v5 declares 501 and 503 itself; the hub
    // answers errors as `default`.)
    name: 'undeclared-statuses',
    apply: (doc) => {
      for (const { op } of operations(doc)) {
        if (op.responses.default) continue;
        Object.assign(op.responses, {
          '413': errorResponse('Payload Too Large'),
          '414': errorResponse('URI Too Long'),
          '415': errorResponse('Unsupported Media Type'),
          '429': errorResponse('Too Many Requests'),
        });
      }
      const responses = doc.components.responses;
      const list = doc.paths['/shoppingCart'].get.responses;
      list['206'] = {
        ...responses['200ShoppingCartArray'],
        description: 'Partial content: the page holds part of the matches',
      };
      const one = doc.paths['/shoppingCart/{id}'];
      const withEtag = (name: string): Json => ({
        ...responses[name],
        headers: { ...responses[name].headers, ...etagHeader() },
      });
      one.get.responses['200'] = withEtag('200ShoppingCart_Get');
      one.get.responses['304'] = { description: 'Not Modified', headers: etagHeader() };
      one.patch.responses['200'] = withEtag('200ShoppingCart_Patch');
      one.patch.responses['412'] = errorResponse('Precondition Failed');
      one.delete.responses['412'] = errorResponse('Precondition Failed');
      doc.paths['/shoppingCart'].post.responses['201'] = withEtag('201ShoppingCart');
    },
  },
  {
    // v5 declares fields, offset and limit only. TMF630 adds sort and attribute filters; sort is
    // declared here, filters pass through as unknown query parameters. fields and sort hold
    // attribute paths such as @type, so they allow reserved characters.
    name: 'list-query-parameters',
    apply: (doc) => {
      doc.components.parameters.Fields.allowReserved = true;
      doc.paths['/shoppingCart'].get.parameters.push(sortParameter());
    },
  },
  {
    // Operators need to see subscriptions: GET /hub and GET /hub/{id} are not in v5 either.
    name: 'hub-read-operations',
    apply: (doc) => {
      const hub = { $ref: '#/components/schemas/Hub' };
      const json = (schema: Json): Json => ({ 'application/json': { schema } });
      const error = { $ref: '#/components/responses/Error' };
      doc.paths['/hub'].get = {
        operationId: 'listHub',
        summary: 'List the event subscriptions',
        tags: ['events subscription'],
        responses: {
          '200': { description: 'Success', content: json({ type: 'array', items: hub }) },
          default: error,
        },
      };
      doc.paths['/hub/{id}'].get = {
        operationId: 'retrieveHub',
        summary: 'Retrieve one event subscription',
        tags: ['events subscription'],
        parameters: doc.paths['/hub/{id}'].delete.parameters,
        responses: {
          '200': { description: 'Success', content: json(hub) },
          default: error,
        },
      };
    },
  },
  {
    // Safe retries of the creating operations on v5 as on v4 (src/http/idempotency.ts): the
    // Idempotency-Key request header in its grammar, the replay marker, and 422 for a key reused
    // with another request (409 is declared already: the first request is still in flight).
    name: 'idempotency-key',
    apply: (doc) => {
      const base = idempotencyKeyParameter();
      const header = { ...base, schema: { ...base.schema, pattern: idempotencyKeyPattern() } };
      for (const path of ['/shoppingCart', '/hub']) {
        const post = doc.paths[path].post;
        post.parameters = [...(post.parameters ?? []), header];
        if (!post.responses.default) {
          post.responses['422'] = errorResponse(
            'Unprocessable Entity: the Idempotency-Key was used with another request',
          );
        }
        // The answer inline (not the shared $ref), with the replay marker beside its headers.
        const ref: unknown = post.responses['201'].$ref;
        const created: Json =
          typeof ref === 'string'
            ? doc.components.responses[ref.replace('#/components/responses/', '')]
            : post.responses['201'];
        post.responses['201'] = {
          ...created,
          headers: { ...(created.headers ?? {}), ...idempotentReplayedHeader() },
        };
      }
    },
  },
  {
    // fields and sort are comma-separated attribute paths: the parser's grammar as a pattern, as
    // on v4 (found by the contract fuzzer on v5: `fields=` was schema-valid and a 400).
    name: 'fields-and-sort-grammar',
    apply: (doc) => {
      const { fields, sort } = fieldsAndSortPatterns();
      const parameter = doc.components.parameters.Fields;
      parameter.schema = { ...parameter.schema, minLength: 1, pattern: fields };
      for (const p of doc.paths['/shoppingCart'].get.parameters as Json[]) {
        if (p.name === 'sort') p.schema = { ...p.schema, minLength: 1, pattern: sort };
      }
    },
  },
  {
    // The hub refuses a callback that is not an absolute http(s) URL, as on v4 (found by the
    // contract fuzzer on v5: `"callback": ""` was schema-valid and a 400).
    name: 'hub-callback-absolute-url',
    apply: (doc) => {
      const hub = doc.components.schemas.Hub_FVO.allOf.find((part: Json) => part.properties?.callback);
      absoluteUrlCallback(hub.properties.callback);
    },
  },
  {
    // offset and limit are counts: the server refuses negative ones and any past 2^53 - 1, as on
    // v4 (found by the contract fuzzer on v5: `limit=-264` was schema-valid and a 400).
    name: 'list-paging-bounds',
    apply: (doc) => {
      for (const name of ['Offset', 'Limit']) {
        const parameter = doc.components.parameters[name];
        parameter.schema = { ...parameter.schema, minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
      }
    },
  },
  {
    // JSON Patch paths are JSON Pointers to a member, JSON Patch Query paths may also be JSONPath,
    // as on v4 (found by the contract fuzzer on v5: a path "ë" was schema-valid and a 400).
    name: 'json-patch-paths',
    apply: (doc) => {
      jsonPatchPaths(doc, 'JsonPatch');
      const body = doc.components.requestBodies.ShoppingCart_MVO.content['application/json-patch-query+json'];
      body.schema = { $ref: '#/components/schemas/JsonPatchQuery' };
    },
  },
  {
    // Pricing refuses a quantity below 1, a negative tax rate and a negative number of periods, as
    // on v4 (found by the contract fuzzer on v5: `"quantity": -711799` was schema-valid and a 400).
    name: 'pricing-bounds',
    apply: (doc) => {
      pricingBounds(doc, ['', '_FVO', '_MVO']);
    },
  },
  {
    // Integers past 2^53 - 1 cannot be held exactly by the server and are refused (400), on v5 as
    // on v4 (found by the contract fuzzer on v5: a quantity of 2^53 was schema-valid and a 400).
    name: 'safe-integers',
    apply: (doc) => {
      safeIntegers(doc);
    },
  },
];
