/**
 * A crash in the middle of sustained writes loses no event. The server runs as operators run it,
 * a child process: killed with SIGKILL while writers keep writing, then started again on the same
 * store, and every write that was acknowledged reaches the subscriber, in order per cart. The
 * first life runs the TypeScript sources (tsx), the second the production build (tsc output run
 * by plain node), so the dispatcher's worker entry is exercised both ways. Runs on the suite's
 * store (SQLite, or MongoDB with STORE=mongodb). Nothing is timed; every wait has a deadline.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startListener, type Listener } from '../support/listener.js';
import { base } from '../support/server.js';

const root = process.cwd();
const json = { 'content-type': 'application/json' };

interface Life {
  proc: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  /** The log lines so far. */
  lines: { msg?: string; [key: string]: unknown }[];
}

/** Starts the server (`args` after node) and resolves once it logs its URL. */
function startLife(args: string[], env: Record<string, string>): Promise<Life> {
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      resolve(code);
    }),
  );
  let output = '';
  const lines: Life['lines'] = [];
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the server did not start in time:\n${output}`));
    }, 60_000);
    let buffered = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      output += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as { msg?: string; url?: string; role?: string };
          lines.push(parsed);
          if (parsed.msg === 'listening' && parsed.url && parsed.role !== 'worker') {
            clearTimeout(timer);
            resolve({ proc, url: `${parsed.url}${base}`, exited, lines });
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening:\n${output}`));
    });
  });
}

async function until(what: string, check: () => boolean, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a crash during sustained writes loses no event (child processes)', function () {
  this.timeout(180_000);
  let dir: string;
  let build: string;
  let listener: Listener | undefined;
  const lives: Life[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tmf663-restart-'));
    // The production build, inside the repository so that node_modules resolves from it.
    build = join(root, '.cache', `test-build-${process.pid}`);
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', build], { cwd: root });
    // The same copies `npm run build` makes of the served documents.
    for (const version of ['v4', 'v5']) {
      mkdirSync(join(build, 'generated', version), { recursive: true });
      copyFileSync(
        join(root, 'generated', version, 'tmf663-openapi.json'),
        join(build, 'generated', version, 'tmf663-openapi.json'),
      );
    }
  });
  after(async () => {
    for (const life of lives) life.proc.kill('SIGKILL');
    await Promise.all(lives.map((l) => l.exited));
    await listener?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(build, { recursive: true, force: true });
  });

  it('delivers every acknowledged write after a SIGKILL and a restart, in order per cart', async () => {
    const l = await startListener();
    listener = l;
    const env: Record<string, string> =
      process.env.STORE === 'mongodb' && process.env.MONGODB_URI
        ? {
            STORE: 'mongodb',
            MONGODB_URI: process.env.MONGODB_URI,
            MONGODB_DB: `restart_${Date.now().toString(36)}_${process.pid}`,
          }
        : { STORE: 'sqlite', SQLITE_PATH: join(dir, 'restart.db') };

    /** What each cart's acknowledged writes promise the listener, in order. */
    const expected = new Map<string, string[]>();
    let acknowledged = 0;
    /** Six writers: each creates a cart and changes it twice, again and again, until told to stop. */
    const write = async (url: string, stopAt: number): Promise<void> => {
      const writer = async (): Promise<void> => {
        while (acknowledged < stopAt) {
          try {
            const created = await fetch(`${url}/shoppingCart`, { method: 'POST', headers: json, body: '{}' });
            if (created.status !== 201) throw new Error(`POST answered ${created.status}`);
            const id = ((await created.json()) as { id: string }).id;
            const events = ['ShoppingCartCreateEvent'];
            expected.set(id, events);
            acknowledged++;
            for (let i = 0; i < 2 && acknowledged < stopAt; i++) {
              const patched = await fetch(`${url}/shoppingCart/${id}`, {
                method: 'PATCH',
                headers: { 'content-type': 'application/merge-patch+json' },
                body: JSON.stringify({ note: `n${i}` }),
              });
              if (patched.status !== 200) throw new Error(`PATCH answered ${patched.status}`);
              await patched.arrayBuffer();
              events.push('ShoppingCartAttributeValueChangeEvent');
              acknowledged++;
            }
          } catch {
            return; // the server is gone: what was not acknowledged promises nothing
          }
        }
      };
      await Promise.all(Array.from({ length: 6 }, writer));
    };

    // First life, from the sources: subscribe, write, and kill it while the writers are busy.
    const first = await startLife(['--import', 'tsx', 'src/main.ts'], env);
    lives.push(first);
    const sub = await fetch(`${first.url}/hub`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ callback: l.url }),
    });
    expect(sub.status).to.equal(201);
    const writing = write(first.url, Number.POSITIVE_INFINITY);
    await until('writes in the first life', () => acknowledged >= 90);
    first.proc.kill('SIGKILL');
    await writing;
    await first.exited;
    const beforeCrash = acknowledged;

    // Second life, the production build on the same store: more writes, then everything arrives.
    const second = await startLife([join(build, 'src/main.js')], env);
    lives.push(second);
    await write(second.url, beforeCrash + 60);
    await until('every acknowledged event delivered', () => {
      const got = new Map<string, string[]>();
      const seen = new Set<string>();
      for (const r of l.received) {
        if (seen.has(r.body.eventId)) continue; // at least once: a resend after the crash
        seen.add(r.body.eventId);
        const id = r.body.event.shoppingCart.id as string;
        got.set(id, [...(got.get(id) ?? []), r.body.eventType as string]);
      }
      // A write cut off by the crash may have committed: extra events may follow, never fewer.
      return [...expected].every(([id, events]) => {
        const arrived = got.get(id) ?? [];
        return events.every((e, i) => arrived[i] === e);
      });
    });
    expect(expected.size).to.be.greaterThan(20);
    second.proc.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });

  it('CLUSTER_WORKERS=2: one worker delivers, and writes through either worker reach the subscriber', async () => {
    const l = await startListener();
    try {
      const life = await startLife(['--import', 'tsx', 'src/main.ts'], {
        STORE: 'sqlite',
        SQLITE_PATH: join(dir, 'cluster.db'),
        CLUSTER_WORKERS: '2',
      });
      lives.push(life);
      const sub = await fetch(`${life.url}/hub`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ callback: l.url }),
      });
      expect(sub.status).to.equal(201);
      // New connections each time, so the kernel spreads them over both workers.
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${life.url}/shoppingCart`, {
          method: 'POST',
          headers: { ...json, connection: 'close' },
          body: '{}',
        });
        expect(res.status).to.equal(201);
        ids.push(((await res.json()) as { id: string }).id);
      }
      const got = await l.waitFor(20, 30_000);
      expect(got.map((r) => r.body.event.shoppingCart.id as string).sort()).to.deep.equal([...ids].sort());
      const delivering = life.lines.filter((line) => line.msg === 'delivering notifications');
      expect(delivering).to.have.length(1);
      life.proc.kill('SIGTERM');
      expect(await life.exited).to.equal(0);
    } finally {
      await l.close();
    }
  });
});
