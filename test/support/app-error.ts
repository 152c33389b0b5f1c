import { AppError } from '../../src/errors.js';

/** The AppError `act` throws (fails when it throws nothing or something else). */
export function appErrorOf(act: () => unknown): AppError {
  try {
    act();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError, nothing was thrown');
}
