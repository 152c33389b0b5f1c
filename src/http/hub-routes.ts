/**
 * The notification hub (TMF630/TMF688 pattern): listeners register a callback and a query;
 * GET /hub and GET /hub/{id} are for operators (they are not in the v4 spec; see generate.ts).
 */
import { Router } from 'express';
import type { EventSubscription, EventSubscriptionInput } from '../api-types.js';
import { AppError, badRequest, notFound } from '../errors.js';
import { parseSubscriptionQuery } from '../events/subscription-query.js';
import type { Store } from '../store/store.js';
import { basePath } from './cart-routes.js';
import { jsonType } from './errors.js';

function assertCallback(callback: string): void {
  let url: URL;
  try {
    url = new URL(callback);
  } catch {
    throw badRequest('Invalid callback', `callback "${callback}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badRequest('Invalid callback', `callback must be an http or https URL, got ${url.protocol}`);
  }
}

export function hubRoutes(store: Store, newId: () => string): Router {
  const router = Router();

  router.post('/hub', async (req, res) => {
    const input = req.body as EventSubscriptionInput;
    assertCallback(input.callback);
    const query = input.query ?? '';
    parseSubscriptionQuery(query); // a query we could never evaluate is refused now, not at delivery
    if (await store.findSubscription(input.callback, query)) {
      throw new AppError(
        'CONFLICT',
        'Duplicate subscription',
        'A subscription with this callback and query exists',
      );
    }
    const sub: EventSubscription = { id: newId(), callback: input.callback, query };
    await store.createSubscription(sub);
    res.status(201).location(`${basePath}/hub/${sub.id}`).set('Content-Type', jsonType).json(sub);
  });

  router.get('/hub', async (_req, res) => {
    res
      .status(200)
      .set('Content-Type', jsonType)
      .json(await store.listSubscriptions());
  });

  router.get('/hub/:id', async (req, res) => {
    const sub = await store.getSubscription(req.params.id);
    if (!sub) throw notFound(`No subscription with id ${req.params.id}`);
    res.status(200).set('Content-Type', jsonType).json(sub);
  });

  router.delete('/hub/:id', async (req, res) => {
    if (!(await store.deleteSubscription(req.params.id)))
      throw notFound(`No subscription with id ${req.params.id}`);
    res.status(204).end();
  });

  return router;
}
