/**
 * What can be checked of the packaging without a container engine: the Dockerfile's shape, that
 * every file it copies exists, that its HEALTHCHECK really probes a server, that compose and the
 * chart's own files parse as YAML and pass configuration the server accepts. The chart's
 * templates are rendered by Helm itself in `npm run deploy:check` (scripts/deploy-check.ts);
 * here the checks it runs on the rendered manifests (scripts/manifest-checks.ts) are shown to
 * pass on a correct manifest set and to fail on each kind of mistake.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { loadConfig } from '../src/config/config.js';
import { settings } from '../src/config/table.js';
import { eventTypes } from '../src/events/build-event.js';
import { createMetrics } from '../src/observability/metrics.js';
import { v4 } from '../src/spec/v4.js';
import { manifestChecks, specUrl } from '../scripts/manifest-checks.js';
import { startTestServer } from './support/server.js';

const { basePath } = v4;

const root = join(import.meta.dirname, '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const chartDir = 'deploy/helm/tmf663-shopping-cart';

type Doc = Record<string, any>;

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages = instructions.filter((l) => /^FROM\s/i.test(l));
  const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

  it('is multi-stage on node:20-bookworm-slim with a native toolchain in the build stage', () => {
    expect(stages.length).to.be.at.least(2);
    expect(stages.every((s) => / AS \w+/i.test(s))).to.equal(true);
    expect(dockerfile).to.match(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    const build = instructions.slice(0, instructions.indexOf(stages[1]!)).join('\n');
    expect(build).to.match(/apt-get install .*python3 make g\+\+/);
    expect(build).to.match(/RUN npm ci$/m);
    expect(build).to.match(/RUN npm run build/);
  });

  it('installs production dependencies only, runs as a non-root user, and probes /health', () => {
    expect(dockerfile).to.contain('npm ci --omit=dev');
    const user = runtime.find((l) => /^USER\s/i.test(l));
    expect(user, 'USER in the runtime stage').to.be.a('string');
    expect(user).to.not.match(/^USER\s+(root|0)(:|$)/i);
    expect(runtime.some((l) => /^HEALTHCHECK\s.*\/health/.test(l))).to.equal(true);
    expect(runtime).to.include('EXPOSE 8663');
    expect(runtime.some((l) => /^VOLUME\s.*\/data/.test(l))).to.equal(true);
    expect(runtime.join('\n')).to.not.match(/apt-get install|g\+\+/);
  });

  it('starts what `npm run build` produces, and copies only files that exist', () => {
    const cmd = runtime.find((l) => l.startsWith('CMD '));
    expect(JSON.parse(cmd!.slice(4))).to.deep.equal(['node', 'dist/src/main.js']);
    expect(JSON.parse(read('package.json')).scripts.start).to.contain('dist/src/main.js');
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignored).to.include.members(['node_modules', 'dist', '.git']);
    for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const parts = line.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(1, -1)) {
        expect(existsSync(join(root, source)), `${source} exists`).to.equal(true);
        expect(ignored, `${source} is not in .dockerignore`).to.not.include(source);
      }
    }
  });

  it('has a HEALTHCHECK that passes against a live server and fails without one', async () => {
    const line = runtime.find((l) => l.startsWith('HEALTHCHECK'))!;
    const argv = JSON.parse(line.slice(line.indexOf('CMD ') + 4)) as string[];
    expect(argv[0]).to.equal('node');
    const run = promisify(execFile);
    const server = await startTestServer();
    try {
      await run(process.execPath, argv.slice(1), { env: { ...process.env, PORT: String(server.port) } });
    } finally {
      await server.stop();
    }
    const down = await run(process.execPath, argv.slice(1), {
      env: { ...process.env, PORT: String(server.port) },
    }).then(
      () => 0,
      (e: unknown) => (e as { code?: number }).code,
    );
    expect(down).to.equal(1);
  });
});

describe('docker-compose.yml', () => {
  const compose = yaml.load(read('docker-compose.yml')) as Doc;

  it('runs the app on mongo:7, started once MongoDB is healthy', () => {
    expect(compose.services.mongo.image).to.equal('mongo:7');
    expect(compose.services.mongo.healthcheck.test).to.be.an('array');
    const app = compose.services.app;
    expect(app.build).to.equal('.');
    expect(app.depends_on.mongo.condition).to.equal('service_healthy');
    expect(app.ports).to.include('8663:8663');
    expect(app.environment.STORE).to.equal('mongodb');
    expect(app.environment.MONGODB_URI).to.match(/^mongodb:\/\/mongo:27017/);
  });

  it('passes only settings the server reads, with values it accepts', () => {
    const env = compose.services.app.environment as Record<string, string>;
    const known = new Set(settings.map((s) => s.variable));
    expect(
      Object.keys(env).filter((k) => !known.has(k)),
      'not settings of src/config/table.ts',
    ).to.deep.equal([]);
    const config = loadConfig(env);
    expect(config.store.kind).to.equal('mongodb');
    expect(config.http.port).to.equal(8663);
    expect(config.process.shutdownGraceMs).to.be.below(20_000); // inside stop_grace_period
  });
});

describe('Helm chart (its own files; Helm renders it in npm run deploy:check)', () => {
  const chart = yaml.load(read(`${chartDir}/Chart.yaml`)) as Doc;
  const values = yaml.load(read(`${chartDir}/values.yaml`)) as Doc;

  it('has a v2 Chart.yaml named like its folder', () => {
    expect(chart.apiVersion).to.equal('v2');
    expect(chart.name).to.equal('tmf663-shopping-cart');
    expect(chart.version).to.match(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).to.equal(JSON.parse(read('package.json')).version);
  });

  it('sets only configuration variables the server reads, in every values file', () => {
    const known = new Set(settings.map((s) => s.variable));
    const files = ['values.yaml', ...readdirSync(join(root, chartDir, 'ci')).map((f) => `ci/${f}`)];
    expect(files).to.include('ci/mongodb-autoscaling-values.yaml');
    for (const file of files) {
      const config = ((yaml.load(read(`${chartDir}/${file}`)) as Doc).config ?? {}) as Doc;
      for (const k of Object.keys(config))
        expect(known.has(k), `${file}: ${k} is a setting of src/config/table.ts`).to.equal(true);
    }
    expect(loadConfig(values.config as Record<string, string>).store.kind).to.equal('sqlite');
  });

  it('points the ODA Component at the vendored TMF663 document', () => {
    expect(read(`${chartDir}/templates/component.yaml`)).to.contain(specUrl);
    const vendored = join(root, '..', 'shared', 'tmf663', 'spec');
    if (existsSync(vendored)) expect(readdirSync(vendored)).to.include(specUrl.split('/').at(-1));
  });
});

describe('Rendered manifest checks (scripts/manifest-checks.ts)', () => {
  const port = 8663;
  const name = 'release-tmf663-shopping-cart';
  const labels = {
    'app.kubernetes.io/name': 'tmf663-shopping-cart',
    'app.kubernetes.io/instance': 'release',
  };
  /** A correct SQLite manifest set, as the chart renders it (reduced to what is checked). */
  const good = (): Doc[] => [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: { PORT: String(port), HOST: '0.0.0.0', STORE: 'sqlite', SQLITE_PATH: '/data/c.db' },
    },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${name}-data` } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: labels, ports: [{ port }] } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1000 },
            containers: [
              {
                name: 'shopping-cart',
                ports: [{ name: 'http', containerPort: port }],
                envFrom: [{ configMapRef: { name } }],
                startupProbe: { httpGet: { path: '/health', port: 'http' } },
                livenessProbe: { httpGet: { path: '/health', port: 'http' } },
                readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              },
            ],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } }],
          },
        },
      },
    },
    {
      apiVersion: 'oda.tmforum.org/v1',
      kind: 'Component',
      metadata: { name },
      spec: {
        coreFunction: {
          exposedAPIs: [
            { id: 'TMF663', path: basePath, port, specification: [{ url: specUrl, version: 'v4.0.0' }] },
          ],
        },
        eventNotification: {
          publishedEvents: eventTypes.map((t) => ({ name: t.toLowerCase(), path: `${basePath}/hub` })),
        },
        managementFunction: { exposedAPIs: [{ apiType: 'prometheus', path: '/metrics', port }] },
      },
    },
  ];
  const expectations = {
    store: 'sqlite' as const,
    kinds: ['ConfigMap', 'PersistentVolumeClaim', 'Service', 'Deployment', 'Component'],
  };
  const failures = (docs: Doc[]) =>
    manifestChecks(expectations)
      .map((c) => ({ name: c.name, problems: c.run(docs) }))
      .filter((r) => r.problems.length > 0);
  const container = (docs: Doc[]): Doc =>
    docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0];
  const component = (docs: Doc[]): Doc => docs.find((d) => d.kind === 'Component')!.spec;

  it('pass on a correct manifest set', () => {
    expect(failures(good())).to.deep.equal([]);
  });

  const mistakes: [string, RegExp, (docs: Doc[]) => void][] = [
    [
      'readiness on /health',
      /readinessProbe is not an HTTP GET of \/ready/,
      (d) => {
        container(d).readinessProbe.httpGet.path = '/health';
      },
    ],
    [
      'no liveness probe',
      /livenessProbe is not/,
      (d) => {
        delete container(d).livenessProbe;
      },
    ],
    [
      'a probe on an undeclared port',
      /port metrics is not declared/,
      (d) => {
        container(d).startupProbe.httpGet.port = 'metrics';
      },
    ],
    [
      'root',
      /runs as uid 0/,
      (d) => {
        container(d).securityContext.runAsUser = 0;
      },
    ],
    [
      'no runAsNonRoot',
      /runAsNonRoot is not true/,
      (d) => {
        delete d.find((x) => x.kind === 'Deployment')!.spec.template.spec.securityContext.runAsNonRoot;
      },
    ],
    [
      'privilege escalation',
      /allowPrivilegeEscalation/,
      (d) => {
        container(d).securityContext.allowPrivilegeEscalation = true;
      },
    ],
    [
      'no memory limit',
      /resources.limits.memory is not set/,
      (d) => {
        container(d).resources.limits = {};
      },
    ],
    [
      'no resources',
      /resources.requests.cpu is not set/,
      (d) => {
        delete container(d).resources;
      },
    ],
    [
      'another API id',
      /no exposed API with id TMF663/,
      (d) => {
        component(d).coreFunction.exposedAPIs[0].id = 'TMF622';
      },
    ],
    [
      'a missing event',
      /published events/,
      (d) => {
        component(d).eventNotification.publishedEvents.pop();
      },
    ],
    [
      'a variable the server does not read',
      /PORTT is not a setting of the server/,
      (d) => {
        d.find((x) => x.kind === 'ConfigMap')!.data.PORTT = '8663';
      },
    ],
    [
      'a configuration the server refuses',
      /STORE must be one of/,
      (d) => {
        d.find((x) => x.kind === 'ConfigMap')!.data.STORE = 'postgres';
      },
    ],
    [
      'an unexpected kind',
      /kinds .*Ingress.*; expected/,
      (d) => {
        d.push({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name } });
      },
    ],
    [
      'SQLite rolled over two pods',
      /replicas 2, expected 1/,
      (d) => {
        d.find((x) => x.kind === 'Deployment')!.spec.replicas = 2;
      },
    ],
    [
      'a Service selecting nothing',
      /selects no Deployment/,
      (d) => {
        d.find((x) => x.kind === 'Service')!.spec.selector = { app: 'other' };
      },
    ],
  ];
  for (const [mistake, message, apply] of mistakes) {
    it(`fail on ${mistake}`, () => {
      const docs = good();
      apply(docs);
      const found = failures(docs);
      expect(found, mistake).to.have.length(1);
      expect(found[0]!.problems.join('\n')).to.match(message);
    });
  }
});

describe('docs/operations.md', () => {
  const doc = read('docs/operations.md');

  it('lists every metric the server registers', () => {
    // The server's own, without the process defaults of prom-client (documented as a group).
    const names = createMetrics(() => 'unmatched')
      .registry.getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => /^(tmf663_|http_)/.test(name));
    expect(names.length).to.be.at.least(10);
    for (const name of names) expect(doc, name).to.contain(`\`${name}\``);
  });
});
