/**
 * The named fix-ups of TMF663 v4.0.0 (openapi/v4/), applied in this order to the OpenAPI 3 form
 * of the Swagger 2.0 file. They mend the defects listed in ../shared/guide/api-rules.md and
 * declare what the server does beyond the spec (docs/contributing.md, "After a spec bump").
 */
import {
  absoluteUrlCallback,
  errorResponseIn,
  etagHeader,
  fieldsAndSortPatterns,
  idempotencyKeyParameter,
  idempotencyKeyPattern,
  idempotentReplayedHeader,
  jsonPatchPaths,
  pricingBounds,
  safeIntegers,
  sortParameter,
  type FixUp,
  type Json,
} from './fix-up.js';

const errorResponse = errorResponseIn('application/json;charset=utf-8');

/** Each fix-up names the defect it mends; the order is the one in api-rules.md. */
export const fixUps: FixUp[] = [
  {
    // The published host is a placeholder (https://serverRoot); the server serves the base path
    // wherever it runs.
    name: 'server-base-path',
    apply: (doc) => {
      doc.servers = [{ url: '/tmf-api/shoppingCart/v4' }];
    },
  },
  {
    // v4 alone capitalises CartItem.ItemTotalPrice; v2, v5 and the conformance profile use
    // itemTotalPrice. The server emits itemTotalPrice and accepts either (both are replaced).
    name: '1-item-total-price-casing',
    apply: (doc) => {
      const props = doc.components.schemas.CartItem.properties;
      props.itemTotalPrice = {
        ...props.ItemTotalPrice,
        description: 'Server-computed totals of this item (v5 spelling of the v4 ItemTotalPrice)',
      };
    },
  },
  {
    // The enum says saveForLater, the description savedForLater: the enum value is the contract.
    name: '2-save-for-later-description',
    apply: (doc) => {
      const status = doc.components.schemas.CartItem.properties.status;
      status.description = 'Status of the cart item: "active" or "saveForLater".';
    },
  },
  {
    // PATCH declares only application/json;charset=utf-8. TMF630 requires JSON Merge Patch and
    // allows JSON Patch and JSON Patch Query; all are declared so the validator accepts them.
    name: '3-patch-media-types',
    apply: (doc) => {
      const schemas = doc.components.schemas;
      schemas.JsonPatchOperation = {
        type: 'object',
        description: 'One RFC 6902 operation (TMF630 JSON Patch Query allows a query in path)',
        required: ['op', 'path'],
        properties: {
          op: { type: 'string', enum: ['add', 'remove', 'delete', 'replace', 'move', 'copy', 'test'] },
          path: { type: 'string' },
          from: { type: 'string' },
          value: {},
        },
      };
      schemas.JsonPatch = { type: 'array', items: { $ref: '#/components/schemas/JsonPatchOperation' } };
      // RFC 7396: null deletes a member, so a merge patch may hold null where the resource may not.
      const update = schemas.ShoppingCart_Update;
      schemas.ShoppingCart_MergePatch = {
        ...update,
        description:
          'A JSON Merge Patch (RFC 7396) of a ShoppingCart: ShoppingCart_Update where null deletes',
        properties: Object.fromEntries(
          Object.entries(update.properties as Json).map(([k, v]) => [k, { anyOf: [v, { enum: [null] }] }]),
        ),
      };
      const patch = doc.paths['/shoppingCart/{id}'].patch;
      const merge = { schema: { $ref: '#/components/schemas/ShoppingCart_MergePatch' } };
      const ops = { schema: { $ref: '#/components/schemas/JsonPatch' } };
      patch.requestBody.content = {
        'application/json': merge,
        'application/merge-patch+json': merge,
        'application/json-patch+json': ops,
        'application/json-patch-query+json': ops,
      };
    },
  },
  {
    // Statuses the server sends that the spec leaves out, so response validation holds for
    // every answer: 206 partial list, 304/412 conditional requests, 413/414/415 request
    // limits, 429 rate limit, 503 store unavailable. ETag headers document concurrency.
    name: '6-undeclared-statuses',
    apply: (doc) => {
      const common = {
        '413': errorResponse('Payload Too Large'),
        '414': errorResponse('URI Too Long'),
        '415': errorResponse('Unsupported Media Type'),
        '429': errorResponse('Too Many Requests'),
        '503': errorResponse('Service Unavailable'),
      };
      const paths = doc.paths as Record<string, Record<string, Json>>;
      for (const item of Object.values(paths)) {
        for (const op of Object.values(item)) {
          Object.assign(op.responses, common);
        }
      }
      const list = doc.paths['/shoppingCart'].get.responses;
      list['206'] = { ...list['200'], description: 'Partial content: the page holds part of the matches' };
      const one = doc.paths['/shoppingCart/{id}'];
      one.get.responses['200'].headers = { ...one.get.responses['200'].headers, ...etagHeader() };
      one.get.responses['304'] = { description: 'Not Modified', headers: etagHeader() };
      one.patch.responses['200'].headers = { ...one.patch.responses['200'].headers, ...etagHeader() };
      one.patch.responses['412'] = errorResponse('Precondition Failed');
      one.delete.responses['412'] = errorResponse('Precondition Failed');
      const create = doc.paths['/shoppingCart'].post.responses['201'];
      create.headers = { ...create.headers, ...etagHeader() };
    },
  },
  {
    // The spec declares fields, offset and limit only. TMF630 adds sort and attribute filters;
    // sort is declared here, filters pass through as unknown query parameters. fields and sort
    // hold attribute paths such as @type, so they allow reserved characters.
    name: '7-list-query-parameters',
    apply: (doc) => {
      const paths = doc.paths as Record<string, Record<string, Json>>;
      for (const item of Object.values(paths)) {
        for (const op of Object.values(item)) {
          for (const p of (op.parameters ?? []) as Json[]) if (p.name === 'fields') p.allowReserved = true;
        }
      }
      doc.paths['/shoppingCart'].get.parameters.push(sortParameter());
    },
  },
  {
    // Safe retries of the creating operations (src/http/idempotency.ts): the Idempotency-Key
    // request header (IETF httpapi draft), the replay marker, and 422 for a key reused with a
    // different body (409 is declared already: the first request is still in flight).
    name: 'idempotency-key',
    apply: (doc) => {
      const header = idempotencyKeyParameter();
      for (const path of ['/shoppingCart', '/hub']) {
        const post = doc.paths[path].post;
        post.parameters = [...(post.parameters ?? []), header];
        post.responses['422'] = errorResponse(
          'Unprocessable Entity: the Idempotency-Key was used with another request',
        );
        post.responses['201'].headers = { ...post.responses['201'].headers, ...idempotentReplayedHeader() };
      }
    },
  },
  {
    // Operators need to see subscriptions: GET /hub and GET /hub/{id} are not in v4.
    name: 'hub-read-operations',
    apply: (doc) => {
      const subscription = { $ref: '#/components/schemas/EventSubscription' };
      const json = (schema: Json): Json => ({ 'application/json;charset=utf-8': { schema } });
      const errors = (codes: string[]): Json =>
        Object.fromEntries(codes.map((c) => [c, errorResponse(c === '404' ? 'Not Found' : 'Error')]));
      doc.paths['/hub'].get = {
        operationId: 'listHub',
        summary: 'List the event subscriptions',
        tags: ['events subscription'],
        responses: {
          '200': { description: 'Success', content: json({ type: 'array', items: subscription }) },
          ...errors(['400', '401', '403', '429', '500', '503']),
        },
      };
      doc.paths['/hub/{id}'].get = {
        operationId: 'retrieveHub',
        summary: 'Retrieve one event subscription',
        tags: ['events subscription'],
        parameters: doc.paths['/hub/{id}'].delete.parameters,
        responses: {
          '200': { description: 'Success', content: json(subscription) },
          ...errors(['400', '401', '403', '404', '429', '500', '503']),
        },
      };
    },
  },
  {
    // offset and limit are plain integers in the spec; the server refuses negative ones and any
    // past 2^53 - 1 (they are counts), so the served document says so.
    name: 'list-paging-bounds',
    apply: (doc) => {
      const paths = doc.paths as Record<string, Record<string, Json>>;
      for (const item of Object.values(paths)) {
        for (const op of Object.values(item)) {
          for (const p of (op.parameters ?? []) as Json[]) {
            if (p.in === 'query' && (p.name === 'offset' || p.name === 'limit')) {
              p.schema = { ...p.schema, minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
            }
          }
        }
      }
    },
  },
  {
    // fields and sort are comma-separated attribute paths: the parser's grammar as a pattern.
    name: 'fields-and-sort-grammar',
    apply: (doc) => {
      const { fields, sort } = fieldsAndSortPatterns();
      const paths = doc.paths as Record<string, Record<string, Json>>;
      for (const item of Object.values(paths)) {
        for (const op of Object.values(item)) {
          for (const p of (op.parameters ?? []) as Json[]) {
            if (p.in !== 'query') continue;
            if (p.name === 'fields') p.schema = { ...p.schema, minLength: 1, pattern: fields };
            if (p.name === 'sort') p.schema = { ...p.schema, minLength: 1, pattern: sort };
          }
        }
      }
    },
  },
  {
    // The hub refuses a callback that is not an absolute http(s) URL (it could never deliver to it).
    name: 'hub-callback-absolute-url',
    apply: (doc) => {
      absoluteUrlCallback(doc.components.schemas.EventSubscriptionInput.properties.callback);
    },
  },
  {
    // A JSON Patch path is a JSON Pointer to a member: the server refuses "" (the whole cart) and
    // anything else. A JSON Patch Query path may also be a JSONPath ($...). Each media type gets
    // the operation schema that says so.
    name: 'json-patch-paths',
    apply: (doc) => {
      jsonPatchPaths(doc, 'JsonPatchOperation');
      doc.paths['/shoppingCart/{id}'].patch.requestBody.content['application/json-patch-query+json'] = {
        schema: { $ref: '#/components/schemas/JsonPatchQuery' },
      };
    },
  },
  {
    // Pricing refuses a quantity below 1, a negative tax rate and a negative number of periods
    // (src/cart/pricing/); the request validator now refuses them wherever the schemas occur.
    name: 'pricing-bounds',
    apply: (doc) => {
      pricingBounds(doc, ['']);
    },
  },
  {
    // The /listener/* paths describe what a client exposes, not what this server serves (they
    // answer 404): they leave the served paths and become the callbacks of POST /hub.
    name: 'listener-paths-as-callbacks',
    apply: (doc) => {
      const entries = Object.entries(doc.paths as Record<string, Json>);
      const isListener = ([path]: [string, Json]): boolean => path.startsWith('/listener/');
      doc.paths = Object.fromEntries(entries.filter((e) => !isListener(e)));
      doc.paths['/hub'].post.callbacks = Object.fromEntries(
        entries
          .filter(isListener)
          .map(([path, item]) => [path.slice('/listener/'.length), { '{$request.body#/callback}': item }]),
      );
    },
  },
  {
    // JSON integers past 2^53 - 1 cannot be held exactly by the server (a JavaScript number): it
    // stored -277777575133855200000000000000 as -2.777775751338552e+29, which a client then reads
    // as a float (found by the contract fuzzer). Every integer the spec declares without bounds
    // is bounded to the exact range, so the validator refuses what cannot be kept.
    name: 'safe-integers',
    apply: (doc) => {
      safeIntegers(doc);
    },
  },
  {
    // The Idempotency-Key grammar of src/http/idempotency.ts: 1 to 255 printable ASCII
    // characters, bare or as a quoted string with \\ and \" escapes. Found by the contract
    // fuzzer: the declared string allowed other characters, which the server refuses.
    name: 'idempotency-key-grammar',
    apply: (doc) => {
      const paths = doc.paths as Record<string, Record<string, Json>>;
      for (const item of Object.values(paths)) {
        for (const op of Object.values(item)) {
          for (const p of (op.parameters ?? []) as Json[]) {
            if (p.in === 'header' && p.name === 'Idempotency-Key') {
              p.schema = { ...p.schema, pattern: idempotencyKeyPattern() };
            }
          }
        }
      }
    },
  },
];
