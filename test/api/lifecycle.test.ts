/**
 * The process as operators run it: `node src/main.ts` (through tsx) as a child process, stopped
 * with signals. Every wait has a deadline; nothing sleeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startMain, withDeadline, type Child } from '../support/main-process.js';
import { base } from '../support/server.js';

const json = { 'Content-Type': 'application/json' };

describe('Process lifecycle (src/main.ts)', function () {
  this.timeout(60_000);
  let dir: string;
  const running: Child[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tmf663-life-'));
  });
  afterEach(() => {
    for (const c of running.splice(0)) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its URL, finishes a request in flight on SIGTERM, exits 0 and keeps the data', async () => {
    const path = join(dir, 'life.db');
    const child = startMain({ SQLITE_PATH: path, SHUTDOWN_GRACE_MS: '10000' });
    running.push(child);
    const listening = await child.waitFor((l) => l.msg === 'listening');
    const url = listening.url as string;
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);

    const first = await fetch(`${url}${base}/shoppingCart`, { method: 'POST', headers: json, body: '{}' });
    expect(first.status).to.equal(201);
    const firstCart = (await first.json()) as { id: string };

    // A request in flight: headers are in (the server said 100 Continue), the body is not yet.
    const body = JSON.stringify({ note: 'sent during shutdown' });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${url}${base}/shoppingCart`, {
        method: 'POST',
        headers: { ...json, 'Content-Length': Buffer.byteLength(body), Expect: '100-continue' },
      });
      req.on('continue', () => {
        child.proc.kill('SIGTERM');
        // Only once the process has begun shutting down does the rest of the request arrive.
        child.waitFor((l) => l.msg === 'shutting down').then(() => req.end(body), reject);
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
      });
      req.on('error', reject);
    });
    const late = await withDeadline(answer, 15_000, 'the answer to the request in flight');
    expect(late.status).to.equal(201);
    const lateCart = JSON.parse(late.body) as { id: string; note: string };
    expect(lateCart.note).to.equal('sent during shutdown');

    const exit = await withDeadline(child.exited, 15_000, 'exit');
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(child.lines.map((l) => l.msg)).to.include.members(['shutting down', 'stopped']);
    // New connections are refused once it is gone.
    let refused = false;
    await fetch(`${url}/health`).catch(() => (refused = true));
    expect(refused).to.equal(true);

    const store = openSqliteStore({ path });
    try {
      expect((await store.getCart(firstCart.id, Date.now()))?.doc.id).to.equal(firstCart.id);
      expect((await store.getCart(lateCart.id, Date.now()))?.doc).to.include({
        note: 'sent during shutdown',
      });
    } finally {
      await store.close();
    }
  });

  it('exits 2 listing every configuration problem', async () => {
    const child = startMain({ PORT: 'x', STORE: 'nope', AUTH_MODE: 'jwt' });
    running.push(child);
    const exit = await withDeadline(child.exited, 15_000, 'exit');
    expect(exit.code).to.equal(2);
    const err = child.stderr.join('');
    expect(err).to.contain('PORT');
    expect(err).to.contain('STORE');
    expect(err).to.contain('AUTH_JWKS_URL or AUTH_SECRET');
  });

  it('CLUSTER_WORKERS=2 serves on one port, restarts a dead worker, and exits 0 on SIGTERM', async () => {
    const path = join(dir, 'cluster.db');
    const child = startMain({ SQLITE_PATH: path, CLUSTER_WORKERS: '2' });
    running.push(child);
    const listening = await child.waitFor((l) => l.msg === 'listening' && l.role === 'primary', 30_000);
    expect(listening.workers).to.equal(2);
    const url = listening.url as string;
    const workerPids = child.lines
      .filter((l) => l.msg === 'worker listening')
      .map((l) => l.workerPid as number);
    expect(new Set(workerPids).size).to.equal(2);

    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${url}${base}/shoppingCart`, { method: 'POST', headers: json, body: '{}' });
      expect(res.status).to.equal(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // Every worker sees what any worker wrote (one SQLite file in WAL mode).
    for (const id of ids) expect((await fetch(`${url}${base}/shoppingCart/${id}`)).status).to.equal(200);

    const victim = workerPids[0] ?? 0;
    process.kill(victim, 'SIGKILL');
    await child.waitFor((l) => l.msg === 'worker died; starting another' && l.workerPid === victim);
    const replacement = await child.waitFor(
      (l) => l.msg === 'worker listening' && !workerPids.includes(l.workerPid as number),
      30_000,
    );
    expect(replacement.workerPid).to.be.a('number');
    for (let i = 0; i < 4; i++) expect((await fetch(`${url}/health`)).status).to.equal(200);

    child.proc.kill('SIGTERM');
    const exit = await withDeadline(child.exited, 30_000, 'exit');
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(child.lines.filter((l) => l.msg === 'worker stopped')).to.have.length(2);

    const store = openSqliteStore({ path });
    try {
      for (const id of ids) expect((await store.getCart(id, Date.now()))?.doc.id).to.equal(id);
    } finally {
      await store.close();
    }
  });
});
