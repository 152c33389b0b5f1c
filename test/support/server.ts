/**
 * A real server on a free port over a fresh store, with response validation on, for API tests.
 * Each test file starts its own; each test creates its own data.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';
import { openMongoStore } from '../../src/store/mongo/store.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';

export const base = '/tmf-api/shoppingCart/v4';

export interface TestServer extends RunningServer {
  config: Config;
  errors: unknown[];
  stop(): Promise<void>;
}

/**
 * STORE=mongodb with MONGODB_URI in the environment runs the API suites on MongoDB (CI's Mongo
 * leg); otherwise each server gets its own SQLite file in a temp directory.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: StartOptions & { store?: Store } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SQLITE_PATH: join(dir, 'test.db'),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const store = options.store ?? (await openTestStore(join(dir, 'test.db')));
  const errors: unknown[] = [];
  const running = await startServer(config, store, {
    validateResponses: true,
    logError: (e) => errors.push(e),
    ...options,
  });
  return {
    ...running,
    config,
    errors,
    stop: async () => {
      await running.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Lazy<T> = T | (() => T | Promise<T>);

/**
 * One server for the enclosing `describe`: started in a `before` hook, stopped in an `after` hook
 * that then asserts no unexpected 500s happened (`checkErrors: false` leaves that to the tests).
 * Hooks run in the order they are registered: register one that must run first before calling this.
 * `env` and `options` may be functions, called in the hook, when they depend on earlier hooks.
 * The returned handle stands for the running server once the hook has run (`call(server, ...)`,
 * `server.url`, `server.store`), and throws when used before that.
 */
export function useTestServer(
  env: Lazy<Record<string, string>> = {},
  options: Lazy<StartOptions & { store?: Store }> = {},
  { checkErrors = true }: { checkErrors?: boolean } = {},
): TestServer {
  let running: TestServer | undefined;
  const value = async <T>(lazy: Lazy<T>): Promise<T> =>
    typeof lazy === 'function' ? (lazy as () => T | Promise<T>)() : lazy;
  before(async () => {
    running = await startTestServer(await value(env), await value(options));
  });
  after(async () => {
    if (!running) return;
    const server = running;
    running = undefined;
    await server.stop();
    if (checkErrors) expect(server.errors, 'unexpected 500s').to.deep.equal([]);
  });
  return new Proxy({} as TestServer, {
    get(_, key) {
      if (!running) throw new Error(`the test server is not running (reading ${String(key)})`);
      return Reflect.get(running, key) as unknown;
    },
  });
}

/** A fresh MongoDB database name for one test store. */
export const freshDbName = (): string =>
  `test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

/**
 * The store of the run (SQLite at `sqlitePath`, or MongoDB when STORE=mongodb). Opening it again
 * with the same path and `dbName` opens the same data, as a restarted server would.
 */
export async function openTestStore(sqlitePath: string, dbName = freshDbName()): Promise<Store> {
  if (process.env.STORE === 'mongodb' && process.env.MONGODB_URI) {
    return openMongoStore({ uri: process.env.MONGODB_URI, dbName });
  }
  return openSqliteStore({ path: sqlitePath, synchronous: 'normal' });
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** One HTTP call; `body` is sent as JSON unless it is a string (sent as is). */
export async function call(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  // Paths of the API's own resources are relative to the base path; others (/health) are not.
  const url = /^\/(shoppingCart|hub)/.test(path) ? base + path : path;
  const res = await fetch(server.url + url, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts the TMF Error shape and returns the body. */
export function expectTmfError(answer: Answer, status: number): Record<string, string> {
  if (answer.status !== status) {
    throw new Error(`expected ${status}, got ${answer.status}: ${answer.text}`);
  }
  const b = answer.body as Record<string, string> | undefined;
  if (
    !b ||
    b['@type'] !== 'Error' ||
    b.status !== String(status) ||
    typeof b.code !== 'string' ||
    typeof b.reason !== 'string'
  ) {
    throw new Error(`not a TMF Error body for ${status}: ${answer.text}`);
  }
  if (answer.headers.get('content-type') !== 'application/json;charset=utf-8') {
    throw new Error(`error content type was ${answer.headers.get('content-type')}`);
  }
  return b;
}
