/**
 * npm run deploy:check: the Helm chart checked by Helm itself. Builds the pinned Helm from the Go
 * module proxy (scripts/helm/build.sh), then for every values file of the chart runs
 * `helm lint --strict` and `helm template`, parses the rendered manifests and runs
 * scripts/manifest-checks.ts on them; and checks that Helm refuses the values the chart forbids.
 *
 * Ends with "deploy:check: N passed, N failed" (exit 1 on a failure). Without Go it prints why and
 * exits 3, so CI can report the step as skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { manifestChecks, type Expectations, type Manifest } from './manifest-checks.js';

const root = join(import.meta.dirname, '..');
const chart = join(root, 'deploy/helm/tmf663-shopping-cart');

/** Every values file of the chart, and what it must render. */
const variants: (Expectations & { file: string })[] = [
  {
    file: 'values.yaml',
    store: 'sqlite',
    kinds: ['ConfigMap', 'PersistentVolumeClaim', 'Service', 'Deployment', 'Component'],
  },
  {
    file: 'ci/mongodb-autoscaling-values.yaml',
    store: 'mongodb',
    kinds: ['ConfigMap', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'Component'],
  },
];

/** Values Helm must refuse to render, and the message it must give. */
const refusals: { name: string; set: string[]; message: RegExp }[] = [
  {
    name: 'autoscaling with SQLite',
    set: ['autoscaling.enabled=true'],
    message: /autoscaling needs store\.type=mongodb/,
  },
  {
    name: 'MongoDB without the Secret holding MONGODB_URI',
    set: ['store.type=mongodb'],
    message: /store\.mongodb\.uriSecret\.name is required/,
  },
];

let passed = 0;
let failed = 0;
const report = (name: string, problems: string[]): void => {
  if (problems.length === 0) {
    passed++;
    console.log(`  ok      ${name}`);
    return;
  }
  failed++;
  console.log(`  FAILED  ${name}`);
  for (const p of problems) console.log(`          - ${p}`);
};

const build = spawnSync('bash', [join(root, 'scripts/helm/build.sh')], { encoding: 'utf8' });
if (build.status === 3) {
  console.log(`deploy:check: SKIPPED: Helm cannot be built here (${build.stderr.trim()})`);
  process.exit(3);
}
if (build.status !== 0) {
  console.error(build.stderr);
  console.log('deploy:check: 0 passed, 1 failed (building Helm)');
  process.exit(1);
}
const helmBin = build.stdout.trim();

// Helm keeps its own state out of the home directory.
const home = mkdtempSync(join(tmpdir(), 'tmf663-helm-'));
const env = {
  ...process.env,
  HELM_CACHE_HOME: join(home, 'cache'),
  HELM_CONFIG_HOME: join(home, 'config'),
  HELM_DATA_HOME: join(home, 'data'),
};
const helm = (args: string[]): { ok: boolean; out: string; err: string } => {
  const r = spawnSync(helmBin, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
};

try {
  console.log(`deploy:check: ${helm(['version', '--short']).out.trim()} on ${chart.slice(root.length + 1)}`);

  const onDisk = [
    'values.yaml',
    ...readdirSync(join(chart, 'ci'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `ci/${f}`),
  ].sort();
  report(
    'every values file of the chart is checked',
    onDisk.filter((f) => !variants.some((v) => v.file === f)).map((f) => `${f} has no expectations here`),
  );

  for (const variant of variants) {
    console.log(`\n${variant.file}`);
    const values = ['--values', join(chart, variant.file)];
    const lint = helm(['lint', '--strict', chart, ...values]);
    report('helm lint --strict', lint.ok ? [] : [(lint.out + lint.err).trim()]);
    const rendered = helm(['template', 'release', chart, '--namespace', 'shop', ...values]);
    report('helm template', rendered.ok ? [] : [rendered.err.trim()]);
    if (!rendered.ok) continue;
    let docs: Manifest[];
    try {
      docs = yaml.loadAll(rendered.out).filter((d): d is Manifest => d !== null && typeof d === 'object');
      report('the rendered manifests parse as YAML', []);
    } catch (e) {
      report('the rendered manifests parse as YAML', [(e as Error).message]);
      continue;
    }
    for (const check of manifestChecks(variant)) report(check.name, check.run(docs));
  }

  console.log('\nrefused values');
  for (const refusal of refusals) {
    const r = helm(['template', 'release', chart, ...refusal.set.flatMap((s) => ['--set', s])]);
    report(
      `helm template refuses ${refusal.name}`,
      r.ok ? ['it rendered'] : refusal.message.test(r.err) ? [] : [`unexpected error: ${r.err.trim()}`],
    );
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}

console.log(`\ndeploy:check: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
