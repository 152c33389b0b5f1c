import { createRequire } from 'node:module';
import { expect } from 'chai';
import { memoisePathToRegexp } from '../../src/http/route-regexp-cache.js';

const require = createRequire(import.meta.url);
const ptr = require('path-to-regexp') as {
  pathToRegexp: (p: string, o?: object) => { regexp: RegExp; keys: { name: string }[] };
};

describe('memoisePathToRegexp', () => {
  it('returns the same compiled route for the same path and flags, and still matches as before', () => {
    memoisePathToRegexp();
    memoisePathToRegexp(); // idempotent
    const a = ptr.pathToRegexp('/tmf-api/shoppingCart/v4/shoppingCart/:id', {
      sensitive: false,
      strict: false,
    });
    const b = ptr.pathToRegexp('/tmf-api/shoppingCart/v4/shoppingCart/:id', {
      sensitive: false,
      strict: false,
    });
    expect(a).to.equal(b);
    expect(a.keys.map((k) => k.name)).to.deep.equal(['id']);
    expect(a.regexp.exec('/tmf-api/shoppingCart/v4/shoppingCart/01J')?.[1]).to.equal('01J');
    const strict = ptr.pathToRegexp('/tmf-api/shoppingCart/v4/shoppingCart/:id', {
      sensitive: false,
      strict: true,
    });
    expect(strict).to.not.equal(a);
    expect(ptr.pathToRegexp('/hub/:id', { end: false })).to.not.equal(
      ptr.pathToRegexp('/hub/:id', { end: false }),
    );
  });
});
