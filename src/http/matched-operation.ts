/**
 * The operation of the served document a request was matched to (by mount-api.ts, in front of
 * authentication): auth reads the scopes it needs, idempotency whether it takes a key.
 */
import type { Request } from 'express';
import type { Route, RouteOperation } from '../spec/document.js';

export interface MatchedOperation {
  route: Route;
  operation: RouteOperation;
}

const matched = new WeakMap<Request, MatchedOperation>();

/** The operation of `routes` a request for `method` (HEAD as GET) and `path` under the base path is. */
export function findOperation(
  routes: readonly Route[],
  method: string,
  path: string,
): MatchedOperation | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  const route = routes.find((r) => r.pattern.test(path));
  const operation = route?.operations.find((o) => o.method.toUpperCase() === wanted);
  return route && operation ? { route, operation } : undefined;
}

export const matchedOperation = (req: Request): MatchedOperation | undefined => matched.get(req);

export function recordMatch(req: Request, match: MatchedOperation): void {
  matched.set(req, match);
}
