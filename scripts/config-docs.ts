/**
 * npm run docs:config: rewrites the configuration table of docs/operations.md from the table in
 * src/config/table.ts, and formats the document with Prettier.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMarker, withConfigTable } from '../src/config/docs.js';

const path = join(import.meta.dirname, '..', 'docs', 'operations.md');
const doc = readFileSync(path, 'utf8');
const updated = withConfigTable(doc);
if (updated === undefined) throw new Error(`docs/operations.md lacks the line ${startMarker}`);
writeFileSync(path, updated);
execFileSync(join(import.meta.dirname, '..', 'node_modules', '.bin', 'prettier'), ['--write', path]);
console.log('docs/operations.md: configuration table rewritten');
