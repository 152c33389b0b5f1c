/**
 * Interactive API documentation (Swagger UI) for the generated OpenAPI document. Swagger UI's
 * assets are served from node_modules (swagger-ui-dist), never from a CDN. With authentication
 * on, the document shown carries a bearer scheme so that "Authorize" can send a token.
 */
import { Router, type Request, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenApiDocument } from '../spec/document.js';
import { methodNotAllowed } from './errors.js';

/** Where each version serves its docs page. */
export const docsPath = '/docs';

export function docsRoutes(spec: OpenApiDocument, bearer: boolean): Router {
  const doc = bearer
    ? {
        ...spec,
        components: {
          ...spec.components,
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        security: [{ bearerAuth: [] }],
      }
    : spec;
  const options = { swaggerOptions: { validatorUrl: null }, customSiteTitle: 'TMF663 Shopping Cart API' };
  const router = Router();
  // The page links its assets relatively ("./swagger-ui.css"): it must be served at docs/.
  router.get(docsPath, (req: Request, res: Response, next) => {
    if (req.originalUrl.split('?')[0]?.endsWith(docsPath)) {
      res.redirect(301, req.originalUrl.replace(/\/docs(\?|$)/, '/docs/$1'));
      return;
    }
    next();
  });
  // The page and its assets are read only.
  router.use(docsPath, (req: Request, res: Response, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      next();
      return;
    }
    next(methodNotAllowed(res, req.method, `${req.baseUrl}${req.path}`, ['GET', 'HEAD']));
  });
  router.use(docsPath, swaggerUi.serveFiles(doc, options), swaggerUi.setup(doc, options));
  return router;
}
