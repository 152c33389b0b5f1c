// The configuration table (src/config/table.ts) and what is derived from it: loadConfig's
// defaults, parsing and errors, and the table of docs/operations.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, defaults, loadConfig } from '../../src/config/config.js';
import { generatedPart, normalise, renderConfigTable } from '../../src/config/docs.js';
import { parseDuration } from '../../src/config/parsers.js';
import { settings } from '../../src/config/table.js';

/** The problems loadConfig reports for an environment (none: it accepted it). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
}

describe('config: the table', () => {
  it('names each variable once, and each default is a value its parser accepts', () => {
    const names = settings.map((s) => s.variable);
    expect(new Set(names).size).to.equal(names.length);
    expect(names).to.include.members(['PORT', 'STORE', 'MONGODB_URI', 'AUTH_MODE', 'CLUSTER_WORKERS']);
    for (const s of settings)
      if (s.default !== undefined)
        expect(problems({ [s.variable]: s.default }), s.variable).to.deep.equal([]);
  });

  it('gives the documented defaults with nothing set', () => {
    expect(loadConfig({})).to.deep.equal(defaults);
    expect(defaults.http).to.deep.include({
      port: 8663,
      host: '0.0.0.0',
      publicBaseUrl: undefined,
      bodyLimit: '1mb',
      jsonMaxDepth: 32,
      maxPageSize: 1000,
      corsOrigins: undefined,
      trustProxy: false,
      rateLimitPerMin: 0,
      requestTimeoutMs: 30_000,
      idempotencyTtlMs: 86_400_000,
    });
    expect(defaults.store).to.deep.equal({
      kind: 'sqlite',
      sqlitePath: './data/shopping-cart.db',
      sqliteLockTimeoutMs: 5000,
      mongodbUri: undefined,
      mongodbDb: 'shopping_cart',
    });
    expect(defaults.carts).to.deep.equal({
      ttlMs: 30 * 86_400_000,
      purgeIntervalMs: 60_000,
      roundingMode: 'half-even',
    });
    expect(defaults.events).to.deep.include({ maxAttempts: 10, timeoutMs: 5000, denyPrivate: false });
    expect(defaults.auth.mode).to.equal('off');
    expect(defaults.process).to.deep.equal({ logLevel: 'info', shutdownGraceMs: 10_000, clusterWorkers: 1 });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', STORE: '', CART_TTL: '', MONGODB_URI: '', AUTH_MODE: '  ' })).to.deep.equal(
      defaults,
    );
  });
});

describe('config: parsing', () => {
  it('reads integers, choices, durations, booleans and lists', () => {
    const c = loadConfig({
      PORT: '0',
      STORE: 'mongodb',
      MONGODB_URI: 'mongodb://db:27017',
      CART_TTL: '12h',
      PURGE_INTERVAL: '500ms',
      IDEMPOTENCY_TTL: '90',
      NOTIFY_DENY_PRIVATE: '1',
      CORS_ORIGINS: ' https://a.example , ,https://b.example',
      ROUNDING_MODE: 'half-up',
    });
    expect(c.http.port).to.equal(0);
    expect(c.store).to.deep.include({ kind: 'mongodb', mongodbUri: 'mongodb://db:27017' });
    expect(c.carts).to.deep.equal({ ttlMs: 43_200_000, purgeIntervalMs: 500, roundingMode: 'half-up' });
    expect(c.http.idempotencyTtlMs).to.equal(90);
    expect(c.events.denyPrivate).to.equal(true);
    expect(c.http.corsOrigins).to.deep.equal(['https://a.example', 'https://b.example']);
  });

  it('drops the trailing slashes of PUBLIC_BASE_URL', () => {
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://shop.example/api//' }).http.publicBaseUrl).to.equal(
      'https://shop.example/api',
    );
  });

  it('reads TRUST_PROXY as false, true, a hop count or addresses', () => {
    const trust = (v: string) => loadConfig({ TRUST_PROXY: v }).http.trustProxy;
    expect(trust('0')).to.equal(false);
    expect(trust('true')).to.equal(true);
    expect(trust('2')).to.equal(2);
    expect(trust('10.0.0.0/8, loopback')).to.deep.equal(['10.0.0.0/8', 'loopback']);
  });

  it('trims the auth settings and reads a literal \\n in AUTH_SECRET as a line break', () => {
    const c = loadConfig({
      AUTH_MODE: ' jwt ',
      AUTH_SECRET: ' -----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY----- ',
      AUTH_ISSUER: ' https://idp.example ',
    });
    expect(c.auth).to.deep.include({
      mode: 'jwt',
      secret: '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----',
      issuer: 'https://idp.example',
      jwksUrl: undefined,
    });
  });

  it('reads durations in ms, s, m, h and d', () => {
    expect(['500ms', '90s', '15m', '12h', '30d', '250'].map(parseDuration)).to.deep.equal([
      500, 90_000, 900_000, 43_200_000, 2_592_000_000, 250,
    ]);
    expect(parseDuration('1w')).to.equal(undefined);
  });
});

describe('config: bad values', () => {
  it('names the variable, what it must be and the value it got', () => {
    expect(problems({ PORT: '70000' })).to.deep.equal([
      'PORT must be an integer from 0 to 65535, got "70000"',
    ]);
    expect(problems({ STORE: 'postgres' })).to.deep.equal([
      'STORE must be one of sqlite, mongodb, got "postgres"',
    ]);
    expect(problems({ CART_TTL: '0' })).to.deep.equal([
      'CART_TTL must be a positive duration such as 30d, 12h, 90s or 500ms, got "0"',
    ]);
    expect(problems({ NOTIFY_DENY_PRIVATE: 'yes' })).to.deep.equal([
      'NOTIFY_DENY_PRIVATE must be true or false, got "yes"',
    ]);
    expect(problems({ BODY_LIMIT: '1gb' })).to.deep.equal([
      'BODY_LIMIT must look like 1mb, 512kb or 1048576, got "1gb"',
    ]);
    expect(problems({ PUBLIC_BASE_URL: 'ftp://x' })).to.deep.equal([
      'PUBLIC_BASE_URL must be an absolute http(s) URL, got "ftp://x"',
    ]);
    expect(problems({ TRUST_PROXY: '101' })).to.deep.equal([
      'TRUST_PROXY hop count must be at most 100, got "101"',
    ]);
    expect(problems({ TRUST_PROXY: '10.0.0.1, proxy.example' })).to.deep.equal([
      'TRUST_PROXY must be true, false, a hop count or addresses/subnets, got "proxy.example"',
    ]);
  });

  it('checks the rules between settings, and reports every problem at once', () => {
    expect(problems({ STORE: 'mongodb', PORT: 'x', LOG_LEVEL: 'loud' })).to.deep.equal([
      'PORT must be an integer from 0 to 65535, got "x"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'MONGODB_URI is required when STORE=mongodb',
    ]);
    expect(problems({ AUTH_MODE: 'jwt' })).to.deep.equal([
      'AUTH_MODE=jwt needs AUTH_JWKS_URL or AUTH_SECRET',
    ]);
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'not a url', AUTH_SECRET: 'short' })).to.deep.equal([
      'set only one of AUTH_JWKS_URL and AUTH_SECRET',
      'AUTH_JWKS_URL must be an absolute http(s) URL, got "not a url"',
      'AUTH_SECRET must be a PEM public key or a shared secret of at least 32 bytes',
    ]);
    // Without AUTH_MODE=jwt the token settings are not checked.
    expect(problems({ AUTH_JWKS_URL: 'not a url' })).to.deep.equal([]);
  });

  it('says it is a configuration problem, one line per problem', () => {
    expect(() => loadConfig({ PORT: 'x', CLUSTER_WORKERS: '0' })).to.throw(
      ConfigError,
      'invalid configuration:\n  - PORT must be an integer from 0 to 65535, got "x"\n  - CLUSTER_WORKERS must be an integer from 1 to 256, got "0"',
    );
  });
});

describe('config: docs/operations.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');

  it('shows the table as it is (npm run docs:config rewrites it)', () => {
    const part = generatedPart(doc);
    expect(part, 'docs/operations.md has the generated table markers').to.be.a('string');
    expect(normalise(part!)).to.deep.equal(normalise(renderConfigTable()));
  });

  it('would notice a changed default', () => {
    const part = generatedPart(doc)!;
    expect(normalise(part.replace('`8663`', '`8664`'))).to.not.deep.equal(normalise(renderConfigTable()));
  });
});
