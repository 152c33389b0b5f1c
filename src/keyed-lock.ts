/** A lock per key, in the process: calls with one key run one after another, in call order. */
export type KeyedLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Runs `fn` after every earlier call with the same key has finished, whether that call succeeded
 * or failed. Keys are forgotten once their queue is empty. Used by the cart service (writes to
 * one cart in arrival order) and the MongoDB store (its per-cart write lock, for FerretDB).
 */
export function keyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release = (): void => undefined;
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => turn);
    tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
