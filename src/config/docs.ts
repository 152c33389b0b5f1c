/**
 * The configuration table of docs/operations.md, rendered from the table (table.ts): one
 * Markdown table per group. test/unit/config.test.ts fails when the document differs from it;
 * `npm run docs:config` rewrites it (scripts/config-docs.ts).
 */
import { groupTitles, settings, type ConfigTable } from './table.js';

export const startMarker = '<!-- config table: generated from src/config/table.ts -->';
export const endMarker = '<!-- config table end -->';

/** The generated part of docs/operations.md, between the markers. */
export function renderConfigTable(): string {
  const out: string[] = [];
  for (const group of Object.keys(groupTitles) as (keyof ConfigTable)[]) {
    out.push(`### ${groupTitles[group]}`, '', '| Variable | Default | Meaning |', '| --- | --- | --- |');
    for (const row of settings.filter((s) => s.group === group)) {
      const fallback = row.default === undefined ? '—' : `\`${row.default}\``;
      out.push(`| \`${row.variable}\` | ${fallback} | ${row.description.replaceAll('|', '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Table rows as cells, separator rows and padding dropped, so Prettier's alignment does not count. */
export function normalise(markdown: string): string[] {
  return markdown
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line.startsWith('|')
        ? line
            .split(/(?<!\\)\|/)
            .map((cell) => cell.trim())
            .join('|')
        : line,
    );
}

/** The generated part of a document, between the markers (undefined when they are missing). */
export function generatedPart(doc: string): string | undefined {
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  return start < 0 || end < start ? undefined : doc.slice(start + startMarker.length, end);
}

/** The document with its generated part replaced by the table as it is. */
export function withConfigTable(doc: string): string | undefined {
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  if (start < 0 || end < start) return undefined;
  return `${doc.slice(0, start + startMarker.length)}\n\n${renderConfigTable()}\n${doc.slice(end)}`;
}
