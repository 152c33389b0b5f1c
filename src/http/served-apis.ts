/**
 * The API versions this server serves, each at its own base path (see api-version.ts for adding
 * one), and what follows from their route tables outside their routers: the metric route
 * templates and the start-up URLs.
 */
import type { Router } from 'express';
import { routeTemplater, type RouteTemplates } from '../observability/metrics.js';
import { pathPattern, type ApiSpec } from '../spec/document.js';
import type { ApiVersion } from './api-version.js';
import { docsPath } from './docs.js';
import { mountApi, servedPaths, type ApiDeps } from './mount-api.js';
import { opsPaths } from './ops-routes.js';
import { v4Api } from './v4.js';
import { v5Api } from './v5.js';

export interface ServedApi {
  spec: ApiSpec;
  /** The media type of its JSON answers. */
  jsonType: string;
  router(deps: ApiDeps): Router;
}

const serve = <Ops>(version: ApiVersion<Ops>): ServedApi => ({
  spec: version.spec,
  jsonType: version.jsonType,
  router: (deps) => mountApi(version, deps),
});

export const servedApis: readonly ServedApi[] = [serve(v4Api), serve(v5Api)];

/** Route templates for the metrics, never raw ids: the label set stays small whatever clients send. */
const templates: RouteTemplates[] = [
  {
    prefix: '',
    routes: opsPaths.map((path) => ({ pattern: pathPattern(path), template: path })),
  },
  ...servedApis.map(({ spec }) => ({
    prefix: spec.basePath,
    routes: [
      ...servedPaths(spec).map((p) => ({ pattern: p.pattern, template: `${spec.basePath}${p.expressPath}` })),
      // The docs page and its assets.
      { pattern: new RegExp(`^${docsPath}(/.*)?$`), template: `${spec.basePath}${docsPath}` },
    ],
  })),
];

/** The route template of a request URL (`/tmf-api/shoppingCart/v4/shoppingCart/:id`), or `unmatched`. */
export const routeTemplate = routeTemplater(templates);

/** The entry point of each served version below a server's origin (logged at start-up). */
export const entryPointUrls = (origin: string): string[] =>
  servedApis.map(({ spec }) => `${origin}${spec.basePath}/`);
