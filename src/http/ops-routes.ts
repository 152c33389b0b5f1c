/**
 * Operations endpoints outside the TMF base path: liveness, readiness and Prometheus metrics.
 * They need no token (probes and scrapers carry none); keep /metrics off public ingresses.
 */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { Health } from '../observability/health.js';
import { jsonType, methodNotAllowed, sendError } from './errors.js';

export interface OpsOptions {
  health: Health;
  registry: Registry;
}

/** The operations endpoints, each read only. */
export const opsPaths = ['/health', '/ready', '/metrics'] as const;

export function opsRoutes(options: OpsOptions): Router {
  const router = Router();

  router.get('/health', (_req, res) => {
    res.status(200).set('Content-Type', jsonType).set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    const readiness = await options.health.readiness();
    if (!readiness.ready) {
      sendError(res, readiness.error);
      return;
    }
    res.status(200).set('Content-Type', jsonType).json({ status: 'ok', store: readiness.store });
  });

  router.get('/metrics', async (_req, res) => {
    const text = await options.registry.metrics();
    res
      .status(200)
      .set('Content-Type', options.registry.contentType)
      .set('Cache-Control', 'no-store')
      .end(text);
  });

  // Each of these reads only (Express answers HEAD with the GET route, without a body).
  router.all([...opsPaths], (req, res) => {
    sendError(res, methodNotAllowed(res, req.method, req.path, ['GET', 'HEAD']));
  });

  return router;
}
