/**
 * Several workers over one SQLite file (CLUSTER_WORKERS=2), as operators run it: `src/main.ts`
 * as a child process, hammered from many connections. Contended writes wait their turn: no 5xx,
 * every acknowledged write is stored. The load is bounded in count, never in time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startMain, withDeadline, type Child } from '../support/main-process.js';
import { base, startTestServer } from '../support/server.js';

const json = { 'Content-Type': 'application/json' };

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
}

async function send(url: string, method: string, body?: unknown, contentType = json['Content-Type']) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
    retryAfter: res.headers.get('retry-after'),
  } as Answer;
}

/** Runs task(0..n-1) with at most `width` at once (that many connections). */
async function pool<T>(width: number, n: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(n);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
  return results;
}

const statuses = (answers: Answer[]): Record<number, number> => {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
};

const party = (id: string) => ({ id, '@referredType': 'Individual', role: 'customer' });

describe('Two workers over one SQLite file (CLUSTER_WORKERS=2)', function () {
  this.timeout(120_000);
  let dir: string;
  let path: string;
  let child: Child;
  let api: string;
  /** Worker pids that answered `method` on paths starting with `prefix`, from the logs. */
  const servedBy = (method: string, prefix: string): Set<number> =>
    new Set(
      child.lines
        .filter((l) => l.msg === 'request' && l.method === method && String(l.path).startsWith(prefix))
        .map((l) => l.pid as number),
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tmf663-cluster-'));
    path = join(dir, 'carts.db');
    // Pinned to SQLite (CI's MongoDB leg sets STORE); every worker purges every 10 ms.
    child = startMain({
      SQLITE_PATH: path,
      CLUSTER_WORKERS: '2',
      PURGE_INTERVAL: '10ms',
      LOG_LEVEL: 'info',
    });
    const listening = await child.waitFor((l) => l.msg === 'listening' && l.workers === 2, 60_000);
    api = `${listening.url as string}${base}`;
  });
  after(async () => {
    if (child.proc.exitCode === null) {
      child.proc.kill('SIGTERM');
      await withDeadline(child.exited, 30_000, 'exit').catch(() => child.proc.kill('SIGKILL'));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates from 50 connections: no 5xx, and every acknowledged create is stored', async () => {
    const tag = `burst-${Date.now().toString(36)}`;
    const n = 400;
    const created = await pool(50, n, (i) =>
      send(`${api}/shoppingCart`, 'POST', {
        relatedParty: [party(tag)],
        cartItem: [{ id: String(i), quantity: 1 }],
      }),
    );
    expect(statuses(created)).to.deep.equal({ 201: n });
    const ids = created.map((a) => a.body.id as string);
    expect(new Set(ids).size).to.equal(n);
    const read = await pool(50, n, (i) => send(`${api}/shoppingCart/${ids[i] ?? ''}`, 'GET'));
    expect(statuses(read)).to.deep.equal({ 200: n });
    read.forEach((a, i) => expect(a.body).to.deep.equal(created[i]?.body));
    const listed = await fetch(`${api}/shoppingCart?relatedParty.id=${tag}&fields=id&limit=1`);
    expect(listed.headers.get('x-total-count')).to.equal(String(n));
    expect(servedBy('POST', `${base}/shoppingCart`).size, 'both workers wrote').to.equal(2);
  });

  it('100 mixed writers on one cart, three rounds: 100 successes and every write stored', async () => {
    for (let round = 1; round <= 3; round++) {
      const cart = await send(`${api}/shoppingCart`, 'POST', { cartItem: [] });
      expect(cart.status).to.equal(201);
      const url = `${api}/shoppingCart/${cart.body.id as string}`;
      // 50 JSON Patch appends and 50 merge patches of their own attribute, all at once.
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i % 2 === 0
            ? send(
                url,
                'PATCH',
                [{ op: 'add', path: '/cartItem/-', value: { id: `item-${i}`, quantity: 1 + (i % 3) } }],
                'application/json-patch+json',
              )
            : send(url, 'PATCH', { [`note${i}`]: `written by ${i}` }, 'application/merge-patch+json'),
        ),
      );
      expect(statuses(answers), `round ${round}`).to.deep.equal({ 200: 100 });
      const final = await send(url, 'GET');
      const items = (final.body.cartItem as { id: string }[]).map((it) => it.id).sort();
      const expectedItems = Array.from({ length: 50 }, (_, k) => `item-${2 * k}`).sort();
      expect(items, `round ${round}: every append`).to.deep.equal(expectedItems);
      for (let i = 1; i < 100; i += 2) expect(final.body[`note${i}`]).to.equal(`written by ${i}`);
      // Each answer is the cart as its own write left it.
      answers.forEach((a, i) => {
        if (i % 2 === 1) expect(a.body[`note${i}`]).to.equal(`written by ${i}`);
        else expect((a.body.cartItem as { id: string }[]).map((it) => it.id)).to.include(`item-${i}`);
      });
    }
    expect(servedBy('PATCH', `${base}/shoppingCart/`).size, 'both workers wrote').to.equal(2);
  });

  it('writes while both workers purge expired carts: no 5xx, live writes kept, expired ones purged', async () => {
    const tag = `purge-${Date.now().toString(36)}`;
    const expired = { startDateTime: '2020-01-01T00:00:00Z', endDateTime: '2020-01-02T00:00:00Z' };
    const n = 150;
    // Each lane adds a cart that is already expired (the next purge removes it), then creates a
    // live cart and patches it: purges keep deleting while the writes go on.
    const answers = await pool(30, n, async (i) => {
      const gone = await send(`${api}/shoppingCart`, 'POST', {
        validFor: expired,
        relatedParty: [party(tag)],
      });
      const live = await send(`${api}/shoppingCart`, 'POST', { relatedParty: [party(tag)] });
      const patched = await send(
        `${api}/shoppingCart/${live.body.id as string}`,
        'PATCH',
        { note: `live ${i}` },
        'application/merge-patch+json',
      );
      return { gone, live, patched };
    });
    expect(statuses(answers.map((a) => a.gone))).to.deep.equal({ 201: n });
    expect(statuses(answers.map((a) => a.live))).to.deep.equal({ 201: n });
    expect(statuses(answers.map((a) => a.patched))).to.deep.equal({ 200: n });
    const read = await pool(30, n, (i) =>
      send(`${api}/shoppingCart/${answers[i]?.live.body.id as string}`, 'GET'),
    );
    read.forEach((a, i) => expect(a.body.note).to.equal(`live ${i}`));
    // The purges remove every expired cart from the file.
    const db = new Database(path, { readonly: true, timeout: 5000 });
    try {
      const count = db.prepare<[number], { n: number }>(
        'SELECT COUNT(*) AS n FROM carts WHERE expires_at IS NOT NULL AND expires_at <= ?',
      );
      const deadline = Date.now() + 20_000;
      while ((count.get(Date.now())?.n ?? -1) > 0) {
        if (Date.now() > deadline) throw new Error('expired carts were not purged within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const live = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM carts WHERE expires_at > 0');
      expect(live.get()?.n, 'live carts kept').to.be.at.least(n);
    } finally {
      db.close();
    }
  });
});

describe('A write that cannot get the SQLite write lock in time', () => {
  it('answers 503 STORE_UNAVAILABLE with Retry-After and stores nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmf663-locked-'));
    const path = join(dir, 'carts.db');
    // Pinned to SQLite: the lock belongs to the embedded store.
    const store = openSqliteStore({ path, synchronous: 'normal', lockTimeoutMs: 50 });
    const server = await startTestServer({}, { store });
    const holder = new Database(path, { timeout: 0 });
    try {
      holder.exec('BEGIN IMMEDIATE'); // another process writing for longer than the timeout
      const refused = await send(`${server.url}${base}/shoppingCart`, 'POST', { note: 'too late' });
      expect(refused.status).to.equal(503);
      expect(refused.retryAfter).to.equal('1');
      expect(refused.body).to.include({ '@type': 'Error', code: 'STORE_UNAVAILABLE', status: '503' });
      holder.exec('COMMIT');
      const listed = await fetch(`${server.url}${base}/shoppingCart?note=too%20late`);
      expect(listed.headers.get('x-total-count')).to.equal('0');
      const accepted = await send(`${server.url}${base}/shoppingCart`, 'POST', { note: 'in time' });
      expect(accepted.status).to.equal(201);
    } finally {
      holder.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
