/**
 * The notification hub over HTTP: each route reads the request, asks the subscription service
 * (src/hub/subscription-service.ts, which owns the rules) and sends its answer. GET /hub and
 * GET /hub/{id} are for operators (they are not in the v4 spec; see generate.ts).
 */
import type { operations } from '../spec/v4.js';
import type { Handler, HandlerContext, Handlers } from './api-version.js';
import { principalOf } from './auth.js';
import { jsonType } from './errors.js';

type HubOperations = 'registerListener' | 'listHub' | 'retrieveHub' | 'unregisterListener';

export function hubHandlers(options: HandlerContext<operations>): Pick<Handlers<operations>, HubOperations> {
  const { subscriptions } = options;
  const hubPath = options.pathOf('registerListener');

  const registerListener: Handler<operations, 'registerListener'> = async (req, res) => {
    const sub = await subscriptions.create(req.body, principalOf(req)?.owner);
    // Absolute, as a created cart's Location is (its href).
    res
      .status(201)
      .location(`${options.apiUrl(req)}${hubPath}/${sub.id}`)
      .set('Content-Type', jsonType)
      .json(sub);
  };

  const listHub: Handler<operations, 'listHub'> = async (req, res) => {
    const subs = await subscriptions.list(principalOf(req)?.owner);
    res.status(200).set('Content-Type', jsonType).json(subs);
  };

  const retrieveHub: Handler<operations, 'retrieveHub'> = async (req, res) => {
    const sub = await subscriptions.get(req.params.id, principalOf(req)?.owner);
    res.status(200).set('Content-Type', jsonType).json(sub);
  };

  const unregisterListener: Handler<operations, 'unregisterListener'> = async (req, res) => {
    await subscriptions.remove(req.params.id, principalOf(req)?.owner);
    res.status(204).end();
  };

  return { registerListener, listHub, retrieveHub, unregisterListener };
}
