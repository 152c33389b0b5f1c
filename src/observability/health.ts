/**
 * Readiness: whether this instance should get traffic. Not while it shuts down (load balancers
 * stop sending), nor while its store cannot be reached.
 */
import { shuttingDown, storeUnavailable, type AppError } from '../errors.js';
import type { Store } from '../store/store.js';

export type Readiness = { ready: true; store: string } | { ready: false; error: AppError };

export interface Health {
  readiness(): Promise<Readiness>;
}

/** `draining` turns true once shutdown began. */
export function createHealth(store: Pick<Store, 'name' | 'ping'>, draining: () => boolean): Health {
  return {
    async readiness() {
      if (draining()) return { ready: false, error: shuttingDown() };
      try {
        await store.ping();
      } catch {
        return { ready: false, error: storeUnavailable('The store cannot be reached') };
      }
      return { ready: true, store: store.name };
    },
  };
}
