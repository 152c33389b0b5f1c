/**
 * The notification hub's rules (TMF630/TMF688 pattern): listeners register a callback and a
 * query; operators list and read them.
 *
 * Under owner isolation a subscription belongs to the party that created it: that party alone
 * lists, reads and deletes it (another party's is "not found"), and the dispatcher sends it only
 * events about carts that party may read. Callers without an owner (admin scope, or isolation
 * off) see and delete every subscription; those they create have no owner and get every event.
 */
import type { EventSubscription, EventSubscriptionInput } from '../api-types.js';
import { duplicateSubscription, subscriptionNotFound } from '../errors.js';
import { parseSubscriptionQuery } from '../events/subscription-query.js';
import type { ApiVersionName, Store, StoredSubscription } from '../store/store.js';
import { assertCallback } from './callback.js';

/** Who asks: the party the caller is limited to, or undefined for a caller who sees everything. */
export type SubscriptionOwner = string | undefined;

export interface SubscriptionService {
  /** `apiVersion`: the version it is made on, whose paths its query names and whose shape its events take. */
  create(
    input: EventSubscriptionInput,
    owner: SubscriptionOwner,
    apiVersion?: ApiVersionName,
  ): Promise<EventSubscription>;
  list(owner: SubscriptionOwner): Promise<EventSubscription[]>;
  /** Not found (404) when there is none, or it is another party's. */
  get(id: string, owner: SubscriptionOwner): Promise<EventSubscription>;
  remove(id: string, owner: SubscriptionOwner): Promise<void>;
}

export interface SubscriptionServiceDeps {
  store: Pick<
    Store,
    'createSubscription' | 'deleteSubscription' | 'findSubscription' | 'getSubscription' | 'listSubscriptions'
  >;
  newId: () => string;
}

/** The representation: the owner and the version are the server's business. */
const shown = (sub: StoredSubscription): EventSubscription => {
  const { owner: _owner, apiVersion: _version, ...rest } = sub;
  return rest;
};

export function createSubscriptionService(deps: SubscriptionServiceDeps): SubscriptionService {
  const { store } = deps;

  /** The subscription with this id, if the caller may see it. */
  const visible = async (id: string, owner: SubscriptionOwner): Promise<StoredSubscription | undefined> => {
    const sub = await store.getSubscription(id);
    return sub && (owner === undefined || sub.owner === owner) ? sub : undefined;
  };

  return {
    async create(input, owner, apiVersion = 'v4') {
      assertCallback(input.callback);
      const query = input.query ?? '';
      // A query we could never evaluate is refused now, not at delivery.
      parseSubscriptionQuery(query, apiVersion);
      // Unique per owner: another tenant's subscription with this callback is none of the caller's
      // business (neither a conflict nor a hint that it exists).
      if (await store.findSubscription(input.callback, query, owner)) throw duplicateSubscription();
      const sub: StoredSubscription = {
        id: deps.newId(),
        callback: input.callback,
        query,
        ...(owner === undefined ? {} : { owner }),
        // Absent for v4, as on every subscription made before v5 was served.
        ...(apiVersion === 'v4' ? {} : { apiVersion }),
      };
      await store.createSubscription(sub);
      return shown(sub);
    },

    list: async (owner) => (await store.listSubscriptions(owner)).map(shown),

    async get(id, owner) {
      const sub = await visible(id, owner);
      if (!sub) throw subscriptionNotFound(id);
      return shown(sub);
    },

    async remove(id, owner) {
      // Checked, then deleted: a subscription never changes owner, so nothing can slip between.
      if (!(await visible(id, owner)) || !(await store.deleteSubscription(id)))
        throw subscriptionNotFound(id);
    },
  };
}
