/**
 * Runs several middleware functions as one. Express's router spends real time on every layer
 * (matching, bookkeeping) even for middleware that applies to every request; the front of the
 * pipeline is one layer this way. Order and error handling are the same: a handler that calls
 * next(err) or throws ends the chain and passes the error on.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function chain(...handlers: RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) {
        next(err);
        return;
      }
      const handler = handlers[i++];
      if (!handler) {
        next();
        return;
      }
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(next);
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}
