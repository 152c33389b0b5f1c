/**
 * The only reader of process.env. loadConfig reads every setting of the table (table.ts),
 * validates each and the rules between them, and reports every problem at once, so a
 * misconfigured deployment fails at start-up with one clear message.
 */
import { Invalid } from './parsers.js';
import { settings, type ConfigTable, type Setting } from './table.js';

/** The configuration, grouped as the table is: config.http.port, config.events.maxAttempts, ... */
export type Config = {
  readonly [G in keyof ConfigTable]: {
    readonly [K in keyof ConfigTable[G]]: ConfigTable[G][K] extends Setting<infer T> ? T : never;
  };
};

/** The deepest JSON a cart may have on MongoDB (see loadConfig). */
export const mongoMaxJsonDepth = 45;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** One setting's value, or its problem. */
function read(row: Setting<unknown>, env: Env): { value: unknown; problem?: string } {
  let raw = env[row.variable];
  if (row.trim) raw = raw?.trim();
  if (raw === undefined || raw === '') raw = row.default;
  if (raw === undefined) return { value: undefined };
  const value = row.parse(raw);
  if (!(value instanceof Invalid)) return { value };
  // The default stands in, so the rules between settings can still be checked.
  const fallback = row.default === undefined ? undefined : row.parse(row.default);
  return {
    value: fallback instanceof Invalid ? undefined : fallback,
    problem: `${row.variable} ${value.mustBe}, got "${value.got ?? raw}"`,
  };
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const groups: Record<string, Record<string, unknown>> = {};
  for (const row of settings) {
    const { value, problem } = read(row, env);
    if (problem !== undefined) problems.push(problem);
    (groups[row.group] ??= {})[row.key] = value;
  }
  const config = groups as Config;
  problems.push(...crossChecks(config, env));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The configuration with every variable unset: the table's defaults. */
export const defaults: Config = loadConfig({});

/** Rules between settings (each setting on its own is valid). */
function crossChecks(config: Config, env: Env): string[] {
  const problems: string[] = [];
  if (config.store.kind === 'mongodb' && config.store.mongodbUri === undefined)
    problems.push('MONGODB_URI is required when STORE=mongodb');
  // No cart is stored deeper than JSON_MAX_DEPTH (bodies are checked, and so are patched carts).
  // MongoDB refuses documents nested over 100 levels, and the stored form can be about twice as
  // deep as the cart (arrays inside arrays are wrapped) plus the pending-event envelope around it.
  if (config.store.kind === 'mongodb' && config.http.jsonMaxDepth > mongoMaxJsonDepth) {
    problems.push(
      `JSON_MAX_DEPTH must be at most ${mongoMaxJsonDepth} with STORE=mongodb (MongoDB nests documents at most 100 levels deep), got "${env.JSON_MAX_DEPTH ?? ''}"`,
    );
  }
  if (config.auth.mode === 'jwt') problems.push(...jwtChecks(config.auth));
  return problems;
}

function jwtChecks({ jwksUrl, secret }: Config['auth']): string[] {
  const problems: string[] = [];
  if (jwksUrl === undefined && secret === undefined)
    problems.push('AUTH_MODE=jwt needs AUTH_JWKS_URL or AUTH_SECRET');
  if (jwksUrl !== undefined && secret !== undefined)
    problems.push('set only one of AUTH_JWKS_URL and AUTH_SECRET');
  if (jwksUrl !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(jwksUrl).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`AUTH_JWKS_URL must be an absolute http(s) URL, got "${jwksUrl}"`);
  }
  // RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output (256 bits).
  if (secret !== undefined && !secret.startsWith('-----BEGIN') && Buffer.byteLength(secret) < 32)
    problems.push('AUTH_SECRET must be a PEM public key or a shared secret of at least 32 bytes');
  return problems;
}
