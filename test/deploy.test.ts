/**
 * What can be checked of the packaging without a container engine or helm: the Dockerfile's
 * shape, that every file it copies exists, that its HEALTHCHECK really probes a server, that
 * compose and every chart file parse as YAML, that the configuration they pass is one the server
 * accepts, and that the ODA Component declares the API, its spec, the events and /metrics. Chart
 * templates are rendered trivially: `.Values` look-ups are substituted, other actions replaced
 * by a placeholder and control lines dropped.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { loadConfig } from '../src/config.js';
import { eventTypes } from '../src/events/build-event.js';
import { basePath } from '../src/http/cart-routes.js';
import { startTestServer } from './support/server.js';

const root = join(import.meta.dirname, '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const chartDir = 'deploy/helm/tmf663-shopping-cart';
const specUrl =
  'https://raw.githubusercontent.com/tmforum-apis/TMF663_ShoppingCart/master/TMF663-ShoppingCart-v4.0.0.swagger.json';

type Doc = Record<string, any>;

/** Every environment variable src/config.ts reads. */
function configVariables(): string[] {
  const source = read('src/config.ts');
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:str|int|oneOf|duration|bool|opt)\(\s*'([A-Z][A-Z0-9_]+)'/g))
    names.add(m[1]!);
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  return [...names].sort();
}

function lookup(values: Doc, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Doc | undefined)?.[k], values);
}

/** Go-template truthiness: false, 0, nil and empty strings, lists and maps are false. */
const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === 0 || v === '') &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

/** Evaluates the small condition language the chart uses: eq, not, and, or, parentheses, .Values. */
function evaluate(expr: string, values: Doc): unknown {
  const tokens = expr.match(/\(|\)|"[^"]*"|[^\s()]+/g) ?? [];
  let i = 0;
  const term = (): unknown => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`unexpected end of "${expr}"`);
    if (t === '(') {
      const v = group();
      i++; // ')'
      return v;
    }
    if (t.startsWith('"')) return t.slice(1, -1);
    if (t.startsWith('.Values.')) return lookup(values, t.slice('.Values.'.length));
    if (/^\d+$/.test(t)) return Number(t);
    const args: unknown[] = [];
    while (i < tokens.length && tokens[i] !== ')') args.push(term());
    switch (t) {
      case 'eq':
        return args[0] === args[1];
      case 'not':
        return !truthy(args[0]);
      case 'and':
        return args.every(truthy);
      case 'or':
        return args.some(truthy);
      default:
        throw new Error(`the test renderer does not know "${t}" in "${expr}"`);
    }
  };
  const group = (): unknown => term();
  return group();
}

/**
 * A small stand-in for `helm template`, enough to check structure: if/else if/else/with blocks
 * are evaluated, range over a map is expanded, `.Values` look-ups are substituted, the fullname
 * helper gives a fixed name, any other action becomes a placeholder, and lines that hold only
 * actions (includes, toYaml) are dropped.
 */
function render(template: string, values: Doc): Doc[] {
  const lines = template.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '').split('\n');
  const out: string[] = [];
  const control = /^\s*\{\{-?\s*(if|else if|else|end|with|range)\b\s*(.*?)\s*-?\}\}\s*$/;
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = (): boolean => stack.every((b) => b.active);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const m = control.exec(line);
    if (m) {
      const [, keyword, expr = ''] = m;
      if (keyword === 'if' || keyword === 'with') {
        const on = active() && truthy(evaluate(expr, values));
        stack.push({ active: on, taken: on });
      } else if (keyword === 'else if' || keyword === 'else') {
        const top = stack.at(-1)!;
        const parent = stack.slice(0, -1).every((b) => b.active);
        const on = parent && !top.taken && (keyword === 'else' || truthy(evaluate(expr, values)));
        top.active = on;
        top.taken ||= on;
      } else if (keyword === 'range') {
        // {{- range $k, $v := .Values.map }} ... {{- end }}: one copy of the body per entry.
        const body: string[] = [];
        let depth = 1;
        while (++n < lines.length) {
          const inner = control.exec(lines[n]!);
          if (inner?.[1] === 'end' && --depth === 0) break;
          if (inner && ['if', 'with', 'range'].includes(inner[1]!)) depth++;
          body.push(lines[n]!);
        }
        const source = /:=\s*\.Values\.([\w.]+)/.exec(expr)?.[1] ?? '';
        if (active())
          for (const [k, v] of Object.entries((lookup(values, source) ?? {}) as Doc))
            for (const b of body)
              out.push(
                b
                  .replace(/\{\{\s*\$name\s*\}\}/g, k)
                  .replace(/\{\{\s*\$value[^}]*\}\}/g, JSON.stringify(String(v))),
              );
      } else stack.pop();
      continue;
    }
    if (!active()) continue;
    if (/^\s*\{\{-?\s*fail\b/.test(line)) throw new Error(`template fails: ${line.trim()}`);
    if (/^\s*(\{\{-?[^}]*-?\}\}\s*)+$/.test(line)) continue;
    out.push(
      line.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_, expr: string) => {
        const v = /^\.Values\.([\w.]+)(\s*\|\s*quote)?$/.exec(expr);
        if (v) {
          const value = lookup(values, v[1]!);
          if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
            return v[2] ? JSON.stringify(String(value)) : String(value);
        }
        const required = /^required\s+"([^"]*)"\s+\.Values\.([\w.]+)$/.exec(expr);
        if (required) {
          const value = lookup(values, required[2]!);
          if (!truthy(value)) throw new Error(`template fails: ${required[1]!}`);
          return String(value);
        }
        if (/include "tmf663\.fullname"/.test(expr)) return 'release-tmf663-shopping-cart';
        return 'rendered';
      }),
    );
  }
  expect(stack, 'balanced if/end').to.have.length(0);
  return yaml.loadAll(out.join('\n')).filter((d): d is Doc => d !== null && typeof d === 'object');
}

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

  it('passes a configuration the server accepts', () => {
    const env = compose.services.app.environment as Record<string, string>;
    const config = loadConfig(env);
    expect(config.store).to.equal('mongodb');
    expect(config.port).to.equal(8663);
    expect(config.shutdownGraceMs).to.be.below(20_000); // inside stop_grace_period
  });
});

describe('Helm chart', () => {
  const chart = yaml.load(read(`${chartDir}/Chart.yaml`)) as Doc;
  const values = yaml.load(read(`${chartDir}/values.yaml`)) as Doc;
  const templates = readdirSync(join(root, chartDir, 'templates')).filter((f) => f.endsWith('.yaml'));
  const renderAll = (v: Doc) =>
    new Map(templates.map((f) => [f, render(read(`${chartDir}/templates/${f}`), v)]));
  const rendered = renderAll(values);
  const mongoValues: Doc = {
    ...values,
    store: {
      ...values.store,
      type: 'mongodb',
      mongodb: { ...values.store.mongodb, uriSecret: { name: 'mongo', key: 'MONGODB_URI' } },
    },
    autoscaling: { ...values.autoscaling, enabled: true },
  };
  const renderedMongo = renderAll(mongoValues);
  const kind = (k: string, from = rendered): Doc => {
    const found = [...from.values()].flat().find((d) => d.kind === k);
    expect(found, `a ${k}`).to.be.an('object');
    return found!;
  };

  it('has a v2 Chart.yaml named like its folder', () => {
    expect(chart.apiVersion).to.equal('v2');
    expect(chart.name).to.equal('tmf663-shopping-cart');
    expect(chart.version).to.match(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).to.equal(JSON.parse(read('package.json')).version);
  });

  it('renders every template to Kubernetes objects, for SQLite and for MongoDB', () => {
    expect(templates).to.include.members([
      'deployment.yaml',
      'service.yaml',
      'configmap.yaml',
      'hpa.yaml',
      'pvc.yaml',
      'component.yaml',
    ]);
    for (const [variant, files, absent] of [
      ['sqlite', rendered, 'hpa.yaml'],
      ['mongodb', renderedMongo, 'pvc.yaml'],
    ] as const) {
      for (const [file, docs] of files) {
        if (file === absent) {
          expect(docs, `${variant}: ${file}`).to.have.length(0);
          continue;
        }
        expect(docs, `${variant}: ${file}`).to.have.length(1);
        expect(docs[0]!.apiVersion, file).to.be.a('string');
        expect(docs[0]!.kind, file).to.be.a('string');
        expect(docs[0]!.metadata.name, file).to.be.a('string');
      }
    }
  });

  it('runs SQLite as one pod on a claim, MongoDB as autoscaled pods with the URI from a Secret', () => {
    const sqlite = kind('Deployment').spec;
    expect(sqlite.replicas).to.equal(1);
    expect(sqlite.strategy.type).to.equal('Recreate');
    expect(sqlite.template.spec.volumes[0].persistentVolumeClaim.claimName).to.equal(
      kind('PersistentVolumeClaim').metadata.name,
    );
    const mongo = kind('Deployment', renderedMongo).spec;
    expect(mongo.replicas).to.equal(undefined); // the autoscaler owns it
    const env = mongo.template.spec.containers[0].env as Doc[];
    expect(env.find((e) => e.name === 'MONGODB_URI')?.valueFrom.secretKeyRef.name).to.equal('mongo');
    expect(mongo.template.spec.volumes[0].emptyDir).to.deep.equal({});
    expect(kind('HorizontalPodAutoscaler', renderedMongo).spec.scaleTargetRef.kind).to.equal('Deployment');
    expect(() =>
      render(read(`${chartDir}/templates/hpa.yaml`), { ...values, autoscaling: { enabled: true } }),
    ).to.throw(/autoscaling needs store.type=mongodb/);
  });

  it('gives the server a configuration it accepts (ConfigMap keys and values.yaml config)', () => {
    const data = kind('ConfigMap').data as Record<string, string>;
    const env: Record<string, string> = { ...values.config };
    for (const [k, v] of Object.entries(data)) if (/^[A-Z_]+$/.test(k)) env[k] = v;
    const config = loadConfig(env);
    expect(config.port).to.equal(values.service.port);
    expect(config.store).to.equal(values.store.type);
    expect(config.authMode).to.equal('off');
    const known = new Set(configVariables());
    for (const k of Object.keys(values.config as object))
      expect(known.has(k), `${k} is read by config.ts`).to.equal(true);
  });

  it('probes /health and /ready, runs non-root, and serves the Service port', () => {
    const deployment = kind('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.livenessProbe.httpGet.path).to.equal('/health');
    expect(container.readinessProbe.httpGet.path).to.equal('/ready');
    expect(container.startupProbe.httpGet.path).to.equal('/health');
    expect(pod.securityContext.runAsNonRoot).to.equal(true);
    expect(container.securityContext.readOnlyRootFilesystem).to.equal(true);
    expect(container.ports[0].containerPort).to.equal(values.service.port);
    expect(kind('Service').spec.ports[0].port).to.equal(values.service.port);
  });

  it('declares an ODA Component with TMF663, its spec, the three events and /metrics', () => {
    const component = kind('Component');
    expect(component.apiVersion).to.equal('oda.tmforum.org/v1');
    const [api, ...others] = component.spec.coreFunction.exposedAPIs as Doc[];
    expect(others).to.have.length(0);
    expect(api!.id).to.equal('TMF663');
    expect(api!.apiType).to.equal('openapi');
    expect(api!.path).to.equal(basePath);
    expect(api!.port).to.equal(values.service.port);
    expect(api!.specification).to.deep.equal([{ url: specUrl, version: 'v4.0.0' }]);
    const vendored = join(root, '..', 'shared', 'tmf663', 'spec');
    if (existsSync(vendored)) expect(readdirSync(vendored)).to.include(specUrl.split('/').at(-1));

    const published = (component.spec.eventNotification.publishedEvents as Doc[]).map(
      (e) => e.name as string,
    );
    expect(published).to.deep.equal(eventTypes.map((t) => t.toLowerCase()));
    expect(eventTypes).to.deep.equal([
      'ShoppingCartCreateEvent',
      'ShoppingCartAttributeValueChangeEvent',
      'ShoppingCartDeleteEvent',
    ]);
    const management = component.spec.managementFunction.exposedAPIs as Doc[];
    expect(management).to.deep.include({
      name: 'metrics',
      apiType: 'prometheus',
      implementation: 'release-tmf663-shopping-cart',
      path: '/metrics',
      port: values.service.port,
    });
  });
});

describe('README.md (Operations section)', () => {
  const doc = read('README.md');

  it('documents every configuration variable the server reads', () => {
    const variables = configVariables();
    expect(variables).to.include.members(['PORT', 'STORE', 'MONGODB_URI', 'AUTH_MODE', 'CLUSTER_WORKERS']);
    for (const name of variables) expect(doc, name).to.match(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
  });

  it('lists every metric the server registers', () => {
    const source = read('src/observability/metrics.ts');
    const names = [...source.matchAll(/name: '([a-z_0-9]+)'/g)].map((m) => m[1]!);
    expect(names.length).to.be.at.least(10);
    for (const name of names) expect(doc, name).to.contain(`\`${name}\``);
  });
});
