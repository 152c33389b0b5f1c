/**
 * The write that depends on the cart as it is (patch, delete), with the store's concurrency
 * model: one transaction where the store has it, optimistic retries where it does not.
 */
import { cartNotFound, keptChanging, preconditionFailed, VersionConflict } from '../errors.js';
import type { CartWrite, Store, StoredCart } from '../store/store.js';
import type { CartAccessPolicy } from './access-policy.js';

export interface VersionedWriteDeps {
  store: Store;
  now: () => Date;
  /** Attempts of read-apply-write before a conflicting write gives up with 409. */
  maxAttempts: number;
  /** Called after every committed write. */
  wrote: () => void;
}

/** The cart with this id, or CART_NOT_FOUND (an expired cart is not found). */
export async function loadCart(store: Store, now: () => Date, id: string): Promise<StoredCart> {
  const found = await store.getCart(id, now().getTime());
  if (!found) throw cartNotFound(id);
  return found;
}

/**
 * `decide` looks at the current cart and says what to write. With If-Match the client asked for
 * that exact version, so any other is a 412 and nothing is written.
 *
 * A store that reads and writes in one transaction (store.updateCart: SQLite, whose writers
 * take turns across processes too) gets the decision taken on the cart read first, and decides
 * again inside the transaction only if the cart changed meanwhile: concurrent writers never
 * conflict there. Otherwise optimistic concurrency: the write is conditional on the version
 * read, and a VersionConflict (someone else wrote first) reads and decides again, up to
 * maxAttempts, then 409.
 */
export async function writeWithVersion(
  deps: VersionedWriteDeps,
  id: string,
  ifMatch: number | undefined,
  access: CartAccessPolicy | undefined,
  decide: (current: StoredCart) => CartWrite,
): Promise<StoredCart> {
  const { store, now, wrote } = deps;
  const checked = (current: StoredCart): CartWrite => {
    if (access && !access.canSee(current)) throw cartNotFound(id);
    if (ifMatch !== undefined && current.version !== ifMatch) throw preconditionFailed(id);
    return decide(current);
  };
  if (store.updateCart) {
    const read = await loadCart(store, now, id);
    const planned = checked(read);
    const { cart, written } = await store.updateCart(id, now().getTime(), (current) =>
      current.version === read.version ? planned : checked(current),
    );
    if (written !== 'none') wrote();
    return cart;
  }
  for (let attempt = 1; ; attempt++) {
    const current = await loadCart(store, now, id);
    const change = checked(current);
    try {
      switch (change.kind) {
        case 'none':
          return current;
        case 'replace': {
          const stored = await store.replaceCart(id, current.version, change.doc, change.meta, change.events);
          wrote();
          return stored;
        }
        case 'delete':
          if (!(await store.deleteCart(id, current.version, now().getTime(), change.events)))
            throw cartNotFound(id);
          wrote();
          return current;
      }
    } catch (e) {
      if (!(e instanceof VersionConflict)) throw e;
      if (ifMatch !== undefined) throw preconditionFailed(id);
      if (attempt >= deps.maxAttempts) throw keptChanging(id);
    }
  }
}
