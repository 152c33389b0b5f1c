/**
 * npm run bench:events: does a slow subscriber slow down requests? Runs the built server as its
 * own process, fires a burst of 1,000 cart writes (10 at a time) and records each request's
 * latency, with no subscriber and with one subscriber whose listener takes 1 s per answer, in
 * alternating pairs. Requests must not wait for delivery, so the two should be within a few
 * milliseconds. Prints every pair and the medians, and writes bench/results-events.json.
 *
 *   npm run bench:events [-- --writes 1000 --rounds 5 --profile DIR]   (--profile: the server's CPU profile)
 *
 * With --sustained it measures sustained mixed load with 0, 1 and 3 subscribers instead
 * (bench/events-sustained.ts).
 */
import { execSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCart } from './data.js';
import { sustained } from './events-sustained.js';
import { freePort, percentile } from './ports.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const writesArg = process.argv.indexOf('--writes');
const writes = writesArg >= 0 ? Number(process.argv[writesArg + 1]) : 1000;
const profileArg = process.argv.indexOf('--profile');
const profileDir = profileArg >= 0 ? process.argv[profileArg + 1] : undefined;
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg >= 0 ? Number(process.argv[roundsArg + 1]) : 5;
const concurrency = 10;
const basePath = '/tmf-api/shoppingCart/v4';

async function burst(url: string): Promise<{ p50: number; p99: number; mean: number }> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < writes) {
      const i = next++;
      const started = performance.now();
      const res = await fetch(`${url}/shoppingCart`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(benchCart(i)),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 100) / 100;
  return {
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
  };
}

async function main(): Promise<void> {
  execSync('npm run build --silent', { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-bench-events-'));
  // The slow subscriber (answers every notification after one second), in its own process.
  const listener = fork(join(root, 'bench/slow-listener.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = <T>(): Promise<T> =>
    new Promise<T>((resolve) =>
      listener.once('message', (m) => {
        resolve(m as T);
      }),
    );
  const { port: listenerPort } = await reply<{ port: number }>();
  const listenerUrl = `http://127.0.0.1:${listenerPort}/events`;
  const port = await freePort();
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=250'] : [];
  const api = spawn(process.execPath, [...profile, join(root, 'dist/src/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      STORE: 'sqlite',
      SQLITE_PATH: join(dir, 'events.db'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}${basePath}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/`)).ok) break;
      } catch {
        // not up yet
      }
      if (i > 300) throw new Error('server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    await burst(url); // warm-up
    // Alternating pairs (no subscriber, then one slow subscriber), so that drift of this shared
    // machine over the run falls on both sides. Unsubscribing drops the subscriber's pending
    // deliveries, so a "no subscriber" burst really has no delivery work behind it.
    type Burst = Awaited<ReturnType<typeof burst>>;
    const pairs: { without: Burst; withSlow: Burst }[] = [];
    let received = 0;
    for (let r = 0; r < rounds; r++) {
      const without = await burst(url);
      const sub = await fetch(`${url}/hub`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ callback: listenerUrl }),
      });
      if (sub.status !== 201) throw new Error(`subscribing answered ${sub.status}`);
      const { id } = (await sub.json()) as { id: string };
      const withSlow = await burst(url);
      listener.send('count');
      received = (await reply<{ received: number }>()).received;
      const gone = await fetch(`${url}/hub/${id}`, { method: 'DELETE' });
      if (gone.status !== 204) throw new Error(`unsubscribing answered ${gone.status}`);
      pairs.push({ without, withSlow });
      console.log(
        `pair ${r + 1}: no subscriber p50 ${without.p50} p99 ${without.p99} mean ${without.mean} ms | ` +
          `slow subscriber p50 ${withSlow.p50} p99 ${withSlow.p99} mean ${withSlow.mean} ms`,
      );
    }
    const median = (xs: number[]): number => {
      const sorted = [...xs].sort((x, y) => x - y);
      return sorted[Math.floor(sorted.length / 2)] ?? 0;
    };
    const summary = (pick: (b: Burst) => number) => {
      const without = median(pairs.map((p) => pick(p.without)));
      const withSlow = median(pairs.map((p) => pick(p.withSlow)));
      return { without, withSlow, difference: Math.round((withSlow - without) * 100) / 100 };
    };
    const p50 = summary((b) => b.p50);
    const p99 = summary((b) => b.p99);
    const mean = summary((b) => b.mean);
    console.log(`median over ${rounds} pairs (ms):`);
    for (const [name, m] of [
      ['p50', p50],
      ['p99', p99],
      ['mean', mean],
    ] as const) {
      console.log(
        `  ${name.padEnd(5)} no subscriber ${m.without}  slow subscriber ${m.withSlow}  difference ${m.difference}`,
      );
    }
    console.log(`notifications the slow listener had received by the end: ${received}`);
    writeFileSync(
      join(root, 'bench', 'results-events.json'),
      JSON.stringify(
        { date: new Date().toISOString(), writes, concurrency, rounds, p50, p99, mean, pairs, received },
        null,
        2,
      ) + '\n',
    );
  } finally {
    api.kill('SIGTERM');
    listener.send('stop');
    await new Promise((r) => api.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--sustained')) {
  execSync('npm run build --silent', { cwd: root, stdio: 'inherit' });
  await sustained({ root });
} else {
  await main();
}
