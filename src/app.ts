/**
 * createApp(deps) builds the Express application; it never listens (tests and main.ts do).
 * Order matters: request id, metrics and the request log first (they see every answer), then the
 * cheap refusals (URI length, rate limit), the operations endpoints, and under each served
 * version's base path its router (src/http/mount-api.ts: 405/404, authentication, body parsing,
 * the spec-driven validator, the handlers); last, one error handler that turns everything into a
 * TMF Error.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { noResourceAt } from './errors.js';
import { validateResponsesSetting } from './http/cart-routes.js';
import { chain } from './http/chain.js';
import { answerJsonAs, errorHandler, jsonType, jsonTypeOf, sendError } from './http/errors.js';
import {
  afterDeadline,
  corsPolicy,
  rateLimitPerIp,
  requestDeadline,
  requestId,
  requestIdOf,
  securityHeaders,
  uriLengthLimit,
} from './http/hardening.js';
import type { ApiDeps } from './http/mount-api.js';
import { opsRoutes } from './http/ops-routes.js';
import { memoisePathToRegexp } from './http/route-regexp-cache.js';
import { routeTemplate, servedApis } from './http/served-apis.js';
import type { Health } from './observability/health.js';
import { createLogger, requestLog, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';

export interface AppDeps extends ApiDeps {
  /** Called with unexpected errors (500s), and the id of the request that met them. */
  logError: (err: unknown, context?: { requestId?: string | undefined }) => void;
  /** CORS allowed origins; undefined = no CORS. */
  corsOrigins?: string[] | undefined;
  /** Express `trust proxy` (client IPs for rate limiting and logs behind a load balancer). */
  trustProxy: boolean | number | string[];
  /** Requests per minute per client IP; 0 = no limit. */
  rateLimitPerMin: number;
  /** Request log; default: none. */
  logger?: Logger;
  /** Metrics registry and instruments; default: a fresh registry. */
  metrics?: Metrics;
  /** Readiness (GET /ready): no while the store is unreachable or shutdown began. */
  health: Health;
}

export function createApp(deps: AppDeps): express.Express {
  memoisePathToRegexp();
  const app = express();
  const metrics = deps.metrics ?? createMetrics(routeTemplate);
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
    this.setHeader('Content-Type', jsonTypeOf(this));
    this.setHeader('Content-Length', Buffer.byteLength(text));
    this.end(text);
    return this;
  };

  // Every answer under a version's base path carries its JSON media type, the refusals in front
  // of its router (414, 429, 408) included.
  for (const api of servedApis.filter((a) => a.jsonType !== jsonType)) {
    app.use(api.spec.basePath, (_req: Request, res: Response, next: NextFunction) => {
      answerJsonAs(res, api.jsonType);
      next();
    });
  }
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
  if (deps.rateLimitPerMin > 0) {
    // One limit per client across every served version.
    const limit = rateLimitPerIp(deps.rateLimitPerMin);
    for (const api of servedApis) app.use(api.spec.basePath, limit);
  }

  for (const api of servedApis) app.use(api.spec.basePath, api.router(deps));
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
