/** The driver's failures as errors the API can answer. */
import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type WriteError,
} from 'mongodb';
import { queryTooExpensive, storeUnavailable, type AppError } from '../../errors.js';
import { listMaxTimeMs } from './list.js';

/** Server error codes that mean "not reachable now" rather than "this request is wrong". */
const unavailableCodes = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);
const unavailableNames = new Set([
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoClientClosedError',
]);

export function isUnavailable(e: unknown): boolean {
  if (
    e instanceof MongoNetworkError || // includes pool-cleared and network timeouts
    e instanceof MongoServerSelectionError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoTopologyClosedError ||
    e instanceof MongoServerClosedError ||
    e instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (e instanceof MongoServerError && typeof e.code === 'number' && unavailableCodes.has(e.code))
    return true;
  return e instanceof Error && unavailableNames.has(e.name);
}

export const unavailable = (e: unknown): AppError =>
  storeUnavailable(`MongoDB cannot be reached (${e instanceof Error ? e.name : 'error'})`);

/** Runs a store operation; a driver error that means "unreachable" becomes STORE_UNAVAILABLE. */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // MaxTimeMSExpired: the query itself was too expensive, not the database unavailable.
    if (e instanceof MongoServerError && e.code === 50) {
      throw queryTooExpensive(
        `the query ran longer than ${listMaxTimeMs} ms in the database; add narrower conditions`,
      );
    }
    if (isUnavailable(e)) throw unavailable(e);
    throw e;
  }
}

export const isDuplicateKey = (e: unknown): boolean => e instanceof MongoServerError && e.code === 11000;

/** An insertMany that failed only because some documents were there already. */
export function onlyDuplicates(e: unknown): boolean {
  if (e instanceof MongoBulkWriteError) {
    const errors = ([] as WriteError[]).concat(e.writeErrors);
    return errors.length > 0 && errors.every((w) => w.code === 11000);
  }
  return isDuplicateKey(e);
}

export const notImplemented = (e: unknown): boolean =>
  e instanceof MongoServerError && (e.code === 238 || e.codeName === 'NotImplemented');

export const redact = (uri: string): string => uri.replace(/\/\/[^@/]*@/, '//***@');
