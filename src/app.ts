/**
 * createApp(deps) builds the Express application; it never listens (tests and main.ts do).
 * Order matters: request id, metrics and the request log first (they see every answer), then the
 * cheap refusals (URI length, rate limit), the operations endpoints, and under the TMF base path:
 * 405/404, authentication, body parsing, the spec-driven validator, the routes; last, one error
 * handler that turns everything into a TMF Error.
 */
import { readFileSync } from 'node:fs';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { CartService } from './cart/cart-service.js';
import { missingBody, noResourceAt } from './errors.js';
import { assertNoForbiddenKeys } from './forbidden-keys.js';
import { requireAuth, type AuthOptions } from './http/auth.js';
import { apiBaseUrl, basePath, cartRoutes, validateResponsesSetting } from './http/cart-routes.js';
import { chain } from './http/chain.js';
import { docsRoutes } from './http/docs.js';
import { errorHandler, jsonType, methodNotAllowed, sendError } from './http/errors.js';
import {
  afterDeadline,
  corsPolicy,
  jsonDepthLimit,
  rateLimitPerIp,
  requestDeadline,
  requestId,
  requestIdOf,
  securityHeaders,
  uriLengthLimit,
} from './http/hardening.js';
import { hubRoutes } from './http/hub-routes.js';
import { idempotency } from './http/idempotency.js';
import { opsRoutes } from './http/ops-routes.js';
import { memoisePathToRegexp } from './http/route-regexp-cache.js';
import { specForValidator } from './http/validator-spec.js';
import type { SubscriptionService } from './hub/subscription-service.js';
import type { Health } from './observability/health.js';
import { createLogger, requestLog, type Logger } from './observability/logger.js';
import { dateTimeFormat } from './query/dates.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Store } from './store/store.js';

export interface AppDeps {
  store: Store;
  carts: CartService;
  newId: () => string;
  publicBaseUrl: string | undefined;
  bodyLimit: string;
  maxPageSize: number;
  /** Validate every response against the spec too (on in tests). */
  validateResponses: boolean;
  /** Called with unexpected errors (500s), and the id of the request that met them. */
  logError: (err: unknown, context?: { requestId?: string | undefined }) => void;
  /** Bearer-token authentication; undefined = off (AUTH_MODE=off). */
  auth?: AuthOptions | undefined;
  /** CORS allowed origins; undefined = no CORS. */
  corsOrigins?: string[] | undefined;
  /** Express `trust proxy` (client IPs for rate limiting and logs behind a load balancer). */
  trustProxy: boolean | number | string[];
  /** Deepest JSON nesting accepted in a body (JSON_MAX_DEPTH). */
  jsonMaxDepth: number;
  /** Requests per minute per client IP; 0 = no limit. */
  rateLimitPerMin: number;
  /** A request whose answer has not started by then gets a 503 (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Request log; default: none. */
  logger?: Logger;
  /** Metrics registry and instruments; default: a fresh registry. */
  metrics?: Metrics;
  /** Readiness (GET /ready): no while the store is unreachable or shutdown began. */
  health: Health;
  /** The notification hub's subscriptions. */
  subscriptions: SubscriptionService;
  /** How long an Idempotency-Key and its answer are kept (IDEMPOTENCY_TTL). */
  idempotencyTtlMs: number;
  /** The clock of the Idempotency-Key records; default: the system clock. */
  now?: () => Date;
}

/** The generated OpenAPI 3 document, loaded once. */
export const apiSpec = JSON.parse(
  readFileSync(new URL('../generated/v4/tmf663-openapi.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** One path of the API and the methods it serves (HEAD wherever GET is). */
export interface ServedPath {
  template: string;
  pattern: RegExp;
  methods: string[];
}

/**
 * The methods each path serves, from the served document (plus the entry point at the base
 * path and the document itself): anything else on a known path is a 405 with an Allow header, an unknown path a 404.
 */
export function servedPaths(spec: Record<string, unknown>): ServedPath[] {
  const verbs = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const paths = Object.entries(spec.paths as Record<string, Record<string, unknown>>).map(
    ([template, item]): ServedPath => {
      const methods = verbs.filter((v) => v in item).map((v) => v.toUpperCase());
      if (methods.includes('GET') && !methods.includes('HEAD'))
        methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
      const source = template
        .split('/')
        .map((segment) =>
          /^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/');
      return { template, pattern: new RegExp(`^${source}/?$`), methods };
    },
  );
  return [
    { template: '/', pattern: /^\/?$/, methods: ['GET', 'HEAD'] },
    { template: '/openapi.json', pattern: /^\/openapi\.json$/, methods: ['GET', 'HEAD'] },
    ...paths,
  ];
}

const served = servedPaths(apiSpec);

export function createApp(deps: AppDeps): express.Express {
  memoisePathToRegexp();
  const app = express();
  const metrics = deps.metrics ?? createMetrics();
  const logger = deps.logger ?? createLogger('silent');
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are the cart versions, set by the routes
  app.set('query parser', 'simple'); // values stay literals: no nested objects from a[b]=c
  app.set('trust proxy', deps.trustProxy);
  // Routes that send stored JSON text as is go through res.json instead when the validator watches.
  app.set(validateResponsesSetting, deps.validateResponses);

  // JSON answers carry exactly the spec's media type (api-rules), which Express's res.json would
  // rewrite as "application/json; charset=utf-8"; this also skips its ETag and freshness work.
  // Installed first, so the response validator (in tests) wraps this res.json.
  // Set on this app's response prototype, so the response validator (in tests) wraps it.
  app.response.json = function json(this: Response, body: unknown) {
    const text = JSON.stringify(body);
    this.setHeader('Content-Type', jsonType);
    this.setHeader('Content-Length', Buffer.byteLength(text));
    this.end(text);
    return this;
  };

  app.use(
    chain(
      requestId(),
      metrics.httpMetrics,
      requestLog(logger, requestIdOf),
      requestDeadline(deps.requestTimeoutMs),
      uriLengthLimit(),
      securityHeaders(),
    ),
  );
  if (deps.corsOrigins !== undefined) app.use(corsPolicy(deps.corsOrigins));
  app.use(opsRoutes({ health: deps.health, registry: metrics.registry }));
  if (deps.rateLimitPerMin > 0) app.use(basePath, rateLimitPerIp(deps.rateLimitPerMin));

  const api = express.Router();

  api.get('/', (req: Request, res: Response) => {
    const base = apiBaseUrl(req, deps.publicBaseUrl);
    res
      .status(200)
      .set('Content-Type', jsonType)
      .json({
        '@type': 'EntryPoint',
        name: 'TMF663 Shopping Cart Management',
        version: '4.0.0',
        resources: [
          { name: 'shoppingCart', href: `${base}/shoppingCart` },
          { name: 'hub', href: `${base}/hub` },
        ],
        openapi: `${base}/openapi.json`,
      });
  });
  api.get('/openapi.json', (_req: Request, res: Response) => {
    res.status(200).set('Content-Type', jsonType).json(apiSpec);
  });
  // The entry point, the document and its docs are public: they describe the API, not its data.
  api.use(docsRoutes(apiSpec, deps.auth !== undefined));

  api.use((req: Request, res: Response, next: NextFunction) => {
    const entry = served.find((p) => p.pattern.test(req.path));
    if (!entry) {
      next(noResourceAt(`${basePath}${req.path}`));
      return;
    }
    if (!entry.methods.includes(req.method)) {
      next(methodNotAllowed(res, req.method, `${basePath}${entry.template}`, entry.methods));
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
    next();
  });

  if (deps.auth !== undefined) api.use(requireAuth(deps.auth));

  const parseJson = express.json({
    limit: deps.bodyLimit,
    strict: false,
    type: ['application/json', 'application/*+json'],
    verify: jsonDepthLimit(deps.jsonMaxDepth),
  });
  // Only the methods the API accepts a body on read one (the rest never reach a route with one).
  // Every such operation requires its body: none at all (or an empty one) is a 400, whatever the
  // Content-Type says; `{}` is a body.
  api.use((req: Request, res: Response, next: NextFunction) => {
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
  });

  api.use(
    OpenApiValidator.middleware({
      apiSpec: specForValidator(apiSpec) as never,
      validateRequests: { allowUnknownQueryParameters: true, coerceTypes: false },
      validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: false,
      ignorePaths: /\/(openapi\.json)?$/,
      // Formats the spec uses that ajv does not know (our own pricing checks the numbers), and
      // date-time as the server reads it everywhere (src/query/dates.ts), not ajv's own.
      formats: { float: true, int32: true, int64: true, 'date-time': dateTimeFormat } as never,
    }) as never,
  );

  // After validation: a request the spec refuses never takes a key.
  api.use(
    idempotency({
      store: deps.store,
      now: deps.now ?? (() => new Date()),
      newToken: deps.newId,
      retentionMs: deps.idempotencyTtlMs,
      requestTimeoutMs: deps.requestTimeoutMs,
    }),
  );

  const routeOptions = { publicBaseUrl: deps.publicBaseUrl, maxPageSize: deps.maxPageSize };
  // A caller limited to its own carts (owner isolation) sees only those: the cart service applies
  // the access policy each request carries (src/cart/access-policy.ts).
  api.use(cartRoutes(deps.carts, routeOptions));
  api.use(hubRoutes(deps.subscriptions, deps.publicBaseUrl));

  app.use(basePath, api);
  app.use((req: Request, res: Response) => {
    sendError(res, noResourceAt(req.path));
  });
  app.use(afterDeadline());
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    errorHandler((e) => {
      deps.logError(e, { requestId: requestIdOf(req) });
    })(err, req, res, next);
  });
  return app;
}
