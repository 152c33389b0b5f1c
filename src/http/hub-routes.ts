/**
 * The notification hub over HTTP: each route reads the request, asks the subscription service
 * (src/hub/subscription-service.ts, which owns the rules) and sends its answer. GET /hub and
 * GET /hub/{id} are for operators (they are not in the v4 spec; see generate.ts).
 */
import { Router } from 'express';
import type { EventSubscriptionInput } from '../api-types.js';
import type { SubscriptionService } from '../hub/subscription-service.js';
import { principalOf } from './auth.js';
import { apiBaseUrl } from './cart-routes.js';
import { jsonType } from './errors.js';

export function hubRoutes(subscriptions: SubscriptionService, publicBaseUrl: string | undefined): Router {
  const router = Router();

  router.post('/hub', async (req, res) => {
    const sub = await subscriptions.create(req.body as EventSubscriptionInput, principalOf(req)?.owner);
    // Absolute, as a created cart's Location is (its href).
    res
      .status(201)
      .location(`${apiBaseUrl(req, publicBaseUrl)}/hub/${sub.id}`)
      .set('Content-Type', jsonType)
      .json(sub);
  });

  router.get('/hub', async (req, res) => {
    const subs = await subscriptions.list(principalOf(req)?.owner);
    res.status(200).set('Content-Type', jsonType).json(subs);
  });

  router.get('/hub/:id', async (req, res) => {
    const sub = await subscriptions.get(req.params.id, principalOf(req)?.owner);
    res.status(200).set('Content-Type', jsonType).json(sub);
  });

  router.delete('/hub/:id', async (req, res) => {
    await subscriptions.remove(req.params.id, principalOf(req)?.owner);
    res.status(204).end();
  });

  return router;
}
