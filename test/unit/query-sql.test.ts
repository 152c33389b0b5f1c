import { expect } from 'chai';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { ShoppingCart } from '../../src/api-types.js';
import type { Filter } from '../../src/query/ast.js';
import { compareForSort, matchesFilter } from '../../src/query/evaluate.js';
import { parseListQuery } from '../../src/query/parse.js';
import {
  compileOrderBy,
  compileWhere,
  dateTimeFunctionName,
  regexFunctionName,
  sqlDateTimeMs,
  sqlRegex,
} from '../../src/store/sqlite/sql.js';
import { extractKeys, schemaSql } from '../../src/store/sqlite/schema.js';
import { filterCases, filterDocs, sortCases } from '../store/filter-cases.js';

const parse = (raw: string) => parseListQuery(raw, { maxPageSize: 1000 });

/** Documents as the store writes them (JSONB), or as JSON text (a file not yet migrated). */
const openDb = (docs: readonly ShoppingCart[], form: 'jsonb' | 'text' = 'jsonb'): Database.Database => {
  const db = new Database(':memory:');
  db.exec(schemaSql);
  db.function(regexFunctionName, { deterministic: true }, sqlRegex);
  db.function(dateTimeFunctionName, { deterministic: true }, sqlDateTimeMs);
  const now = new Date().toISOString();
  const insertCart = db.prepare(
    `INSERT INTO carts (id, doc, version, created_at, updated_at, expires_at) VALUES (?, ${form === 'jsonb' ? 'jsonb(?)' : '?'}, 1, ?, ?, ?)`,
  );
  const insertKey = db.prepare('INSERT INTO cart_keys (cart_id, kind, value) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const doc of docs) {
      const end = doc.validFor?.endDateTime;
      const expiresAt = end === undefined ? null : Date.parse(end);
      insertCart.run(doc.id, JSON.stringify(doc), now, now, expiresAt);
      for (const key of extractKeys(doc)) insertKey.run(doc.id, key.kind, key.value);
    }
  })();
  return db;
};

const sqlIds = (db: Database.Database, filter: Filter): string[] => {
  const where = compileWhere(filter);
  return db
    .prepare<unknown[], { id: string }>(`SELECT c.id FROM carts c WHERE ${where.sql} ORDER BY c.id`)
    .all(...where.params)
    .map((r) => r.id);
};

const referenceIds = (filter: Filter): string[] =>
  filterDocs
    .filter((d) => matchesFilter(filter, d))
    .map((d) => d.id ?? '')
    .sort();

describe('store/sqlite/sql: SQLite keeps exactly what the evaluator keeps (test/store/filter-cases.ts)', () => {
  let db: Database.Database;
  before(() => {
    db = openDb(filterDocs);
  });
  after(() => {
    db.close();
  });

  it('has a varied table: at least 45 cases, at least 30 keeping a proper non-empty subset', () => {
    expect(filterDocs.length).to.be.within(12, 20);
    expect(new Set(filterDocs.map((d) => d.id)).size).to.equal(filterDocs.length);
    expect(filterCases.length).to.be.at.least(45);
    expect(new Set(filterCases.map((c) => c.name)).size).to.equal(filterCases.length);
    const proper = filterCases.filter((c) => {
      const n = referenceIds(parse(c.query).filter).length;
      return n > 0 && n < filterDocs.length;
    });
    expect(proper.length).to.be.at.least(30);
  });

  for (const c of filterCases) {
    it(`${c.name}: ${c.query}`, () => {
      const filter = parse(c.query).filter;
      expect(sqlIds(db, filter)).to.deep.equal(referenceIds(filter));
    });
  }

  it('keeps the same carts when the documents are JSON text (a file written before JSONB)', () => {
    const textDb = openDb(filterDocs, 'text');
    try {
      expect(textDb.prepare('SELECT DISTINCT typeof(doc) AS t FROM carts').all()).to.deep.equal([
        { t: 'text' },
      ]);
      for (const c of filterCases) {
        const filter = parse(c.query).filter;
        expect(sqlIds(textDb, filter), c.query).to.deep.equal(referenceIds(filter));
      }
    } finally {
      textDb.close();
    }
  });

  // The reference itself, pinned for a handful of cases, so that the table is not vacuous.
  const pinned: Record<string, string[]> = {
    'id comma OR': ['f01', 'f05'],
    'keyed relatedParty.id': ['f01', 'f03', 'f08', 'f14'],
    'keyed relatedParty.id ne': ['f02', 'f04', 'f05', 'f06', 'f07', 'f09', 'f10', 'f11', 'f12', 'f13'],
    'AND across attributes (any element each)': ['f01', 'f03', 'f08'],
    'quantity > symbol': ['f03', 'f07', 'f09'],
    // f07 has quantities 4 and 1: each condition holds on a different item.
    'quantity range: distinct ops AND': ['f01', 'f02', 'f07', 'f08', 'f11', 'f13'],
    'nested cartItem productOffering': ['f02', 'f08'],
    'date eq across offsets': ['f01', 'f02', 'f03'],
    'date ne (missing satisfies)': [
      'f04',
      'f05',
      'f06',
      'f07',
      'f08',
      'f09',
      'f10',
      'f11',
      'f12',
      'f13',
      'f14',
    ],
    'date gt Z': ['f06', 'f07', 'f10', 'f11', 'f13'],
    'quoted value with comma': ['f02'],
    // '😀shop' (U+1F600) is above 'ｚ' (U+FF5A) by code point, below it by UTF-16 unit.
    'unicode beyond BMP (code point order)': ['f04', 'f06'],
    'extension number eq': ['f01', 'f03', 'f10', 'f14'],
    'extension object or array of objects': ['f01', 'f02', 'f11', 'f13'],
    'Any value number or string': ['f01', 'f11'],
    'extension null satisfies ne': filterDocs.map((d) => d.id ?? ''),
    'unknown attribute: empty': [],
    'id[$ne] is a literal attribute': ['f09'],
    'id[$ne] encoded': [],
    'SQL injection in id': [],
    'SQL injection in keyed path': [],
    'SQL injection in attribute name': [],
  };
  for (const [name, ids] of Object.entries(pinned)) {
    it(`pins the reference for "${name}"`, () => {
      const c = filterCases.find((x) => x.name === name);
      expect(c, name).to.not.equal(undefined);
      expect(referenceIds(parse(c?.query ?? '').filter)).to.deep.equal([...ids].sort());
    });
  }
});

describe('store/sqlite/sql: ORDER BY orders and pages exactly as compareForSort', () => {
  let db: Database.Database;
  before(() => {
    db = openDb(filterDocs);
  });
  after(() => {
    db.close();
  });

  for (const c of sortCases) {
    it(`${c.name}: ${c.query}`, () => {
      const q = parse(c.query);
      const where = compileWhere(q.filter);
      const order = compileOrderBy(q.sort);
      const got = db
        .prepare<unknown[], { id: string }>(
          `SELECT c.id FROM carts c WHERE ${where.sql} ORDER BY ${order.sql} LIMIT ? OFFSET ?`,
        )
        .all(...where.params, ...order.params, q.limit, q.offset)
        .map((r) => r.id);
      const expected = filterDocs
        .filter((d) => matchesFilter(q.filter, d))
        .sort(compareForSort(q.sort))
        .slice(q.offset, q.offset + q.limit)
        .map((d) => d.id);
      expect(got).to.deep.equal(expected);
    });
  }

  it('sort keys really reorder (not just id order)', () => {
    const ids = (raw: string) => filterDocs.sort(compareForSort(parse(raw).sort)).map((d) => d.id);
    const byId = ids('');
    for (const raw of [
      'sort=cartItem.quantity',
      'sort=-validFor.endDateTime',
      'sort=score',
      'sort=relatedParty.name',
    ]) {
      expect(ids(raw), raw).to.not.deep.equal(byId);
    }
  });
});

describe('store/sqlite/sql: random documents and queries (fast-check)', () => {
  // Extension attributes of every JSON type, nested in objects and arrays, at the top level and
  // inside the declared cartItem array: where SQLite cannot rely on the schema.
  const scalar = fc.constantFrom<unknown>(
    'a',
    'b',
    '10',
    'true',
    '2024-01-01',
    '',
    0,
    1,
    10,
    1.5,
    -2,
    true,
    false,
    null,
  );
  const value = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('value'), { maxLength: 3 }),
      fc.record({ x: tie('value'), y: tie('value') }, { requiredKeys: [] }),
    ),
  })).value;
  const item = fc.record(
    { quantity: fc.integer({ min: 0, max: 12 }), x: value, '@k': value },
    { requiredKeys: [] },
  );
  const docs = fc
    .array(
      fc.record(
        {
          x: value,
          y: value,
          '@k': value,
          cartItem: fc.array(item, { maxLength: 3 }),
          validFor: fc.record(
            {
              startDateTime: fc.constantFrom(
                '2024-01-01T00:00:00Z',
                '2024-01-01T01:00:00+02:00',
                '2023-06-01',
              ),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
      { minLength: 1, maxLength: 8 },
    )
    .map((list) => list.map((d, i) => ({ id: `r${i}`, ...d }) as ShoppingCart));
  const path = fc.constantFrom(
    'x',
    'y',
    '@k',
    'x.x',
    'x.y',
    'x.x.y',
    'cartItem.x',
    'cartItem.x.y',
    'cartItem.@k',
    'cartItem.quantity',
    'validFor.startDateTime',
  );
  const op = fc.constantFrom('', '.ne', '.gt', '.gte', '.lt', '.lte', '.regex');
  const literal = fc.constantFrom(
    'a',
    'b',
    '10',
    '1.5',
    '-2',
    '0',
    'true',
    'false',
    '',
    '2024-01-01',
    'a,10',
  );
  const condition = fc.tuple(path, op, literal).map(([p, o, v]) => {
    if (p === 'cartItem.quantity' && (o === '.regex' || !/^-?\d+(?:\.\d+)?$/.test(v)))
      return `${p}${o === '.regex' ? '' : o}=3`;
    if (p === 'validFor.startDateTime') return `${p}${o === '.regex' ? '' : o}=2024-01-01T00:30:00Z`;
    return `${p}${o}=${o === '.regex' ? encodeURIComponent(v === '' ? '^' : `^${v}`) : encodeURIComponent(v).replace('%2C', ',')}`;
  });

  it('SQLite keeps what the evaluator keeps', () => {
    fc.assert(
      fc.property(docs, fc.array(condition, { minLength: 1, maxLength: 3 }), (list, conditions) => {
        const db = openDb(list);
        try {
          const filter = parse(conditions.join('&')).filter;
          const where = compileWhere(filter);
          const got = db
            .prepare<unknown[], { id: string }>(`SELECT c.id FROM carts c WHERE ${where.sql} ORDER BY c.id`)
            .all(...where.params)
            .map((r) => r.id);
          const expected = list
            .filter((d) => matchesFilter(filter, d))
            .map((d) => d.id ?? '')
            .sort();
          expect(got).to.deep.equal(expected);
        } finally {
          db.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('SQLite orders as compareForSort', () => {
    fc.assert(
      fc.property(
        docs,
        fc.array(fc.tuple(path, fc.boolean()), { minLength: 1, maxLength: 2 }),
        (list, keys) => {
          const db = openDb(list);
          try {
            const sort = parse(`sort=${keys.map(([p, desc]) => (desc ? '-' : '') + p).join(',')}`).sort;
            const order = compileOrderBy(sort);
            const got = db
              .prepare<unknown[], { id: string }>(`SELECT c.id FROM carts c ORDER BY ${order.sql}`)
              .all(...order.params)
              .map((r) => r.id);
            expect(got).to.deep.equal([...list].sort(compareForSort(sort)).map((d) => d.id));
          } finally {
            db.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('store/sqlite/sql: the SQL text', () => {
  it('holds no value and no attribute name from the query', () => {
    const q = parse(
      `${encodeURIComponent("x') OR 1=1 --")}=1&cartItem.quantity>2&relatedParty.name.regex=^A&colour.deep=DROP` +
        '&validFor.startDateTime.gt=2024-01-01&sort=-colour.deep,cartItem.product.isBundle',
    );
    const where = compileWhere(q.filter);
    const order = compileOrderBy(q.sort);
    for (const word of [
      'OR 1=1',
      'colour',
      'deep',
      'DROP',
      'quantity',
      'name',
      'startDateTime',
      'isBundle',
      '2024',
    ]) {
      expect(where.sql + order.sql, word).to.not.include(word);
    }
    expect(where.params).to.include('colour');
    expect(where.sql.split('?').length - 1).to.equal(where.params.length);
    expect(order.sql.split('?').length - 1).to.equal(order.params.length);
  });

  it('uses the cart_keys index for the keyed paths and the href expression index', () => {
    const db = openDb(filterDocs);
    const plan = (raw: string): string => {
      const where = compileWhere(parse(raw).filter);
      return db
        .prepare<unknown[], { detail: string }>(
          `EXPLAIN QUERY PLAN SELECT c.id FROM carts c WHERE ${where.sql}`,
        )
        .all(...where.params)
        .map((r) => r.detail)
        .join('\n');
    };
    expect(plan('relatedParty.id=p1')).to.include('cart_keys_lookup');
    expect(plan('cartItem.productOffering.id=po-1,po-2')).to.include('cart_keys_lookup');
    expect(plan('href=http://h/x')).to.include('carts_href');
    expect(plan('id=f01')).to.match(/SEARCH c USING (COVERING )?INDEX sqlite_autoindex_carts_1/);
    db.close();
  });

  it('stores documents as JSONB, so the JSON functions do not parse text', () => {
    const db = openDb(filterDocs);
    expect(db.prepare('SELECT DISTINCT typeof(doc) AS t FROM carts').all()).to.deep.equal([{ t: 'blob' }]);
    db.close();
  });
});
