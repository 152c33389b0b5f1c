import { expect } from 'chai';
import { describePath } from '../../src/query/schema-types.js';

describe('query/schema-types: describePath', () => {
  const cases: [string, Partial<ReturnType<typeof describePath>>][] = [
    ['id', { kind: 'string', arrays: [false], known: 1, leaf: 'string' }],
    ['@type', { kind: 'string', arrays: [false], known: 1, leaf: 'string' }],
    ['validFor.endDateTime', { kind: 'date', arrays: [false, false], known: 2, leaf: 'date' }],
    ['validFor', { kind: 'string', leaf: 'object' }],
    ['relatedParty.id', { kind: 'string', arrays: [true, false], known: 2 }],
    ['relatedParty.@referredType', { kind: 'string', leaf: 'string' }],
    ['relatedParty', { kind: 'string', arrays: [true], leaf: 'object' }],
    ['cartItem.quantity', { kind: 'number', arrays: [true, false] }],
    ['cartItem.cartItem.cartItem.quantity', { kind: 'number', arrays: [true, true, true, false] }],
    ['cartItem.itemPrice.price.taxRate', { kind: 'number', arrays: [true, true, false, false] }],
    ['cartItem.itemPrice.price.dutyFreeAmount.unit', { kind: 'string', leaf: 'string' }],
    ['cartItem.product.isBundle', { kind: 'boolean', arrays: [true, false, false] }],
    ['cartItem.note.date', { kind: 'date' }],
    ['cartItem.status', { kind: 'string', leaf: 'string' }],
    ['cartItem.itemTotalPrice.price.taxRate', { kind: 'number' }],
    ['contactMedium.preferred', { kind: 'boolean', arrays: [true, false] }],
    [
      'cartItem.product.productCharacteristic.value',
      { kind: 'string', arrays: [true, false, true, undefined], known: 3, leaf: 'unknown' },
    ],
    [
      'cartItem.product.productCharacteristic.value.x',
      { known: 3, arrays: [true, false, true, undefined, undefined] },
    ],
    ['channel', { kind: 'string', arrays: [undefined], known: 0, leaf: 'unknown' }],
    ['validFor.extra.deep', { kind: 'string', arrays: [false, undefined, undefined], known: 1 }],
    ['id[$ne]', { kind: 'string', known: 0 }],
    ['constructor', { known: 0 }],
    ['__proto__', { known: 0 }],
  ];
  for (const [path, expected] of cases) {
    it(path, () => {
      expect(describePath(path.split('.'))).to.deep.include(expected);
    });
  }

  it('describes a path relative to the elements of an array', () => {
    expect(describePath(['quantity'], ['cartItem'])).to.deep.include({ kind: 'number', arrays: [false] });
    expect(describePath(['id'], ['relatedParty'])).to.deep.include({ kind: 'string', known: 1 });
  });
});
