// The store contract on MongoDB (or FerretDB): runs when MONGODB_URI is set, with a fresh
// database per store, dropped when the store is closed.
import { createServer } from 'node:net';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { AppError } from '../../src/errors.js';
import { translateRegex } from '../../src/query/regex-translate.js';
import { openMongoStore } from '../../src/store/mongo/store.js';
import type { Store } from '../../src/store/store.js';
import { runStoreContract } from './contract.js';
import { regexAtScale } from './regex-scale.js';

const uri = process.env.MONGODB_URI;

let counter = 0;
const freshDbName = (): string =>
  `contract_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;

async function openFreshMongo(mongoUri: string): Promise<Store> {
  const dbName = freshDbName();
  // No TTL index: the contract reads at injected clocks, some far behind the server's (the
  // filter table's carts expired in 2024-2025), and a TTL monitor would remove those carts.
  const store = await openMongoStore({ uri: mongoUri, dbName, ttlIndex: false });
  return {
    ...store,
    close: async () => {
      const admin = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 2000 });
      try {
        await admin.db(dbName).dropDatabase();
      } finally {
        await admin.close();
        await store.close();
      }
    },
  };
}

if (uri) {
  runStoreContract('mongodb', () => openFreshMongo(uri));
  // Fewer carts than on SQLite (FerretDB writes slowly); still past one section's regex budget.
  regexAtScale('MongoDB store', () => openFreshMongo(uri), 2_500);

  describe('MongoDB store: reopening', () => {
    it('opens an existing database again (indexes are created idempotently) and keeps its carts', async () => {
      const dbName = freshDbName();
      const first = await openMongoStore({ uri, dbName, ttlIndex: false });
      const now = new Date().toISOString();
      try {
        await first.createCart({ id: 'kept', href: 'http://h/kept' }, { now, expiresAt: undefined }, []);
      } finally {
        await first.close();
      }
      const second = await openMongoStore({ uri, dbName, ttlIndex: false });
      try {
        expect((await second.getCart('kept', Date.now()))?.doc).to.deep.equal({
          id: 'kept',
          href: 'http://h/kept',
        });
      } finally {
        await second.close();
        const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
        await admin.db(dbName).dropDatabase();
        await admin.close();
      }
    });
  });

  describe('MongoDB store: subscriptions of an older version', () => {
    it('replaces the (callback, query) index with (owner, callback, query), keeping every subscription', async () => {
      const dbName = freshDbName();
      const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
      try {
        // As an older version left it: one unique index for everyone, the owner only inside doc.
        const old = admin
          .db(dbName)
          .collection<{ _id: string; callback: string; query: string; doc: object }>('subscriptions');
        await old.createIndex({ callback: 1, query: 1 }, { name: 'callbackQuery', unique: true });
        const subs = [
          { id: 'm1', callback: 'http://l/a', query: '', owner: 'alice' },
          { id: 'm2', callback: 'http://l/b', query: 'q=1' },
        ];
        for (const sub of subs) {
          await old.insertOne({ _id: sub.id, callback: sub.callback, query: sub.query, doc: sub });
        }
        for (let open = 0; open < 2; open++) {
          // Twice: the second start finds the work done and changes nothing.
          const store = await openMongoStore({ uri, dbName, ttlIndex: false });
          try {
            expect((await store.listSubscriptions()).slice(0, 2)).to.deep.equal(subs);
            expect(await store.findSubscription('http://l/a', '', 'alice')).to.deep.equal(subs[0]);
            expect(await store.findSubscription('http://l/b', 'q=1')).to.deep.equal(subs[1]);
            if (open === 0) {
              await store.createSubscription({ id: 'm3', callback: 'http://l/a', query: '', owner: 'bob' });
            }
            const dup = await store
              .createSubscription({ id: 'm4', callback: 'http://l/b', query: 'q=1' })
              .then(
                () => undefined,
                (e: unknown) => e,
              );
            expect(dup).to.be.instanceOf(AppError);
            expect((dup as AppError).code).to.equal('CONFLICT');
          } finally {
            await store.close();
          }
        }
        const names = (await old.indexes()).map((i) => i.name);
        expect(names).to.include('ownerCallbackQuery');
        expect(names).to.not.include('callbackQuery');
      } finally {
        await admin.db(dbName).dropDatabase();
        await admin.close();
      }
    });
  });

  describe('MongoDB regex translation (src/query/regex-translate.ts) on the server', () => {
    const subjects = [
      '',
      'abc',
      'ABC',
      'a.b',
      'a\nb',
      'line\n',
      'x\r\ny',
      'tab\there',
      'nbsp\u00a0x',
      'ls\u2028x',
      'é',
      'Zoë',
      '😀',
      '😀shop',
      'ｚshop',
      'a😀b',
      'a{,3}',
      '12 34',
      'a_b-c',
      'nul\u0000',
      'end$',
      '[]',
      'Fibre 100',
      '\u000b',
      'ą',
      'x/y',
      'Smith, John',
    ];
    const patterns = [
      '^a',
      'c$',
      '^$',
      '\\d+',
      '\\w+$',
      '\\s',
      '\\bb',
      'a\\.b',
      '[a-c]{2}',
      '^(?:a|b)c',
      'x{0}',
      '[\\s\\d]',
      '\\u00e9',
      'ë$',
      '.*shop',
      'shop.*',
      '^.*$',
      '[\\x00-\\x7f]+$',
      'a{,3}',
      '[]',
      '\\n',
      '\\r\\n',
      '\\v',
      '\\0',
      'line$',
      '^\\x41',
      '[\\b]',
      'é|ą',
      '^(?<g>Fib)re\\s[0-9]{3}$',
      '\\/',
      '[\\]\\[]',
      '\\$$',
      ',\\s',
      '^[A-Z][a-z]+,',
      'b\\B',
      '\\bJ',
      '\\cJ',
      '\\x{2}',
      'a|',
      '(?:)',
      '\\ta',
      '^a.*b',
      'x.*?y',
      '^Z.*ë$',
    ];
    let client: MongoClient;
    const dbName = freshDbName();
    before(async () => {
      client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
      await client.connect();
      await client
        .db(dbName)
        .collection<{ _id: number; s: string }>('subjects')
        .insertMany(subjects.map((s, i) => ({ _id: i, s })));
    });
    after(async () => {
      await client.db(dbName).dropDatabase();
      await client.close();
    });

    for (const source of patterns) {
      it(`/${source}/ keeps what JavaScript keeps`, async () => {
        const translated = translateRegex(source);
        expect(translated, 'translatable').to.be.a('string');
        const js = new RegExp(source);
        const want = subjects.flatMap((s, i) => (js.test(s) ? [i] : []));
        const rows = await client
          .db(dbName)
          .collection<{ _id: number; s: string }>('subjects')
          .find({ s: { $regex: translated } })
          .sort({ _id: 1 })
          .toArray();
        expect(rows.map((r) => r._id)).to.deep.equal(want);
      });
    }

    it('leaves to the application what a UTF-8 engine cannot match like JavaScript', () => {
      for (const source of [
        '.',
        '^..$',
        '.+',
        '.{2,}',
        '(?:.)*',
        '^.*\\B',
        '[^a]',
        '\\D',
        '\\W',
        '\\S',
        '[\\u0000-\\uffff]',
        '😀',
        '😀?',
      ]) {
        expect(translateRegex(source), source).to.equal(undefined);
      }
    });
  });
} else {
  describe('Store contract: mongodb', () => {
    it('runs when MONGODB_URI is set', function () {
      console.log('      skipped the MongoDB store contract: MONGODB_URI not set');
      this.skip();
    });
  });
}

describe('MongoDB store: opening', () => {
  it('fails fast with a clear message when nothing answers at the URI', async function () {
    this.timeout(10_000);
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => {
          resolve(typeof address === 'object' && address ? address.port : 1);
        });
      });
    });
    const started = Date.now();
    try {
      await openMongoStore({
        uri: `mongodb://127.0.0.1:${port}/`,
        dbName: 'never',
        serverSelectionTimeoutMS: 300,
        startTimeoutMS: 1000,
      });
      expect.fail('opened a store with no server');
    } catch (e) {
      expect(e).to.be.instanceOf(AppError);
      expect((e as AppError).code).to.equal('STORE_UNAVAILABLE');
      expect((e as Error).message).to.match(
        new RegExp(`^cannot reach MongoDB at mongodb://127\\.0\\.0\\.1:${port}/: `),
      );
    }
    expect(Date.now() - started).to.be.lessThan(5000);
  });
});
