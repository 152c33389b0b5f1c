/**
 * npm run bench: the server's cost against the physical limit of this machine.
 *
 * Builds the production code, seeds a store through the real cart service (so stored documents
 * are exactly what the API would have stored), starts the server as its own process (embedded
 * store, LOG_LEVEL=warn) and drives it with autocannon (50 connections, warm-up first). In the
 * same run it measures two baselines serving the identical bytes of the same 5-item cart from
 * memory: a bare node:http server and a bare Express 5 route. Prints a table, writes
 * bench/results.json.
 *
 *   npm run bench                      all scenarios, the scaling curve (1k/10k/100k), query latencies
 *   npm run bench -- --duration 5      seconds per scenario (default 10; warm-up 3)
 *   npm run bench -- --scale-1m        also the 1M-cart point of the scaling curve (slow to seed)
 *   npm run bench -- --store mongodb   against MONGODB_URI instead of SQLite
 *   npm run bench -- --quick           1k/10k scaling only, 3 s runs (a smoke run)
 *   npm run bench -- --workers 2       only the scale-up: GET, POST and PATCH with 1 and with 2
 *                                      workers (CLUSTER_WORKERS) over the same file, error counts
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ulid } from 'ulid';
import { createCartService } from '../src/cart/cart-service.js';
import { defaults } from '../src/config/config.js';
import { openMongoStore } from '../src/store/mongo/store.js';
import { openSqliteStore } from '../src/store/sqlite/store.js';
import type { Store } from '../src/store/store.js';
import { benchCart, benchItems } from './data.js';
import { freePort } from './ports.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const quick = flag('--quick');
const duration = Number(option('--duration', quick ? '3' : '10'));
const warmup = quick ? 1 : 3;
const storeKind = option('--store', 'sqlite');
const workers = Number(option('--workers', '0'));
if (!Number.isInteger(workers) || workers < 0) throw new Error('--workers takes a whole number');
const connections = 50;
const basePath = '/tmf-api/shoppingCart/v4';

interface Measure {
  name: string;
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Errors and non-2xx answers during the warm-up (not in the figures, but not hidden either). */
  warmupFailures?: number;
}

async function waitReady(url: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The server's memory: resident set, its peak, and the two parts of it. `fileMb` is mostly the
 * memory-mapped database (page cache the kernel can reclaim); `anonMb` is the process's own.
 */
function rssOf(pid: number | undefined): { rssMb: number; peakMb: number; anonMb: number; fileMb: number } {
  const status = readFileSync(`/proc/${pid ?? 0}/status`, 'utf8');
  const mb = (key: string): number =>
    Math.round(Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  return { rssMb: mb('VmRSS'), peakMb: mb('VmHWM'), anonMb: mb('RssAnon'), fileMb: mb('RssFile') };
}

type RequestSpec = autocannon.Request;

const measureOf = (name: string, r: autocannon.Result): Measure => ({
  name,
  requestsPerSec: Math.round(r.requests.average),
  p50: r.latency.p50,
  p99: r.latency.p99,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
});

async function drive(
  name: string,
  url: string,
  requests: RequestSpec[],
  seconds = duration,
): Promise<Measure> {
  const run = (d: number) =>
    autocannon({
      url,
      connections,
      duration: d,
      requests,
      pipelining: 1,
    }) as unknown as Promise<autocannon.Result>;
  const warm = await run(warmup);
  const m = measureOf(name, await run(seconds));
  const warmupFailures = warm.errors + warm.timeouts + warm.non2xx;
  if (warmupFailures > 0) m.warmupFailures = warmupFailures;
  console.log(
    `  ${name.padEnd(44)} ${String(m.requestsPerSec).padStart(7)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms` +
      (m.errors + m.non2xx > 0 ? `  (${m.errors} errors, ${m.non2xx} non-2xx)` : '') +
      (warmupFailures > 0 ? `  (warm-up: ${warmupFailures} failed)` : ''),
  );
  return m;
}

/** Sequential requests (one connection): the latency of one query, not of a queue. */
async function latency(name: string, url: string, seconds = quick ? 2 : 5): Promise<Measure> {
  const r = (await autocannon({ url, connections: 1, duration: seconds })) as unknown as autocannon.Result;
  const m = measureOf(name, r);
  console.log(
    `  ${name.padEnd(44)} p50 ${m.p50} ms  p99 ${m.p99} ms  (${m.requestsPerSec} req/s on 1 connection)`,
  );
  return m;
}

async function openBenchStore(
  dir: string,
  label: string,
): Promise<{ store: Store; env: Record<string, string> }> {
  if (storeKind === 'mongodb') {
    const uri = process.env.MONGODB_URI;
    if (!uri) throw new Error('--store mongodb needs MONGODB_URI');
    const dbName = `bench_${label}_${Date.now().toString(36)}`;
    return {
      store: await openMongoStore({ uri, dbName }),
      env: { STORE: 'mongodb', MONGODB_URI: uri, MONGODB_DB: dbName },
    };
  }
  const path = join(dir, `${label}.db`);
  return {
    store: openSqliteStore({ path, synchronous: 'normal' }),
    env: { STORE: 'sqlite', SQLITE_PATH: path },
  };
}

/** Seeds n carts through the cart service; returns their ids. */
async function seed(store: Store, n: number, port: number): Promise<string[]> {
  const service = createCartService({
    store,
    now: () => new Date(),
    newId: () => ulid(),
    maxDepth: defaults.http.jsonMaxDepth,
    roundingMode: 'half-even',
    cartTtlMs: 365 * 86_400_000,
  });
  const ids: string[] = [];
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const c = await service.create(
      benchCart(i),
      (id) => `http://127.0.0.1:${port}${basePath}/shoppingCart/${id}`,
      {
        correlationId: undefined,
      },
    );
    ids.push(c.doc.id ?? '');
  }
  console.log(`  seeded ${n} carts in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ids;
}

async function startApi(
  env: Record<string, string>,
  port: number,
  clusterWorkers = 1,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // error: the 5xx lines only (warn would also log every 4xx); the counts come from autocannon.
      LOG_LEVEL: clusterWorkers > 1 ? 'error' : 'warn',
      CLUSTER_WORKERS: String(clusterWorkers),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitReady(`http://127.0.0.1:${port}${basePath}/`);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A POST of a new 5-item cart, and a merge PATCH of one quantity on each stored cart in turn. */
function writeRequests(ids: string[]): { post: RequestSpec; patch: RequestSpec } {
  let posted = 0;
  let next = 0;
  return {
    post: {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: JSON.stringify(benchCart(posted++)) }),
    },
    patch: {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      setupRequest: (req) => {
        const i = next++;
        const items = benchItems(i);
        if (items[2]) items[2].quantity = 1 + (Math.floor(i / ids.length) % 5);
        return {
          ...req,
          path: `${basePath}/shoppingCart/${ids[i % ids.length] ?? ''}`,
          body: JSON.stringify({ cartItem: items }),
        };
      },
    },
  };
}

/**
 * --workers N: GET by id, POST and PATCH with one worker and with N (CLUSTER_WORKERS) over the
 * same file, one after the other in the same run, so that the gain and its cost (errors, latency)
 * are compared on the same machine at the same time.
 */
async function scaleUp(
  env: Record<string, string>,
  ids: string[],
  port: number,
): Promise<Record<string, unknown>> {
  const url = `http://127.0.0.1:${port}${basePath}`;
  const sample = ids[42] ?? '';
  const rows: Record<string, unknown>[] = [];
  for (const n of [1, workers]) {
    console.log(`\n${n} worker${n > 1 ? 's' : ''} (CLUSTER_WORKERS=${n}), ${ids.length} carts`);
    const api = await startApi(env, port, n);
    const writes = writeRequests(ids);
    const get = await drive(`GET /shoppingCart/{id} x${n}`, `${url}/shoppingCart/${sample}`, [
      { method: 'GET' },
    ]);
    const post = await drive(`POST 5-item priced cart x${n}`, `${url}/shoppingCart`, [writes.post]);
    const patch = await drive(`PATCH merge: one quantity x${n}`, url, [writes.patch]);
    await stop(api);
    rows.push({ workers: n, get, post, patch });
  }
  console.log(
    '\n| workers | GET by id req/s (p99 ms) | POST req/s (p99 ms) | PATCH req/s (p99 ms) | errors + non-2xx (warm-up) |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const ms = ['get', 'post', 'patch'].map((k) => row[k] as Measure);
    const cell = (m: Measure): string => `${m.requestsPerSec} (${m.p99})`;
    const failed = ms.map((m) => `${m.errors + m.non2xx} (${m.warmupFailures ?? 0})`).join(' / ');
    console.log(`| ${String(row.workers)} | ${ms.map(cell).join(' | ')} | ${failed} |`);
  }
  return { workers: rows };
}

async function main(): Promise<void> {
  console.log('building the production code (npm run build)');
  execSync('npm run build --silent', { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-bench-'));
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    store: storeKind,
    connections,
    durationSeconds: duration,
  };
  try {
    // --- the main run: 100k carts (10k with --quick) ---
    const mainSize = quick ? 10_000 : 100_000;
    const port = await freePort();
    console.log(`\nseeding ${mainSize} carts (${storeKind})`);
    const { store, env } = await openBenchStore(dir, 'main');
    const ids = await seed(store, mainSize, port);
    await store.close();
    if (workers > 0) {
      results.scaleUp = await scaleUp(env, ids, port);
      writeFileSync(join(root, 'bench', 'results-workers.json'), JSON.stringify(results, null, 2) + '\n');
      console.log('results in bench/results-workers.json');
      return;
    }
    const api = await startApi(env, port);
    const url = `http://127.0.0.1:${port}${basePath}`;
    const sample = ids[42] ?? '';
    const cartBytes = await (await fetch(`${url}/shoppingCart/${sample}`)).text();
    const bodyFile = join(dir, 'cart.json');
    writeFileSync(bodyFile, cartBytes);

    console.log('\nbaselines (the same cart bytes from memory)');
    const baselines: Measure[] = [];
    for (const kind of ['http', 'express'] as const) {
      const bport = await freePort();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'bench/baseline-server.ts'), kind, String(bport), bodyFile],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      const burl = `http://127.0.0.1:${bport}${basePath}/shoppingCart/${sample}`;
      await waitReady(burl);
      baselines.push(
        await drive(kind === 'http' ? 'bare node:http' : 'bare Express 5', burl, [{ method: 'GET' }]),
      );
      await stop(child);
    }

    console.log(`\nthe server (${storeKind}, ${mainSize} carts)`);
    const scenarios: Measure[] = [];
    scenarios.push(
      await drive('GET /shoppingCart/{id} (5 items)', `${url}/shoppingCart/${sample}`, [{ method: 'GET' }]),
    );
    scenarios.push(
      await drive(
        'GET list relatedParty.id, limit=20',
        `${url}/shoppingCart?relatedParty.id=party-42&limit=20`,
        [{ method: 'GET' }],
      ),
    );
    scenarios.push(
      await drive('GET list fields=id, limit=20', `${url}/shoppingCart?fields=id&limit=20`, [
        { method: 'GET' },
      ]),
    );
    const writes = writeRequests(ids);
    scenarios.push(await drive('POST 5-item priced cart', `${url}/shoppingCart`, [writes.post]));
    scenarios.push(await drive('PATCH merge: one quantity', url, [writes.patch]));
    const memory = rssOf(api.pid);
    console.log(
      `  server RSS after the run: ${memory.rssMb} MB (peak ${memory.peakMb} MB): ${memory.anonMb} MB own, ${memory.fileMb} MB file-backed (mapped database)`,
    );

    console.log('\nquery latency (one connection)');
    const queries = [
      await latency('exact id', `${url}/shoppingCart?id=${sample}`),
      await latency(
        'relatedParty.id (1 in 1,000), limit=20',
        `${url}/shoppingCart?relatedParty.id=party-7&limit=20`,
      ),
      await latency(
        'cartItem.productOffering.id (1%), limit=20',
        `${url}/shoppingCart?cartItem.productOffering.id=po-7&limit=20`,
      ),
      await latency('unindexed channelCode (1%), limit=20', `${url}/shoppingCart?channelCode=ch-7&limit=20`),
    ];
    await stop(api);

    const bareHttp = baselines[0]?.requestsPerSec ?? 1;
    const bareExpress = baselines[1]?.requestsPerSec ?? 1;
    const withRatios = scenarios.map((s) => ({
      ...s,
      ofBareHttp: Number((s.requestsPerSec / bareHttp).toFixed(2)),
      ofBareExpress: Number((s.requestsPerSec / bareExpress).toFixed(2)),
    }));

    // --- the scaling curve ---
    const sizes = quick
      ? [1_000, 10_000]
      : [1_000, 10_000, 100_000, ...(flag('--scale-1m') ? [1_000_000] : [])];
    console.log('\nscaling curve (one connection latency; 50-connection throughput)');
    const curve: Record<string, unknown>[] = [];
    for (const size of sizes) {
      let sport = port;
      let sEnv = env;
      let sIds = ids;
      let child: ChildProcess | undefined;
      if (size !== mainSize) {
        sport = await freePort();
        const opened = await openBenchStore(dir, `scale-${size}`);
        sIds = await seed(opened.store, size, sport);
        await opened.store.close();
        sEnv = opened.env;
      }
      child = await startApi(sEnv, sport);
      const surl = `http://127.0.0.1:${sport}${basePath}`;
      const one = sIds[Math.floor(sIds.length / 2)] ?? '';
      const get = await drive(
        `GET by id @ ${size}`,
        `${surl}/shoppingCart/${one}`,
        [{ method: 'GET' }],
        quick ? 2 : 5,
      );
      const list = await latency(
        `list relatedParty.id @ ${size}`,
        `${surl}/shoppingCart?relatedParty.id=party-7&limit=20`,
        quick ? 2 : 3,
      );
      curve.push({ carts: size, getById: get, filteredList: list });
      await stop(child);
      child = undefined;
    }

    results.baselines = baselines;
    results.scenarios = withRatios;
    results.queries = queries;
    results.memory = memory;
    results.scaling = curve;
    writeFileSync(
      join(root, 'bench', storeKind === 'sqlite' ? 'results.json' : `results-${storeKind}.json`),
      JSON.stringify(results, null, 2) + '\n',
    );

    console.log('\n| scenario | req/s | p50 ms | p99 ms | of bare node:http | of bare Express |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const b of baselines) console.log(`| ${b.name} | ${b.requestsPerSec} | ${b.p50} | ${b.p99} | | |`);
    for (const s of withRatios) {
      console.log(
        `| ${s.name} | ${s.requestsPerSec} | ${s.p50} | ${s.p99} | ${s.ofBareHttp} | ${s.ofBareExpress} |`,
      );
    }
    console.log(
      `\nserver RSS after the run: ${memory.rssMb} MB (peak ${memory.peakMb} MB; ${memory.anonMb} MB own, ${memory.fileMb} MB mapped database); results in bench/results.json`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
