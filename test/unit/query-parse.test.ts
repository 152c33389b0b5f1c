import { expect } from 'chai';
import { AppError } from '../../src/errors.js';
import type { Condition } from '../../src/query/ast.js';
import { parseFilterPairs, parseFilterQuery, parseListQuery } from '../../src/query/parse.js';
import { splitQuery } from '../../src/query/terms.js';

const options = { maxPageSize: 100 };
const parse = (raw: string) => parseListQuery(raw, options);
const conditions = (raw: string): Condition[] => parse(raw).filter.conditions;

/** Asserts a 400 whose message names `parameter`. */
const expect400 = (raw: string, parameter: string): void => {
  let error: unknown;
  try {
    parse(raw);
  } catch (e) {
    error = e;
  }
  expect(error, raw).to.be.instanceOf(AppError);
  const app = error as AppError;
  expect(app.code, raw).to.equal('BAD_REQUEST');
  expect(app.message, raw).to.include(parameter);
};

describe('query/parse: parseListQuery', () => {
  describe('defaults and reserved keys', () => {
    it('gives an empty filter, no fields, no sort, offset 0, limit maxPageSize for an empty query', () => {
      expect(parse('')).to.deep.equal({
        filter: { conditions: [] },
        fields: undefined,
        sort: [],
        offset: 0,
        limit: 100,
      });
    });

    it('skips empty pairs', () => {
      expect(parse('&&id=a&')).to.deep.include({ filter: { conditions: conditions('id=a') } });
    });

    it('never reads reserved keys as filters', () => {
      const q = parse('fields=id&offset=1&limit=2&sort=id');
      expect(q.filter.conditions).to.deep.equal([]);
    });

    it('refuses filter= (JSONPath) with a clear message', () => {
      expect400('filter=$.cartItem[?(@.quantity>1)]', 'JSONPath');
      expect400('filter=x', 'filter');
    });

    it('refuses a reserved key with a comparison operator', () => {
      expect400('limit>5', 'limit');
      expect400('fields.eq=id', 'fields.eq');
    });
  });

  describe('offset and limit', () => {
    it('reads non-negative integers', () => {
      expect(parse('offset=20&limit=5')).to.deep.include({ offset: 20, limit: 5 });
      expect(parse('limit=0').limit).to.equal(0);
      expect(parse('offset=007').offset).to.equal(7);
    });

    it('caps limit at maxPageSize', () => {
      expect(parse('limit=1000').limit).to.equal(100);
    });

    for (const bad of ['-1', '1.5', 'abc', '', '1e3', '99999999999999999999', ' 1']) {
      it(`refuses offset/limit "${bad}"`, () => {
        expect400(`offset=${encodeURIComponent(bad)}`, 'offset');
        expect400(`limit=${encodeURIComponent(bad)}`, 'limit');
      });
    }

    it('refuses repeated offset, limit or sort', () => {
      expect400('offset=1&offset=2', 'offset');
      expect400('limit=1&limit=2', 'limit');
      expect400('sort=id&sort=href', 'sort');
    });
  });

  describe('fields', () => {
    it('reads top-level and dotted paths', () => {
      expect(parse('fields=href,cartItem.id,validFor').fields).to.deep.equal([
        ['href'],
        ['cartItem', 'id'],
        ['validFor'],
      ]);
    });

    it('gives [] for fields=none and undefined when absent', () => {
      expect(parse('fields=none').fields).to.deep.equal([]);
      expect(parse('id=1').fields).to.equal(undefined);
    });

    it('merges repeated fields, trims and drops duplicates', () => {
      expect(parse('fields=id,%20href&fields=href,cartItem').fields).to.deep.equal([
        ['id'],
        ['href'],
        ['cartItem'],
      ]);
    });

    it('refuses empty names and empty segments', () => {
      expect400('fields=', 'fields');
      expect400('fields=id,,href', 'fields');
      expect400('fields=cartItem..id', 'fields');
    });
  });

  describe('sort', () => {
    it('reads ascending and descending keys in order', () => {
      expect(parse('sort=validFor.endDateTime,-cartItem.quantity,+id').sort).to.deep.equal([
        { path: ['validFor', 'endDateTime'], descending: false },
        { path: ['cartItem', 'quantity'], descending: true },
        { path: ['id'], descending: false },
      ]);
    });

    it('refuses empty keys', () => {
      expect400('sort=', 'sort');
      expect400('sort=-', 'sort');
      expect400('sort=id,', 'sort');
      expect400('sort=a..b', 'sort');
    });
  });

  describe('attribute filters', () => {
    it('reads attr=value as eq with the schema kind', () => {
      expect(conditions('id=abc')).to.deep.equal([
        { path: ['id'], op: 'eq', kind: 'string', values: [{ kind: 'string', value: 'abc' }] },
      ]);
    });

    it('reads dotted paths and the @ attributes', () => {
      expect(
        conditions('relatedParty.@referredType=Individual&@type=X&%40baseType=Y').map((c) => c.path),
      ).to.deep.equal([['relatedParty', '@referredType'], ['@type'], ['@baseType']]);
    });

    it('reads every suffix operator', () => {
      for (const op of ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const) {
        expect(conditions(`cartItem.quantity.${op}=2`)).to.deep.equal([
          { path: ['cartItem', 'quantity'], op, kind: 'number', values: [{ kind: 'number', value: 2 }] },
        ]);
      }
      expect(conditions('cartItem.status.regex=^a')[0]).to.deep.include({
        op: 'regex',
        values: [{ kind: 'regex', value: '^a' }],
      });
    });

    const symbols: [string, string][] = [
      ['>', 'gt'],
      ['>=', 'gte'],
      ['<', 'lt'],
      ['<=', 'lte'],
      ['!=', 'ne'],
      ['=', 'eq'],
      ['%3E', 'gt'],
      ['%3e=', 'gte'],
      ['%3E%3D', 'gte'],
      ['%3C', 'lt'],
      ['%3C=', 'lte'],
      ['%21=', 'ne'],
      ['!%3D', 'ne'],
    ];
    for (const [symbol, op] of symbols) {
      it(`reads the symbol form ${symbol} as ${op}`, () => {
        expect(conditions(`cartItem.quantity${symbol}2`)).to.deep.equal([
          { path: ['cartItem', 'quantity'], op, kind: 'number', values: [{ kind: 'number', value: 2 }] },
        ]);
      });
    }

    it('ORs comma-separated values and repeated keys, merging symbol and suffix forms of one op', () => {
      const [c, ...rest] = conditions('cartItem.quantity=1,2&cartItem.quantity.eq=3&cartItem.quantity=4');
      expect(rest).to.deep.equal([]);
      expect(c?.values.map((v) => v.value)).to.deep.equal([1, 2, 3, 4]);
    });

    it('ANDs distinct attributes and distinct operators on one attribute', () => {
      const cs = conditions('cartItem.quantity.gte=1&cartItem.quantity.lt=5&id=x');
      expect(cs.map((c) => [c.path.join('.'), c.op])).to.deep.equal([
        ['cartItem.quantity', 'gte'],
        ['cartItem.quantity', 'lt'],
        ['id', 'eq'],
      ]);
    });

    it('strips one pair of surrounding double or single quotes; quotes keep commas', () => {
      const values = (raw: string) => conditions(raw)[0]?.values.map((v) => v.value);
      expect(values('id="a"')).to.deep.equal(['a']);
      expect(values("id='a'")).to.deep.equal(['a']);
      expect(values('id=""a""')).to.deep.equal(['"a"']);
      expect(values('id="a,b",c')).to.deep.equal(['a,b', 'c']);
      expect(values('id=%22a,b%22')).to.deep.equal(['a,b']);
      expect(values('id="a')).to.deep.equal(['"a']);
      expect(values("id='")).to.deep.equal(["'"]);
      expect(values('id=a%2Cb')).to.deep.equal(['a,b']);
      expect(values('id=')).to.deep.equal(['']);
    });

    it('decodes RFC 3986 style: + stays a plus, %20 is a space', () => {
      expect(conditions('id=a+b%20c')[0]?.values).to.deep.equal([{ kind: 'string', value: 'a+b c' }]);
    });

    it('keeps values literal: nothing becomes an operator', () => {
      expect(conditions('id[$ne]=x')).to.deep.equal([
        { path: ['id[$ne]'], op: 'eq', kind: 'string', values: [{ kind: 'string', value: 'x' }] },
      ]);
      expect(conditions('id=$ne')[0]?.values).to.deep.equal([{ kind: 'string', value: '$ne' }]);
      expect(conditions('id.ne={"$gt":""}')[0]?.values).to.deep.equal([
        { kind: 'string', value: '{"$gt":""}' },
      ]);
    });

    it('keeps = inside a value', () => {
      expect(conditions('href=http://h/x?a=b')[0]?.values).to.deep.equal([
        { kind: 'string', value: 'http://h/x?a=b' },
      ]);
    });

    it('treats an unknown attribute as a string path (extensions are allowed)', () => {
      expect(conditions('colour.shade=dark')).to.deep.equal([
        { path: ['colour', 'shade'], op: 'eq', kind: 'string', values: [{ kind: 'string', value: 'dark' }] },
      ]);
      expect(conditions('a.foo=1')[0]?.path).to.deep.equal(['a', 'foo']);
    });

    it('reads numbers and booleans where the schema says so', () => {
      expect(conditions('cartItem.itemPrice.price.taxRate=7.5,-1e1,.5')[0]?.values).to.deep.equal([
        { kind: 'number', value: 7.5 },
        { kind: 'number', value: -10 },
        { kind: 'number', value: 0.5 },
      ]);
      expect(conditions('contactMedium.preferred=true,false')[0]).to.deep.include({
        kind: 'boolean',
        values: [
          { kind: 'boolean', value: true },
          { kind: 'boolean', value: false },
        ],
      });
    });

    it('reads date-times with offsets, fractions and plain dates', () => {
      expect(conditions('validFor.endDateTime.gt=2025-01-01T12:00:00%2B02:00')[0]?.values).to.deep.equal([
        { kind: 'date', value: '2025-01-01T12:00:00+02:00', epochMs: Date.parse('2025-01-01T10:00:00Z') },
      ]);
      expect(conditions('validFor.endDateTime.gt=2025-01-01T12:00:00+02:00')[0]?.values[0]).to.deep.include({
        epochMs: Date.parse('2025-01-01T10:00:00Z'),
      });
      expect(conditions('validFor.endDateTime="2025-01-01"')[0]?.values[0]).to.deep.include({
        epochMs: Date.parse('2025-01-01T00:00:00Z'),
      });
      expect(conditions('cartItem.note.date<=2024-02-29T23:30:00.123-01:00')[0]?.values[0]).to.deep.include({
        epochMs: Date.parse('2024-03-01T00:30:00.123Z'),
      });
    });

    it('does not split a regex on commas', () => {
      expect(conditions('cartItem.status.regex=a{1,3}')[0]?.values).to.deep.equal([
        { kind: 'regex', value: 'a{1,3}' },
      ]);
    });

    it('refuses values that do not parse as the schema kind', () => {
      expect400('cartItem.quantity=abc', 'cartItem.quantity');
      expect400('cartItem.quantity=', 'cartItem.quantity');
      expect400('cartItem.quantity=0x10', 'cartItem.quantity');
      expect400('cartItem.quantity=Infinity', 'cartItem.quantity');
      expect400('cartItem.quantity=1,x', 'cartItem.quantity');
      expect400('contactMedium.preferred=yes', 'contactMedium.preferred');
      expect400('contactMedium.preferred=TRUE', 'contactMedium.preferred');
      expect400('validFor.endDateTime=tomorrow', 'validFor.endDateTime');
      expect400('validFor.endDateTime=2025-13-01', 'validFor.endDateTime');
      expect400('validFor.endDateTime=2025-01-01T25:00:00Z', 'validFor.endDateTime');
      expect400('validFor.endDateTime=2025-01-01T10:00:00+24:00', 'validFor.endDateTime');
      expect400('validFor.endDateTime=2025-02-29', 'validFor.endDateTime');
      expect400('validFor.startDateTime.gt=1700000000', 'validFor.startDateTime');
    });

    it('refuses operators that do not apply to the kind', () => {
      expect400('contactMedium.preferred.gt=true', 'contactMedium.preferred');
      expect400('contactMedium.preferred>true', 'contactMedium.preferred');
      expect400('cartItem.quantity.regex=1', 'cartItem.quantity');
      expect400('validFor.endDateTime.regex=2025', 'validFor.endDateTime');
    });

    it('refuses unsafe or invalid regexes', () => {
      expect400(`cartItem.status.regex=${encodeURIComponent('(a+)+$')}`, 'cartItem.status');
      expect400(`id.regex=${encodeURIComponent('(a|a)*')}`, 'id');
      expect400(`id.regex=${encodeURIComponent('(a)\\1')}`, 'id');
      expect400(`id.regex=${encodeURIComponent('a(?=b)')}`, 'id');
      expect400(`id.regex=${encodeURIComponent('[')}`, 'id');
      expect400(`id.regex=${'a'.repeat(257)}`, 'id');
    });

    it('refuses empty keys, empty segments and malformed operators', () => {
      expect400('=1', 'empty');
      expect400('.a=1', '.a');
      expect400('a..b=1', 'a..b');
      expect400('a.=1', 'a.');
      expect400('a>>=1', 'a');
      expect400('a<>1', 'a');
      expect400('a!1', 'a');
      expect400('a=>1', 'a');
      expect400('a==1', 'a');
      expect400('a>=<1', 'a');
      expect400('a%3E%3E=1', 'a');
      expect400('cartItem.quantity.gt>1', 'cartItem.quantity.gt');
      expect400('id.foo=1', 'id.foo');
      expect400('cartItem.quantity.between=1', 'cartItem.quantity.between');
      expect400('validFor.endDateTime.after=2025-01-01', 'validFor.endDateTime.after');
      expect400('justakey', 'justakey');
    });

    it('refuses malformed percent-encoding', () => {
      expect400('id=%zz', 'id');
      expect400('i%d=1', 'i%d');
    });
  });

  it('answers URI_TOO_LONG above 8192 characters, before any other check', () => {
    const raw = `id=${'x'.repeat(8189)}`;
    expect(raw.length).to.equal(8192);
    expect(() => parse(raw)).to.not.throw();
    let error: unknown;
    try {
      parse(`=${'x'.repeat(8192)}`);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(AppError);
    expect((error as AppError).code).to.equal('URI_TOO_LONG');
  });
});

describe('query/parse: helpers for subscriptions and patch queries', () => {
  it('splitQuery gives decoded keys, symbol ops and raw values', () => {
    expect(splitQuery('a.b%3E=1%2C2&c=3')).to.deep.equal([
      { key: 'a.b', op: 'gte', value: '1%2C2', encoded: true },
      { key: 'c', op: 'eq', value: '3', encoded: true },
    ]);
  });

  it('parseFilterQuery keeps the prefixed keys, relative to the ShoppingCart', () => {
    const { filter, others } = parseFilterQuery(
      'eventType=ShoppingCartCreateEvent&event.shoppingCart.cartItem.quantity.gt=2&event.shoppingCart.id=a,b',
      { prefix: 'event.shoppingCart.' },
    );
    expect(filter.conditions.map((c) => [c.path.join('.'), c.op, c.kind])).to.deep.equal([
      ['cartItem.quantity', 'gt', 'number'],
      ['id', 'eq', 'string'],
    ]);
    expect(others.map((t) => t.key)).to.deep.equal(['eventType']);
  });

  it('parseFilterPairs reads decoded pairs; a trailing > < ! on the key is the symbol', () => {
    const filter = parseFilterPairs([
      ['cartItem.quantity>', '2'],
      ['cartItem.quantity<', '5'],
      ['id!', 'x,y'],
      ['@type', '"ShoppingCart"'],
    ]);
    expect(
      filter.conditions.map((c) => [c.path.join('.'), c.op, c.values.map((v) => v.value)]),
    ).to.deep.equal([
      ['cartItem.quantity', 'gte', [2]],
      ['cartItem.quantity', 'lte', [5]],
      ['id', 'ne', ['x', 'y']],
      ['@type', 'eq', ['ShoppingCart']],
    ]);
  });

  it('parseFilterPairs types keys relative to a schema prefix (JSON Patch Query on cart items)', () => {
    const filter = parseFilterPairs([['quantity.gte', '2']], 'cartItem.');
    expect(filter.conditions).to.deep.equal([
      { path: ['quantity'], op: 'gte', kind: 'number', values: [{ kind: 'number', value: 2 }] },
    ]);
    expect(() => parseFilterPairs([['quantity', 'many']], ['cartItem'])).to.throw(AppError, /quantity/);
  });
});
