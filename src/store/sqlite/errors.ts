/** better-sqlite3's failures as errors the API can answer, and the wrappers that convert them. */
import Database from 'better-sqlite3';
import { alreadyExists, isAppError, storeUnavailable } from '../../errors.js';

/** Runs synchronous driver work as a promise, so failures reject like any other store's. */
export function run<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(guard(fn));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** The write lock is taken by another connection (or our snapshot is older than its commit). */
export const isBusy = (e: unknown): boolean =>
  e instanceof Database.SqliteError && (e.code === 'SQLITE_BUSY' || e.code.startsWith('SQLITE_BUSY_'));

/**
 * Driver failures (disk full, locked for too long, corrupt file) as errors the API can answer;
 * `nothingStored` when the caller knows the failed transaction committed nothing.
 */
export function toStoreError(e: unknown, options: { nothingStored?: boolean } = {}): unknown {
  if (isAppError(e) || !(e instanceof Database.SqliteError)) return e;
  if (e.code.startsWith('SQLITE_CONSTRAINT')) return alreadyExists();
  return storeUnavailable(`SQLite: ${e.code}`, options);
}

export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toStoreError(e);
  }
}
