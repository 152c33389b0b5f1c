import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { Registry } from 'prom-client';
import { opsRoutes } from '../../src/http/ops-routes.js';
import { createHealth } from '../../src/observability/health.js';
import { createLogger } from '../../src/observability/logger.js';
import { routeTemplate } from '../../src/http/served-apis.js';
import type { Store } from '../../src/store/store.js';
import { sample } from '../support/prometheus.js';
import { startListener } from '../support/listener.js';
import {
  base,
  call,
  expectTmfError,
  openTestStore,
  startTestServer,
  useTestServer,
} from '../support/server.js';

/** Collects pino's JSON lines. */
function memoryLog() {
  const lines: Record<string, any>[] = [];
  return {
    lines,
    logger: createLogger('info', {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, any>);
      },
    }),
  };
}

/** A store wrapper whose methods can be made to fail, to see 500s and a failing readiness. */
function breakable(real: Store, broken: Set<string>): Store {
  return new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && broken.has(prop))
          return Promise.reject(new Error(`${prop} is broken`));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('Request logs', () => {
  const log = memoryLog();
  const broken = new Set<string>();
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-logs-'));
  const server = useTestServer(
    {},
    // logError left to the server: unexpected errors go to the log.
    async () => ({
      store: breakable(await openTestStore(join(dir, 'logs.db')), broken),
      logger: log.logger,
      logError: undefined,
    }),
    { checkErrors: false },
  );
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per request: id, method, path without query, status, duration', async () => {
    const res = await call(
      server,
      'POST',
      '/shoppingCart?secretQuery=1',
      { note: 'body-secret' },
      { Authorization: 'Bearer token-secret', 'X-Request-ID': 'log-test-1' },
    );
    expect(res.status).to.equal(201);
    const lines = log.lines.filter((l) => l.requestId === 'log-test-1');
    expect(lines).to.have.length(1);
    const [line] = lines;
    expect(line).to.include({
      msg: 'request',
      level: 30,
      method: 'POST',
      path: `${base}/shoppingCart`,
      status: 201,
    });
    expect(line?.durationMs).to.be.a('number').and.to.be.at.least(0);
    expect(line?.pid).to.equal(process.pid);
    const all = JSON.stringify(log.lines);
    for (const secret of ['secretQuery', 'body-secret', 'token-secret']) expect(all).to.not.contain(secret);
  });

  it('logs a 500 with its stack in the log only; the answer has no stack', async () => {
    broken.add('listCarts');
    try {
      const res = await call(server, 'GET', '/shoppingCart', undefined, { 'X-Request-ID': 'log-500' });
      const body = expectTmfError(res, 500);
      expect(JSON.stringify(body)).to.not.contain('listCarts is broken');
      expect(res.text).to.not.match(/at .*\.ts:\d+/);
    } finally {
      broken.delete('listCarts');
    }
    const error = log.lines.find((l) => l.msg === 'unexpected error' && l.requestId === 'log-500');
    expect(error?.level).to.equal(50);
    expect(error?.err.message).to.equal('listCarts is broken');
    expect(error?.err.stack).to.contain('listCarts is broken\n    at ');
    const request = log.lines.find((l) => l.msg === 'request' && l.requestId === 'log-500');
    expect(request).to.include({ status: 500, level: 50 });
  });

  it('GET /ready answers 503 with a TMF Error when the store cannot be reached', async () => {
    expect((await call(server, 'GET', '/ready')).status).to.equal(200);
    broken.add('ping');
    try {
      const res = await call(server, 'GET', '/ready');
      expect(expectTmfError(res, 503).code).to.equal('STORE_UNAVAILABLE');
      // Liveness does not depend on the store.
      const health = await call(server, 'GET', '/health');
      expect(health.status).to.equal(200);
    } finally {
      broken.delete('ping');
    }
  });
});

describe('Health, readiness and metrics', () => {
  let clockOffsetMs = 0;
  // Retries wait a minute of a clock the test moves on, so each attempt happens when it says.
  const server = useTestServer(
    { NOTIFY_MAX_ATTEMPTS: '2' },
    { notifyBackoffMs: 60_000, now: () => new Date(Date.now() + clockOffsetMs) },
  );

  it('GET /health is a liveness probe; GET /ready checks the store', async () => {
    const health = await call(server, 'GET', '/health');
    expect(health.status).to.equal(200);
    expect(health.body).to.deep.equal({ status: 'ok' });
    expect(health.headers.get('content-type')).to.equal('application/json;charset=utf-8');
    const ready = await call(server, 'GET', '/ready');
    expect(ready.status).to.equal(200);
    expect(ready.body.status).to.equal('ok');
  });

  it('counts cart writes and times requests by route template, never by raw id', async () => {
    const created = await call(server, 'POST', '/shoppingCart', {});
    const id = created.body.id as string;
    await call(server, 'PATCH', `/shoppingCart/${id}`, { note: 'x' });
    await call(server, 'GET', `/shoppingCart/${id}`);
    await call(server, 'DELETE', `/shoppingCart/${id}`);
    await call(server, 'GET', `/shoppingCart/${id}`);
    const res = await call(server, 'GET', '/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(sample(text, 'tmf663_carts_created_total')).to.be.at.least(1);
    expect(sample(text, 'tmf663_carts_updated_total')).to.be.at.least(1);
    expect(sample(text, 'tmf663_carts_deleted_total')).to.be.at.least(1);
    const route = `${base}/shoppingCart/:id`;
    expect(
      sample(text, 'http_request_duration_seconds_count', { method: 'GET', route, status: '200' }),
    ).to.equal(1);
    expect(
      sample(text, 'http_request_duration_seconds_count', { method: 'GET', route, status: '404' }),
    ).to.equal(1);
    expect(
      sample(text, 'http_request_duration_seconds_count', { method: 'PATCH', route, status: '200' }),
    ).to.equal(1);
    expect(text).to.not.contain(id);
    expect(
      sample(text, 'tmf663_store_operation_duration_seconds_count', {
        operation: 'createCart',
        outcome: 'ok',
      }),
    ).to.be.at.least(1);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).to.be.a('number');
    expect(sample(text, 'process_resident_memory_bytes')).to.be.a('number');
  });

  it('counts deliveries, retries and dead letters, and shows the queue depth', async () => {
    const ok = await startListener();
    const failing = await startListener();
    failing.script = [500, 500];
    try {
      await call(server, 'POST', '/hub', { callback: ok.url, query: 'eventType=ShoppingCartCreateEvent' });
      await call(server, 'POST', '/hub', {
        callback: failing.url,
        query: 'eventType=ShoppingCartCreateEvent',
      });
      await call(server, 'POST', '/shoppingCart', {});
      await server.dispatcher.runOnce(); // first attempts: one delivered, one to retry
      const waiting = (await call(server, 'GET', '/metrics')).text;
      expect(sample(waiting, 'tmf663_notification_queue_depth')).to.equal(1);
      clockOffsetMs = 10 * 60_000;
      await server.dispatcher.runOnce(); // second attempt of the failing one: dead letter
      await ok.waitFor(1);
      const text = (await call(server, 'GET', '/metrics')).text;
      const type = { eventType: 'ShoppingCartCreateEvent' };
      expect(sample(text, 'tmf663_notification_deliveries_total', type)).to.equal(1);
      expect(sample(text, 'tmf663_notification_retries_total', type)).to.equal(1);
      expect(sample(text, 'tmf663_notification_dead_letters_total', type)).to.equal(1);
      expect(sample(text, 'tmf663_notification_queue_depth')).to.equal(0);
      expect(failing.attempts.map((a) => a.status)).to.deep.equal([500, 500]);
    } finally {
      await ok.close();
      await failing.close();
    }
  });

  it('keeps a registry per server (two servers count apart)', async () => {
    const other = await startTestServer();
    try {
      await call(other, 'POST', '/shoppingCart', {});
      const mine = sample((await call(server, 'GET', '/metrics')).text, 'tmf663_carts_created_total');
      const theirs = sample((await call(other, 'GET', '/metrics')).text, 'tmf663_carts_created_total');
      expect(theirs).to.equal(1);
      expect(mine).to.be.at.least(2);
    } finally {
      await other.stop();
    }
  });
});

describe('Readiness while shutting down', () => {
  it('GET /ready answers 503 once the instance drains, while /health stays 200', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-drain-'));
    const store = await openTestStore(join(dir, 'drain.db'));
    let draining = false;
    const app = express().use(
      opsRoutes({ health: createHealth(store, () => draining), registry: new Registry() }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await call({ url }, 'GET', '/ready')).status).to.equal(200);
      draining = true;
      const res = await call({ url }, 'GET', '/ready');
      // (A bare app: the media type is the full app's business; the body is the TMF Error.)
      expect(res.status).to.equal(503);
      expect(res.body).to.include({ '@type': 'Error', code: 'SERVICE_UNAVAILABLE', reason: 'Shutting down' });
      expect((await call({ url }, 'GET', '/health')).status).to.equal(200);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('routeTemplate', () => {
  const cases: [string, string][] = [
    ['/health', '/health'],
    ['/metrics?x=1', '/metrics'],
    [base, `${base}/`],
    [`${base}/shoppingCart?limit=1`, `${base}/shoppingCart`],
    [`${base}/shoppingCart/01J0000000000000000000000X`, `${base}/shoppingCart/:id`],
    [`${base}/hub/abc/`, `${base}/hub/:id`],
    [`${base}/docs/swagger-ui.css`, `${base}/docs`],
    [`${base}/shoppingCart/a/b`, 'unmatched'],
    ['/shoppingCart/x', 'unmatched'],
    ['/random/path', 'unmatched'],
  ];
  for (const [url, template] of cases) {
    it(`${url} -> ${template}`, () => {
      expect(routeTemplate(url)).to.equal(template);
    });
  }
});

describe('API docs', () => {
  const server = useTestServer({}, {}, { checkErrors: false });

  it('redirects /docs to /docs/ and serves Swagger UI from local assets only', async () => {
    const redirect = await fetch(`${server.url}${base}/docs`, { redirect: 'manual' });
    expect(redirect.status).to.equal(301);
    expect(redirect.headers.get('location')).to.equal(`${base}/docs/`);
    const page = await call(server, 'GET', `${base}/docs/`);
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.text).to.contain('swagger-ui-bundle.js');
    // Nothing is loaded from another host: the network may be closed and the CSP forbids it.
    expect(page.text).to.not.match(/(src|href)=["']https?:/);
    const bundle = await call(server, 'GET', `${base}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).to.equal(200);
    expect(bundle.headers.get('content-type')).to.match(/javascript/);
    expect(bundle.text.length).to.be.above(100_000);
    const css = await call(server, 'GET', `${base}/docs/swagger-ui.css`);
    expect(css.status).to.equal(200);
    const init = await call(server, 'GET', `${base}/docs/swagger-ui-init.js`);
    expect(init.text).to.contain('"swaggerDoc"');
    expect(init.text).to.contain('/shoppingCart/{id}');
  });

  it('still serves the OpenAPI document itself', async () => {
    const res = await call(server, 'GET', `${base}/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.body.openapi).to.match(/^3\./);
    expect(Object.keys(res.body.paths as object)).to.include('/shoppingCart/{id}');
  });
});
