/**
 * mountApi(version, deps): the Router served at a version's base path. In order: the entry point,
 * the document and its docs (public: they describe the API, not its data); 405/404 from the
 * document's route table; authentication; body parsing; the validator over the document; the
 * Idempotency-Key layer; and the version's handlers, registered by operationId.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { CartService } from '../cart/cart-service.js';
import type { SubscriptionService } from '../hub/subscription-service.js';
import { missingBody, noResourceAt } from '../errors.js';
import { assertNoForbiddenKeys } from '../forbidden-keys.js';
import { dateTimeFormat } from '../query/dates.js';
import { escapeRegExp, pathOf, type ApiSpec, type Route } from '../spec/document.js';
import type { Store } from '../store/store.js';
import type { ApiVersion, Handlers, OperationId } from './api-version.js';
import { requireAuth, type AuthOptions } from './auth.js';
import { docsRoutes } from './docs.js';
import { jsonType, methodNotAllowed } from './errors.js';
import { jsonDepthLimit } from './hardening.js';
import { idempotency } from './idempotency.js';
import { findOperation, recordMatch } from './matched-operation.js';
import { specForValidator } from './validator-spec.js';

export interface ApiDeps {
  store: Store;
  carts: CartService;
  /** The notification hub's subscriptions. */
  subscriptions: SubscriptionService;
  newId: () => string;
  publicBaseUrl: string | undefined;
  bodyLimit: string;
  maxPageSize: number;
  /** Validate every response against the spec too (on in tests). */
  validateResponses: boolean;
  /** Bearer-token authentication; undefined = off (AUTH_MODE=off). */
  auth?: AuthOptions | undefined;
  /** Deepest JSON nesting accepted in a body (JSON_MAX_DEPTH). */
  jsonMaxDepth: number;
  /** A request whose answer has not started by then gets a 503 (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** How long an Idempotency-Key and its answer are kept (IDEMPOTENCY_TTL). */
  idempotencyTtlMs: number;
  /** The clock of the Idempotency-Key records; default: the system clock. */
  now?: () => Date;
}

/** Where each version serves its own document. */
export const documentPath = '/openapi.json';

/** One path of a version and the methods it serves (HEAD wherever GET is). */
export interface ServedPath {
  /** As the document spells it (`/shoppingCart/{id}`). */
  path: string;
  /** As Express spells it (`/shoppingCart/:id`). */
  expressPath: string;
  pattern: RegExp;
  methods: string[];
  /** The document's route; none for the entry point and the document itself. */
  route?: Route;
}

/**
 * The methods each path serves, from the version's route table (plus the entry point at the base
 * path and the document itself): anything else on a known path is a 405 with an Allow header, an
 * unknown path a 404.
 */
export function servedPaths(spec: ApiSpec): ServedPath[] {
  const paths = spec.routes.map((route): ServedPath => {
    const methods = route.operations.map((o) => o.method.toUpperCase());
    if (methods.includes('GET') && !methods.includes('HEAD'))
      methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
    return { path: route.path, expressPath: route.expressPath, pattern: route.pattern, methods, route };
  });
  return [
    { path: '/', expressPath: '/', pattern: /^\/?$/, methods: ['GET', 'HEAD'] },
    {
      path: documentPath,
      expressPath: documentPath,
      pattern: new RegExp(`^${escapeRegExp(documentPath)}$`),
      methods: ['GET', 'HEAD'],
    },
    ...paths,
  ];
}

/** The version's absolute base URL: PUBLIC_BASE_URL when set, else the request's protocol and host. */
const apiUrl = (req: Request, publicBaseUrl: string | undefined, basePath: string): string =>
  `${publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`}${basePath}`;

/** Answers 404 for unknown paths and 405 (with Allow) for methods a path does not serve. */
function methodTable(spec: ApiSpec) {
  const served = servedPaths(spec);
  return (req: Request, res: Response, next: NextFunction): void => {
    const entry = served.find((p) => p.pattern.test(req.path));
    if (!entry) {
      next(noResourceAt(`${spec.basePath}${req.path}`));
      return;
    }
    if (!entry.methods.includes(req.method)) {
      next(methodNotAllowed(res, req.method, `${spec.basePath}${entry.path}`, entry.methods));
      return;
    }
    if (req.method === 'HEAD') {
      // HEAD is GET without the body (RFC 9110 section 9.3.2): the validator and the routes see
      // a GET; Node sends no body for a HEAD request whatever the route writes. The method is
      // HEAD again before the answer ends, for the request log and the metrics.
      req.method = 'GET';
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        req.method = 'HEAD';
        return end(...args);
      }) as typeof res.end;
    }
    const match = findOperation(spec.routes, req.method, req.path);
    if (match) recordMatch(req, match);
    next();
  };
}

/**
 * Only the methods the API accepts a body on read one (the rest never reach a route with one).
 * Every such operation requires its body: none at all (or an empty one) is a 400, whatever the
 * Content-Type says; `{}` is a body.
 */
function bodyParser(deps: ApiDeps) {
  const parseJson = express.json({
    limit: deps.bodyLimit,
    strict: false,
    type: ['application/json', 'application/*+json'],
    verify: jsonDepthLimit(deps.jsonMaxDepth),
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' && req.method !== 'PATCH') {
      next();
      return;
    }
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) {
      next(missingBody(req.method));
      return;
    }
    parseJson(req, res, (err?: unknown) => {
      if (err !== undefined) {
        next(err);
        return;
      }
      // No body of any kind (cart, hub, every PATCH format) may carry a prototype key.
      try {
        assertNoForbiddenKeys(req.body);
      } catch (e) {
        next(e);
        return;
      }
      next();
    });
  };
}

const hasHandler = <Ops>(handlers: Handlers<Ops>, id: string): id is OperationId<Ops> =>
  Object.hasOwn(handlers, id);

export function mountApi<Ops>(version: ApiVersion<Ops>, deps: ApiDeps): Router {
  const { spec } = version;
  const api = express.Router();
  const collections = spec.routes.filter((r) => /^\/[^/{}]+$/.test(r.path)).map((r) => r.path);

  api.get('/', (req: Request, res: Response) => {
    const base = apiUrl(req, deps.publicBaseUrl, spec.basePath);
    res
      .status(200)
      .set('Content-Type', jsonType)
      .json({
        '@type': 'EntryPoint',
        name: version.title,
        version: spec.version,
        resources: collections.map((path) => ({ name: path.slice(1), href: `${base}${path}` })),
        openapi: `${base}${documentPath}`,
      });
  });
  api.get(documentPath, (_req: Request, res: Response) => {
    res.status(200).set('Content-Type', jsonType).json(spec.document);
  });
  api.use(docsRoutes(spec.document, deps.auth !== undefined));

  api.use(methodTable(spec));
  if (deps.auth !== undefined) api.use(requireAuth(deps.auth));
  api.use(bodyParser(deps));
  api.use(
    OpenApiValidator.middleware({
      apiSpec: specForValidator(spec.document),
      validateRequests: { allowUnknownQueryParameters: true, coerceTypes: false },
      validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: false,
      // The entry point and the document are not operations of the document.
      ignorePaths: (path: string) => path.endsWith('/') || path.endsWith(documentPath),
      // Formats the specs use that ajv does not know (our own pricing checks the numbers), and
      // date-time as the server reads it everywhere (src/query/dates.ts), not ajv's own.
      formats: { float: true, int32: true, int64: true, base64: true, 'date-time': dateTimeFormat },
    }),
  );
  // After validation: a request the spec refuses never takes a key.
  api.use(
    idempotency({
      store: deps.store,
      now: deps.now ?? (() => new Date()),
      newToken: deps.newId,
      retentionMs: deps.idempotencyTtlMs,
      requestTimeoutMs: deps.requestTimeoutMs,
      ...(version.name === 'v4' ? {} : { apiVersion: version.name }),
    }),
  );

  // A caller limited to its own carts (owner isolation) sees only those: the cart service applies
  // the access policy each request carries (src/cart/access-policy.ts).
  const handlers = version.handlers({
    carts: deps.carts,
    subscriptions: deps.subscriptions,
    maxPageSize: deps.maxPageSize,
    apiUrl: (req) => apiUrl(req, deps.publicBaseUrl, spec.basePath),
    pathOf: (operationId) => pathOf(spec, operationId),
  });
  for (const route of spec.routes) {
    const expressRoute = api.route(route.expressPath);
    for (const { method, operationId } of route.operations) {
      if (!hasHandler(handlers, operationId))
        throw new Error(`${spec.basePath}: no handler for ${operationId}`);
      // Express's route methods take the request's parameter and body types from the handler:
      // here the operation's own (generated types), which the validator in front has checked.
      expressRoute[method](handlers[operationId]);
    }
  }
  return api;
}
