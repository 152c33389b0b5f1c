/**
 * The only reader of process.env. loadConfig validates every variable and reports every problem
 * at once, so a misconfigured deployment fails at start-up with one clear message.
 */
import type { RoundingMode } from './cart/pricing.js';

export interface Config {
  port: number;
  host: string;
  store: 'sqlite' | 'mongodb';
  sqlitePath: string;
  /** Longest a write waits for SQLite's write lock while other processes write (then 503). */
  sqliteLockTimeoutMs: number;
  mongodbUri: string | undefined;
  mongodbDb: string;
  publicBaseUrl: string | undefined;
  bodyLimit: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxPageSize: number;
  cartTtlMs: number;
  purgeIntervalMs: number;
  roundingMode: RoundingMode;
  notifyMaxAttempts: number;
  notifyTimeoutMs: number;
  notifyDenyPrivate: boolean;
  /** Deliveries on their way at once to one subscriber (different carts). */
  notifyConcurrency: number;
  /** Pending deliveries per subscriber beyond which the oldest are dead-lettered. */
  notifyMaxPending: number;
  notifyDeliveredRetentionMs: number;
  notifyDeadLetterRetentionMs: number;
  /** Whether this process delivers notifications (CLUSTER_WORKERS gives the role to one worker). */
  notifyDispatcher: boolean;

  /** `off` (default) serves everyone; `jwt` requires a bearer token (src/http/auth.ts). */
  authMode: 'off' | 'jwt';
  /** Where the signing keys are published (JWKS); or else authSecret. */
  authJwksUrl: string | undefined;
  /** An HS256 shared secret, or a PEM public key (local use). */
  authSecret: string | undefined;
  authIssuer: string | undefined;
  authAudience: string | undefined;
  /** The token claim holding the caller's party id; set, it limits callers to their own carts. */
  authOwnerClaim: string | undefined;
  /** Origins allowed by CORS; undefined = no CORS headers at all. `*` allows any origin. */
  corsOrigins: string[] | undefined;
  /** Express `trust proxy`: false, true, a hop count or a list of addresses/subnets. */
  trustProxy: boolean | number | string[];
  /** Deepest nesting of arrays and objects accepted in a JSON body. */
  jsonMaxDepth: number;
  /** Requests per minute per client IP; 0 = no limit. */
  rateLimitPerMin: number;
  /** Longest a request may take, receiving it and answering it. */
  requestTimeoutMs: number;
  /** On SIGTERM/SIGINT: how long in-flight requests and deliveries may take. */
  shutdownGraceMs: number;
  /** Worker processes sharing the port (node:cluster); 1 = no cluster. */
  clusterWorkers: number;
  /** How long an Idempotency-Key and its answer are kept (src/http/idempotency.ts). */
  idempotencyTtlMs: number;
}

/** JSON_MAX_DEPTH when it is not set. */
export const defaultJsonMaxDepth = 32;

/** SQLITE_LOCK_TIMEOUT_MS when it is not set. */
export const defaultSqliteLockTimeoutMs = 5000;

/** The deepest JSON a cart may have on MongoDB (see loadConfig). */
export const mongoMaxJsonDepth = 45;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Durations like 30d, 12h, 15m, 90s, 500ms, or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * factor;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };
  const duration = (name: string, fallback: string): number => {
    const raw = str(name, fallback);
    const ms = parseDuration(raw);
    if (ms === undefined || ms <= 0) {
      problems.push(`${name} must be a positive duration such as 30d, 12h, 90s or 500ms, got "${raw}"`);
      return parseDuration(fallback) ?? 0;
    }
    return ms;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };

  const store = oneOf('STORE', ['sqlite', 'mongodb'] as const, 'sqlite');
  const mongodbUri = env.MONGODB_URI === '' ? undefined : env.MONGODB_URI;
  if (store === 'mongodb' && mongodbUri === undefined)
    problems.push('MONGODB_URI is required when STORE=mongodb');

  let publicBaseUrl = env.PUBLIC_BASE_URL === '' ? undefined : env.PUBLIC_BASE_URL;
  if (publicBaseUrl !== undefined) {
    try {
      const u = new URL(publicBaseUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
      publicBaseUrl = publicBaseUrl.replace(/\/+$/, '');
    } catch {
      problems.push(`PUBLIC_BASE_URL must be an absolute http(s) URL, got "${publicBaseUrl}"`);
      publicBaseUrl = undefined;
    }
  }
  const bodyLimit = str('BODY_LIMIT', '1mb');
  if (!/^\d+(b|kb|mb)?$/i.test(bodyLimit))
    problems.push(`BODY_LIMIT must look like 1mb, 512kb or 1048576, got "${bodyLimit}"`);

  const config: Config = {
    port: int('PORT', 8663, 0, 65535),
    host: str('HOST', '0.0.0.0'),
    store,
    sqlitePath: str('SQLITE_PATH', './data/shopping-cart.db'),
    sqliteLockTimeoutMs: int('SQLITE_LOCK_TIMEOUT_MS', defaultSqliteLockTimeoutMs, 1, 600_000),
    mongodbUri,
    mongodbDb: str('MONGODB_DB', 'shopping_cart'),
    publicBaseUrl,
    bodyLimit,
    logLevel: oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    maxPageSize: int('MAX_PAGE_SIZE', 1000, 1, 100_000),
    cartTtlMs: duration('CART_TTL', '30d'),
    purgeIntervalMs: duration('PURGE_INTERVAL', '60s'),
    roundingMode: oneOf('ROUNDING_MODE', ['half-even', 'half-up'] as const, 'half-even'),
    notifyMaxAttempts: int('NOTIFY_MAX_ATTEMPTS', 10, 1, 100),
    notifyTimeoutMs: int('NOTIFY_TIMEOUT_MS', 5000, 1, 600_000),
    notifyDenyPrivate: bool('NOTIFY_DENY_PRIVATE', false),
    notifyConcurrency: int('NOTIFY_CONCURRENCY', 32, 1, 1000),
    notifyMaxPending: int('NOTIFY_MAX_PENDING', 100_000, 1, 100_000_000),
    notifyDeliveredRetentionMs: duration('NOTIFY_DELIVERED_RETENTION', '1h'),
    notifyDeadLetterRetentionMs: duration('NOTIFY_DEAD_LETTER_RETENTION', '7d'),
    notifyDispatcher: bool('NOTIFY_DISPATCHER', true),
    ...authConfig(env, problems),
    corsOrigins: list(env.CORS_ORIGINS),
    trustProxy: trustProxy(env.TRUST_PROXY, problems),
    jsonMaxDepth: int('JSON_MAX_DEPTH', defaultJsonMaxDepth, 1, 1000),
    rateLimitPerMin: int('RATE_LIMIT_PER_MIN', 0, 0, 10_000_000),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 30_000, 1, 3_600_000),
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    clusterWorkers: int('CLUSTER_WORKERS', 1, 1, 256),
    idempotencyTtlMs: duration('IDEMPOTENCY_TTL', '24h'),
  };
  // No cart is stored deeper than JSON_MAX_DEPTH (bodies are checked, and so are patched carts).
  // MongoDB refuses documents nested over 100 levels, and the stored form can be about twice as
  // deep as the cart (arrays inside arrays are wrapped) plus the pending-event envelope around it.
  if (config.store === 'mongodb' && config.jsonMaxDepth > mongoMaxJsonDepth) {
    problems.push(
      `JSON_MAX_DEPTH must be at most ${mongoMaxJsonDepth} with STORE=mongodb (MongoDB nests documents at most 100 levels deep), got "${env.JSON_MAX_DEPTH ?? ''}"`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A comma-separated list, trimmed, empty entries dropped; undefined when unset or empty. */
function list(raw: string | undefined): string[] | undefined {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length === 0 ? undefined : items;
}

function trustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || raw.trim() === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 100) problems.push(`TRUST_PROXY hop count must be at most 100, got "${raw}"`);
    return hops;
  }
  const entries = list(raw) ?? [];
  const bad = entries.filter(
    (e) => !/^[0-9A-Fa-f:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(e),
  );
  if (bad.length > 0)
    problems.push(
      `TRUST_PROXY must be true, false, a hop count or addresses/subnets, got "${bad.join(', ')}"`,
    );
  return entries;
}

type AuthConfig = Pick<
  Config,
  'authMode' | 'authJwksUrl' | 'authSecret' | 'authIssuer' | 'authAudience' | 'authOwnerClaim'
>;

function authConfig(env: Record<string, string | undefined>, problems: string[]): AuthConfig {
  const opt = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const mode = opt('AUTH_MODE') ?? 'off';
  if (mode !== 'off' && mode !== 'jwt') problems.push(`AUTH_MODE must be one of off, jwt, got "${mode}"`);
  const config: AuthConfig = {
    authMode: mode === 'jwt' ? 'jwt' : 'off',
    authJwksUrl: opt('AUTH_JWKS_URL'),
    // A PEM keeps its line breaks; env files often carry them as literal "\n".
    authSecret: opt('AUTH_SECRET')?.replaceAll('\\n', '\n'),
    authIssuer: opt('AUTH_ISSUER'),
    authAudience: opt('AUTH_AUDIENCE'),
    authOwnerClaim: opt('AUTH_OWNER_CLAIM'),
  };
  if (config.authMode !== 'jwt') return config;
  const { authJwksUrl: jwks, authSecret: secret } = config;
  if (jwks === undefined && secret === undefined)
    problems.push('AUTH_MODE=jwt needs AUTH_JWKS_URL or AUTH_SECRET');
  if (jwks !== undefined && secret !== undefined)
    problems.push('set only one of AUTH_JWKS_URL and AUTH_SECRET');
  if (jwks !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(jwks).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`AUTH_JWKS_URL must be an absolute http(s) URL, got "${jwks}"`);
  }
  // RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output (256 bits).
  if (secret !== undefined && !secret.startsWith('-----BEGIN') && Buffer.byteLength(secret) < 32)
    problems.push('AUTH_SECRET must be a PEM public key or a shared secret of at least 32 bytes');
  return config;
}
