// The contract gate and its allow-list: the allow-list names only fix-ups the served documents
// list (and the generator applies), the gate passes on every version, and a served document that
// breaks its published contract fails it, naming the change. The oasdiff cases run where
// oasdiff is built (bash scripts/oasdiff/build.sh; CI builds it first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { apiVersion, apiVersions, documentPath, root } from '../../scripts/api-versions.js';
import { renderChangelog, type Change } from '../../scripts/contract/changelog.js';
import {
  gate,
  judge,
  oasdiffBinary,
  readAllowList,
  review,
  servedAt,
  type AllowEntry,
} from '../../scripts/contract-diff.js';

type Json = Record<string, any>;
const served = (name: string): Json =>
  JSON.parse(readFileSync(documentPath(apiVersion(name)), 'utf8')) as Json;

describe('contract allow-list', () => {
  const allowList = readAllowList();

  it('has an entry list for every API version and for nothing else', () => {
    expect(Object.keys(allowList).sort()).to.deep.equal(apiVersions.map((v) => v.name).sort());
  });

  for (const version of apiVersions) {
    it(`${version.name}: the served document lists exactly the generator's fix-ups`, () => {
      expect(served(version.name)['x-fix-ups']).to.deep.equal(version.fixUps.map((f) => f.name));
    });

    it(`${version.name}: every entry names a fix-up of that version, a reason and what it matches`, () => {
      const names = served(version.name)['x-fix-ups'] as string[];
      for (const entry of allowList[version.name]!) {
        expect(names, `${entry.fixUp} in x-fix-ups`).to.include(entry.fixUp);
        expect(entry.why.length, `why of ${entry.fixUp}`).to.be.greaterThan(20);
        expect(entry.count).to.be.a('number').and.greaterThan(0);
        expect(() => new RegExp(entry.match)).not.to.throw();
      }
    });
  }
});

describe('contract gate: judging changes', () => {
  const change = (over: Partial<Change>): Change => ({
    id: 'api-removed-without-deprecation',
    level: 3,
    operation: 'DELETE',
    path: '/shoppingCart/{id}',
    text: 'API removed without deprecation',
    ...over,
  });
  const entry: AllowEntry = {
    fixUp: 'f',
    id: 'api-removed-without-deprecation',
    match: '^DELETE /shoppingCart',
    count: 1,
    why: 'a reason long enough',
  };

  it('allows a breaking change its entry matches, and ignores non-breaking ones', () => {
    const result = judge([change({}), change({ level: 1, id: 'endpoint-added' })], [entry]);
    expect(result.allowed.map((a) => a.entry)).to.deep.equal([entry]);
    expect(result.refused).to.deep.equal([]);
    expect(result.stale).to.deep.equal([]);
  });

  it('refuses a breaking change no entry matches (other id, other operation, or a warning)', () => {
    const other = [change({ operation: 'GET' }), change({ id: 'request-property-removed', level: 2 })];
    const result = judge(other, [entry]);
    expect(result.refused).to.deep.equal(other);
  });

  it('leaves review-scoped entries to the review: the gate neither uses nor counts them', () => {
    const reviewOnly: AllowEntry = { ...entry, scope: 'review' };
    const result = judge([change({})], [reviewOnly]);
    expect(result.refused).to.have.length(1);
    expect(result.stale).to.deep.equal([]);
  });

  it('reports an entry that matches more or fewer changes than it allows', () => {
    expect(judge([], [entry]).stale).to.deep.equal([{ entry, matched: 0 }]);
    expect(judge([change({}), change({})], [entry]).stale).to.deep.equal([{ entry, matched: 2 }]);
  });
});

describe('contract changelog rendering', () => {
  it('folds repeats into one line, keeps noise apart from real breaks, and counts the rest', () => {
    const changes: Change[] = [200, 201].map((status) => ({
      id: 'response-media-type-parameter-removed',
      level: 3,
      operation: 'GET',
      path: '/shoppingCart',
      text: `the media type parameter \`charset\` was removed from \`application/json\` for the response status \`${status}\``,
    }));
    for (const op of ['POST /shoppingCart', 'PATCH /shoppingCart/{id}']) {
      for (const p of ['relatedParty/items/id', 'relatedParty/items/name']) {
        const [operation, path] = op.split(' ');
        changes.push({
          id: 'request-property-removed',
          level: 2,
          operation,
          path,
          text: `removed the request property \`${p}\``,
        });
      }
    }
    changes.push({ id: 'endpoint-added', level: 1, operation: 'GET', path: '/hub', text: 'endpoint added' });
    const md = renderChangelog(changes, { from: 'A', to: 'B', oasdiff: 'v0', servers: ['/a', '/b'] });
    const [breaking, rest] = md.split('## Noise');
    expect(breaking).to.contain('from `/a` to `/b`');
    expect(breaking).to.contain(
      '- removed the request property …: `relatedParty[].{id, name}` — _PATCH /shoppingCart/{id}, POST /shoppingCart_ (`request-property-removed`, 4×)',
    );
    expect(breaking).not.to.contain('charset');
    expect(rest).to.contain('**charset parameter dropped from `application/json`** (2 changes)');
    expect(rest).to.contain('| `endpoint-added` | 1 |');
    expect(md).to.contain('**4 breaking**, 2 breaking');
  });
});

describe('contract:diff over oasdiff', function () {
  this.timeout(120_000);
  if (!existsSync(oasdiffBinary())) {
    it('runs when oasdiff is built', function () {
      console.log(
        `      skipped the oasdiff cases: ${oasdiffBinary()} is not built (bash scripts/oasdiff/build.sh)`,
      );
      this.skip();
    });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'contract-test-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const version of apiVersions) {
    it(`the gate passes on ${version.name} with its allow-list`, async () => {
      const lines: string[] = [];
      expect(await gate(version, { log: (l) => lines.push(l) }), lines.join('\n')).to.equal(0);
      expect(lines[0]).to.match(new RegExp(`^gate ${version.name} .*, 0 breaking and not allowed$`));
    });
  }

  it('fails (exit 1) on a deliberately broken copy of the served v4 document, naming each change', () => {
    const broken = served('v4');
    delete broken.paths['/shoppingCart/{id}'].delete;
    broken.components.schemas.ShoppingCart_Create.required = ['cartItem'];
    const file = join(dir, 'broken-v4.json');
    writeFileSync(file, JSON.stringify(broken));
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/contract-diff.ts', 'gate', 'v4', '--served', file],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stdout + run.stderr).to.equal(1);
    expect(run.stdout).to.contain('2 breaking and not allowed');
    expect(run.stdout).to.contain(
      'NOT ALLOWED ERR  [api-removed-without-deprecation] DELETE /shoppingCart/{id}',
    );
    expect(run.stdout).to.match(
      /NOT ALLOWED ERR {2}\[request-property-became-required\] POST \/shoppingCart: .*`cartItem`/,
    );
  });

  it('fails on v5 when a change an entry allows is no longer made (stale entry)', async () => {
    const unfixed = served('v5');
    // Without one-of-by-type's wrapping, its four entries match nothing.
    const published = JSON.parse(JSON.stringify(unfixed)) as Json;
    for (const schema of Object.values(published.components.schemas as Record<string, Json>)) {
      if (!Array.isArray(schema.oneOf) || !schema.discriminator) continue;
      schema.oneOf = schema.oneOf.map((b: Json) => (b.allOf ? b.allOf[0] : b));
    }
    const file = join(dir, 'v5-without-one-of-by-type.json');
    writeFileSync(file, JSON.stringify(published));
    const lines: string[] = [];
    expect(await gate(apiVersion('v5'), { served: file, log: (l) => lines.push(l) })).to.equal(1);
    expect(lines.filter((l) => l.includes('STALE allow-list entry v5 one-of-by-type'))).to.have.length(4);
  });

  it('--base review: a breaking change against a commit fails and is named per operation', () => {
    const lines: string[] = [];
    const revision = (v: { name: string }): Json => {
      const doc = served(v.name);
      if (v.name === 'v4') delete doc.paths['/hub/{id}'].delete;
      return doc;
    };
    expect(review('HEAD', { log: (l) => lines.push(l), revision })).to.equal(1);
    expect(lines).to.include('  DELETE /hub/{id}');
    expect(lines).to.include(
      '    breaking: [api-removed-without-deprecation] API removed without deprecation',
    );
    expect(lines.find((l) => l.startsWith('v4: '))).to.match(/1 breaking \(1 not in the allow-list\)/);
  });

  it('--base review: finds the served document of a commit from before openapi/<version>/', function () {
    const oldLayout = spawnSync('git', ['log', '--format=%H', '-1', '--', 'generated/tmf663-openapi.json'], {
      cwd: root,
      encoding: 'utf8',
    }).stdout.trim();
    if (!oldLayout) {
      console.log(
        '      skipped: no commit with generated/tmf663-openapi.json in this history (a shallow clone)',
      );
      this.skip();
    }
    // The last commit that touched the old file is the one that moved it; its parent has it.
    const doc = servedAt(`${oldLayout}^`, apiVersion('v4'));
    expect(doc?.info.version).to.equal('4.0.0');
    expect(Object.keys(doc?.paths ?? {})).to.include('/shoppingCart/{id}');
    expect(servedAt(`${oldLayout}^`, apiVersion('v5'))).to.equal(null);
    const lines: string[] = [];
    expect(review(`${oldLayout}^`, { log: (l) => lines.push(l) })).to.equal(0);
    expect(lines).to.include(`v5: new since ${oldLayout}^, nothing to compare`);
  });
});
