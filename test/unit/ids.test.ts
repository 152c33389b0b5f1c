import { expect } from 'chai';
import { decodeTime, isValid } from 'ulid';
import { newUlid } from '../../src/ids.js';

describe('newUlid', () => {
  it('makes valid, distinct ULIDs that sort in creation order and carry the time', () => {
    const before = Date.now();
    const ids = Array.from({ length: 10_000 }, () => newUlid());
    expect(ids.every((id) => isValid(id))).to.equal(true);
    expect(new Set(ids).size).to.equal(ids.length);
    expect([...ids].sort()).to.deep.equal(ids);
    expect(decodeTime(ids[0] ?? '')).to.be.within(before, Date.now());
  });
});
