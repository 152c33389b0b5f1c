/**
 * The server npm run fuzz drives: a fresh one on a free loopback port over a temporary SQLite
 * database, serving every API version, and beside it one loopback listener for hub callbacks per
 * version, which answers as a client of that version does (v4 201, v5 204) and counts the events
 * it receives. Prints, for each version (v4, v5),
 *
 *   FUZZ_API_V4=http://127.0.0.1:PORT/tmf-api/shoppingCart/v4
 *   FUZZ_LISTENER_V4=http://127.0.0.1:PORT
 *
 * then serves until SIGTERM or SIGINT, when it prints FUZZ_EVENTS_V4=<events received>, ... and
 * FUZZ_SERVER_ERRORS=<unexpected errors logged>, and exits. Each unexpected error is also written
 * to stderr on a line starting with FUZZ_SERVER_ERROR, as it happens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';
import type { ApiSpec } from '../../src/spec/document.js';
import { v4 } from '../../src/spec/v4.js';
import { v5 } from '../../src/spec/v5.js';
import { openStore } from '../../src/store/open-store.js';

/** The versions fuzzed, and the status their listener operations answer an event with. */
const versions: { name: string; spec: ApiSpec; listenerStatus: number }[] = [
  { name: 'V4', spec: v4, listenerStatus: 201 },
  { name: 'V5', spec: v5, listenerStatus: 204 },
];

interface Listener {
  server: Server;
  events: number;
}

async function startListener(status: number): Promise<Listener> {
  const listener: Listener = {
    events: 0,
    server: createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') listener.events++;
        if (status === 204) res.writeHead(204).end();
        else res.writeHead(status, { 'Content-Type': 'application/json' }).end('{}');
      });
    }),
  };
  await new Promise<void>((resolve) => listener.server.listen(0, '127.0.0.1', resolve));
  return listener;
}

const dir = mkdtempSync(join(tmpdir(), 'tmf663-fuzz-'));
const listeners = await Promise.all(versions.map((v) => startListener(v.listenerStatus)));

const config = loadConfig({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  STORE: 'sqlite',
  SQLITE_PATH: join(dir, 'fuzz.db'),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
});
const store = await openStore(config);
const errors: unknown[] = [];
const server = await startServer(config, store, {
  logError: (e) => {
    errors.push(e);
    console.error('FUZZ_SERVER_ERROR', e);
  },
});
versions.forEach(({ name, spec }, i) => {
  const port = (listeners[i]?.server.address() as AddressInfo).port;
  console.log(`FUZZ_API_${name}=http://127.0.0.1:${String(server.port)}${spec.basePath}`);
  console.log(`FUZZ_LISTENER_${name}=http://127.0.0.1:${String(port)}`);
});

const stop = async (): Promise<void> => {
  await server.close();
  await store.close();
  for (const listener of listeners) listener.server.close();
  rmSync(dir, { recursive: true, force: true });
  versions.forEach(({ name }, i) => {
    console.log(`FUZZ_EVENTS_${name}=${String(listeners[i]?.events ?? 0)}`);
  });
  console.log(`FUZZ_SERVER_ERRORS=${String(errors.length)}`);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
