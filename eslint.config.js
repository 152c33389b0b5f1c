// typescript-eslint strict type-checked, as the house style asks; Prettier owns formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------
// Layer rules (docs/architecture-rules.md): http -> (cart, hub, events, versions) -> store -> query.
// A relative import names its target by folder at any depth ("./http/x.js", "../../store/y.js");
// the patterns below are regular expressions over the import's text.
const folder = (names) => `^\\.\\.?/(\\.\\./)*(${names})(/|$)`;
const forbidden = {
  http: {
    regex: folder('http'),
    message: 'Only the composition root (src/main.ts, src/server.ts, src/app.ts) imports src/http.',
  },
  drivers: {
    regex: '^(mongodb|better-sqlite3)(/|$)',
    message: 'Only src/store/** talks to the database drivers (mongodb, better-sqlite3).',
  },
  services: {
    regex: folder('cart|hub|events|versions'),
    message: 'cart, hub, events and versions sit above src/store and src/query, which must not import them.',
  },
  hub: {
    regex: folder('hub'),
    message:
      "src/hub sits above src/events (a subscription is validated with the events' query rules): events must not import it.",
  },
  store: {
    regex: folder('store'),
    message: 'src/query is store-independent: it must not import src/store.',
  },
};
/** The last block whose `files` match a file decides its `no-restricted-imports`: each lists all of that file's bans. */
const layerBlock = (files, bans) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: bans.map((ban) => forbidden[ban]) }] },
});
const layers = [
  layerBlock(['src/**/*.ts'], ['http', 'drivers']),
  layerBlock(['src/main.ts', 'src/server.ts', 'src/app.ts', 'src/http/**/*.ts'], ['drivers']),
  layerBlock(['src/events/**/*.ts'], ['http', 'drivers', 'hub']),
  layerBlock(['src/store/**/*.ts'], ['http', 'services']),
  layerBlock(['src/query/**/*.ts'], ['http', 'drivers', 'services', 'store']),
];

// Only src/spec/** reads generated/: by import (types included) or as a file (new URL, readFileSync, import()).
// Its own rule name, so that its exceptions do not interfere with the layer blocks above.
const generatedPath = /(^|\W)generated\W/.source; // esquery regexes may not contain a slash
const readsGenerated = [
  `NewExpression[callee.name='URL'] > Literal.arguments:first-child[value=/${generatedPath}/]`,
  `CallExpression[callee.name=/^(readFileSync|readFile)$/] > Literal.arguments:first-child[value=/${generatedPath}/]`,
  `ImportExpression > Literal.source[value=/${generatedPath}/]`,
].map((selector) => ({ selector, message: 'Only src/spec/** reads generated/.' }));
const onlySpecReadsGenerated = {
  files: ['src/**/*.ts'],
  ignores: ['src/spec/**'],
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      { patterns: [{ regex: folder('generated'), message: 'Only src/spec/** reads generated/.' }] },
    ],
    'no-restricted-syntax': ['error', ...readsGenerated],
  },
};

// Size limits of the house style: files under src/ at most 400 lines, functions at most 120.
const sizeLimits = [
  {
    files: ['src/**/*.ts'],
    rules: { 'max-lines': ['error', 400], 'max-lines-per-function': ['error', 120] },
  },
];
// ---------------------------------------------------------------------------------------------

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'generated/',
      'ctk/reports/',
      'data/',
      '.cache/',
      'scripts/ferretdb/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests and tools handle untyped JSON from the wire; chai's expect(...).to.be.true is an expression.
    files: ['test/**', 'scripts/**', 'ctk/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['eslint.config.js', '.mocharc.cjs', 'test/support/reporter.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  ...layers,
  onlySpecReadsGenerated,
  ...sizeLimits,
);
