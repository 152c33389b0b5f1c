/**
 * Contract review over oasdiff (github.com/oasdiff/oasdiff, pinned in scripts/oasdiff/go.mod,
 * built into .cache/oasdiff/ by scripts/oasdiff/build.sh). docs/contract/README.md is the manual.
 *
 *   npm run contract:diff                          the gate, every version: the served document
 *                                                  against the published spec; a breaking change
 *                                                  fails unless docs/contract/allow-list.json
 *                                                  allows it, naming the fix-up that makes it
 *   npm run contract:diff -- gate v5 [--served f]  one version; --served checks another document
 *   npm run contract:diff -- changelog [a b]       markdown changelog of two releases (v4 v5, the
 *                                                  default) or of two documents (file paths)
 *   npm run contract:diff -- --base <git ref>      what the work tree's served documents change
 *                                                  against those of <ref>; fails on a breaking one
 *   ... --html <dir>                               also writes oasdiff's HTML report(s) there
 *
 * Exit codes: 0 fine, 1 a breaking change (or a stale allow-list entry), 2 bad usage, 3 oasdiff
 * unavailable (no Go toolchain to build it: the reason is printed).
 *
 * oasdiff is fed OpenAPI 3 only: given Swagger 2.0 it exits 0 with a wrong, much shorter answer,
 * so published Swagger files go through the same conversion as `npm run generate`. Its --open
 * flag uploads the documents to a web service: never used here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  apiVersion,
  apiVersions,
  documentPath,
  publishedDocument,
  root,
  toOpenApi3,
  type ApiVersion,
} from './api-versions.js';
import type { Json } from './fix-ups/fix-up.js';
import { renderChangelog, type Change } from './contract/changelog.js';

export type { Change };
export const allowListPath = join(root, 'docs', 'contract', 'allow-list.json');
const defaultBinary = join(root, '.cache', 'oasdiff', 'oasdiff');
const buildScript = join(root, 'scripts', 'oasdiff', 'build.sh');

/** The changelogs committed under docs/contract/: [from, to, file]. */
export const changelogs: [string, string, string][] = [
  ['v4', 'v5', join(root, 'docs', 'contract', 'v4-to-v5.md')],
];

export function oasdiffBinary(): string {
  return process.env.OASDIFF_BIN ?? defaultBinary;
}

export function oasdiffVersion(): string {
  const goMod = readFileSync(join(root, 'scripts', 'oasdiff', 'go.mod'), 'utf8');
  return /github\.com\/oasdiff\/oasdiff (v[\d.]+)/.exec(goMod)?.[1] ?? 'unknown';
}

/**
 * Builds oasdiff when it is missing: null when ready, the reason when it cannot be had (no Go);
 * throws when a build fails.
 */
export function ensureOasdiff(): string | null {
  if (process.env.OASDIFF_BIN)
    return existsSync(process.env.OASDIFF_BIN)
      ? null
      : `OASDIFF_BIN ${process.env.OASDIFF_BIN} does not exist`;
  const built = spawnSync('bash', [buildScript, defaultBinary], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  process.stderr.write(built.stderr);
  if (built.status === 3)
    return 'Go is not installed, so oasdiff cannot be built (bash scripts/oasdiff/build.sh)';
  if (built.status !== 0) throw new Error(`building oasdiff failed (exit ${built.status})`);
  return null;
}

/** Runs `oasdiff changelog` on two OpenAPI 3 documents and returns its changes. */
export function diff(base: Json, revision: Json, opts: { flattenAllOf: boolean; html?: string }): Change[] {
  const dir = mkdtempSync(join(tmpdir(), 'contract-diff-'));
  try {
    const a = join(dir, 'base.json');
    const b = join(dir, 'revision.json');
    writeFileSync(a, JSON.stringify(base));
    writeFileSync(b, JSON.stringify(revision));
    const flags = opts.flattenAllOf ? ['--flatten-allof'] : [];
    const run = (format: string): string =>
      execFileSync(oasdiffBinary(), ['changelog', a, b, '--format', format, ...flags], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
    if (opts.html) writeFileSync(opts.html, run('html'));
    const changes = JSON.parse(run('json') || '[]') as Json[];
    return changes.map((c) => ({
      id: c.id as string,
      level: c.level as number,
      operation: c.operation as string | undefined,
      path: c.path as string | undefined,
      text: c.text as string,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const isBreaking = (c: Change): boolean => c.level >= 2;
const where = (c: Change): string =>
  c.operation ? `${c.operation} ${c.path ?? ''}` : (c.path ?? 'document');
export const describe = (c: Change): string =>
  `${c.level >= 3 ? 'ERR ' : c.level === 2 ? 'WARN' : 'INFO'} [${c.id}] ${where(c)}: ${c.text}`;

export interface AllowEntry {
  /** The fix-up (a name in that version's x-fix-ups) that makes these changes. */
  fixUp: string;
  /** oasdiff's change id. */
  id: string;
  /** A regular expression tested against "<METHOD> <path>: <text>" of each change of that id. */
  match: string;
  /** How many changes it allows: a different count fails the gate, so an entry never widens. */
  count: number;
  why: string;
  /**
   * "review": the change is between two served documents only, never against the published
   * spec (a fix-up tightening something the published spec does not have at all, such as the
   * sort parameter or the Idempotency-Key header), so the gate neither sees nor counts it; only
   * `--base` reviews read it.
   */
  scope?: 'review';
}
export type AllowList = Record<string, AllowEntry[]>;

export function readAllowList(): AllowList {
  return JSON.parse(readFileSync(allowListPath, 'utf8')) as AllowList;
}

export interface GateResult {
  allowed: { change: Change; entry: AllowEntry }[];
  refused: Change[];
  /** Entries whose count of matched changes differs from their `count`. */
  stale: { entry: AllowEntry; matched: number }[];
}

/** Sorts a version's breaking changes into allowed and refused; reports stale entries. */
export function judge(changes: Change[], allEntries: AllowEntry[]): GateResult {
  const entries = allEntries.filter((e) => e.scope !== 'review');
  const result: GateResult = { allowed: [], refused: [], stale: [] };
  const matched = new Map<AllowEntry, number>(entries.map((e) => [e, 0]));
  for (const change of changes.filter(isBreaking)) {
    const subject = `${where(change)}: ${change.text}`;
    const entry = entries.find((e) => e.id === change.id && new RegExp(e.match).test(subject));
    if (!entry) {
      result.refused.push(change);
      continue;
    }
    matched.set(entry, (matched.get(entry) ?? 0) + 1);
    result.allowed.push({ change, entry });
  }
  for (const [entry, n] of matched) if (n !== entry.count) result.stale.push({ entry, matched: n });
  return result;
}

/** The gate for one version: 0 when every breaking change is allowed and no entry is stale. */
export async function gate(
  version: ApiVersion,
  opts: { served?: string; html?: string; log?: (line: string) => void } = {},
): Promise<number> {
  const log = opts.log ?? console.log;
  const served = JSON.parse(readFileSync(opts.served ?? documentPath(version), 'utf8')) as Json;
  const changes = diff(await publishedDocument(version), served, {
    flattenAllOf: version.flattenAllOf,
    html: opts.html ? join(opts.html, `${version.name}-published-to-served.html`) : undefined,
  });
  const result = judge(changes, readAllowList()[version.name] ?? []);
  const label = `${version.name} (${opts.served ?? 'served'} against openapi/${version.name}/${version.specFile})`;
  log(
    `gate ${label}: ${changes.length} changes, ${result.allowed.length} breaking and allowed, ` +
      `${result.refused.length} breaking and not allowed`,
  );
  for (const change of result.refused) log(`  NOT ALLOWED ${describe(change)}`);
  for (const { entry, matched } of result.stale) {
    log(
      `  STALE allow-list entry ${version.name} ${entry.fixUp} [${entry.id}] /${entry.match}/: ` +
        `allows ${entry.count}, matched ${matched}`,
    );
  }
  return result.refused.length > 0 || result.stale.length > 0 ? 1 : 0;
}

/** The served document of a version at a git ref, or null when that commit has none. */
export function servedAt(ref: string, version: ApiVersion): Json | null {
  // Before openapi/<version>/ existed, the one served document (v4) was generated/tmf663-openapi.json.
  const candidates = [`generated/${version.name}/tmf663-openapi.json`];
  if (version.name === 'v4') candidates.push('generated/tmf663-openapi.json');
  for (const path of candidates) {
    const shown = spawnSync('git', ['show', `${ref}:${path}`], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    if (shown.status === 0) return JSON.parse(shown.stdout) as Json;
  }
  return null;
}

/** Review of a change: the work tree's served documents against those of a git ref. */
export function review(
  ref: string,
  opts: { html?: string; log?: (line: string) => void; revision?: (v: ApiVersion) => Json } = {},
): number {
  const log = opts.log ?? console.log;
  const resolved = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: root,
    encoding: 'utf8',
  });
  if (resolved.status !== 0) {
    log(`contract:diff: ${ref} is not a commit here (a shallow clone? fetch more history)`);
    return 2;
  }
  const allowList = readAllowList();
  let breaking = 0;
  for (const version of apiVersions) {
    const base = servedAt(ref, version);
    if (!base) {
      log(`${version.name}: new since ${ref}, nothing to compare`);
      continue;
    }
    const revision =
      opts.revision?.(version) ?? (JSON.parse(readFileSync(documentPath(version), 'utf8')) as Json);
    const changes = diff(base, revision, {
      flattenAllOf: version.flattenAllOf,
      html: opts.html ? join(opts.html, `${version.name}-review.html`) : undefined,
    });
    // A breaking change the allow-list already names is a reviewed deviation from the published
    // contract, made by a fix-up: shown, but it does not fail the review.
    const entries = allowList[version.name] ?? [];
    const known = (c: Change): AllowEntry | undefined =>
      entries.find((e) => e.id === c.id && new RegExp(e.match).test(`${where(c)}: ${c.text}`));
    const refused = changes.filter((c) => isBreaking(c) && !known(c));
    log(
      `${version.name}: ${changes.length} changes since ${ref}: ${changes.filter(isBreaking).length} breaking ` +
        `(${refused.length} not in the allow-list), ${changes.filter((c) => !isBreaking(c)).length} non-breaking`,
    );
    const byOperation = new Map<string, Change[]>();
    for (const c of changes) byOperation.set(where(c), [...(byOperation.get(where(c)) ?? []), c]);
    for (const [operation, list] of [...byOperation].sort(([a], [b]) => a.localeCompare(b))) {
      log(`  ${operation}`);
      for (const c of list.filter(isBreaking)) {
        const entry = known(c);
        log(`    breaking${entry ? ` (allowed: ${entry.fixUp})` : ''}: [${c.id}] ${c.text}`);
      }
      for (const c of list.filter((x) => !isBreaking(x))) log(`    non-breaking: [${c.id}] ${c.text}`);
    }
    breaking += refused.length;
  }
  return breaking > 0 ? 1 : 0;
}

/** A document named on the command line: an API version's published spec, or a file. */
async function documentNamed(name: string): Promise<{ doc: Json; flattenAllOf: boolean; label: string }> {
  const version = apiVersions.find((v) => v.name === name);
  if (version) {
    return {
      doc: await publishedDocument(version),
      flattenAllOf: version.flattenAllOf,
      label: `TMF663 ${name} as published`,
    };
  }
  // Any OpenAPI 3 or Swagger 2.0 file; allOf is flattened, which is harmless where there is none.
  return { doc: await toOpenApi3(readFileSync(resolve(name), 'utf8')), flattenAllOf: true, label: name };
}

/** The markdown changelog between two releases or documents. */
export async function changelogMarkdown(from: string, to: string, html?: string): Promise<string> {
  const a = await documentNamed(from);
  const b = await documentNamed(to);
  const changes = diff(a.doc, b.doc, { flattenAllOf: a.flattenAllOf || b.flattenAllOf, html });
  const server = (doc: Json): string => (doc.servers?.[0]?.url as string | undefined) ?? '/';
  return renderChangelog(changes, {
    from: a.label,
    to: b.label,
    oasdiff: oasdiffVersion(),
    servers: [server(a.doc), server(b.doc)],
  });
}

/**
 * What `npm run generate` writes under docs/contract/: the changelogs, made with the oasdiff
 * binary when it is there. Without it (no Go toolchain) they are neither written nor checked,
 * and a note says so; CI builds oasdiff first, so it always checks them.
 */
export async function changelogOutputs(): Promise<{ files: [string, string][]; notes: string[] }> {
  if (!existsSync(oasdiffBinary())) {
    return {
      files: [],
      notes: [
        `docs/contract/*.md not regenerated nor checked: oasdiff is not built (bash scripts/oasdiff/build.sh)`,
      ],
    };
  }
  const files: [string, string][] = [];
  for (const [from, to, path] of changelogs) files.push([path, await changelogMarkdown(from, to)]);
  return { files, notes: [] };
}

function usage(message: string): number {
  console.error(`contract:diff: ${message}`);
  console.error(
    'usage: contract:diff [gate [<version>] [--served <file>] | changelog [<a> <b>] | --base <ref>] [--html <dir>]',
  );
  return 2;
}

async function main(argv: string[]): Promise<number> {
  const option = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const value = argv[i + 1];
    argv.splice(i, 2);
    if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
    return value;
  };
  let base: string | undefined;
  let html: string | undefined;
  let served: string | undefined;
  try {
    base = option('--base');
    html = option('--html');
    served = option('--served');
  } catch (e) {
    return usage((e as Error).message);
  }
  if (argv.includes('--open')) return usage('--open uploads the documents to a web service; not supported');
  const unknown = argv.find((a) => a.startsWith('--'));
  if (unknown) return usage(`unknown option ${unknown}`);
  const [command = base ? 'review' : 'gate', ...rest] = argv;

  const unavailable = ensureOasdiff();
  if (unavailable) {
    console.log(`contract:diff skipped: ${unavailable}`);
    return 3;
  }
  if (html) mkdirSync(html, { recursive: true });

  if (base !== undefined) return review(base, { html });
  if (command === 'gate') {
    if (rest.length > 1) return usage('gate takes at most one version');
    if (served && rest.length === 0) return usage('--served needs a version');
    let worst = 0;
    for (const version of rest.length > 0 ? [apiVersion(rest[0]!)] : apiVersions) {
      worst = Math.max(worst, await gate(version, { served, html }));
    }
    return worst;
  }
  if (command === 'changelog') {
    if (rest.length !== 0 && rest.length !== 2) return usage('changelog takes no argument or two');
    const [from = 'v4', to = 'v5'] = rest;
    process.stdout.write(await changelogMarkdown(from, to, html ? join(html, 'changelog.html') : undefined));
    return 0;
  }
  return usage(`unknown command ${command}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.exitCode = await main(process.argv.slice(2));
