/** Hub subscriptions: one row each, unique per (owner, callback, query). */
import type { StoredSubscription, SubscriptionMethods } from '../store.js';
import { run } from './errors.js';
import type { SqliteState } from './statements.js';

const parseSub = (row: { doc: string } | undefined): StoredSubscription | undefined =>
  row ? (JSON.parse(row.doc) as StoredSubscription) : undefined;

export function subscriptionMethods(s: SqliteState): SubscriptionMethods {
  const { db, stmt, queue } = s;
  const deleteSubscription = db.transaction((id: string): boolean => {
    const gone = stmt.deleteSub.run(id).changes > 0;
    if (gone) stmt.deleteSubDeliveries.run(id);
    return gone;
  });
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
    deleteSubscription: (id) => queue.write(() => deleteSubscription(id)),
  };
}
