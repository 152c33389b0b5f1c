// Tests are TypeScript run through tsx; each file creates its own data and server on port 0.
// The "tmf663-source" condition (a name no dependency uses) resolves the package's own entries
// (tmf663-shopping-cart/client) to the TypeScript sources, as tsconfig.json's customConditions
// does for the type checker.
module.exports = {
  'node-option': ['import=tsx', 'conditions=tmf663-source'],
  spec: ['test/**/*.test.ts'],
  timeout: 20000,
  exit: true,
  reporter: './test/support/reporter.cjs',
};
