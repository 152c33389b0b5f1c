/** Hub subscriptions: one row each, unique per (owner, callback, query). */
import type { StoredSubscription, SubscriptionMethods } from '../store.js';
import { run } from './errors.js';
import type { SqliteState } from './statements.js';

const parseSub = (row: { doc: string } | undefined): StoredSubscription | undefined =>
  row ? (JSON.parse(row.doc) as StoredSubscription) : undefined;

export function subscriptionMethods(s: SqliteState): SubscriptionMethods {
  const { stmt, queue, ev } = s;
  return {
    createSubscription: (sub) =>
      queue.write(() => {
        stmt.insertSub.run({
          id: sub.id,
          owner: sub.owner ?? '',
          callback: sub.callback,
          query: sub.query ?? '',
          doc: JSON.stringify(sub),
        });
        return sub;
      }),
    findSubscription: (callback, query, owner) =>
      run(() => parseSub(stmt.findSub.get(owner ?? '', callback, query))),
    getSubscription: (id) => run(() => parseSub(stmt.getSub.get(id))),
    // The owner travels inside doc (the whole stored subscription); its column ('' for none)
    // only makes the (owner, callback, query) key unique.
    listSubscriptions: (owner) =>
      run(() =>
        stmt.listSubs
          .all()
          .map((r) => JSON.parse(r.doc) as StoredSubscription)
          .filter((sub) => owner === undefined || sub.owner === owner),
      ),
    // The subscription goes from the main file, then its deliveries from the events file: two
    // transactions. Deliveries left by a crash in between, or routed with a list of subscriptions
    // read just before, are never sent (no lane reads them); the maintenance pass deletes the
    // subscription again (src/events/maintenance.ts), and its deliveries go then, even though the
    // subscription is gone already.
    deleteSubscription: async (id) => {
      const gone = await queue.write(() => stmt.deleteSub.run(id).changes > 0);
      if (gone || ev.stmt.anyOf.get(id) !== undefined)
        await ev.queue.write(() => {
          ev.stmt.deleteSubDeliveries.run(id);
        });
      return gone;
    },
  };
}
