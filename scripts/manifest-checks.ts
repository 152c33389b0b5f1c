/**
 * Checks of rendered Kubernetes manifests (what `helm template` prints), used by
 * `npm run deploy:check` (scripts/deploy-check.ts) on every values file of the chart. Each check
 * returns its problems; none means it passed.
 */
import { loadConfig } from '../src/config/config.js';
import { settings } from '../src/config/table.js';
import { eventTypes } from '../src/events/build-event.js';
import { v4 } from '../src/spec/v4.js';

const { basePath } = v4;

export type Manifest = Record<string, any>;

/** The published TMF663 v4.0.0 document the ODA Component points at. */
export const specUrl =
  'https://raw.githubusercontent.com/tmforum-apis/TMF663_ShoppingCart/master/TMF663-ShoppingCart-v4.0.0.swagger.json';

export interface ManifestCheck {
  name: string;
  run: (docs: Manifest[]) => string[];
}

export interface Expectations {
  /** Every kind the values must render, and nothing else. */
  kinds: string[];
  /** The store the server is configured for. */
  store: 'sqlite' | 'mongodb';
}

const ofKind = (docs: Manifest[], kind: string): Manifest[] => docs.filter((d) => d.kind === kind);

/** Every container of every workload, named for messages. */
function containers(docs: Manifest[]): { where: string; pod: Manifest; container: Manifest }[] {
  return ofKind(docs, 'Deployment').flatMap((d) => {
    const pod = (d.spec?.template?.spec ?? {}) as Manifest;
    return ((pod.containers ?? []) as Manifest[]).map((container) => ({
      where: `Deployment ${String(d.metadata?.name)} container ${String(container.name)}`,
      pod,
      container,
    }));
  });
}

/** The environment a container gets: its ConfigMaps, then `env` (secrets as placeholders). */
function environment(docs: Manifest[], container: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as Manifest[]) {
    const name = from.configMapRef?.name as string | undefined;
    const map = ofKind(docs, 'ConfigMap').find((m) => m.metadata?.name === name);
    Object.assign(env, map?.data ?? {});
  }
  for (const e of (container.env ?? []) as Manifest[]) {
    const name = e.name as string;
    if (typeof e.value === 'string') env[name] = e.value;
    else if (e.valueFrom?.secretKeyRef !== undefined)
      env[name] =
        name === 'MONGODB_URI' ? 'mongodb://from-secret:27017' : 'from-secret-0123456789abcdef0123456789';
  }
  return env;
}

export function manifestChecks(expect: Expectations): ManifestCheck[] {
  return [
    {
      name: 'every document is a named Kubernetes object of the expected kinds',
      run: (docs) => {
        const problems = docs
          .filter((d) => typeof d.apiVersion !== 'string' || typeof d.kind !== 'string' || !d.metadata?.name)
          .map((d) => `not a named Kubernetes object: ${JSON.stringify(d).slice(0, 80)}`);
        const kinds = docs.map((d) => String(d.kind)).sort();
        if (JSON.stringify(kinds) !== JSON.stringify([...expect.kinds].sort()))
          problems.push(`kinds ${kinds.join(', ')}; expected ${[...expect.kinds].sort().join(', ')}`);
        return problems;
      },
    },
    {
      name: 'probes: liveness and startup on /health, readiness on /ready, on a declared port',
      run: (docs) => {
        const all = containers(docs);
        if (all.length === 0) return ['no Deployment container'];
        return all.flatMap(({ where, container }) => {
          const problems: string[] = [];
          const ports = ((container.ports ?? []) as Manifest[]).flatMap((p) => [p.name, p.containerPort]);
          const expected = { livenessProbe: '/health', startupProbe: '/health', readinessProbe: '/ready' };
          for (const [probe, path] of Object.entries(expected)) {
            const get = container[probe]?.httpGet as Manifest | undefined;
            if (get?.path !== path) problems.push(`${where}: ${probe} is not an HTTP GET of ${path}`);
            else if (!ports.includes(get.port))
              problems.push(`${where}: ${probe} port ${String(get.port)} is not declared`);
          }
          return problems;
        });
      },
    },
    {
      name: 'runs as non-root, without privilege escalation',
      run: (docs) =>
        containers(docs).flatMap(({ where, pod, container }) => {
          const problems: string[] = [];
          const podCtx = (pod.securityContext ?? {}) as Manifest;
          const ctx = (container.securityContext ?? {}) as Manifest;
          if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true)
            problems.push(`${where}: runAsNonRoot is not true`);
          if ((ctx.runAsUser ?? podCtx.runAsUser) === 0) problems.push(`${where}: runs as uid 0`);
          if (ctx.privileged === true) problems.push(`${where}: privileged`);
          if (ctx.allowPrivilegeEscalation !== false)
            problems.push(`${where}: allowPrivilegeEscalation is not false`);
          return problems;
        }),
    },
    {
      name: 'resources: CPU and memory requests and a memory limit',
      run: (docs) =>
        containers(docs).flatMap(({ where, container }) => {
          const r = (container.resources ?? {}) as Manifest;
          const missing = [
            ['requests.cpu', r.requests?.cpu],
            ['requests.memory', r.requests?.memory],
            ['limits.memory', r.limits?.memory],
          ].filter(([, v]) => v === undefined || v === null || v === '');
          return missing.map(([k]) => `${where}: resources.${String(k)} is not set`);
        }),
    },
    {
      name: 'ODA Component: exposes TMF663 at the base path and publishes its three events',
      run: (docs) => {
        const [component, ...more] = ofKind(docs, 'Component');
        if (!component || more.length > 0) return ['expected exactly one ODA Component'];
        const problems: string[] = [];
        if (component.apiVersion !== 'oda.tmforum.org/v1')
          problems.push(`apiVersion ${String(component.apiVersion)}`);
        const port = ofKind(docs, 'Service')[0]?.spec?.ports?.[0]?.port as unknown;
        const apis = (component.spec?.coreFunction?.exposedAPIs ?? []) as Manifest[];
        const api = apis.find((a) => a.id === 'TMF663');
        if (!api) problems.push('no exposed API with id TMF663');
        else {
          if (api.path !== basePath) problems.push(`TMF663 path ${String(api.path)}, expected ${basePath}`);
          if (api.port !== port)
            problems.push(`TMF663 port ${String(api.port)} is not the Service port ${String(port)}`);
          const spec = JSON.stringify(api.specification);
          if (spec !== JSON.stringify([{ url: specUrl, version: 'v4.0.0' }]))
            problems.push(`TMF663 specification ${spec} is not the published v4.0.0 document`);
        }
        const management = (component.spec?.managementFunction?.exposedAPIs ?? []) as Manifest[];
        if (!management.some((m) => m.apiType === 'prometheus' && m.path === '/metrics' && m.port === port))
          problems.push('no prometheus management API at /metrics on the Service port');
        const events = (component.spec?.eventNotification?.publishedEvents ?? []) as Manifest[];
        const names = events.map((e) => e.name as unknown);
        const expected = eventTypes.map((t) => t.toLowerCase());
        if (JSON.stringify(names) !== JSON.stringify(expected))
          problems.push(`published events ${JSON.stringify(names)}, expected ${JSON.stringify(expected)}`);
        for (const e of events)
          if (e.path !== `${basePath}/hub`)
            problems.push(`event ${String(e.name)} path ${String(e.path)} is not the hub`);
        return problems;
      },
    },
    {
      name: 'the pods get only variables the server reads (src/config/table.ts)',
      run: (docs) => {
        const known = new Set(settings.map((s) => s.variable));
        return containers(docs).flatMap(({ where, container }) =>
          Object.keys(environment(docs, container))
            .filter((name) => !known.has(name))
            .map((name) => `${where}: ${name} is not a setting of the server`),
        );
      },
    },
    {
      name: 'the configuration the pods get is one the server accepts',
      run: (docs) =>
        containers(docs).flatMap(({ where, container }) => {
          try {
            const config = loadConfig(environment(docs, container));
            return config.store.kind === expect.store
              ? []
              : [`${where}: STORE is ${config.store.kind}, expected ${expect.store}`];
          } catch (e) {
            return [`${where}: ${(e as Error).message}`];
          }
        }),
    },
    {
      name:
        expect.store === 'sqlite'
          ? 'SQLite: one pod, replaced (not rolled), its file on the claim'
          : 'MongoDB: the URI from a Secret, no claim',
      run: (docs) => {
        const problems: string[] = [];
        for (const d of ofKind(docs, 'Deployment')) {
          const pod = (d.spec?.template?.spec ?? {}) as Manifest;
          const data = ((pod.volumes ?? []) as Manifest[]).find((v) => v.name === 'data');
          const env = ((pod.containers?.[0]?.env ?? []) as Manifest[]).find((e) => e.name === 'MONGODB_URI');
          if (expect.store === 'sqlite') {
            if (d.spec?.replicas !== 1) problems.push(`replicas ${String(d.spec?.replicas)}, expected 1`);
            if (d.spec?.strategy?.type !== 'Recreate') problems.push('the strategy is not Recreate');
            const claims = ofKind(docs, 'PersistentVolumeClaim').map((c) => c.metadata?.name as unknown);
            if (!claims.includes(data?.persistentVolumeClaim?.claimName))
              problems.push("the data volume is not the chart's PersistentVolumeClaim");
          } else {
            if (!env?.valueFrom?.secretKeyRef?.name) problems.push('MONGODB_URI does not come from a Secret');
            if (data?.persistentVolumeClaim !== undefined) problems.push('the data volume is a claim');
          }
        }
        return problems;
      },
    },
    {
      name: 'the Service selects the pods, and an autoscaler owns the replica count',
      run: (docs) => {
        const problems: string[] = [];
        for (const service of ofKind(docs, 'Service')) {
          const selector = (service.spec?.selector ?? {}) as Record<string, string>;
          const selects = ofKind(docs, 'Deployment').some((d) => {
            const labels = (d.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
            return (
              Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
            );
          });
          if (!selects)
            problems.push(`Service ${String(service.metadata?.name)} selects no Deployment's pods`);
        }
        for (const hpa of ofKind(docs, 'HorizontalPodAutoscaler')) {
          const target = hpa.spec?.scaleTargetRef as Manifest | undefined;
          const deployment = ofKind(docs, 'Deployment').find((d) => d.metadata?.name === target?.name);
          if (target?.kind !== 'Deployment' || !deployment)
            problems.push('the autoscaler targets no Deployment');
          else if (deployment.spec?.replicas !== undefined)
            problems.push('the Deployment sets replicas although an autoscaler owns them');
        }
        return problems;
      },
    },
  ];
}
