/**
 * What the server reads of a generated OpenAPI 3 document (scripts/generate.ts writes them to
 * generated/<version>/), and the route table derived from it: each path with the express
 * spelling of its template, the pattern that recognises a request path, and its operations (method,
 * operationId, the OAuth2 scopes its security requirement names, whether it takes an
 * Idempotency-Key). The HTTP layer builds its 404/405 table, Allow headers, metric route
 * templates, scope checks and handler registration from this table, never from a list of its own.
 */
import { readFileSync } from 'node:fs';

/** The methods an OpenAPI path item may declare, as it spells them (and as Express names its route methods). */
export const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof httpMethods)[number];

/**
 * The tag the TMF documents give the notification hub's operations (register, list, read and
 * remove a subscription), on every version.
 */
export const hubTag = 'events subscription';

/** The request header that makes a create safe to retry (declared by the operations that take it). */
export const idempotencyKeyHeader = 'Idempotency-Key';

interface Parameter {
  name?: string;
  in?: string;
}

interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: Parameter[];
  security?: Record<string, string[]>[];
  [key: string]: unknown;
}

type PathItem = Partial<Record<HttpMethod, Operation>> & { parameters?: Parameter[] };

/** A schema of the document's components, as far as the server walks them (query typing, v5 @type filling). */
export interface SchemaObject {
  $ref?: string;
  type?: string;
  format?: string;
  items?: SchemaObject;
  allOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  properties?: Record<string, SchemaObject>;
  required?: string[];
  enum?: unknown[];
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
}

/** A generated OpenAPI 3 document, as far as the server reads it (the rest passes through as is). */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string }[];
  paths: Record<string, PathItem>;
  components?: { schemas?: Record<string, SchemaObject>; [key: string]: unknown };
  security?: Record<string, string[]>[];
  [key: string]: unknown;
}

export interface RouteOperation {
  method: HttpMethod;
  operationId: string;
  /** The scopes of the operation's (else the document's) security requirement; empty when it names none. */
  scopes: readonly string[];
  /** The operation declares an Idempotency-Key header. */
  idempotencyKey: boolean;
  /** One of the notification hub's operations (tagged `hubTag`). */
  hub: boolean;
}

export interface Route {
  /** The path template as the document spells it: `/shoppingCart/{id}`. */
  path: string;
  /** As Express spells it: `/shoppingCart/:id`. */
  expressPath: string;
  /** Recognises a request path below the base path (one trailing slash allowed). */
  pattern: RegExp;
  operations: readonly RouteOperation[];
}

/** One API version as its document describes it. */
export interface ApiSpec {
  /** The document's `info.version` (`4.0.0`). */
  version: string;
  /** The document served at `<basePath>/openapi.json` and validated against, loaded once. */
  document: OpenApiDocument;
  /** From the document's first `servers` entry: `/tmf-api/shoppingCart/v4`. */
  basePath: string;
  routes: readonly Route[];
}

/** The path of an operation (`/shoppingCart` for createShoppingCart); an operationId the table lacks is a programming error. */
export function pathOf(spec: ApiSpec, operationId: string): string {
  const route = spec.routes.find((r) => r.operations.some((o) => o.operationId === operationId));
  if (route === undefined) throw new Error(`${spec.basePath}: no operation ${operationId}`);
  return route.path;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A check of the shape the server relies on; the validator checks the whole document when it loads it. */
function isOpenApiDocument(value: unknown): value is OpenApiDocument {
  return (
    isRecord(value) &&
    typeof value.openapi === 'string' &&
    isRecord(value.info) &&
    typeof value.info.version === 'string' &&
    isRecord(value.paths) &&
    Object.values(value.paths).every(isRecord) &&
    (value.components === undefined || isRecord(value.components))
  );
}

export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isParameter = (segment: string): boolean => /^\{[^}]+\}$/.test(segment);

/** The pattern that recognises a request path of a path template (one trailing slash allowed). */
export function pathPattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((s) => (isParameter(s) ? '[^/]+' : escapeRegExp(s)))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

function routeOf(document: OpenApiDocument, path: string, item: PathItem): Route {
  const operations = httpMethods.flatMap((method): RouteOperation[] => {
    const op = item[method];
    if (op === undefined) return [];
    if (op.operationId === undefined) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
    const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])];
    return [
      {
        method,
        operationId: op.operationId,
        scopes: (op.security ?? document.security ?? []).flatMap((requirement) =>
          Object.values(requirement).flat(),
        ),
        idempotencyKey: parameters.some((p) => p.in === 'header' && p.name === idempotencyKeyHeader),
        hub: op.tags?.includes(hubTag) === true,
      },
    ];
  });
  const segments = path.split('/');
  return {
    path,
    expressPath: segments.map((s) => (isParameter(s) ? `:${s.slice(1, -1)}` : s)).join('/'),
    pattern: pathPattern(path),
    operations,
  };
}

/** Reads a generated document (once per process: each version's module calls this at load). */
export function loadApiSpec(file: URL): ApiSpec {
  const document: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isOpenApiDocument(document)) throw new Error(`${file.pathname} is not an OpenAPI 3 document`);
  const basePath = document.servers?.[0]?.url;
  if (basePath === undefined || !basePath.startsWith('/'))
    throw new Error(`${file.pathname}: the first servers entry must be the base path`);
  return {
    version: document.info.version,
    document,
    basePath,
    routes: Object.entries(document.paths).map(([path, item]) => routeOf(document, path, item)),
  };
}
