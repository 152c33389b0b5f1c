/**
 * The notification hub (TMF630/TMF688 pattern): listeners register a callback and a query;
 * GET /hub and GET /hub/{id} are for operators (they are not in the v4 spec; see generate.ts).
 *
 * Under owner isolation a subscription belongs to the party that created it: that party alone
 * lists, reads and deletes it (another party's is "not found"), and the dispatcher sends it only
 * events about carts that party may read. Callers without an owner (admin scope, or isolation
 * off) see and delete every subscription; those they create have no owner and get every event.
 */
import { Router, type Request } from 'express';
import type { EventSubscription, EventSubscriptionInput } from '../api-types.js';
import { AppError, badRequest, fieldProblem, notFound } from '../errors.js';
import { parseSubscriptionQuery } from '../events/subscription-query.js';
import type { Store, StoredSubscription } from '../store/store.js';
import { principalOf } from './auth.js';
import { apiBaseUrl } from './cart-routes.js';
import { jsonType } from './errors.js';

function assertCallback(callback: string): void {
  let url: URL;
  try {
    url = new URL(callback);
  } catch {
    throw badRequest('Invalid callback', fieldProblem('callback', 'is not an absolute URL'));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badRequest(
      'Invalid callback',
      fieldProblem('callback', `must be an http or https URL, not ${url.protocol}`),
    );
  }
}

/** The representation: the owner is the server's business. */
const shown = (sub: StoredSubscription): EventSubscription => {
  const { owner: _owner, ...rest } = sub;
  return rest;
};

export function hubRoutes(store: Store, newId: () => string, publicBaseUrl: string | undefined): Router {
  const router = Router();
  /** The subscription with this id, if the caller may see it. */
  const visible = async (req: Request, id: string): Promise<StoredSubscription | undefined> => {
    const owner = principalOf(req)?.owner;
    const sub = await store.getSubscription(id);
    return sub && (owner === undefined || sub.owner === owner) ? sub : undefined;
  };

  router.post('/hub', async (req, res) => {
    const input = req.body as EventSubscriptionInput;
    assertCallback(input.callback);
    const query = input.query ?? '';
    parseSubscriptionQuery(query); // a query we could never evaluate is refused now, not at delivery
    // Unique per owner: another tenant's subscription with this callback is none of the caller's
    // business (neither a conflict nor a hint that it exists).
    const owner = principalOf(req)?.owner;
    if (await store.findSubscription(input.callback, query, owner)) {
      throw new AppError(
        'CONFLICT',
        'Duplicate subscription',
        'A subscription with this callback and query exists',
      );
    }
    const sub: StoredSubscription = {
      id: newId(),
      callback: input.callback,
      query,
      ...(owner === undefined ? {} : { owner }),
    };
    await store.createSubscription(sub);
    // Absolute, as a created cart's Location is (its href).
    res
      .status(201)
      .location(`${apiBaseUrl(req, publicBaseUrl)}/hub/${sub.id}`)
      .set('Content-Type', jsonType)
      .json(shown(sub));
  });

  router.get('/hub', async (req, res) => {
    const subs = await store.listSubscriptions(principalOf(req)?.owner);
    res.status(200).set('Content-Type', jsonType).json(subs.map(shown));
  });

  router.get('/hub/:id', async (req, res) => {
    const sub = await visible(req, req.params.id);
    if (!sub) throw notFound(`No subscription with id ${req.params.id}`);
    res.status(200).set('Content-Type', jsonType).json(shown(sub));
  });

  router.delete('/hub/:id', async (req, res) => {
    // Checked, then deleted: a subscription never changes owner, so nothing can slip between.
    if (!(await visible(req, req.params.id)) || !(await store.deleteSubscription(req.params.id)))
      throw notFound(`No subscription with id ${req.params.id}`);
    res.status(204).end();
  });

  return router;
}
