import { expect } from 'chai';
import { requiredScopes, scopes } from '../../src/http/auth.js';
import { servedPaths } from '../../src/http/mount-api.js';
import { routeTemplater } from '../../src/observability/metrics.js';
import type { Route, RouteOperation } from '../../src/spec/document.js';
import { v4 } from '../../src/spec/v4.js';
import { v5 } from '../../src/spec/v5.js';

const table = (routes: readonly Route[]) =>
  routes.map((r) => [r.path, r.expressPath, r.operations.map((o) => `${o.method} ${o.operationId}`)]);

describe('the route table of each generated document (src/spec)', () => {
  it('v4: base path from servers, every path with its express spelling, methods and operationIds', () => {
    expect(v4.basePath).to.equal('/tmf-api/shoppingCart/v4');
    expect(v4.version).to.equal('4.0.0');
    expect(table(v4.routes)).to.deep.equal([
      ['/shoppingCart', '/shoppingCart', ['get listShoppingCart', 'post createShoppingCart']],
      [
        '/shoppingCart/{id}',
        '/shoppingCart/:id',
        ['get retrieveShoppingCart', 'delete deleteShoppingCart', 'patch patchShoppingCart'],
      ],
      ['/hub', '/hub', ['get listHub', 'post registerListener']],
      ['/hub/{id}', '/hub/:id', ['get retrieveHub', 'delete unregisterListener']],
    ]);
    const keyed = v4.routes.flatMap((r) =>
      r.operations.filter((o) => o.idempotencyKey).map((o) => o.operationId),
    );
    expect(keyed).to.deep.equal(['createShoppingCart', 'registerListener']);
    expect(v4.routes.flatMap((r) => r.operations.flatMap((o) => o.scopes))).to.deep.equal([]);
  });

  it('v5: its own base path and operations, from its own document', () => {
    expect(v5.basePath).to.equal('/tmf-api/shoppingCart/v5');
    expect(v5.version).to.match(/^5\./);
    const ids = v5.routes.flatMap((r) => r.operations.map((o) => o.operationId));
    expect(ids).to.include.members(['createShoppingCart', 'createHub', 'hubDelete']);
    // The listener operations are the subscriber's to serve, not the server's.
    expect(ids).not.to.include('shoppingCartCreateEvent');
    expect(v5.routes.map((r) => r.path).filter((p) => p.startsWith('/listener/'))).to.deep.equal([]);
  });

  it('patterns match one path segment per parameter and one trailing slash', () => {
    const byId = v4.routes.find((r) => r.path === '/shoppingCart/{id}');
    expect(byId?.pattern.test('/shoppingCart/01J')).to.equal(true);
    expect(byId?.pattern.test('/shoppingCart/01J/')).to.equal(true);
    expect(byId?.pattern.test('/shoppingCart/a/b')).to.equal(false);
    expect(byId?.pattern.test('/shoppingCart')).to.equal(false);
  });

  it('the 405 table: entry point and document first, HEAD wherever GET is', () => {
    expect(servedPaths(v4).map((p) => [p.path, p.methods.join(',')])).to.deep.equal([
      ['/', 'GET,HEAD'],
      ['/openapi.json', 'GET,HEAD'],
      ['/shoppingCart', 'GET,HEAD,POST'],
      ['/shoppingCart/{id}', 'GET,HEAD,DELETE,PATCH'],
      ['/hub', 'GET,HEAD,POST'],
      ['/hub/{id}', 'GET,HEAD,DELETE'],
    ]);
  });

  it('scopes: the document’s when it names some, else hub / read / write by route and method', () => {
    const route = (path: string): Route => ({ path, expressPath: path, pattern: /^$/, operations: [] });
    const op = (method: RouteOperation['method'], declared: string[] = [], hub = false): RouteOperation => ({
      method,
      operationId: 'x',
      scopes: declared,
      idempotencyKey: false,
      hub,
    });
    expect(requiredScopes({ route: route('/hub/{id}'), operation: op('delete', [], true) })).to.deep.equal([
      scopes.hub,
    ]);
    expect(requiredScopes({ route: route('/shoppingCart'), operation: op('get') })).to.deep.equal([
      scopes.read,
    ]);
    expect(requiredScopes({ route: route('/shoppingCart/{id}'), operation: op('patch') })).to.deep.equal([
      scopes.write,
    ]);
    expect(
      requiredScopes({ route: route('/shoppingCart'), operation: op('get', ['cart:list', 'cart:read']) }),
    ).to.deep.equal(['cart:list', 'cart:read']);
    expect(requiredScopes(undefined)).to.deep.equal([scopes.admin]);
  });

  it('metric route templates: the longest base path a URL is under decides, two versions side by side', () => {
    const template = routeTemplater(
      [v4, v5].map((spec) => ({
        prefix: spec.basePath,
        routes: servedPaths(spec).map((p) => ({
          pattern: p.pattern,
          template: `${spec.basePath}${p.expressPath}`,
        })),
      })),
    );
    expect(template('/tmf-api/shoppingCart/v5/shoppingCart/1?fields=id')).to.equal(
      '/tmf-api/shoppingCart/v5/shoppingCart/:id',
    );
    expect(template('/tmf-api/shoppingCart/v4/hub')).to.equal('/tmf-api/shoppingCart/v4/hub');
    expect(template('/tmf-api/shoppingCart/v4/listener/shoppingCartCreateEvent')).to.equal('unmatched');
    expect(template('/health')).to.equal('unmatched');
  });
});
