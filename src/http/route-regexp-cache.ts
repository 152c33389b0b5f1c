/**
 * express-openapi-validator 5.6 compiles every route of the spec with path-to-regexp on every
 * request to find the one that matches (openapi.metadata.js, lookupRoute): about a tenth of the
 * CPU of a GET by id. The compilation is a pure function of the route and two flags, so it is
 * memoised here, once per process, on the path-to-regexp module both the validator and Express's
 * router load. Nothing else changes: the same regular expressions match the same paths.
 */
import { createRequire } from 'node:module';

type PathToRegexp = (path: string, options?: { sensitive?: boolean; strict?: boolean }) => unknown;

const require = createRequire(import.meta.url);
const pathToRegexpModule = require('path-to-regexp') as { pathToRegexp: PathToRegexp & { memoised?: true } };

export function memoisePathToRegexp(): void {
  const original = pathToRegexpModule.pathToRegexp;
  if (original.memoised) return;
  const cache = new Map<string, unknown>();
  const memoised = Object.assign(
    (path: string, options?: { sensitive?: boolean; strict?: boolean }): unknown => {
      // Only plain string routes with the two flags the validator passes are cached.
      if (
        typeof path !== 'string' ||
        (options && Object.keys(options).some((k) => k !== 'sensitive' && k !== 'strict'))
      ) {
        return original(path, options);
      }
      const key = `${options?.sensitive === true ? 1 : 0}${options?.strict === true ? 1 : 0}${path}`;
      let compiled = cache.get(key);
      if (compiled === undefined) {
        compiled = original(path, options);
        if (cache.size < 1000) cache.set(key, compiled);
      }
      return compiled;
    },
    { memoised: true as const },
  );
  pathToRegexpModule.pathToRegexp = memoised;
}
