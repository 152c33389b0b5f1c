// The error table of docs/api.md and the one catalogue (src/errors.ts: code, status, reason)
// say the same: every code is documented once, with the status it is answered with, and the
// table names no code the catalogue lacks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { errorCatalogue, errorCodes } from '../../src/errors.js';

/** Code -> status from the table rows; `| 413 / 414 | `A` / `B` | ...` pairs in order. */
function documentedTable(doc: string): Map<string, number> {
  const start = doc.indexOf('| status ');
  expect(start, 'docs/api.md has an error table').to.be.greaterThan(-1);
  const documented = new Map<string, number>();
  for (const line of doc.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [statuses = '', codes = ''] = line.split('|').slice(1, 3);
    const s = statuses.split('/').map((x) => Number(x.trim()));
    const c = codes.split('/').map((x) => x.trim().replace(/^`|`$/g, ''));
    expect(c.length, `one status per code in: ${line}`).to.satisfy(
      (n: number) => n === s.length || s.length === 1,
    );
    c.forEach((code, i) => {
      expect(documented.has(code), `${code} documented twice`).to.equal(false);
      documented.set(code, s[s.length === 1 ? 0 : i] ?? NaN);
    });
  }
  return documented;
}

describe('docs/api.md error table', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'api.md'), 'utf8');
  const documented = documentedTable(doc);

  it('documents every code of the catalogue with the status it is answered with, and no other', () => {
    expect(Object.fromEntries(documented)).to.deep.equal(
      Object.fromEntries(errorCodes.map((code) => [code, errorCatalogue[code].status])),
    );
  });

  it('reads a table as it is written (the check itself can fail)', () => {
    const table = [
      '| status | code | when |',
      '| --- | --- | --- |',
      '| 413 / 414 | `A` / `B` | x |',
      '| 409 | `C` | y |',
      '',
      '| 500 | `D` | after the table |',
    ].join('\n');
    expect(Object.fromEntries(documentedTable(table))).to.deep.equal({ A: 413, B: 414, C: 409 });
    expect(() =>
      documentedTable(`${table.split('\n').slice(0, 4).join('\n')}\n| 409 | \`C\` | again |`),
    ).to.throw(/documented twice/);
  });
});
