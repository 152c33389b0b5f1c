/**
 * The one store contract: every Store implementation runs these cases (test/store/*.test.ts).
 * An implementation may skip a case only by its exact title, with a reason that is printed.
 *
 * What a store must do is what src/store/store.ts says plus what the reference evaluator
 * (src/query/evaluate.ts) keeps, orders and projects: the shared filter table
 * (test/store/filter-cases.ts) is run through the store's own listCarts and compared with the
 * evaluator over the same documents.
 */
import { expect } from 'chai';
import type { CartItem, ShoppingCart } from '../../src/api-types.js';
import { AppError, VersionConflict } from '../../src/errors.js';
import { buildEvent, type EventType } from '../../src/events/build-event.js';
import type { ListQuery, RecordTimes } from '../../src/query/ast.js';
import { parseDateTime } from '../../src/query/dates.js';
import { compareRecordsForSort, matchesFilter, projectFields } from '../../src/query/evaluate.js';
import { parseListQuery } from '../../src/query/parse.js';
import type {
  Delivery,
  IdempotencyRecord,
  ListResult,
  OutboxRecord,
  Store,
  StoredCart,
  WriteMeta,
} from '../../src/store/store.js';
import { toCanonicalListQuery } from '../../src/versions/v5/paths.js';
import { filterCases, filterDocs, filterTimes, metadataCases, sortCases } from './filter-cases.js';

const maxPageSize = 1000;

/** The clock of the filter-table queries: before every validFor.endDateTime in filterDocs. */
const queryTime = '2024-01-01T00:00:00.000Z';

/** Queries beyond the shared table that reach the corners of a compiler (regex, paths). */
const extraFilterCases: { name: string; query: string }[] = [
  { name: 'regex with . (one UTF-16 unit in JavaScript)', query: 'channel.regex=^.shop' },
  { name: 'regex with .. over a character beyond the BMP', query: 'channel.regex=^..shop$' },
  { name: 'regex with leading and trailing .*', query: 'relatedParty.name.regex=.*Smith.*' },
  { name: 'regex $ is the end of the value', query: 'channel.regex=web$' },
  { name: 'regex \\s and a class', query: `relatedParty.name.regex=${encodeURIComponent('^Shop\\s[NS]')}` },
  { name: 'regex negated class', query: 'channel.regex=^[^w]' },
  {
    name: 'regex \\d with a bound',
    query: `cartItem.productOffering.name.regex=${encodeURIComponent('\\d{3}$')}`,
  },
  { name: 'regex \\u escape', query: `relatedParty.name.regex=${encodeURIComponent('Zo\\u00eb')}` },
  {
    name: 'regex alternation in a named group',
    query: `channel.regex=${encodeURIComponent('^(?<c>web|store)$')}`,
  },
  { name: 'numeric path segment is a key, not an index', query: 'cartItem.0.id=1' },
  { name: 'date ne on an array path', query: 'cartItem.note.date.ne=2024-03-05T12:00:00Z' },
  { name: 'Any value string gte', query: 'cartItem.product.productCharacteristic.value.gte=b' },
  { name: 'string gt meets numbers numerically', query: 'loyalty.points.gt=99' },
  { name: 'operator-looking value is a literal', query: `channel=${encodeURIComponent('{"$ne":null}')}` },
  { name: 'dollar attribute name', query: `${encodeURIComponent('$where')}=1` },
];

/** `fields=` queries: the store's items must equal projectFields over the evaluator's page. */
const fieldsCases: string[] = [
  'fields=none',
  'fields=id',
  'fields=href',
  'fields=@type,validFor.endDateTime',
  'fields=cartItem.productOffering.id,relatedParty.name',
  'fields=loyalty.tier,tags,extra,channel,score',
  'fields=cartItem.product.productCharacteristic.value',
  'fields=cartItem.cartItem.quantity&sort=-id&limit=5',
  'fields=validFor&relatedParty.id=p1&offset=1',
];

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const meta = (now: Date | string, expiresAt?: number): WriteMeta => ({
  now: typeof now === 'string' ? now : now.toISOString(),
  expiresAt,
});

const event = (
  type: EventType,
  cart: ShoppingCart,
  eventId: string,
  now = new Date().toISOString(),
): OutboxRecord => buildEvent(type, cart, { eventId, now, correlationId: undefined });

const cart = (id: string, extra: Partial<ShoppingCart> = {}): ShoppingCart => ({
  id,
  href: `http://h/tmf-api/shoppingCart/v4/shoppingCart/${id}`,
  '@type': 'ShoppingCart',
  ...extra,
});

const item = (id: string, quantity = 1): CartItem => ({
  id,
  quantity,
  action: 'add',
  productOffering: { id: `po-${id}` },
});

/** A document with every shape the API can store: @-keys, nested arrays, every JSON type. */
const fullCart = (id: string): ShoppingCart =>
  ({
    id,
    href: `http://h/tmf-api/shoppingCart/v4/shoppingCart/${id}`,
    '@type': 'RetailCart',
    '@baseType': 'ShoppingCart',
    '@schemaLocation': 'https://example.com/schemas/RetailCart.json',
    validFor: { startDateTime: '2024-05-01T08:00:00+02:00', endDateTime: '2099-01-01T00:00:00Z' },
    contactMedium: [
      {
        mediumType: 'email',
        preferred: true,
        characteristic: { emailAddress: 'anna@example.com', '@type': 'MediumCharacteristic' },
        validFor: { startDateTime: '2024-01-01T00:00:00.123456Z' },
        '@type': 'ContactMedium',
      },
    ],
    relatedParty: [
      {
        id: 'p1',
        name: "Zoë 😀 O'Brien",
        role: 'customer',
        '@referredType': 'Individual',
        href: 'http://x/p1',
      },
      {
        id: 'p2',
        role: 'seller',
        '@referredType': 'Organization',
        '@type': 'RelatedParty',
        '@baseType': 'Party',
      },
    ],
    cartTotalPrice: [
      {
        priceType: 'recurring',
        recurringChargePeriod: 'month',
        price: {
          taxRate: 20,
          dutyFreeAmount: { unit: 'EUR', value: 10.5 },
          taxIncludedAmount: { unit: 'EUR', value: 12.6 },
          '@type': 'Price',
        },
        priceAlteration: [{ name: 'promo', priceType: 'recurring', price: { percentage: 10 }, priority: 1 }],
      },
    ],
    cartItem: [
      {
        id: '1',
        quantity: 2,
        action: 'add',
        status: 'active',
        '@type': 'CartItem',
        productOffering: {
          id: 'po-1',
          name: 'Fibre',
          href: 'http://x/po-1',
          '@referredType': 'ProductOffering',
        },
        product: {
          isBundle: false,
          '@type': 'Product',
          productCharacteristic: [
            { name: 'string', value: 'quote " backslash \\ newline \n tab \t nul \u0000 end' },
            { name: 'integer', value: 42 },
            { name: 'negative', value: -7 },
            { name: 'decimal', value: 42.125 },
            { name: 'large', value: 2 ** 53 - 1 },
            { name: 'tiny', value: 1e-7 },
            { name: 'true', value: true },
            { name: 'false', value: false },
            { name: 'null', value: null },
            { name: 'object', value: { a: { b: [1, 'x', null, { c: true }] } } },
            { name: 'array', value: [1, 'two', false, null, { k: 'v' }, [3, [4, [5]]], []] },
            { name: 'empty object', value: {} },
            { name: 'empty array', value: [] },
            {
              name: 'odd keys',
              value: {
                'a.b': 1,
                $set: 2,
                x$y: 3,
                '%25': 4,
                '%': 5,
                '': 6,
                'p|q': 7,
                'nul\u0000key': 8,
                '%[': [9],
              },
            },
            { name: 'date-like string', value: '2024-01-01T00:00:00Z' },
            { name: 'undefined member is left out', value: 'v', valueType: undefined },
          ],
        },
        cartItem: [{ id: '1.1', quantity: 1, productOffering: { id: 'po-9' }, cartItem: [] }],
        note: [{ date: '2024-02-10T09:00:00+01:00', text: 'call first', author: 'Anna' }],
        itemPrice: [
          { priceType: 'oneTime', price: { taxRate: 0, dutyFreeAmount: { unit: 'USD', value: 0 } } },
        ],
      },
    ],
    extensionString: 'x',
    extensionNested: [[1, 2], [[3]], []],
  }) as unknown as ShoppingCart;

async function expectAppError(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(AppError);
    expect((e as AppError).code).to.equal(code);
    return;
  }
  expect.fail(`expected AppError ${code}, got success`);
}

/** The internal signal of a conditional write whose version is no longer current. */
async function expectVersionConflict(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(VersionConflict);
    return;
  }
  expect.fail('expected a VersionConflict, got success');
}

/** A StoredCart without the optional JSON text, after checking that the text is the document. */
function plain(stored: StoredCart): Omit<StoredCart, 'json'> {
  if (stored.json !== undefined) expect(JSON.parse(stored.json)).to.deep.equal(json(stored.doc));
  return {
    doc: stored.doc,
    version: stored.version,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}

/**
 * listCarts without the optional JSON texts, after checking that each text is its item (a store
 * may send them only for unprojected items).
 */
async function list(
  store: Store,
  query: ListQuery,
  nowMs: number,
): Promise<Omit<ListResult, 'times' | 'json'>> {
  const result = await store.listCarts(query, nowMs);
  if (result.json !== undefined) {
    expect(query.fields, 'JSON texts only for unprojected items').to.equal(undefined);
    expect(result.json.map((text) => JSON.parse(text) as unknown)).to.deep.equal(json(result.items));
  }
  if (query.withTimes === true || result.times !== undefined)
    expect(result.times, 'one createdAt/updatedAt per item').to.have.length(result.items.length);
  return { items: result.items, total: result.total };
}

const ids = (items: readonly ShoppingCart[]): (string | undefined)[] => items.map((c) => c.id);

/** What the evaluator answers for a query over `docs` (with their times): the page and the total. */
function expected(
  docs: readonly ShoppingCart[],
  query: ListQuery,
  times: Readonly<Record<string, RecordTimes>> = {},
): { items: ShoppingCart[]; total: number } {
  const matches = docs
    .map((doc) => ({ doc, times: times[doc.id ?? ''] }))
    .filter((r) => matchesFilter(query.filter, r.doc, r.times))
    .sort(compareRecordsForSort(query.sort))
    .map((r) => r.doc);
  const page = matches.slice(query.offset, query.offset + query.limit);
  return {
    items: page.map((d) =>
      query.fields === undefined ? d : (projectFields(d, query.fields) as ShoppingCart),
    ),
    total: matches.length,
  };
}

/** Every due delivery, completed as it is read, until none is left. */
async function drain(store: Store, nowMs: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let round = 0; round < 200; round++) {
    const due = await store.dueDeliveries(nowMs, 50);
    if (due.length === 0) return out;
    for (const d of due) {
      out.push(d);
      await store.completeDelivery(d.eventId, d.subscriptionId);
    }
  }
  throw new Error('deliveries did not drain');
}

const toEach =
  (...subscriptionIds: string[]) =>
  (e: OutboxRecord): { subscriptionId: string; body: Record<string, unknown> }[] =>
    subscriptionIds.map((subscriptionId) => ({ subscriptionId, body: { ...e.body, to: subscriptionId } }));

/** Per (subscription, cart): the event ids in delivery order. */
const streams = (list: readonly Delivery[]): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const d of list) (out[`${d.subscriptionId}/${d.cartId}`] ??= []).push(d.eventId);
  return out;
};

/** Events are recorded only while someone is subscribed, so tests of the outbox subscribe first. */
async function listening(s: Store): Promise<void> {
  await s.createSubscription({ id: 'contract-listener', callback: 'http://l/contract', query: 'contract' });
}

export function runStoreContract(
  name: string,
  open: () => Promise<Store>,
  skips: Record<string, string> = {},
): void {
  describe(`Store contract: ${name}`, function () {
    const titles = new Set<string>();

    /** Registers a case; `store` gives the store it runs on (fresh, or shared). */
    const register = (
      title: string,
      store: () => Promise<{ store: Store; done: () => Promise<void> }>,
      fn: (s: Store) => Promise<void>,
    ) => {
      if (titles.has(title)) throw new Error(`duplicate contract case title: ${title}`);
      titles.add(title);
      it(title, async function () {
        const reason = skips[title];
        if (reason !== undefined) {
          console.log(`      skipped "${title}" on ${name}: ${reason}`);
          this.skip();
        }
        const { store: s, done } = await store();
        try {
          await fn(s);
        } finally {
          await done();
        }
      });
    };

    /** A case on its own fresh store. */
    const test = (title: string, fn: (s: Store) => Promise<void>): void => {
      register(
        title,
        async () => {
          const s = await open();
          return { store: s, done: () => s.close() };
        },
        fn,
      );
    };

    describe('documents and versions', () => {
      test('round-trips a full TMF document exactly (every JSON type, @-keys, nested arrays, odd keys)', async (s) => {
        const doc = fullCart('full-1');
        const want = json(doc);
        const created = await s.createCart(doc, meta('2024-05-01T10:00:00.000Z'), []);
        expect(created.version).to.equal(1);
        const read = await s.getCart('full-1', Date.now());
        expect(read && plain(read).doc).to.deep.equal(want);
        const listed = await list(s, parseListQuery('id=full-1', { maxPageSize }), Date.now());
        expect(listed.items).to.deep.equal([want]);
        const changed = { ...doc, extensionString: 'y' } as ShoppingCart;
        await s.replaceCart('full-1', 1, changed, meta('2024-05-01T10:00:01.000Z'), []);
        expect((await s.getCart('full-1', Date.now()))?.doc).to.deep.equal(json(changed));
      });

      test('an unknown id: getCart gives undefined, replaceCart NOT_FOUND, deleteCart false', async (s) => {
        expect(await s.getCart('nope', Date.now())).to.equal(undefined);
        await expectAppError(s.replaceCart('nope', 1, cart('nope'), meta(new Date()), []), 'NOT_FOUND');
        expect(await s.deleteCart('nope', 1, Date.now(), [])).to.equal(false);
        expect(await s.deleteCart('nope', undefined, Date.now(), [])).to.equal(false);
      });

      test('versions start at 1 and go up by one per write; createdAt stays, updatedAt moves', async (s) => {
        const created = await s.createCart(cart('v-1'), meta('2024-05-01T10:00:00.000Z'), []);
        expect(created).to.deep.include({
          version: 1,
          createdAt: '2024-05-01T10:00:00.000Z',
          updatedAt: '2024-05-01T10:00:00.000Z',
        });
        const second = await s.replaceCart(
          'v-1',
          1,
          cart('v-1', { name: 'b' } as Partial<ShoppingCart>),
          meta('2024-05-01T10:00:01.000Z'),
          [],
        );
        expect(second).to.deep.include({
          version: 2,
          createdAt: '2024-05-01T10:00:00.000Z',
          updatedAt: '2024-05-01T10:00:01.000Z',
        });
        const third = await s.replaceCart(
          'v-1',
          2,
          cart('v-1', { name: 'c' } as Partial<ShoppingCart>),
          meta('2024-05-01T10:00:02.000Z'),
          [],
        );
        expect(third.version).to.equal(3);
        const read = await s.getCart('v-1', Date.parse('2024-05-01T10:00:03.000Z'));
        expect(read && plain(read)).to.deep.equal({
          doc: cart('v-1', { name: 'c' } as Partial<ShoppingCart>),
          version: 3,
          createdAt: '2024-05-01T10:00:00.000Z',
          updatedAt: '2024-05-01T10:00:02.000Z',
        });
      });

      test('listCarts withTimes gives each item its createdAt and updatedAt, in the order of the items', async (s) => {
        await s.createCart(cart('t-1'), meta('2024-05-01T10:00:00.000Z'), []);
        await s.createCart(cart('t-2'), meta('2024-05-01T11:00:00.000Z'), []);
        await s.replaceCart(
          't-1',
          1,
          cart('t-1', { name: 'b' } as Partial<ShoppingCart>),
          meta('2024-05-01T12:00:00.000Z'),
          [],
        );
        const first = { createdAt: '2024-05-01T10:00:00.000Z', updatedAt: '2024-05-01T12:00:00.000Z' };
        const second = { createdAt: '2024-05-01T11:00:00.000Z', updatedAt: '2024-05-01T11:00:00.000Z' };
        const now = Date.parse('2024-05-02T00:00:00.000Z');
        for (const [query, want] of [
          ['sort=id', [first, second]],
          ['sort=-id', [second, first]],
          ['sort=id&fields=name', [first, second]],
          ['sort=id&fields=id', [first, second]],
          ['id.regex=^t-2$', [second]],
          ['sort=-id&offset=1', [first]],
        ] as const) {
          const parsed = parseListQuery(query, { maxPageSize });
          const result = await s.listCarts({ ...parsed, withTimes: true }, now);
          expect(result.times, query).to.deep.equal(want);
          const without = await s.listCarts(parsed, now);
          expect(without.items, `${query}: the same items without the times`).to.deep.equal(result.items);
        }
      });

      test('replaceCart with a stale version throws a VersionConflict and changes nothing', async (s) => {
        await s.createCart(cart('vc-1'), meta(new Date()), []);
        await s.replaceCart(
          'vc-1',
          1,
          cart('vc-1', { name: 'first' } as Partial<ShoppingCart>),
          meta(new Date()),
          [],
        );
        await expectVersionConflict(
          s.replaceCart(
            'vc-1',
            1,
            cart('vc-1', { name: 'stale' } as Partial<ShoppingCart>),
            meta(new Date()),
            [event('ShoppingCartAttributeValueChangeEvent', cart('vc-1'), 'lost-1')],
          ),
        );
        await expectVersionConflict(s.replaceCart('vc-1', 7, cart('vc-1'), meta(new Date()), []));
        const read = await s.getCart('vc-1', Date.now());
        expect(read?.version).to.equal(2);
        expect((read?.doc as { name?: string } | undefined)?.name).to.equal('first');
        // The refused write's event was not recorded either.
        expect(await s.pendingDeliveries()).to.equal(0);
      });

      test('deleteCart: a stale version throws a VersionConflict, the right one deletes, then it is gone', async (s) => {
        await s.createCart(cart('d-1'), meta(new Date()), []);
        await s.replaceCart('d-1', 1, cart('d-1'), meta(new Date()), []);
        await expectVersionConflict(s.deleteCart('d-1', 1, Date.now(), []));
        expect((await s.getCart('d-1', Date.now()))?.version).to.equal(2);
        expect(await s.deleteCart('d-1', 2, Date.now(), [])).to.equal(true);
        expect(await s.getCart('d-1', Date.now())).to.equal(undefined);
        expect(await s.deleteCart('d-1', 2, Date.now(), [])).to.equal(false);
        await expectAppError(s.replaceCart('d-1', 2, cart('d-1'), meta(new Date()), []), 'NOT_FOUND');
        await expectAppError(s.replaceCart('d-1', 3, cart('d-1'), meta(new Date()), []), 'NOT_FOUND');
        expect((await list(s, parseListQuery('', { maxPageSize }), Date.now())).total).to.equal(0);
      });

      test('deleteCart without an expected version deletes the live cart', async (s) => {
        await s.createCart(cart('d-2'), meta(new Date()), []);
        expect(await s.deleteCart('d-2', undefined, Date.now(), [])).to.equal(true);
        expect(await s.getCart('d-2', Date.now())).to.equal(undefined);
        expect(await s.deleteCart('d-2', undefined, Date.now(), [])).to.equal(false);
      });

      test('creating an id that exists throws CONFLICT; the id of a deleted cart can be used again', async (s) => {
        await listening(s);
        await s.createCart(cart('c-1'), meta(new Date()), []);
        await expectAppError(s.createCart(cart('c-1'), meta(new Date()), []), 'CONFLICT');
        expect(
          await s.deleteCart('c-1', 1, Date.now(), [
            event('ShoppingCartDeleteEvent', cart('c-1'), 'c-1-del'),
          ]),
        ).to.equal(true);
        const again = await s.createCart(
          cart('c-1', { name: 'again' } as Partial<ShoppingCart>),
          meta(new Date()),
          [event('ShoppingCartCreateEvent', cart('c-1'), 'c-1-new')],
        );
        expect(again.version).to.equal(1);
        expect((await s.getCart('c-1', Date.now()))?.doc).to.deep.equal(
          cart('c-1', { name: 'again' } as Partial<ShoppingCart>),
        );
        // Both incarnations' events are kept, in order.
        await s.createSubscription({ id: 's-1', callback: 'http://l/1', query: '' });
        expect(await s.routeOutbox(toEach('s-1'), 100)).to.equal(2);
        expect((await drain(s, Date.now())).map((d) => d.eventId)).to.deep.equal(['c-1-del', 'c-1-new']);
      });

      test('routing hands each event the cart times it was recorded with, and none when it had none', async (s) => {
        await listening(s);
        const times = { createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-02T00:00:00.000Z' };
        const timed = buildEvent('ShoppingCartCreateEvent', cart('ct-1'), {
          eventId: 'ct-1-new',
          now: times.createdAt,
          correlationId: undefined,
          cartTimes: times,
        });
        await s.createCart(cart('ct-1'), meta(times.createdAt), [timed]);
        await s.createCart(cart('ct-2'), meta(times.createdAt), [
          event('ShoppingCartCreateEvent', cart('ct-2'), 'ct-2-new'),
        ]);
        const seen: Record<string, unknown> = {};
        await s.routeOutbox((e) => {
          seen[e.eventId] = e.cartTimes;
          return [];
        }, 100);
        expect(seen).to.deep.equal({ 'ct-1-new': times, 'ct-2-new': undefined });
      });

      test('pages with offset and limit and counts every match', async (s) => {
        for (let i = 1; i <= 7; i++) await s.createCart(cart(`pg-${i}`), meta(new Date()), []);
        const page = async (q: string) => list(s, parseListQuery(q, { maxPageSize }), Date.now());
        const all = await page('');
        expect(ids(all.items)).to.deep.equal(['pg-1', 'pg-2', 'pg-3', 'pg-4', 'pg-5', 'pg-6', 'pg-7']);
        expect(all.total).to.equal(7);
        const middle = await page('offset=2&limit=3');
        expect(ids(middle.items)).to.deep.equal(['pg-3', 'pg-4', 'pg-5']);
        expect(middle.total).to.equal(7);
        expect(await page('limit=0')).to.deep.equal({ items: [], total: 7 });
        expect(await page('offset=7')).to.deep.equal({ items: [], total: 7 });
        expect(await page('offset=100&limit=2')).to.deep.equal({ items: [], total: 7 });
        const last = await page('sort=-id&offset=5&limit=5');
        expect(ids(last.items)).to.deep.equal(['pg-2', 'pg-1']);
        const capped = await list(s, parseListQuery('limit=50', { maxPageSize: 4 }), Date.now());
        expect(ids(capped.items)).to.deep.equal(['pg-1', 'pg-2', 'pg-3', 'pg-4']);
        expect(capped.total).to.equal(7);
      });

      test('20 parallel read-append-replace tasks retrying on a VersionConflict end with 20 items at version 21', async (s) => {
        await listening(s);
        const now = new Date();
        await s.createCart(cart('par-1', { cartItem: [] }), meta(now), [
          event('ShoppingCartCreateEvent', cart('par-1'), 'par-0'),
        ]);
        const committed: { version: number; eventId: string }[] = [];
        let conflicts = 0;
        const task = async (n: number): Promise<void> => {
          for (let attempt = 1; attempt <= 100; attempt++) {
            const current = await s.getCart('par-1', now.getTime());
            if (!current) throw new Error('cart vanished');
            const doc: ShoppingCart = {
              ...current.doc,
              cartItem: [...(current.doc.cartItem ?? []), item(`i${n}`)],
            };
            const eventId = `par-${n}-${attempt}`;
            try {
              const stored = await s.replaceCart('par-1', current.version, doc, meta(now), [
                event('ShoppingCartAttributeValueChangeEvent', doc, eventId),
              ]);
              committed.push({ version: stored.version, eventId });
              return;
            } catch (e) {
              if (e instanceof VersionConflict) {
                conflicts += 1;
                continue;
              }
              throw e;
            }
          }
          throw new Error(`task ${n} never got its write in`);
        };
        await Promise.all(Array.from({ length: 20 }, (_, n) => task(n)));
        const final = await s.getCart('par-1', now.getTime());
        expect(final?.version).to.equal(21);
        expect(final?.doc.cartItem?.map((i) => i.id).sort()).to.deep.equal(
          Array.from({ length: 20 }, (_, n) => `i${n}`).sort(),
        );
        expect(conflicts, 'the tasks really raced').to.be.greaterThan(0);
        expect(committed.map((c) => c.version).sort((a, b) => a - b)).to.deep.equal(
          Array.from({ length: 20 }, (_, n) => n + 2),
        );
        // Exactly the committed writes' events, in commit order.
        await s.createSubscription({ id: 's-par', callback: 'http://l/par', query: '' });
        expect(await s.routeOutbox(toEach('s-par'), 100)).to.equal(21);
        const order = [...committed].sort((a, b) => a.version - b.version).map((c) => c.eventId);
        expect((await drain(s, now.getTime())).map((d) => d.eventId)).to.deep.equal(['par-0', ...order]);
      });

      test('ping answers on a reachable store', async (s) => {
        await s.ping();
      });
    });

    describe('queries over the shared filter table', () => {
      let shared: Store | undefined;
      before(async function () {
        this.timeout(60_000);
        shared = await open();
        // As the cart service writes them: expiresAt is the instant of validFor.endDateTime; the
        // times are filterTimes' (a replace at updatedAt when it differs from createdAt).
        for (const doc of filterDocs) {
          const end = doc.validFor?.endDateTime;
          const expiresAt = end === undefined ? undefined : parseDateTime(end);
          const times = filterTimes[doc.id ?? ''];
          if (times === undefined) throw new Error(`no filterTimes for ${String(doc.id)}`);
          await shared.createCart(doc, meta(times.createdAt, expiresAt), []);
          if (times.updatedAt !== times.createdAt) {
            await shared.replaceCart(doc.id ?? '', 1, doc, meta(times.updatedAt, expiresAt), []);
          }
        }
      });
      after(async () => {
        await shared?.close();
      });
      const onShared = (title: string, fn: (s: Store) => Promise<void>): void => {
        register(
          title,
          () => {
            if (!shared) throw new Error('shared store not open');
            return Promise.resolve({ store: shared, done: () => Promise.resolve() });
          },
          fn,
        );
      };
      const docs = json(filterDocs);
      const nowMs = Date.parse(queryTime);

      for (const c of [...filterCases, ...extraFilterCases]) {
        onShared(`filter: ${c.name} (${c.query})`, async (s) => {
          const query = parseListQuery(c.query, { maxPageSize });
          const want = expected(docs, query);
          const got = await list(s, query, nowMs);
          expect(ids(got.items), c.query).to.deep.equal(ids(want.items));
          expect(got.total, c.query).to.equal(want.total);
        });
      }

      for (const c of sortCases) {
        onShared(`sort: ${c.name} (${c.query})`, async (s) => {
          const query = parseListQuery(c.query, { maxPageSize });
          const want = expected(docs, query);
          const got = await list(s, query, nowMs);
          expect(ids(got.items), c.query).to.deep.equal(ids(want.items));
          expect(got.total, c.query).to.equal(want.total);
        });
      }

      for (const c of metadataCases) {
        onShared(`metadata: ${c.name} (${c.query})`, async (s) => {
          const query = toCanonicalListQuery(parseListQuery(c.query, { maxPageSize }));
          const want = expected(docs, query, filterTimes);
          const got = await list(s, query, nowMs);
          expect(ids(got.items), c.query).to.deep.equal(ids(want.items));
          expect(got.total, c.query).to.equal(want.total);
        });
      }

      for (const q of fieldsCases) {
        onShared(`fields: ${q}`, async (s) => {
          const query = parseListQuery(q, { maxPageSize });
          const got = await list(s, query, nowMs);
          expect(got).to.deep.equal(expected(docs, query));
        });
      }
    });

    describe('expiry', () => {
      test('an expired cart is neither read, listed, replaced nor deleted, and purgeExpired removes it', async (s) => {
        await listening(s);
        // Expiry is judged at the caller's clock; the instants lie ahead of the real one so that
        // a server-side TTL sweep (MongoDB) cannot act during the test.
        const start = Date.now() + 60 * 60_000;
        const end = start + 60_000;
        const after = end + 1;
        const endIso = new Date(end).toISOString();
        await s.createCart(cart('exp-1', { validFor: { endDateTime: endIso } }), meta(new Date(start), end), [
          event('ShoppingCartCreateEvent', cart('exp-1'), 'exp-1-created'),
        ]);
        await s.createCart(cart('exp-2'), meta(new Date(start)), []);
        expect((await s.getCart('exp-1', start))?.version).to.equal(1);
        expect((await s.getCart('exp-1', end - 1))?.version).to.equal(1);
        expect(await s.getCart('exp-1', end)).to.equal(undefined);
        const listed = await list(s, parseListQuery('', { maxPageSize }), after);
        expect(ids(listed.items)).to.deep.equal(['exp-2']);
        expect(listed.total).to.equal(1);
        await expectAppError(
          s.replaceCart('exp-1', 1, cart('exp-1'), meta(new Date(after), end), []),
          'NOT_FOUND',
        );
        expect(await s.deleteCart('exp-1', 1, after, [])).to.equal(false);
        expect(await s.purgeExpired(start)).to.equal(0);
        expect(await s.purgeExpired(after)).to.equal(1);
        expect(await s.getCart('exp-1', start), 'removed for good').to.equal(undefined);
        expect(await s.purgeExpired(after)).to.equal(0);
        expect((await s.getCart('exp-2', after))?.version).to.equal(1);
        // The expired cart's events were recorded before it expired: they are still delivered.
        await s.createSubscription({ id: 's-exp', callback: 'http://l/exp', query: '' });
        await s.routeOutbox(toEach('s-exp'), 100);
        expect((await drain(s, after)).map((d) => d.eventId)).to.deep.equal(['exp-1-created']);
      });

      test('replaceCart moves the expiry', async (s) => {
        const start = Date.now() + 60 * 60_000;
        await s.createCart(cart('exp-3'), meta(new Date(start), start + 1000), []);
        await s.replaceCart('exp-3', 1, cart('exp-3'), meta(new Date(start), start + 5000), []);
        expect((await s.getCart('exp-3', start + 2000))?.version).to.equal(2);
        expect(await s.getCart('exp-3', start + 5000)).to.equal(undefined);
        await s.replaceCart('exp-3', 2, cart('exp-3'), meta(new Date(start), undefined), []);
        expect((await s.getCart('exp-3', start + 10 ** 9))?.version).to.equal(3);
      });
    });

    describe('subscriptions', () => {
      test('create, find by callback and query, get, list and delete', async (s) => {
        const a = { id: 'sub-a', callback: 'http://l/a', query: 'eventType=ShoppingCartCreateEvent' };
        const b = { id: 'sub-b', callback: 'http://l/b', query: '' };
        expect(await s.createSubscription(a)).to.deep.equal(a);
        await s.createSubscription(b);
        expect(await s.findSubscription('http://l/a', 'eventType=ShoppingCartCreateEvent')).to.deep.equal(a);
        expect(await s.findSubscription('http://l/a', '')).to.equal(undefined);
        expect(await s.findSubscription('http://l/b', '')).to.deep.equal(b);
        expect(await s.getSubscription('sub-b')).to.deep.equal(b);
        expect(await s.getSubscription('sub-x')).to.equal(undefined);
        expect(await s.listSubscriptions()).to.deep.equal([a, b]);
        expect(await s.deleteSubscription('sub-a')).to.equal(true);
        expect(await s.deleteSubscription('sub-a')).to.equal(false);
        expect(await s.listSubscriptions()).to.deep.equal([b]);
      });

      test('keeps each subscription’s owner and lists by owner', async (s) => {
        const a = { id: 'own-a', callback: 'http://l/oa', query: '', owner: 'alice' };
        const b = { id: 'own-b', callback: 'http://l/ob', query: '', owner: 'bob' };
        const c = { id: 'own-c', callback: 'http://l/oc', query: '' };
        for (const sub of [a, b, c]) await s.createSubscription(sub);
        expect(await s.getSubscription('own-a')).to.deep.equal(a);
        expect(await s.findSubscription('http://l/ob', '', 'bob')).to.deep.equal(b);
        expect(await s.findSubscription('http://l/ob', '')).to.equal(undefined);
        expect(await s.listSubscriptions('alice')).to.deep.equal([a]);
        expect(await s.listSubscriptions('bob')).to.deep.equal([b]);
        expect(await s.listSubscriptions('nobody')).to.deep.equal([]);
        expect(await s.listSubscriptions()).to.deep.equal([a, b, c]);
      });

      test('keeps the API version a subscription was made on (absent: v4)', async (s) => {
        const v5 = {
          id: 'ver-5',
          callback: 'http://l/v5',
          query: '',
          apiVersion: 'v5' as const,
          owner: 'ann',
        };
        const v4 = { id: 'ver-4', callback: 'http://l/v4', query: '' };
        for (const sub of [v5, v4]) await s.createSubscription(sub);
        expect(await s.getSubscription('ver-5')).to.deep.equal(v5);
        expect(await s.findSubscription('http://l/v5', '', 'ann')).to.deep.equal(v5);
        expect(await s.listSubscriptions()).to.deep.equal([v4, v5]);
        expect(await s.getSubscription('ver-4')).not.to.have.property('apiVersion');
      });

      test('a duplicate subscription (same callback and query, or same id) throws CONFLICT', async (s) => {
        await s.createSubscription({ id: 'dup-1', callback: 'http://l/d', query: 'q=1' });
        await expectAppError(
          s.createSubscription({ id: 'dup-2', callback: 'http://l/d', query: 'q=1' }),
          'CONFLICT',
        );
        await expectAppError(
          s.createSubscription({ id: 'dup-1', callback: 'http://l/e', query: '' }),
          'CONFLICT',
        );
        await s.createSubscription({ id: 'dup-3', callback: 'http://l/d', query: 'q=2' });
        expect((await s.listSubscriptions()).map((x) => x.id)).to.deep.equal(['dup-1', 'dup-3']);
      });

      test('a subscription is unique per owner: another owner may use the same callback and query', async (s) => {
        const a = { id: 'po-a', callback: 'http://l/po', query: 'q=1', owner: 'alice' };
        const b = { id: 'po-b', callback: 'http://l/po', query: 'q=1', owner: 'bob' };
        const admin = { id: 'po-c', callback: 'http://l/po', query: 'q=1' };
        for (const sub of [a, b, admin]) await s.createSubscription(sub);
        expect(await s.findSubscription('http://l/po', 'q=1', 'alice')).to.deep.equal(a);
        expect(await s.findSubscription('http://l/po', 'q=1', 'bob')).to.deep.equal(b);
        expect(await s.findSubscription('http://l/po', 'q=1')).to.deep.equal(admin);
        expect(await s.findSubscription('http://l/po', 'q=1', 'carol')).to.equal(undefined);
        await expectAppError(s.createSubscription({ ...a, id: 'po-a2' }), 'CONFLICT');
        await expectAppError(s.createSubscription({ ...admin, id: 'po-c2' }), 'CONFLICT');
        expect((await s.listSubscriptions()).map((x) => x.id)).to.deep.equal(['po-a', 'po-b', 'po-c']);
      });

      test('deleting a subscription drops its deliveries', async (s) => {
        await s.createSubscription({ id: 'sd-1', callback: 'http://l/1', query: '' });
        await s.createSubscription({ id: 'sd-2', callback: 'http://l/2', query: '' });
        await s.createCart(cart('sd-cart'), meta(new Date()), [
          event('ShoppingCartCreateEvent', cart('sd-cart'), 'sd-e1'),
        ]);
        await s.routeOutbox(toEach('sd-1', 'sd-2'), 100);
        expect(await s.pendingDeliveries()).to.equal(2);
        await s.deleteSubscription('sd-1');
        expect(await s.pendingDeliveries()).to.equal(1);
        expect((await s.dueDeliveries(Date.now(), 10)).map((d) => d.subscriptionId)).to.deep.equal(['sd-2']);
      });

      test('deleting a subscription that is gone still drops deliveries left for it', async (s) => {
        // Routing with a list of subscriptions read just before one was deleted leaves such deliveries.
        await s.createSubscription({ id: 'sg-1', callback: 'http://l/1', query: '' });
        await s.createCart(cart('sg-cart'), meta(new Date()), [
          event('ShoppingCartCreateEvent', cart('sg-cart'), 'sg-e1'),
        ]);
        await s.routeOutbox(toEach('sg-1', 'sg-gone'), 100);
        expect((await s.backlog()).map((b) => b.subscriptionId).sort()).to.deep.equal(['sg-1', 'sg-gone']);
        expect(await s.deleteSubscription('sg-gone'), 'there was no such subscription').to.equal(false);
        expect((await s.backlog()).map((b) => b.subscriptionId)).to.deep.equal(['sg-1']);
      });
    });

    describe('outbox and deliveries', () => {
      const t0 = '2024-05-01T10:00:00.000Z';

      /** Cart X: create, change, delete; cart Y: create. Routed to subscriptions A and B. */
      const writeAndRoute = async (s: Store): Promise<void> => {
        const x = cart('x');
        await s.createCart(x, meta(t0), [event('ShoppingCartCreateEvent', x, 'x1', t0)]);
        await s.createCart(cart('y'), meta(t0), [event('ShoppingCartCreateEvent', cart('y'), 'y1', t0)]);
        const x2 = cart('x', { name: 'changed' } as Partial<ShoppingCart>);
        await s.replaceCart('x', 1, x2, meta(t0), [
          event('ShoppingCartAttributeValueChangeEvent', x2, 'x2', t0),
        ]);
        expect(
          await s.deleteCart('x', 2, Date.parse(t0), [event('ShoppingCartDeleteEvent', x2, 'x3', t0)]),
        ).to.equal(true);
        expect(await s.pendingDeliveries(), 'events wait in the outbox').to.equal(4);
        expect(await s.routeOutbox(toEach('A', 'B'), 100)).to.equal(4);
        expect(await s.routeOutbox(toEach('A', 'B'), 100)).to.equal(0);
        expect(await s.pendingDeliveries()).to.equal(8);
      };

      test('routeOutbox moves the events of create, replace and delete into deliveries, in order per cart', async (s) => {
        await listening(s);
        await writeAndRoute(s);
        const all = await drain(s, Date.parse(t0));
        expect(all).to.have.length(8);
        expect(streams(all)).to.deep.equal({
          'A/x': ['x1', 'x2', 'x3'],
          'B/x': ['x1', 'x2', 'x3'],
          'A/y': ['y1'],
          'B/y': ['y1'],
        });
        const first = all.find((d) => d.eventId === 'x2' && d.subscriptionId === 'B');
        expect(first).to.deep.include({
          cartId: 'x',
          eventType: 'ShoppingCartAttributeValueChangeEvent',
          attempts: 0,
        });
        expect(first?.body).to.deep.include({
          eventId: 'x2',
          eventType: 'ShoppingCartAttributeValueChangeEvent',
          to: 'B',
        });
        expect((first?.body.event as { shoppingCart: ShoppingCart }).shoppingCart).to.deep.equal(
          cart('x', { name: 'changed' } as Partial<ShoppingCart>),
        );
        expect(await s.pendingDeliveries()).to.equal(0);
      });

      test('the events of a deleted cart survive the delete', async (s) => {
        await listening(s);
        const doc = fullCart('gone');
        await s.createCart(doc, meta(t0), [event('ShoppingCartCreateEvent', doc, 'g1', t0)]);
        expect(
          await s.deleteCart('gone', 1, Date.parse(t0), [event('ShoppingCartDeleteEvent', doc, 'g2', t0)]),
        ).to.equal(true);
        expect(await s.getCart('gone', Date.parse(t0))).to.equal(undefined);
        await s.purgeExpired(Date.parse(t0));
        expect(await s.routeOutbox(toEach('A'), 100)).to.equal(2);
        const all = await drain(s, Date.parse(t0));
        expect(all.map((d) => d.eventId)).to.deep.equal(['g1', 'g2']);
        const deleted = all[1];
        expect(deleted?.eventType).to.equal('ShoppingCartDeleteEvent');
        expect((deleted?.body.event as { shoppingCart: ShoppingCart }).shoppingCart).to.deep.equal(json(doc));
        expect(await s.getCart('gone', Date.parse(t0))).to.equal(undefined);
      });

      test('routeOutbox moves at most max events and keeps the rest for the next call', async (s) => {
        await listening(s);
        for (const n of [1, 2, 3]) {
          await s.createCart(cart(`m${n}`), meta(t0), [
            event('ShoppingCartCreateEvent', cart(`m${n}`), `m${n}`, t0),
          ]);
        }
        await s.replaceCart('m1', 1, cart('m1'), meta(t0), [
          event('ShoppingCartAttributeValueChangeEvent', cart('m1'), 'm1b', t0),
        ]);
        expect(await s.routeOutbox(toEach('A'), 2)).to.equal(2);
        expect(await s.routeOutbox(toEach('A'), 0)).to.equal(0);
        expect(await s.routeOutbox(toEach('A'), 1)).to.equal(1);
        expect(await s.routeOutbox(toEach('A'), 100)).to.equal(1);
        expect(await s.routeOutbox(toEach('A'), 100)).to.equal(0);
        expect(streams(await drain(s, Date.parse(t0)))).to.deep.equal({
          'A/m1': ['m1', 'm1b'],
          'A/m2': ['m2'],
          'A/m3': ['m3'],
        });
      });

      test('an event is recorded only while someone is subscribed; routed to nobody, it is gone', async (s) => {
        await s.createCart(cart('n0'), meta(t0), [event('ShoppingCartCreateEvent', cart('n0'), 'n0', t0)]);
        expect(await s.pendingDeliveries(), 'nobody subscribed: nothing recorded').to.equal(0);
        expect(await s.routeOutbox(() => [], 100)).to.equal(0);
        await listening(s);
        await s.createCart(cart('n1'), meta(t0), [event('ShoppingCartCreateEvent', cart('n1'), 'n1', t0)]);
        expect(await s.pendingDeliveries()).to.equal(1);
        expect(await s.routeOutbox(() => [], 100)).to.equal(1);
        expect(await s.pendingDeliveries()).to.equal(0);
        expect(await s.dueDeliveries(Date.parse(t0), 10)).to.deep.equal([]);
      });

      test('dueDeliveries returns only the oldest delivery per (subscription, cart)', async (s) => {
        await listening(s);
        await writeAndRoute(s);
        const due = await s.dueDeliveries(Date.parse(t0), 100);
        expect(due.map((d) => `${d.subscriptionId}/${d.cartId}/${d.eventId}`).sort()).to.deep.equal([
          'A/x/x1',
          'A/y/y1',
          'B/x/x1',
          'B/y/y1',
        ]);
        expect(await s.dueDeliveries(Date.parse(t0), 2)).to.have.length(2);
        expect(await s.dueDeliveries(Date.parse(t0), 0)).to.deep.equal([]);
      });

      test('retryDelivery holds the pair back until due; deadLetter sets it aside; completeDelivery removes it', async (s) => {
        await listening(s);
        await writeAndRoute(s);
        const now = Date.parse(t0);
        await s.retryDelivery('x1', 'A', 1, now + 1000);
        const key = (d: Delivery) => `${d.subscriptionId}/${d.cartId}/${d.eventId}`;
        // An older delivery that is not due blocks the later ones of its pair.
        expect((await s.dueDeliveries(now, 100)).map(key).sort()).to.deep.equal([
          'A/y/y1',
          'B/x/x1',
          'B/y/y1',
        ]);
        const retried = (await s.dueDeliveries(now + 1000, 100)).find((d) => key(d) === 'A/x/x1');
        expect(retried).to.deep.include({ attempts: 1, nextAttemptAt: now + 1000 });
        await s.deadLetter('x1', 'A', 3, 'callback answered 500', '2024-05-01T10:00:05.000Z');
        const dead = await s.listDeadLetters();
        expect(dead).to.have.length(1);
        expect(dead[0]).to.deep.include({
          eventId: 'x1',
          subscriptionId: 'A',
          cartId: 'x',
          eventType: 'ShoppingCartCreateEvent',
          attempts: 3,
          lastError: 'callback answered 500',
          deadAt: '2024-05-01T10:00:05.000Z',
        });
        expect(dead[0]?.body).to.deep.include({ eventId: 'x1', to: 'A' });
        // The pair moves on to its next event.
        expect((await s.dueDeliveries(now, 100)).map(key)).to.include('A/x/x2');
        expect(await s.pendingDeliveries()).to.equal(7);
        await s.completeDelivery('x2', 'A');
        await s.completeDelivery('x2', 'A'); // twice is harmless
        expect(await s.pendingDeliveries()).to.equal(6);
        await s.deadLetter('nope', 'A', 1, 'x', t0); // unknown: nothing happens
        expect(await s.listDeadLetters()).to.have.length(1);
        expect(streams(await drain(s, now))).to.deep.equal({
          'A/x': ['x3'],
          'B/x': ['x1', 'x2', 'x3'],
          'A/y': ['y1'],
          'B/y': ['y1'],
        });
      });
      test("routeOutbox hands over the deliveries it made; pendingAfter reads a subscriber's queue in routing order", async (s) => {
        await listening(s);
        const x = cart('x');
        await s.createCart(x, meta(t0), [event('ShoppingCartCreateEvent', x, 'x1', t0)]);
        await s.createCart(cart('y'), meta(t0), [event('ShoppingCartCreateEvent', cart('y'), 'y1', t0)]);
        await s.replaceCart('x', 1, x, meta(t0), [
          event('ShoppingCartAttributeValueChangeEvent', x, 'x2', t0),
        ]);
        const made: Delivery[] = [];
        expect(await s.routeOutbox(toEach('A', 'B'), 100, (d) => made.push(...d))).to.equal(3);
        expect(made).to.have.length(6);
        const key = (d: Delivery) => `${d.subscriptionId}/${d.eventId}/${d.seq}`;
        const a = await s.pendingAfter('A', 0, 100);
        const b = await s.pendingAfter('B', 0, 100);
        expect(made.map(key).sort()).to.deep.equal([...a, ...b].map(key).sort());
        for (const list of [a, b]) {
          const seqs = list.map((d) => d.seq);
          expect(seqs).to.deep.equal([...seqs].sort((p, q) => p - q));
          expect(new Set(seqs).size).to.equal(3);
        }
        expect(streams(a)).to.deep.equal({ 'A/x': ['x1', 'x2'], 'A/y': ['y1'] });
        expect(a[0]).to.deep.include({ attempts: 0, nextAttemptAt: 0, eventTime: t0 });
        expect(a[0]?.body).to.deep.include({ to: 'A' });
        // After a routing number: only what follows it; at most max.
        expect((await s.pendingAfter('A', a[0]?.seq ?? 0, 100)).map((d) => d.eventId)).to.deep.equal(
          a.slice(1).map((d) => d.eventId),
        );
        expect(await s.pendingAfter('A', 0, 1)).to.have.length(1);
        expect(await s.pendingAfter('nobody', 0, 10)).to.deep.equal([]);
      });

      test('settleDeliveries records delivered, retried and dead outcomes together; unknown ones are ignored', async (s) => {
        await listening(s);
        await writeAndRoute(s);
        const t1 = '2024-05-01T10:00:01.000Z';
        await s.settleDeliveries([
          { kind: 'delivered', eventId: 'x1', subscriptionId: 'A', attempts: 1, at: t1 },
          {
            kind: 'retry',
            eventId: 'y1',
            subscriptionId: 'A',
            attempts: 1,
            nextAttemptAt: Date.parse(t1) + 500,
          },
          {
            kind: 'dead',
            eventId: 'x1',
            subscriptionId: 'B',
            attempts: 4,
            lastError: 'callback answered 500',
            at: t1,
          },
          { kind: 'delivered', eventId: 'nope', subscriptionId: 'A', attempts: 1, at: t1 },
        ]);
        expect(await s.eventRecordCounts()).to.deep.equal({ outbox: 0, pending: 6, delivered: 1, dead: 1 });
        const a = await s.pendingAfter('A', 0, 100);
        expect(a.map((d) => d.eventId).sort()).to.deep.equal(['x2', 'x3', 'y1']);
        expect(a.find((d) => d.eventId === 'y1')).to.deep.include({
          attempts: 1,
          nextAttemptAt: Date.parse(t1) + 500,
        });
        const [dead] = await s.listDeadLetters();
        expect(dead).to.deep.include({
          eventId: 'x1',
          subscriptionId: 'B',
          attempts: 4,
          lastError: 'callback answered 500',
        });
        expect(dead?.body).to.deep.include({ eventId: 'x1', to: 'B' });
        await s.settleDeliveries([]);
        expect(await s.eventRecordCounts()).to.deep.equal({ outbox: 0, pending: 6, delivered: 1, dead: 1 });
      });

      test("backlog counts each subscriber's pending deliveries with its oldest event time", async (s) => {
        await listening(s);
        expect(await s.backlog()).to.deep.equal([]);
        await writeAndRoute(s);
        await s.settleDeliveries([
          { kind: 'delivered', eventId: 'x1', subscriptionId: 'B', attempts: 1, at: t0 },
        ]);
        const rows = (await s.backlog()).sort((p, q) => p.subscriptionId.localeCompare(q.subscriptionId));
        expect(rows).to.deep.equal([
          { subscriptionId: 'A', pending: 4, oldestEventTime: t0 },
          { subscriptionId: 'B', pending: 3, oldestEventTime: t0 },
        ]);
      });

      test('capBacklog dead-letters the oldest beyond keep; pruneEventRecords removes records past their time', async (s) => {
        await listening(s);
        await writeAndRoute(s);
        const before = await s.pendingAfter('A', 0, 100);
        const at = '2024-05-01T10:00:02.000Z';
        const moved = await s.capBacklog('A', 1, 'backlog over NOTIFY_MAX_PENDING', at);
        expect(moved.map((d) => d.eventId)).to.deep.equal(before.slice(0, 3).map((d) => d.eventId));
        expect((await s.pendingAfter('A', 0, 100)).map((d) => d.eventId)).to.deep.equal([before[3]?.eventId]);
        expect(await s.capBacklog('A', 1, 'again', at)).to.deep.equal([]);
        expect(await s.capBacklog('B', 10, 'room left', at)).to.deep.equal([]);
        const dead = await s.listDeadLetters();
        expect(dead.map((d) => d.lastError)).to.deep.equal(Array(3).fill('backlog over NOTIFY_MAX_PENDING'));
        expect(dead.every((d) => d.subscriptionId === 'A' && d.deadAt === at)).to.equal(true);

        await s.settleDeliveries([
          {
            kind: 'delivered',
            eventId: 'x1',
            subscriptionId: 'B',
            attempts: 1,
            at: '2024-05-01T10:00:00.000Z',
          },
          {
            kind: 'delivered',
            eventId: 'y1',
            subscriptionId: 'B',
            attempts: 1,
            at: '2024-05-01T10:10:00.000Z',
          },
        ]);
        expect(await s.eventRecordCounts()).to.deep.equal({ outbox: 0, pending: 3, delivered: 2, dead: 3 });
        const cut = '2024-05-01T10:05:00.000Z';
        expect(await s.pruneEventRecords(cut, '2024-05-01T09:00:00.000Z', 100)).to.deep.equal({
          delivered: 1,
          dead: 0,
        });
        expect(await s.pruneEventRecords(cut, '2024-05-02T00:00:00.000Z', 2)).to.deep.equal({
          delivered: 0,
          dead: 2,
        });
        expect(await s.pruneEventRecords(cut, '2024-05-02T00:00:00.000Z', 2)).to.deep.equal({
          delivered: 0,
          dead: 1,
        });
        expect(await s.eventRecordCounts()).to.deep.equal({ outbox: 0, pending: 3, delivered: 1, dead: 0 });
      });
    });

    describe('idempotency keys', () => {
      const t = Date.parse('2030-06-01T00:00:00Z');
      const rec = (key: string, token: string, over: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
        scope: '',
        key,
        fingerprint: 'fp-1',
        token,
        expiresAt: t + 60_000,
        ...over,
      });
      const answer = { status: 201, headers: { Location: '/x/1', ETag: '"1"' }, body: '{"id":"1"}' };

      test('of many concurrent claims of one key exactly one wins; the others see its record', async (s) => {
        const claims = await Promise.all(
          Array.from({ length: 25 }, (_, i) => s.claimIdempotencyKey(rec('k-race', `tok-${i}`), t)),
        );
        const won = claims.filter((c) => c.claimed);
        expect(won).to.have.length(1);
        const winner = claims.findIndex((c) => c.claimed);
        for (const c of claims) {
          if (c.claimed) continue;
          expect(c.record).to.deep.include({ scope: '', key: 'k-race', fingerprint: 'fp-1' });
          expect(c.record.token).to.equal(`tok-${winner}`);
          expect(c.record.answer).to.equal(undefined);
        }
      });

      test('only the holding token completes a key; the answer is then returned as stored', async (s) => {
        expect((await s.claimIdempotencyKey(rec('k-done', 'mine'), t)).claimed).to.equal(true);
        expect(await s.completeIdempotencyKey('', 'k-done', 'theirs', answer, t + 3_600_000)).to.equal(false);
        expect(await s.completeIdempotencyKey('', 'k-done', 'mine', answer, t + 3_600_000)).to.equal(true);
        // Once answered, it is not completed again.
        expect(await s.completeIdempotencyKey('', 'k-done', 'mine', answer, t + 3_600_000)).to.equal(false);
        const again = await s.claimIdempotencyKey(rec('k-done', 'later', { fingerprint: 'fp-2' }), t + 1000);
        expect(again.claimed).to.equal(false);
        if (!again.claimed) {
          expect(again.record).to.deep.equal({
            scope: '',
            key: 'k-done',
            fingerprint: 'fp-1',
            token: 'mine',
            answer,
            expiresAt: t + 3_600_000,
          });
        }
      });

      test('a released key can be claimed again; release by another token or after completion does nothing', async (s) => {
        await s.claimIdempotencyKey(rec('k-rel', 'a'), t);
        await s.releaseIdempotencyKey('', 'k-rel', 'b');
        expect((await s.claimIdempotencyKey(rec('k-rel', 'c'), t)).claimed).to.equal(false);
        await s.releaseIdempotencyKey('', 'k-rel', 'a');
        expect((await s.claimIdempotencyKey(rec('k-rel', 'c'), t)).claimed).to.equal(true);
        await s.completeIdempotencyKey('', 'k-rel', 'c', answer, t + 60_000);
        await s.releaseIdempotencyKey('', 'k-rel', 'c');
        const held = await s.claimIdempotencyKey(rec('k-rel', 'd'), t);
        expect(held.claimed ? undefined : held.record.answer).to.deep.equal(answer);
      });

      test('keys are per scope, and an expired record counts as absent and is purged', async (s) => {
        expect((await s.claimIdempotencyKey(rec('k-s', 'a', { scope: 'sub:alice' }), t)).claimed).to.equal(
          true,
        );
        expect((await s.claimIdempotencyKey(rec('k-s', 'b', { scope: 'sub:bob' }), t)).claimed).to.equal(
          true,
        );
        expect((await s.claimIdempotencyKey(rec('k-s', 'c'), t)).claimed).to.equal(true);
        await s.completeIdempotencyKey('sub:alice', 'k-s', 'a', answer, t + 1000);
        // At its expiry the record is gone for a claim (lease or retention alike).
        expect(
          (await s.claimIdempotencyKey(rec('k-s', 'e', { scope: 'sub:alice' }), t + 999)).claimed,
        ).to.equal(false);
        const fresh = rec('k-s', 'f', { scope: 'sub:alice', fingerprint: 'fp-9', expiresAt: t + 5000 });
        expect((await s.claimIdempotencyKey(fresh, t + 1000)).claimed).to.equal(true);
        const now = await s.claimIdempotencyKey(rec('k-s', 'g', { scope: 'sub:alice' }), t + 1000);
        expect(now.claimed ? undefined : now.record).to.deep.include({ token: 'f', fingerprint: 'fp-9' });
        expect(now.claimed ? 'x' : now.record.answer).to.equal(undefined);
        // Purge removes what expired by then: nothing at t + 4 s; at t + 60 s alice's new lease
        // (t + 5 s), bob's and the unscoped one (t + 60 s).
        expect(await s.purgeIdempotencyKeys(t + 4000)).to.equal(0);
        expect(await s.purgeIdempotencyKeys(t + 60_000)).to.equal(3);
        expect(await s.purgeIdempotencyKeys(t + 60_000)).to.equal(0);
        expect((await s.claimIdempotencyKey(rec('k-s', 'h', { scope: 'sub:bob' }), t + 1)).claimed).to.equal(
          true,
        );
      });

      test('keys and scopes with any characters stay apart', async (s) => {
        const odd = ['a"b', 'a\\b', '[""]', 'x y', '$key', 'k.1'];
        for (const k of odd) expect((await s.claimIdempotencyKey(rec(k, k), t)).claimed, k).to.equal(true);
        expect((await s.claimIdempotencyKey(rec('k', 'x', { scope: '["",' }), t)).claimed).to.equal(true);
        for (const k of odd) {
          const c = await s.claimIdempotencyKey(rec(k, 'other'), t);
          expect(c.claimed ? undefined : c.record.token, k).to.equal(k);
        }
      });
    });

    it('every skip names a case of the contract', () => {
      expect(Object.keys(skips).filter((t) => !titles.has(t))).to.deep.equal([]);
    });
  });
}
