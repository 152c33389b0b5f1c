/**
 * The notification hub of v5, by operationId: the subscription service of v4 (src/hub/), with
 * v5's shapes. A subscription made here records `v5`: its query names v5 paths and its events
 * take v5's shape (src/events/subscription-query.ts). v5 lists, reads and deletes every
 * subscription, each shown as a `Hub` (`@type` required in v5).
 */
import type { EventSubscription } from '../../api-types.js';
import type { operations } from '../../spec/v5.js';
import type { V5Hub } from '../../versions/v5/api-types.js';
import type { Handler, HandlerContext, Handlers } from '../api-version.js';
import { principalOf } from '../auth.js';

type HubOperations = 'createHub' | 'listHub' | 'retrieveHub' | 'hubDelete';

const shown = (sub: EventSubscription): V5Hub => ({ '@type': 'Hub', ...sub });

export function v5HubHandlers(
  options: HandlerContext<operations>,
): Pick<Handlers<operations>, HubOperations> {
  const { subscriptions } = options;
  const hubPath = options.pathOf('createHub');

  const createHub: Handler<operations, 'createHub'> = async (req, res) => {
    const { callback, query } = req.body;
    const sub = await subscriptions.create({ callback, query }, principalOf(req)?.owner, 'v5');
    // Absolute, as a created cart's Location is (its href).
    res
      .status(201)
      .location(`${options.apiUrl(req)}${hubPath}/${sub.id}`)
      .json(shown(sub));
  };

  const listHub: Handler<operations, 'listHub'> = async (req, res) => {
    const subs = await subscriptions.list(principalOf(req)?.owner);
    res.status(200).json(subs.map(shown));
  };

  const retrieveHub: Handler<operations, 'retrieveHub'> = async (req, res) => {
    res.status(200).json(shown(await subscriptions.get(req.params.id, principalOf(req)?.owner)));
  };

  const hubDelete: Handler<operations, 'hubDelete'> = async (req, res) => {
    await subscriptions.remove(req.params.id, principalOf(req)?.owner);
    res.status(204).end();
  };

  return { createHub, listHub, retrieveHub, hubDelete };
}
