/**
 * The server npm run fuzz drives: a fresh one on a free loopback port over a temporary SQLite
 * database, and beside it a loopback listener for hub callbacks that answers as a v4 client
 * does (201) and counts the events it receives. Prints
 *
 *   FUZZ_API=http://127.0.0.1:PORT/tmf-api/shoppingCart/v4
 *   FUZZ_LISTENER=http://127.0.0.1:PORT
 *
 * then serves until SIGTERM or SIGINT, when it prints FUZZ_EVENTS=<events received> and
 * FUZZ_SERVER_ERRORS=<unexpected errors logged>, and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';
import { openStore } from '../../src/store/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tmf663-fuzz-'));
let events = 0;
const listener = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'POST') events++;
    res.writeHead(201, { 'Content-Type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));

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
console.log(`FUZZ_API=http://127.0.0.1:${String(server.port)}/tmf-api/shoppingCart/v4`);
console.log(`FUZZ_LISTENER=http://127.0.0.1:${String((listener.address() as AddressInfo).port)}`);

const stop = async (): Promise<void> => {
  await server.close();
  await store.close();
  listener.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`FUZZ_EVENTS=${String(events)}`);
  console.log(`FUZZ_SERVER_ERRORS=${String(errors.length)}`);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
