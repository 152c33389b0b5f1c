import { expect } from 'chai';
import type { Condition, Filter, SortKey } from '../../src/query/ast.js';
import {
  compareCodePoints,
  compareForSort,
  compareRecordsForSort,
  matchesFilter,
  projectFields,
  sortValueOf,
  valuesAt,
} from '../../src/query/evaluate.js';
import { parseListQuery } from '../../src/query/parse.js';

const filterOf = (raw: string): Filter => parseListQuery(raw, { maxPageSize: 100 }).filter;
const matches = (raw: string, doc: unknown): boolean => matchesFilter(filterOf(raw), doc);

const cart = {
  id: 'c1',
  href: 'http://h/c1',
  '@type': 'ShoppingCart',
  validFor: { startDateTime: '2024-06-01T00:00:00+02:00', endDateTime: '2025-01-01T12:00:00+02:00' },
  relatedParty: [
    { id: 'p1', role: 'customer', '@referredType': 'Individual' },
    { id: 'p2', role: 'seller', '@referredType': 'Organization' },
  ],
  cartItem: [
    {
      id: '1',
      quantity: 2,
      product: { isBundle: true, productCharacteristic: [{ name: 'size', value: 42 }] },
      cartItem: [{ id: '1.1', quantity: 7 }],
    },
    { id: '2', quantity: 5, status: 'active' },
  ],
  ext: { list: [{ n: 1 }, { n: 'two' }], flag: false, nothing: null, nested: [[{ n: 3 }]] },
};

describe('query/evaluate: valuesAt', () => {
  it('walks objects and takes the elements of arrays, in document order', () => {
    expect(valuesAt(cart, ['cartItem', 'quantity'])).to.deep.equal([2, 5]);
    expect(valuesAt(cart, ['cartItem', 'cartItem', 'quantity'])).to.deep.equal([7]);
    expect(valuesAt(cart, ['ext', 'list', 'n'])).to.deep.equal([1, 'two']);
  });

  it('gives no candidate for null, missing members and non-objects; does not enter arrays in arrays', () => {
    expect(valuesAt(cart, ['ext', 'nothing'])).to.deep.equal([]);
    expect(valuesAt(cart, ['missing', 'x'])).to.deep.equal([]);
    expect(valuesAt(cart, ['id', 'length'])).to.deep.equal([]);
    expect(valuesAt(cart, ['ext', 'nested', 'n'])).to.deep.equal([]);
    expect(valuesAt(cart, ['ext', 'nested'])).to.deep.equal([[{ n: 3 }]]);
  });

  it('reads own members only', () => {
    expect(valuesAt(cart, ['constructor'])).to.deep.equal([]);
    expect(valuesAt(cart, ['id', 'toString'])).to.deep.equal([]);
  });
});

describe('query/evaluate: matchesFilter', () => {
  it('keeps everything with an empty filter', () => {
    expect(matchesFilter({ conditions: [] }, cart)).to.equal(true);
  });

  it('any element matches (every op but ne)', () => {
    expect(matches('relatedParty.id=p2', cart)).to.equal(true);
    expect(matches('relatedParty.id=p3', cart)).to.equal(false);
    expect(matches('cartItem.quantity.gt=4', cart)).to.equal(true);
    expect(matches('cartItem.quantity.gt=5', cart)).to.equal(false);
    expect(matches('cartItem.cartItem.quantity=7', cart)).to.equal(true);
  });

  it('ne: no element equals any value; a missing attribute satisfies it', () => {
    expect(matches('relatedParty.id.ne=p1', cart)).to.equal(false);
    expect(matches('relatedParty.id.ne=p3', cart)).to.equal(true);
    expect(matches('relatedParty.id.ne=p3,p2', cart)).to.equal(false);
    expect(matches('cartItem.status.ne=active', cart)).to.equal(false);
    expect(matches('@baseType.ne=x', cart)).to.equal(true);
  });

  it('a missing attribute fails every other op', () => {
    for (const op of ['eq', 'gt', 'gte', 'lt', 'lte', 'regex']) {
      expect(matches(`@baseType.${op}=x`, cart), op).to.equal(false);
    }
  });

  it('ORs values and ANDs conditions (each condition on any element independently)', () => {
    expect(matches('relatedParty.id=p9,p1', cart)).to.equal(true);
    expect(matches('relatedParty.id=p1&relatedParty.role=seller', cart)).to.equal(true);
    expect(matches('relatedParty.id=p1&relatedParty.role=buyer', cart)).to.equal(false);
    // Quantities 2 and 5: 5 >= 3 and 2 < 5, each by a different element.
    expect(matches('cartItem.quantity.gte=3&cartItem.quantity.lt=5', cart)).to.equal(true);
    expect(matches('cartItem.quantity.gte=6&cartItem.quantity.lt=5', cart)).to.equal(false);
  });

  it('compares numbers numerically', () => {
    expect(matches('cartItem.quantity=2.0', cart)).to.equal(true);
    expect(matches('cartItem.quantity.lt=10', cart)).to.equal(true);
    expect(matches('cartItem.quantity.gt=10', cart)).to.equal(false);
  });

  it('compares booleans with eq and ne', () => {
    expect(matches('cartItem.product.isBundle=true', cart)).to.equal(true);
    expect(matches('cartItem.product.isBundle=false', cart)).to.equal(false);
    expect(matches('cartItem.product.isBundle.ne=false', cart)).to.equal(true);
  });

  it('compares date-times chronologically across offsets', () => {
    expect(matches('validFor.endDateTime=2025-01-01T10:00:00Z', cart)).to.equal(true);
    expect(matches('validFor.endDateTime.gt=2025-01-01T10:59:59-01:00', cart)).to.equal(false);
    expect(matches('validFor.endDateTime.lt=2025-01-01T10:00:00.001Z', cart)).to.equal(true);
    expect(matches('validFor.startDateTime.gte=2024-05-31', cart)).to.equal(true);
    expect(matches('validFor.startDateTime.gte=2024-06-01', cart)).to.equal(false);
    expect(
      matchesFilter(filterOf('validFor.endDateTime.gt=2000-01-01'), { validFor: { endDateTime: 'soon' } }),
    ).to.equal(false);
  });

  it('compares strings by code point, as SQLite does (not by UTF-16 unit)', () => {
    expect(matches('@type.gt=Shop', cart)).to.equal(true);
    expect(matches('@type.lt=shopping', cart)).to.equal(true);
    expect(matchesFilter(filterOf(`x.gt=${encodeURIComponent('ｚ')}`), { x: '😀' })).to.equal(true);
    expect(compareCodePoints('😀', 'ｚ')).to.be.greaterThan(0);
    expect(compareCodePoints('a', 'ab')).to.be.lessThan(0);
    expect(compareCodePoints('b', 'ab')).to.be.greaterThan(0);
    expect(compareCodePoints('\u{10000}', '\u{10001}')).to.be.lessThan(0);
  });

  it('runs regex as an unanchored search on strings only', () => {
    expect(matches('relatedParty.role.regex=ell', cart)).to.equal(true);
    expect(matches('relatedParty.role.regex=^ell', cart)).to.equal(false);
    expect(matches('ext.list.n.regex=^tw', cart)).to.equal(true);
    expect(matches('ext.list.n.regex=1', cart)).to.equal(false);
  });

  it('compares untyped (extension) attributes by the JSON type met', () => {
    expect(matches('ext.list.n=1', cart)).to.equal(true);
    expect(matches('ext.list.n=1.0', cart)).to.equal(true);
    expect(matches('ext.list.n=two', cart)).to.equal(true);
    expect(matches('ext.list.n.gt=0.5', cart)).to.equal(true);
    expect(matches('ext.flag=false', cart)).to.equal(true);
    expect(matches('ext.flag.gt=a', cart)).to.equal(false);
    expect(matches('ext.nothing=null', cart)).to.equal(false);
    expect(matches('ext.nothing.ne=null', cart)).to.equal(true);
    expect(matches('cartItem.product.productCharacteristic.value.gte=42', cart)).to.equal(true);
    expect(matches('ext={}', cart)).to.equal(false);
  });

  it('an unknown attribute never matches, and id[$ne] is just a name', () => {
    expect(matches('colour=red', cart)).to.equal(false);
    expect(matches('id[$ne]=x', cart)).to.equal(false);
    expect(matchesFilter(filterOf('id[$ne]=x'), { 'id[$ne]': 'x' })).to.equal(true);
  });
});

describe('query/evaluate: sorting', () => {
  const docs = [
    { id: 'd', cartItem: [{ quantity: 3 }, { quantity: 1 }] },
    { id: 'b' },
    { id: 'a', cartItem: [{}, { quantity: 2 }] },
    { id: 'c', cartItem: [{ quantity: 3 }] },
    { id: 'e', cartItem: [] },
  ];
  const ids = (sort: SortKey[]): string[] => [...docs].sort(compareForSort(sort)).map((d) => d.id);
  const quantity = ['cartItem', 'quantity'];

  it('orders by the first candidate, missing first ascending and last descending, id breaking ties', () => {
    expect(ids([{ path: quantity, descending: false }])).to.deep.equal(['b', 'e', 'a', 'c', 'd']);
    expect(ids([{ path: quantity, descending: true }])).to.deep.equal(['c', 'd', 'a', 'b', 'e']);
    expect(ids([])).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
  });

  it('orders numbers before strings, booleans as 0 and 1, dates by instant', () => {
    expect(sortValueOf({ x: true }, ['x'])).to.equal(1);
    expect(sortValueOf({ x: { b: 1 } }, ['x'])).to.equal('{"b":1}');
    const mixed = [
      { id: '1', x: 'a' },
      { id: '2', x: 10 },
      { id: '3', x: false },
      { id: '4' },
      { id: '5', x: '10' },
    ];
    expect(mixed.sort(compareForSort([{ path: ['x'], descending: false }])).map((d) => d.id)).to.deep.equal([
      '4',
      '3',
      '2',
      '5',
      '1',
    ]);
    const dated = [
      { id: '1', validFor: { startDateTime: '2025-01-01T01:00:00+02:00' } },
      { id: '2', validFor: { startDateTime: '2024-12-31T23:30:00Z' } },
      { id: '3', validFor: { startDateTime: 'not a date' } },
    ];
    expect(
      dated
        .sort(compareForSort([{ path: ['validFor', 'startDateTime'], descending: false }]))
        .map((d) => d.id),
    ).to.deep.equal(['3', '1', '2']);
  });
});

describe('query/evaluate: projectFields', () => {
  it('returns the document as is without fields', () => {
    expect(projectFields(cart, undefined)).to.equal(cart);
  });

  it('keeps only id and href for fields=none', () => {
    expect(projectFields(cart, [])).to.deep.equal({ id: 'c1', href: 'http://h/c1' });
  });

  it('keeps top-level attributes with id and href', () => {
    expect(projectFields(cart, [['@type'], ['validFor']])).to.deep.equal({
      id: 'c1',
      href: 'http://h/c1',
      '@type': 'ShoppingCart',
      validFor: cart.validFor,
    });
  });

  it('applies a dotted path to every element of an array, merging paths', () => {
    expect(
      projectFields(cart, [
        ['cartItem', 'id'],
        ['cartItem', 'status'],
        ['validFor', 'endDateTime'],
      ]),
    ).to.deep.equal({
      id: 'c1',
      href: 'http://h/c1',
      validFor: { endDateTime: '2025-01-01T12:00:00+02:00' },
      cartItem: [{ id: '1' }, { id: '2', status: 'active' }],
    });
    expect(projectFields(cart, [['cartItem', 'cartItem', 'quantity']])).to.deep.equal({
      id: 'c1',
      href: 'http://h/c1',
      cartItem: [{ cartItem: [{ quantity: 7 }] }, {}],
    });
  });

  it('leaves out what is missing and does not copy the rest', () => {
    expect(projectFields({ id: 'x' }, [['href'], ['validFor', 'startDateTime'], ['nope']])).to.deep.equal({
      id: 'x',
    });
    expect(projectFields(cart, [['validFor', 'nope']])).to.deep.equal({ id: 'c1', href: 'http://h/c1' });
    const projected = projectFields(cart, [['cartItem']]);
    expect(projected.cartItem).to.equal(cart.cartItem);
    expect(projected).to.not.have.property('relatedParty');
  });
});

describe("query/evaluate: metadata paths (the record's times)", () => {
  const records = [
    {
      doc: { id: 'a' },
      times: { createdAt: '2024-01-01T10:00:00.000Z', updatedAt: '2024-01-03T00:00:00.000Z' },
    },
    // The same instants spelt otherwise still compare as instants.
    {
      doc: { id: 'b' },
      times: { createdAt: '2024-01-01T11:00:00+01:00', updatedAt: '2024-01-02T00:00:00Z' },
    },
    {
      doc: { id: 'c' },
      times: { createdAt: '2024-01-02T00:00:00.000Z', updatedAt: '2024-01-02T00:00:00.000Z' },
    },
  ];
  const at = (iso: string) => ({ kind: 'date' as const, value: iso, epochMs: Date.parse(iso) });
  const kept = (condition: Omit<Condition, 'path' | 'kind'>): string[] =>
    records
      .filter((r) =>
        matchesFilter({ conditions: [{ ...condition, path: [], kind: 'date' }] }, r.doc, r.times),
      )
      .map((r) => r.doc.id);

  it('compares the time named by the path with every operator', () => {
    const created = (op: Condition['op'], iso: string) =>
      kept({ metadata: 'createdAt', op, values: [at(iso)] });
    expect(created('eq', '2024-01-01T10:00:00Z')).to.deep.equal(['a', 'b']);
    expect(created('ne', '2024-01-01T10:00:00Z')).to.deep.equal(['c']);
    expect(created('gt', '2024-01-01T10:00:00Z')).to.deep.equal(['c']);
    expect(created('gte', '2024-01-01T10:00:00Z')).to.deep.equal(['a', 'b', 'c']);
    expect(created('lt', '2024-01-02T00:00:00Z')).to.deep.equal(['a', 'b']);
    expect(created('lte', '2024-01-01T09:59:59.999Z')).to.deep.equal([]);
    expect(kept({ metadata: 'updatedAt', op: 'lte', values: [at('2024-01-02T00:00:00Z')] })).to.deep.equal([
      'b',
      'c',
    ]);
  });

  it("without the record's times there is no candidate: ne holds, the others fail", () => {
    const condition = (op: Condition['op']): Filter => ({
      conditions: [
        { path: [], metadata: 'createdAt', op, kind: 'date', values: [at('2024-01-01T00:00:00Z')] },
      ],
    });
    expect(matchesFilter(condition('gt'), { id: 'x' })).to.equal(false);
    expect(matchesFilter(condition('ne'), { id: 'x' })).to.equal(true);
  });

  it('sorts by the time, id breaking ties; descending reverses', () => {
    const order = (sort: SortKey[]) => [...records].sort(compareRecordsForSort(sort)).map((r) => r.doc.id);
    expect(order([{ path: [], metadata: 'updatedAt', descending: false }])).to.deep.equal(['b', 'c', 'a']);
    expect(order([{ path: [], metadata: 'updatedAt', descending: true }])).to.deep.equal(['a', 'b', 'c']);
    expect(order([{ path: [], metadata: 'createdAt', descending: true }])).to.deep.equal(['c', 'a', 'b']);
  });
});
