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
}

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
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
