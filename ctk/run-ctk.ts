/**
 * npm run ctk: starts the server on a free port over a fresh temporary database, runs the official
 * TMF663 v4.0.0 CTK (read from CTK_DIR, never copied here) and then the project's own collection
 * (ctk/extra.postman_collection.json: PATCH formats, ETags, DELETE, errors) and the v5 one
 * (ctk/v5.postman_collection.json: every v5 operation and carts crossing between v4 and v5, over
 * the same server and store) with newman, writes
 * HTML and JSON reports to ctk/reports/, prints "N passed, N failed" and exits non-zero on any
 * failed assertion. STORE=mongodb with MONGODB_URI runs it against MongoDB instead.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import newman, { type NewmanRunSummary } from 'newman';
import { loadConfig } from '../src/config/config.js';
import { openStore } from '../src/store/open-store.js';
import { startServer } from '../src/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ctkDir = resolve(root, process.env.CTK_DIR ?? '../shared/tmf663/ctk');
const reports = join(root, 'ctk', 'reports');

function runCollection(
  name: string,
  collection: string,
  baseUrls: { v4: string; v5: string },
): Promise<NewmanRunSummary> {
  return new Promise((resolvePromise, reject) => {
    newman.run(
      {
        collection: JSON.parse(readFileSync(collection, 'utf8')) as string,
        envVar: [
          { key: 'Shopping_Cart', value: baseUrls.v4 },
          { key: 'Shopping_Cart_v5', value: baseUrls.v5 },
        ],
        reporters: ['cli', 'json', 'htmlextra'],
        reporter: {
          json: { export: join(reports, `${name}.json`) },
          htmlextra: { export: join(reports, `${name}.html`) },
        },
        timeoutRequest: 10_000,
      },
      (err, summary) => {
        if (err) reject(err);
        else resolvePromise(summary);
      },
    );
  });
}

async function main(): Promise<void> {
  mkdirSync(reports, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-ctk-'));
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    SQLITE_PATH: join(dir, 'ctk.db'),
    LOG_LEVEL: 'warn',
  };
  if (env.STORE === 'mongodb') env.MONGODB_DB = `ctk_${Date.now().toString(36)}`;
  const config = loadConfig(env);
  const store = await openStore(config);
  const server = await startServer(config, store);
  // The kit needs the trailing slash, and its old pinned newman fails on localhost: 127.0.0.1.
  const origin = `http://127.0.0.1:${server.port}`;
  const baseUrls = { v4: `${origin}/tmf-api/shoppingCart/v4/`, v5: `${origin}/tmf-api/shoppingCart/v5/` };
  let passed = 0;
  let failed = 0;
  try {
    const collections: [string, string][] = [
      ['official', join(ctkDir, 'CTK-Shopping_Cart-4.0.0.postman_collection.json')],
      ['extra', join(root, 'ctk', 'extra.postman_collection.json')],
      ['v5', join(root, 'ctk', 'v5.postman_collection.json')],
    ];
    for (const [name, file] of collections) {
      const summary = await runCollection(name, file, baseUrls);
      const total = summary.run.stats.assertions.total ?? 0;
      const failedAssertions = summary.run.stats.assertions.failed ?? 0;
      const requestFailures = summary.run.failures.filter((f) => f.error.name !== 'AssertionError').length;
      console.log(
        `${name}: ${total - failedAssertions} of ${total} assertions passed (${summary.run.stats.requests.total ?? 0} requests)`,
      );
      passed += total - failedAssertions;
      failed += failedAssertions + requestFailures;
    }
  } finally {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`ctk: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

await main();
