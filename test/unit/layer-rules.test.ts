// The layer rules of eslint.config.js (docs/architecture-rules.md) catch what they are meant to:
// snippets linted as if they were files under src/ break each rule, and one snippet is allowed.
//
// The project's real configuration is used, with type information turned off for the snippets
// (typescript-eslint's disableTypeChecked): a snippet is a virtual file that no tsconfig
// includes, so the project service would refuse it, and building a TypeScript program for it
// would take seconds. The layer rules look only at import text and syntax, so they need no types.
import { expect } from 'chai';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfig: [{ files: ['src/**/*.ts'], ...tseslint.configs.disableTypeChecked }],
});

/** The rule ids and messages the snippet earns as the file `filePath`. */
async function lint(filePath: string, code: string): Promise<{ rule: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, message: m.message }));
}

describe('layer rules (eslint.config.js)', function () {
  this.timeout(20_000); // the first lint loads the configuration and its plugins

  const refused: [string, string, string, string, RegExp][] = [
    // what, file, snippet, rule, message
    [
      'store importing http',
      'src/store/fixture.ts',
      "import { sendError } from '../http/errors.js';\nexport { sendError };\n",
      'no-restricted-imports',
      /Only the composition root .* imports src\/http/,
    ],
    [
      'a nested store file importing http',
      'src/store/sqlite/fixture.ts',
      "export { sendError } from '../../http/errors.js';\n",
      'no-restricted-imports',
      /imports src\/http/,
    ],
    [
      'store importing cart',
      'src/store/fixture.ts',
      "import { priceCart } from '../cart/pricing/index.js';\nexport { priceCart };\n",
      'no-restricted-imports',
      /above src\/store and src\/query/,
    ],
    [
      'query importing store',
      'src/query/fixture.ts',
      "import type { Store } from '../store/store.js';\nexport type S = Store;\n",
      'no-restricted-imports',
      /src\/query is store-independent/,
    ],
    [
      'query importing events',
      'src/query/fixture.ts',
      "export * from '../events/subscription-query.js';\n",
      'no-restricted-imports',
      /above src\/store and src\/query/,
    ],
    [
      'events importing hub',
      'src/events/fixture.ts',
      "export { assertCallback } from '../hub/callback.js';\n",
      'no-restricted-imports',
      /events must not import it/,
    ],
    [
      'cart importing mongodb',
      'src/cart/fixture.ts',
      "import { MongoClient } from 'mongodb';\nexport { MongoClient };\n",
      'no-restricted-imports',
      /Only src\/store\/\*\* talks to the database drivers/,
    ],
    [
      'query importing better-sqlite3',
      'src/query/fixture.ts',
      "import Database from 'better-sqlite3';\nexport { Database };\n",
      'no-restricted-imports',
      /database drivers/,
    ],
    [
      'cart importing generated/ types',
      'src/cart/fixture.ts',
      "import type { components } from '../../generated/v4/tmf663.js';\nexport type C = components;\n",
      '@typescript-eslint/no-restricted-imports',
      /Only src\/spec\/\*\* reads generated\//,
    ],
    [
      'cart reading a generated/ file',
      'src/cart/fixture.ts',
      "export const doc = new URL('../../generated/v4/tmf663-openapi.json', import.meta.url);\n",
      'no-restricted-syntax',
      /Only src\/spec\/\*\* reads generated\//,
    ],
    [
      'a file longer than 400 lines',
      'src/cart/fixture.ts',
      `export const n = 1;\n${'\n'.repeat(400)}`,
      'max-lines',
      /too many lines \(\d+\)\. Maximum allowed is 400/,
    ],
    [
      'a function longer than 120 lines',
      'src/cart/fixture.ts',
      `export function long(): number {\n${'  void 0;\n'.repeat(120)}  return 1;\n}\n`,
      'max-lines-per-function',
      /Function 'long' has too many lines \(123\)\. Maximum allowed is 120/,
    ],
  ];
  for (const [what, filePath, code, rule, message] of refused) {
    it(`refuses ${what}`, async () => {
      const messages = await lint(filePath, code);
      expect(messages.map((m) => m.rule)).to.deep.equal([rule]);
      expect(messages[0]?.message).to.match(message);
    });
  }

  it('allows the directions the layers point in', async () => {
    const allowed: [string, string][] = [
      ['src/http/fixture.ts', "export { createCartService } from '../cart/cart-service.js';\n"],
      ['src/server.ts', "export { sendError } from './http/errors.js';\n"],
      ['src/cart/fixture.ts', "export type { Store } from '../store/store.js';\n"],
      ['src/hub/fixture.ts', "export { parseSubscriptionQuery } from '../events/subscription-query.js';\n"],
      [
        'src/store/fixture.ts',
        "export { parseFilter } from '../query/parse.js';\nexport { MongoClient } from 'mongodb';\n",
      ],
      ['src/query/fixture.ts', "export { ApiError } from '../errors.js';\n"],
      ['src/spec/fixture.ts', "export type { components } from '../../generated/v4/tmf663.js';\n"],
    ];
    for (const [filePath, code] of allowed) {
      expect(await lint(filePath, code), `${filePath}: ${code}`).to.deep.equal([]);
    }
  });
});
