/**
 * npm run bench:events -- --sustained: the API's speed with events on, under sustained load.
 *
 * For each variant (no subscriber; one; three; three of which one answers after 1 s and one fails
 * every other request) it starts the built server on a fresh store as its own process, each
 * listener in its own process, and drives a closed-loop mixed workload from CLIENTS clients
 * (POST/GET/PATCH/list/DELETE, every write with a unique `note`) for the duration, after a
 * warm-up. It reports API throughput and latency, the write and delivery rates, the backlog over
 * time (sampled from /metrics), end-to-end event latency per listener (write acknowledged ->
 * listener received, both clocks of this machine) and how long the backlog took to drain after
 * the load stopped. Writes bench/results-events-sustained-<store>.json.
 *
 *   npm run bench:events -- --sustained [--duration 3m] [--clients 32] [--store mongodb]
 *                                       [--variants none,one,three,degraded] [--profile DIR]
 *                                       [--listener-nice 10] [--listener net]
 *
 * --profile DIR writes the server's CPU profiles (API thread and dispatcher thread) to DIR/<variant>.
 * --listener-nice N (default 10; 0 for none) runs the listeners N nice steps below the normal
 * priority: they stand for other systems, which a real deployment runs on other machines, while
 * here they share the server's cores (docs/performance.md reports runs with both). A variant
 * written `name:N` runs with its listeners at nice +N instead, so that one run can compare both
 * (`--variants none,three,three:0`); variants may repeat, to interleave them.
 * --listener net (default) or http: the listeners' HTTP server, a minimal responder on node:net or
 * node:http (bench/slow-listener.ts; the first, with its key read, takes about half the CPU).
 * On Linux it also reports CPU per variant: the API thread's per request, and the cores taken by
 * the server's other threads (delivery, GC), the listeners and this load generator.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainThreadCpuS, processCpuS } from './cpu.js';
import { benchCart } from './data.js';
import { freePort, percentile } from './ports.js';

const basePath = '/tmf-api/shoppingCart/v4';
const now = (): number => performance.timeOrigin + performance.now();

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`--duration: ${text} is not like 30s or 3m`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's'] ?? 1000);
}

interface ListenerSpec {
  name: string;
  answerMs: number;
  failEvery: number;
  /** The subscription's query (none: every event). */
  query?: string;
}

const healthy = (name: string): ListenerSpec => ({ name, answerMs: 0, failEvery: 0 });
const variantSpecs: Record<string, ListenerSpec[]> = {
  none: [],
  one: [healthy('healthy-1')],
  three: [healthy('healthy-1'), healthy('healthy-2'), healthy('healthy-3')],
  degraded: [
    healthy('healthy-1'),
    { name: 'slow-1s', answerMs: 1000, failEvery: 0 },
    { name: 'fails-half', answerMs: 0, failEvery: 2 },
  ],
  // A diagnosis, not one of the variants: three subscriptions whose query no event
  // matches, so that every write records its event and routing runs, but nothing is delivered
  // (the outbox's own cost, apart from delivery's).
  'routed-only': ['quiet-1', 'quiet-2', 'quiet-3'].map((name) => ({
    ...healthy(name),
    query: 'eventType=ShoppingCartDeleteEvent&event.shoppingCart.id=no-such-cart',
  })),
};

const round1 = (n: number): number => Math.round(n * 10) / 10;

interface Answer {
  status: number;
  body: string;
}

function httpCall(agent: Agent, port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers:
          body === undefined
            ? {}
            : {
                'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
                'content-length': Buffer.byteLength(body),
              },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

type ListenerServer = 'net' | 'http';

interface Listener {
  spec: ListenerSpec;
  proc: ChildProcess;
  url: string;
  ask<T>(message: string): Promise<T>;
}

async function startListener(
  spec: ListenerSpec,
  root: string,
  nice: number,
  server: ListenerServer,
): Promise<Listener> {
  const proc = fork(join(root, 'bench/slow-listener.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      ANSWER_MS: String(spec.answerMs),
      FAIL_EVERY: String(spec.failEvery),
      RECORD_ARRIVALS: '1',
      LISTENER_NICE: String(nice),
      LISTENER_SERVER: server,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(): Promise<T> =>
    new Promise<T>((resolve) =>
      proc.once('message', (m) => {
        resolve(m as T);
      }),
    );
  const { port } = await next<{ port: number }>();
  return {
    spec,
    proc,
    url: `http://127.0.0.1:${port}/listener`,
    ask: <T>(message: string) => {
      const reply = next<T>();
      proc.send(message);
      return reply;
    },
  };
}

interface Sample {
  atS: number;
  outbox: number;
  backlog: Record<string, number>;
}

function parseMetrics(text: string, subs: Map<string, string>): Omit<Sample, 'atS'> {
  const backlog: Record<string, number> = {};
  for (const name of subs.values()) backlog[name] = 0;
  let outbox = 0;
  for (const line of text.split('\n')) {
    const b = /^tmf663_notification_backlog\{subscription="([^"]+)"\} (\S+)$/.exec(line);
    if (b) backlog[subs.get(b[1] ?? '') ?? b[1] ?? ''] = Number(b[2]);
    const o = /^tmf663_notification_records\{kind="outbox"\} (\S+)$/.exec(line);
    if (o) outbox = Number(o[1]);
  }
  return { outbox, backlog };
}

export interface SustainedOptions {
  root: string;
}

export async function sustained({ root }: SustainedOptions): Promise<void> {
  const durationMs = parseDuration(arg('duration') ?? '3m');
  const listenerNice = Number(arg('listener-nice') ?? 10);
  const listenerServer = arg('listener') ?? 'net';
  if (listenerServer !== 'net' && listenerServer !== 'http') throw new Error('--listener: net or http');
  const warmupMs = Math.min(10_000, Math.round(durationMs / 10));
  const clients = Number(arg('clients') ?? 32);
  const store = arg('store') ?? 'sqlite';
  const variants = (arg('variants') ?? 'none,one,three,degraded').split(',');
  if (store === 'mongodb' && !process.env.MONGODB_URI) throw new Error('--store mongodb needs MONGODB_URI');
  const results: { variant: string; requestsPerS: number }[] = [];
  console.log(
    `sustained: ${durationMs / 1000} s per variant after ${warmupMs / 1000} s warm-up, ${clients} clients, store ${store}, listeners on ${listenerServer} at nice +${listenerNice}; ` +
      `${cpus().length} cores, load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')}`,
  );
  for (const variant of variants) {
    const [name = '', niceText] = variant.split(':');
    const specs = variantSpecs[name];
    if (!specs) throw new Error(`unknown variant ${variant}`);
    const nice = niceText === undefined ? listenerNice : Number(niceText);
    results.push(
      await runVariant(root, variant, specs, {
        durationMs,
        warmupMs,
        clients,
        store,
        listenerNice: nice,
        listenerServer,
      }),
    );
  }
  const ofNone = ofNeighbours(results);
  if (ofNone.length > 0) {
    console.log('\nagainst the nearest no-subscriber runs before / after (the target is at least 85%):');
    for (const r of ofNone)
      console.log(`  ${r.variant.padEnd(12)} ${percentText(r.ofNoneBefore)} / ${percentText(r.ofNoneAfter)}`);
  }
  writeFileSync(
    join(root, 'bench', `results-events-sustained-${store}.json`),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        durationMs,
        warmupMs,
        clients,
        store,
        listenerNice,
        listenerServer,
        loadavg: loadavg(),
        results,
        ofNone,
      },
      null,
      2,
    ) + '\n',
  );
}

const percentText = (x: number | undefined): string => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

/**
 * Each subscribed variant's throughput as a share of the nearest no-subscriber variant before and
 * after it in the run: the no-subscriber figure drifts within a run, so a variant is compared with
 * its neighbours (`--variants none,three,none,one,none`).
 */
function ofNeighbours(
  results: { variant: string; requestsPerS: number }[],
): { variant: string; ofNoneBefore?: number; ofNoneAfter?: number }[] {
  const none = (r: { variant: string }): boolean => r.variant.split(':')[0] === 'none';
  const share = (r: { requestsPerS: number }, n: { requestsPerS: number } | undefined): number | undefined =>
    n && n.requestsPerS > 0 ? Math.round((1000 * r.requestsPerS) / n.requestsPerS) / 1000 : undefined;
  return results.flatMap((r, i) => {
    if (none(r)) return [];
    const before = results.slice(0, i).findLast(none);
    const after = results.slice(i + 1).find(none);
    return [{ variant: r.variant, ofNoneBefore: share(r, before), ofNoneAfter: share(r, after) }];
  });
}

async function runVariant(
  root: string,
  variant: string,
  specs: ListenerSpec[],
  o: {
    durationMs: number;
    warmupMs: number;
    clients: number;
    store: string;
    listenerNice: number;
    listenerServer: ListenerServer;
  },
): Promise<{ variant: string; requestsPerS: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tmf663-bench-sustained-'));
  const listeners = await Promise.all(
    specs.map((s) => startListener(s, root, o.listenerNice, o.listenerServer)),
  );
  const port = await freePort();
  const profileDir = arg('profile');
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, variant)}`] : [];
  const api = spawn(process.execPath, [...profile, join(root, 'dist/src/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      STORE: o.store,
      SQLITE_PATH: join(dir, 'events.db'),
      MONGODB_DB: `bench_sustained_${Date.now().toString(36)}`,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients + 4 });
  const call = (method: string, path: string, body?: string): Promise<Answer> =>
    httpCall(agent, port, method, `${basePath}${path}`, body);
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await call('GET', '/')).status === 200) break;
      } catch {
        // not up yet
      }
      if (i > 300) throw new Error('server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const subs = new Map<string, string>();
    for (const l of listeners) {
      const res = await call(
        'POST',
        '/hub',
        JSON.stringify({ callback: l.url, ...(l.spec.query === undefined ? {} : { query: l.spec.query }) }),
      );
      if (res.status !== 201) throw new Error(`subscribing answered ${res.status}`);
      subs.set((JSON.parse(res.body) as { id: string }).id, l.spec.name);
    }

    // The workload: each client keeps its own carts; every write carries a unique note.
    let measuring = false;
    let stop = false;
    let seq = 0;
    const latencies: number[] = [];
    const byOp: Record<string, number> = {};
    let errors = 0;
    /** eventType:note -> when the write was acknowledged (epoch ms). */
    const acks = new Map<string, number>();
    let writes = 0;
    const client = async (c: number): Promise<void> => {
      const carts: { id: string; note: string }[] = [];
      while (!stop) {
        const r = Math.random();
        const pick =
          carts.length === 0
            ? 'POST'
            : r < 0.25
              ? 'POST'
              : r < 0.55
                ? 'GET'
                : r < 0.8
                  ? 'PATCH'
                  : r < 0.9
                    ? 'LIST'
                    : 'DELETE';
        const started = now();
        let res: Answer;
        let key: string | undefined;
        try {
          if (pick === 'POST') {
            const note = `n${c}-${seq++}`;
            res = await call('POST', '/shoppingCart', JSON.stringify({ ...benchCart(seq), note }));
            if (res.status === 201) {
              carts.push({ id: (JSON.parse(res.body) as { id: string }).id, note });
              key = `ShoppingCartCreateEvent:${note}`;
            }
          } else if (pick === 'GET') {
            const cart = carts[Math.floor(Math.random() * carts.length)];
            res = await call('GET', `/shoppingCart/${cart?.id ?? ''}`);
          } else if (pick === 'PATCH') {
            const cart = carts[Math.floor(Math.random() * carts.length)];
            const note = `n${c}-${seq++}`;
            res = await call('PATCH', `/shoppingCart/${cart?.id ?? ''}`, JSON.stringify({ note }));
            if (res.status === 200 && cart) {
              cart.note = note;
              key = `ShoppingCartAttributeValueChangeEvent:${note}`;
            }
          } else if (pick === 'LIST') {
            res = await call('GET', `/shoppingCart?relatedParty.id=party-${seq % 1000}&limit=20`);
          } else {
            const [cart] = carts.splice(Math.floor(Math.random() * carts.length), 1);
            res = await call('DELETE', `/shoppingCart/${cart?.id ?? ''}`);
            if (res.status === 204 && cart) key = `ShoppingCartDeleteEvent:${cart.note}`;
          }
        } catch {
          errors++;
          continue;
        }
        const ended = now();
        if (res.status >= 400) errors++;
        if (!measuring) continue;
        latencies.push(ended - started);
        byOp[pick] = (byOp[pick] ?? 0) + 1;
        if (key !== undefined) {
          writes++;
          acks.set(key, ended);
        }
      }
    };

    const samples: Sample[] = [];
    const t0 = now();
    const metricsCall = async (): Promise<Omit<Sample, 'atS'>> => {
      const res = await httpCall(agent, port, 'GET', '/metrics');
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return parseMetrics(res.body, subs);
    };
    const sampleEvery = Math.max(1000, Math.round(o.durationMs / 20));
    let sampling = false; // a slow scrape is not stacked with the next
    const sampler = setInterval(() => {
      if (sampling || listeners.length === 0) return;
      sampling = true;
      void metricsCall()
        .then((m) => samples.push({ atS: round1((now() - t0) / 1000), ...m }))
        .catch(() => undefined)
        .finally(() => {
          sampling = false;
        });
    }, sampleEvery);

    const running = Array.from({ length: o.clients }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, o.warmupMs));
    const counts0 = await Promise.all(listeners.map((l) => l.ask<{ received: number }>('count')));
    const cpu0 = cpuSnapshot(api.pid, listeners);
    measuring = true;
    const started = now();
    await new Promise((r) => setTimeout(r, o.durationMs));
    measuring = false;
    const elapsedS = (now() - started) / 1000;
    const cpu = cpuUse(cpu0, cpuSnapshot(api.pid, listeners), elapsedS, latencies.length);
    const counts1 = await Promise.all(listeners.map((l) => l.ask<{ received: number }>('count')));
    stop = true;
    await Promise.all(running);
    const stoppedAt = now();
    // Drain: how long until the healthy listeners' backlogs are empty.
    let drainS: number | undefined;
    const healthyNames = listeners
      .filter((l) => l.spec.answerMs === 0 && l.spec.failEvery === 0)
      .map((l) => l.spec.name);
    const drainDeadline = now() + 60_000;
    while (listeners.length > 0 && now() < drainDeadline) {
      const m = await metricsCall().catch(() => undefined);
      if (m && m.outbox === 0 && healthyNames.every((n) => (m.backlog[n] ?? 0) === 0)) {
        drainS = round1((now() - stoppedAt) / 1000);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(sampler);
    const endMetrics = listeners.length > 0 ? await metricsCall().catch(() => undefined) : undefined;

    latencies.sort((a, b) => a - b);
    const perListener = await Promise.all(
      listeners.map(async (l, i) => {
        const { arrivals } = await l.ask<{ arrivals: [string, number][] }>('arrivals');
        const e2e: number[] = [];
        let missing = 0;
        const got = new Map(arrivals);
        for (const [key, ackAt] of acks) {
          const at = got.get(key);
          if (at === undefined) missing++;
          else e2e.push(Math.max(0, at - ackAt));
        }
        e2e.sort((a, b) => a - b);
        const delivered = (counts1[i]?.received ?? 0) - (counts0[i]?.received ?? 0);
        return {
          listener: l.spec.name,
          deliveredPerS: round1(delivered / elapsedS),
          e2eP50Ms: round1(percentile(e2e, 50)),
          e2eP99Ms: round1(percentile(e2e, 99)),
          notReceivedByEnd: missing,
          backlogAtEnd: endMetrics?.backlog[l.spec.name] ?? 0,
        };
      }),
    );
    const result = {
      variant,
      listenerNice: o.listenerNice,
      subscribers: specs.map((s) => s.name),
      requestsPerS: round1(latencies.length / elapsedS),
      p50Ms: round1(percentile(latencies, 50)),
      p99Ms: round1(percentile(latencies, 99)),
      writesPerS: round1(writes / elapsedS),
      byOp,
      errors,
      drainS,
      cpu,
      listeners: perListener,
      samples,
    };
    const maxBacklog = (name: string): number => Math.max(0, ...samples.map((s) => s.backlog[name] ?? 0));
    console.log(
      `\n${variant} (listeners at nice +${o.listenerNice}): ${result.requestsPerS} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
        `${result.writesPerS} writes/s, ${errors} errors` +
        (listeners.length > 0
          ? `, healthy backlog drained ${drainS ?? 'not within 60'} s after the load`
          : ''),
    );
    if (cpu)
      console.log(
        `  CPU: API thread ${cpu.apiThreadMsPerRequest} ms/request (${cpu.apiThreadCores} cores); ` +
          `server's other threads ${cpu.serverOtherCores}, listeners ${cpu.listenerCores}, load generator ${cpu.loadGeneratorCores} cores`,
      );
    for (const l of perListener)
      console.log(
        `  ${l.listener.padEnd(10)} delivered ${l.deliveredPerS}/s, e2e p50 ${l.e2eP50Ms} ms p99 ${l.e2eP99Ms} ms, ` +
          `max backlog ${maxBacklog(l.listener)}, at end ${l.backlogAtEnd}, not received ${l.notReceivedByEnd}`,
      );
    if (listeners.length > 0)
      console.log(
        `  backlog over time (s: ${listeners.map((l) => l.spec.name).join('/')}, outbox): ` +
          samples
            .map(
              (s) => `${s.atS}: ${listeners.map((l) => s.backlog[l.spec.name] ?? 0).join('/')}, ${s.outbox}`,
            )
            .join(' | '),
      );
    return result;
  } finally {
    agent.destroy();
    api.kill('SIGTERM');
    for (const l of listeners) l.proc.send('stop');
    await new Promise((r) => api.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuSnapshot {
  apiMain: number | undefined;
  apiAll: number | undefined;
  listeners: (number | undefined)[];
  self: NodeJS.CpuUsage;
}

function cpuSnapshot(apiPid: number | undefined, listeners: Listener[]): CpuSnapshot {
  return {
    apiMain: mainThreadCpuS(apiPid),
    apiAll: processCpuS(apiPid),
    listeners: listeners.map((l) => processCpuS(l.proc.pid)),
    self: process.cpuUsage(),
  };
}

/** CPU over the measured window, in cores (CPU seconds per second), or undefined off Linux. */
function cpuUse(a: CpuSnapshot, b: CpuSnapshot, elapsedS: number, requests: number) {
  if (a.apiMain === undefined || b.apiMain === undefined || a.apiAll === undefined || b.apiAll === undefined)
    return undefined;
  const main = b.apiMain - a.apiMain;
  const listeners = b.listeners.reduce<number>((sum, x, i) => sum + (x ?? 0) - (a.listeners[i] ?? 0), 0);
  const self = b.self.user + b.self.system - a.self.user - a.self.system;
  const cores = (s: number): number => Math.round((s / elapsedS) * 100) / 100;
  return {
    apiThreadMsPerRequest: Math.round((main * 1000 * 1000) / Math.max(1, requests)) / 1000,
    apiThreadCores: cores(main),
    serverOtherCores: cores(b.apiAll - a.apiAll - main),
    listenerCores: cores(listeners),
    loadGeneratorCores: cores(self / 1e6),
  };
}
