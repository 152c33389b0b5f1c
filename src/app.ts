/**
 * createApp(deps) builds the Express application; it never listens (tests and main.ts do).
 * Order matters: body parsing, then the spec-driven validator in front of every TMF route,
 * then the routes, then one error handler that turns everything into a TMF Error.
 */
import { readFileSync } from 'node:fs';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { CartService } from './cart/cart-service.js';
import { AppError } from './errors.js';
import { basePath, cartRoutes } from './http/cart-routes.js';
import { errorHandler, jsonType, sendError } from './http/errors.js';
import { hubRoutes } from './http/hub-routes.js';
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
  /** Called with unexpected errors (500s). */
  logError: (err: unknown) => void;
}

/** The generated OpenAPI 3 document, loaded once. */
export const apiSpec = JSON.parse(
  readFileSync(new URL('../generated/tmf663-openapi.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/**
 * The document handed to the validator. express-openapi-validator 5.6 matches a response's
 * Content-Type against the spec's media types in its own normalised spelling
 * ("application/json; charset=utf-8") and silently skips validation when the spec spells it
 * otherwise, as TMF specs do ("application/json;charset=utf-8"). Respelling the response media
 * types (only there, and only for the validator) makes response validation actually run.
 */
function specForValidator(spec: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(spec) as {
    paths: Record<
      string,
      Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
    >;
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
  return copy;
}

/** Methods each path serves; anything else on a known path is a 405 (not a 404). */
const allowed: [RegExp, string[]][] = [
  [/^\/?$/, ['GET']],
  [/^\/shoppingCart\/?$/, ['GET', 'POST']],
  [/^\/shoppingCart\/[^/]+\/?$/, ['GET', 'PATCH', 'DELETE']],
  [/^\/hub\/?$/, ['GET', 'POST']],
  [/^\/hub\/[^/]+\/?$/, ['GET', 'DELETE']],
];

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are the cart versions, set by the routes
  app.set('query parser', 'simple'); // values stay literals: no nested objects from a[b]=c

  // JSON answers carry exactly the spec's media type (api-rules), which Express's res.json would
  // rewrite as "application/json; charset=utf-8"; this also skips its ETag and freshness work.
  // Installed first, so the response validator (in tests) wraps this res.json.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.json = function json(this: Response, body: unknown) {
      const text = JSON.stringify(body);
      this.setHeader('Content-Type', jsonType);
      this.setHeader('Content-Length', Buffer.byteLength(text));
      this.end(text);
      return this;
    };
    next();
  });

  const api = express.Router();

  api.get('/', (req: Request, res: Response) => {
    const base = `${deps.publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`}${basePath}`;
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

  api.use((req: Request, _res: Response, next: NextFunction) => {
    const entry = allowed.find(([re]) => re.test(req.path));
    if (entry && !entry[1].includes(req.method) && !(req.method === 'HEAD' && entry[1].includes('GET'))) {
      next(
        new AppError(
          'METHOD_NOT_ALLOWED',
          'Method not allowed',
          `${req.method} is not allowed on ${req.path}`,
        ),
      );
      return;
    }
    if (!entry) {
      next(new AppError('NOT_FOUND', 'Not found', `No resource at ${basePath}${req.path}`));
      return;
    }
    next();
  });

  api.use(
    express.json({
      limit: deps.bodyLimit,
      strict: false,
      type: ['application/json', 'application/*+json'],
    }),
  );

  api.use(
    OpenApiValidator.middleware({
      apiSpec: specForValidator(apiSpec) as never,
      validateRequests: { allowUnknownQueryParameters: true, coerceTypes: false },
      validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: false,
      ignorePaths: /\/(openapi\.json)?$/,
      // Formats the spec uses that ajv does not know; our own pricing checks the numbers.
      formats: { float: true, int32: true, int64: true } as never,
    }) as never,
  );

  api.use(cartRoutes(deps.carts, { publicBaseUrl: deps.publicBaseUrl, maxPageSize: deps.maxPageSize }));
  api.use(hubRoutes(deps.store, deps.newId));

  app.use(basePath, api);
  app.use((req: Request, res: Response) => {
    sendError(res, new AppError('NOT_FOUND', 'Not found', `No resource at ${req.path}`));
  });
  app.use(errorHandler(deps.logError));
  return app;
}
