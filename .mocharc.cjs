// Tests are TypeScript run through tsx; each file creates its own data and server on port 0.
module.exports = {
  'node-option': ['import=tsx'],
  spec: ['test/**/*.test.ts'],
  timeout: 20000,
  exit: true,
  reporter: './test/support/reporter.cjs',
};
