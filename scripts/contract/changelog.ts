/**
 * Renders oasdiff's changes as a changelog a reviewer reads in minutes: breaking changes first,
 * per area (cart operations, hub, events a listener receives), with the changes that repeat per
 * status code, media type and operation folded into one line each; then the breaking changes
 * that do not affect a client (the noise rules below, each with its reason); then the
 * non-breaking changes as counts.
 */
export interface Change {
  id: string;
  /** oasdiff's level: 3 ERR (breaking), 2 WARN (may break), 1 INFO. */
  level: number;
  operation?: string;
  path?: string;
  text: string;
}

/** Breaking in oasdiff's terms, but not for a client; each rule says why. */
export const noiseRules: { name: string; why: string; test: (c: Change) => boolean }[] = [
  {
    name: 'charset parameter dropped from `application/json`',
    why:
      'JSON is UTF-8 by definition (RFC 8259, section 8.1) and `charset` has no meaning for `application/json`: ' +
      'a client that parses the media type is unaffected. Only one that compares the whole Content-Type ' +
      'string with `application/json;charset=utf-8` must accept plain `application/json`.',
    test: (c) => /media-type-parameter/.test(c.id) && c.text.includes('`charset`'),
  },
  {
    name: '`format: uri` dropped from response strings (`@schemaLocation`, `Error.referenceError`)',
    why:
      'v5 declares them as plain strings. A URI is still a string, and a client does not validate ' +
      'what it receives against the removed format.',
    test: (c) => /response's property `format` changed from `uri` to `none`/.test(c.text),
  },
];

const areaOf = (c: Change): string => {
  const path = c.path ?? '';
  if (path.startsWith('/listener')) return 'Events (what a listener receives)';
  if (path.startsWith('/hub')) return 'Event subscriptions (hub)';
  if (path.startsWith('/shoppingCart')) return 'Cart operations';
  return 'The document';
};

/** A short name for an operation inside its area. */
const shortOperation = (c: Change): string => {
  const path = c.path ?? '';
  if (path.startsWith('/listener/'))
    return path.replace('/listener/', '').replace(/^shoppingCart|Event$/g, '');
  return `${c.operation ?? ''} ${path}`.trim();
};

/** `a/items/b/items/c` (oasdiff's JSON path) as `a[].b[].c`, from the resource's root. */
function propertyPath(raw: string): string {
  return raw
    .replace(/^oneOf\[[^\]]*\]\//, '')
    .replace(/^items\//, '[].')
    .replace(/\/items(?=\/|$)/g, '[]')
    .replace(/\//g, '.')
    .replace(/^\[\]\./, '');
}

/** The change's text without what repeats per status, media type or shared schema. */
function folded(c: Change): { template: string; property?: string } {
  const text = c.text
    .replace(/ \(media type: [^)]*\)/g, '')
    .replace(/ \(shared schema: .*\)$/, '')
    .replace(/ for (the response )?status `\d+`/g, '')
    .replace(/ for the status `\d+`/g, '')
    .replace(/ from the response with the `\d+` status/, ' from the response')
    .replace(/ (in|to) the response with the `\d+` status/, ' $1 the response');
  if (!/propert/.test(text)) return { template: text };
  const tokens = [...text.matchAll(/`([^`]+)`/g)];
  const token = tokens.find((m) => !m[1]!.startsWith('#') && !m[1]!.startsWith('subschema'));
  if (!token) return { template: text };
  const at = token.index;
  return {
    template: text.slice(0, at) + '`…`' + text.slice(at + token[0].length),
    property: propertyPath(token[1]!),
  };
}

/** `a.b`, `a.c`, `d` as `a.{b, c}`, `d`. */
function compress(paths: string[]): string {
  const byParent = new Map<string, string[]>();
  for (const p of [...new Set(paths)].sort()) {
    const cut = p.lastIndexOf('.');
    const parent = cut < 0 ? '' : p.slice(0, cut);
    byParent.set(parent, [...(byParent.get(parent) ?? []), cut < 0 ? p : p.slice(cut + 1)]);
  }
  return [...byParent]
    .map(([parent, leaves]) => {
      if (!parent) return leaves.map((l) => `\`${l}\``).join(', ');
      return leaves.length === 1 ? `\`${parent}.${leaves[0]}\`` : `\`${parent}.{${leaves.join(', ')}}\``;
    })
    .join(', ');
}

/** One line per (id, folded text, operations), with the properties it concerns listed once. */
function lines(changes: Change[]): string[] {
  const groups = new Map<
    string,
    { id: string; template: string; ops: Set<string>; props: string[]; n: number }
  >();
  for (const c of changes) {
    const f = folded(c);
    const key = `${c.id}\u0000${f.template}`;
    const g = groups.get(key) ?? { id: c.id, template: f.template, ops: new Set<string>(), props: [], n: 0 };
    g.ops.add(shortOperation(c));
    if (f.property !== undefined) g.props.push(f.property);
    g.n += 1;
    groups.set(key, g);
  }
  // Lines with the same operations and id read as one statement about a list of properties.
  const merged = new Map<
    string,
    { id: string; templates: string[]; ops: string; props: string[]; n: number }
  >();
  for (const g of groups.values()) {
    const ops = [...g.ops].sort().join(', ');
    const key = `${g.id}\u0000${ops}\u0000${g.props.length > 0 ? g.template : g.template + '\u0000plain'}`;
    const m = merged.get(key) ?? { id: g.id, templates: [g.template], ops, props: [], n: 0 };
    m.props.push(...g.props);
    m.n += g.n;
    merged.set(key, m);
  }
  return [...merged.values()]
    .sort((a, b) => a.id.localeCompare(b.id) || a.templates[0]!.localeCompare(b.templates[0]!))
    .map((m) => {
      const what =
        m.props.length > 0 ? `${m.templates[0]!.replace('`…`', '…')}: ${compress(m.props)}` : m.templates[0]!;
      return `- ${what} — _${m.ops}_ (\`${m.id}\`, ${m.n}×)`;
    });
}

function countTable(changes: Change[]): string[] {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
  return [
    '| change | count |',
    '| --- | ---: |',
    ...[...counts]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([id, n]) => `| \`${id}\` | ${n} |`),
  ];
}

export function renderChangelog(
  changes: Change[],
  meta: { from: string; to: string; oasdiff: string; servers: [string, string] },
): string {
  const breaking = changes.filter((c) => c.level >= 2);
  const noise = new Map(noiseRules.map((r) => [r, [] as Change[]]));
  const real: Change[] = [];
  for (const c of breaking) {
    const rule = noiseRules.find((r) => r.test(c));
    if (rule) noise.get(rule)!.push(c);
    else real.push(c);
  }
  const nonBreaking = changes.filter((c) => c.level < 2);
  const noiseCount = breaking.length - real.length;
  const out: string[] = [
    `# Contract changes: ${meta.from} -> ${meta.to}`,
    '',
    `Generated by \`npm run generate\` (scripts/contract-diff.ts) with oasdiff ${meta.oasdiff}, ` +
      'allOf flattened; do not edit. Regenerate after a spec bump; `npm run generate:check` fails when it is stale.',
    '',
    `${changes.length} changes: **${real.length} breaking**, ${noiseCount} breaking in oasdiff's terms but noise ` +
      `for a client, ${nonBreaking.length} non-breaking. Each line folds the changes that repeat per status code, ` +
      'media type and operation; `[]` is an array element, `{a, b}` lists sibling properties, and the ' +
      'operations are in italics. "Request" is what a client sends (for events: what the server sends to ' +
      'a listener); "response" is what it receives.',
    '',
    '## Breaking changes',
    '',
  ];
  // oasdiff compares paths below the server URL and does not report a changed base path.
  if (meta.servers[0] !== meta.servers[1]) {
    out.push(
      `Every operation moves: the server URL changes from \`${meta.servers[0]}\` to \`${meta.servers[1]}\`.`,
      '',
    );
  }
  const areas = [
    'Cart operations',
    'Event subscriptions (hub)',
    'Events (what a listener receives)',
    'The document',
  ];
  for (const area of areas) {
    const inArea = real.filter((c) => areaOf(c) === area);
    if (inArea.length === 0) continue;
    out.push(`### ${area}`, '');
    const errors = inArea.filter((c) => c.level >= 3);
    const warnings = inArea.filter((c) => c.level === 2);
    out.push(...lines(errors));
    if (warnings.length > 0) out.push('', 'May break a client (oasdiff: warning):', '', ...lines(warnings));
    out.push('');
  }
  out.push('## Noise: breaking for oasdiff, not for a client', '');
  for (const [rule, list] of noise) {
    if (list.length === 0) continue;
    out.push(`- **${rule.name}** (${list.length} changes): ${rule.why}`);
  }
  out.push('', '## Non-breaking changes', '', ...countTable(nonBreaking), '');
  out.push(
    "Every change, one by one: `npm run contract:diff -- changelog v4 v5 --html <dir>` (oasdiff's HTML report).",
    '',
  );
  return out.join('\n');
}
