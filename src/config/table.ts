/**
 * Every setting of the server, once: its environment variable, default (as it would be written
 * in the environment), parser and meaning, grouped as Config is. loadConfig (config.ts), the
 * configuration table of docs/operations.md (docs.ts, checked by test/unit/config.test.ts) and
 * the deployment checks (test/deploy.test.ts, scripts/manifest-checks.ts) all read this table.
 */
import {
  baseUrl,
  boolean,
  byteSize,
  duration,
  integer,
  list,
  oneOf,
  secret,
  text,
  trustProxy,
  type Parser,
} from './parsers.js';

export interface Setting<T> {
  readonly variable: string;
  /** As written in the environment; undefined: the setting is unset (its value is undefined). */
  readonly default: string | undefined;
  readonly parse: Parser<T>;
  /** One Markdown paragraph, for the documentation. */
  readonly description: string;
  /** Leading and trailing blanks are dropped (a blank value is then unset). */
  readonly trim: boolean;
}

function setting<T>(variable: string, fallback: string, parse: Parser<T>, description: string): Setting<T> {
  return { variable, default: fallback, parse, description, trim: false };
}

function optional<T>(
  variable: string,
  parse: Parser<T>,
  description: string,
  trim = false,
): Setting<T | undefined> {
  return { variable, default: undefined, parse, description, trim };
}

export const configTable = {
  http: {
    port: setting(
      'PORT',
      '8663',
      integer(0, 65535),
      'TCP port (0 = any free port; the chosen URL is logged in the `listening` line).',
    ),
    host: setting('HOST', '0.0.0.0', text, 'Interface to listen on.'),
    publicBaseUrl: optional(
      'PUBLIC_BASE_URL',
      baseUrl,
      "Absolute URL clients use to reach the server (for `href` and `Location`); without it they are built from the request's protocol and `Host`.",
    ),
    bodyLimit: setting(
      'BODY_LIMIT',
      '1mb',
      byteSize,
      'Largest request body (`512kb`, `1mb`, or bytes); larger is 413.',
    ),
    jsonMaxDepth: setting(
      'JSON_MAX_DEPTH',
      '32',
      integer(1, 1000),
      'Deepest nesting of arrays/objects in a JSON body, and in a cart after a patch; deeper is 400 (bodies are checked before parsing). 1–1000; at most 45 with `STORE=mongodb` (MongoDB nests documents at most 100 levels, and the stored form is deeper than the cart).',
    ),
    maxPageSize: setting(
      'MAX_PAGE_SIZE',
      '1000',
      integer(1, 100_000),
      'Most carts in one list answer (1–100000).',
    ),
    corsOrigins: optional(
      'CORS_ORIGINS',
      list,
      'Comma-separated origins allowed by CORS (`*` for any); unset = no CORS headers.',
    ),
    trustProxy: setting(
      'TRUST_PROXY',
      'false',
      trustProxy,
      'Behind a load balancer: `true`, a hop count (`1`) or addresses/subnets of the proxies, so the client IP (rate limit, logs) comes from `X-Forwarded-For`.',
    ),
    rateLimitPerMin: setting(
      'RATE_LIMIT_PER_MIN',
      '0',
      integer(0, 10_000_000),
      'Requests per minute per client IP on the TMF API (0 = no limit); over it, 429 with `Retry-After`. Counted per process.',
    ),
    requestTimeoutMs: setting(
      'REQUEST_TIMEOUT_MS',
      '30000',
      integer(1, 3_600_000),
      "A request must arrive within this time (Node's `requestTimeout`) and its answer must start within it (else 503).",
    ),
    idempotencyTtlMs: setting(
      'IDEMPOTENCY_TTL',
      '24h',
      duration,
      'How long an `Idempotency-Key` and the answer it replays are kept ([api.md](api.md#safe-retries-idempotency-key)).',
    ),
  },
  store: {
    kind: setting('STORE', 'sqlite', oneOf(['sqlite', 'mongodb']), '`sqlite` (embedded file) or `mongodb`.'),
    sqlitePath: setting(
      'SQLITE_PATH',
      './data/shopping-cart.db',
      text,
      'The SQLite file (WAL mode; its directory is created); the delivery records live beside it in `<SQLITE_PATH>-events`.',
    ),
    sqliteLockTimeoutMs: setting(
      'SQLITE_LOCK_TIMEOUT_MS',
      '5000',
      integer(1, 600_000),
      "Longest a write waits for SQLite's write lock while other processes sharing the file (`CLUSTER_WORKERS`) write; past it, 503 `STORE_UNAVAILABLE` with `Retry-After: 1` (1–600000).",
    ),
    mongodbUri: optional('MONGODB_URI', text, 'MongoDB connection string; required with `STORE=mongodb`.'),
    mongodbDb: setting('MONGODB_DB', 'shopping_cart', text, 'MongoDB database name.'),
  },
  carts: {
    ttlMs: setting(
      'CART_TTL',
      '30d',
      duration,
      'Default `validFor.endDateTime` of a new cart (`30d`, `12h`, `90s`, `500ms`).',
    ),
    purgeIntervalMs: setting('PURGE_INTERVAL', '60s', duration, 'How often expired carts are removed.'),
    roundingMode: setting(
      'ROUNDING_MODE',
      'half-even',
      oneOf(['half-even', 'half-up']),
      '`half-even` or `half-up` for computed prices.',
    ),
  },
  events: {
    maxAttempts: setting(
      'NOTIFY_MAX_ATTEMPTS',
      '10',
      integer(1, 100),
      'Delivery attempts per event and subscriber before it is dead-lettered (1–100).',
    ),
    timeoutMs: setting('NOTIFY_TIMEOUT_MS', '5000', integer(1, 600_000), 'Timeout of one callback POST.'),
    denyPrivate: setting(
      'NOTIFY_DENY_PRIVATE',
      'false',
      boolean,
      'Refuse callbacks that resolve to private, loopback or link-local addresses (set `true` when listeners are on the internet).',
    ),
    concurrency: setting(
      'NOTIFY_CONCURRENCY',
      '32',
      integer(1, 1000),
      'Deliveries on their way at once to one subscriber, each for a different cart (1–1000).',
    ),
    maxPending: setting(
      'NOTIFY_MAX_PENDING',
      '100000',
      integer(1, 100_000_000),
      "Pending deliveries per subscriber; past it, that subscriber's oldest are dead-lettered (reason `backlog`, counted and logged).",
    ),
    deliveredRetentionMs: setting(
      'NOTIFY_DELIVERED_RETENTION',
      '1h',
      duration,
      'How long the record of a delivered notification (without its body) is kept before it is pruned.',
    ),
    deadLetterRetentionMs: setting(
      'NOTIFY_DEAD_LETTER_RETENTION',
      '7d',
      duration,
      'How long dead letters (with their body) are kept before they are pruned.',
    ),
    threadNice: setting(
      'NOTIFY_THREAD_NICE',
      '5',
      integer(0, 19),
      "How many nice steps below the API's thread the delivery thread runs (Linux; 0–19). Higher gives the API more of a busy CPU and delivery less (at 19 delivery fell seconds behind under sustained load); 0 gives both an equal share (docs/events.md).",
    ),
    dispatcher: setting(
      'NOTIFY_DISPATCHER',
      'true',
      boolean,
      'Whether this process delivers notifications. With `CLUSTER_WORKERS` the primary gives the role to one worker and sets it `false` for the others; set `false` on API-only replicas.',
    ),
  },
  auth: {
    mode: {
      ...setting(
        'AUTH_MODE',
        'off',
        oneOf(['off', 'jwt']),
        '`off`: no authentication. `jwt`: every TMF operation needs a bearer JWT.',
      ),
      trim: true,
    },
    jwksUrl: optional(
      'AUTH_JWKS_URL',
      text,
      "With `jwt`: the identity provider's JWKS URL (keys cached, refetched on an unknown `kid`).",
      true,
    ),
    secret: optional(
      'AUTH_SECRET',
      secret,
      'With `jwt`, instead of a JWKS: an HS256 shared secret (at least 32 bytes) or a PEM public key. A literal `\\n` in the value is read as a line break.',
      true,
    ),
    issuer: optional('AUTH_ISSUER', text, 'Required `iss` of tokens, when set.', true),
    audience: optional('AUTH_AUDIENCE', text, 'Required `aud` of tokens, when set.', true),
    ownerClaim: optional(
      'AUTH_OWNER_CLAIM',
      text,
      "Claim holding the caller's party id (e.g. `sub`, `party_id`); when set, callers without `shoppingCart:admin` only see and change their own carts and hub subscriptions, and hear only of their carts.",
      true,
    ),
  },
  process: {
    logLevel: setting(
      'LOG_LEVEL',
      'info',
      oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
      '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
    ),
    shutdownGraceMs: setting(
      'SHUTDOWN_GRACE_MS',
      '10000',
      integer(0, 3_600_000),
      'On SIGTERM/SIGINT, time for in-flight requests and notifications to finish.',
    ),
    clusterWorkers: setting(
      'CLUSTER_WORKERS',
      '1',
      integer(1, 256),
      'Worker processes sharing the port (`node:cluster`); 1 = a single process.',
    ),
  },
} as const;

export type ConfigTable = typeof configTable;

/** The group headings of the documentation, in table order. */
export const groupTitles: Record<keyof ConfigTable, string> = {
  http: 'HTTP',
  store: 'Store',
  carts: 'Carts',
  events: 'Events (notifications)',
  auth: 'Authentication',
  process: 'Process',
};

/** One row of the table, with its group and key in Config. */
export interface SettingRow extends Setting<unknown> {
  readonly group: keyof ConfigTable;
  readonly key: string;
}

/** The table as rows, in order. */
export const settings: readonly SettingRow[] = Object.entries(configTable).flatMap(([group, rows]) =>
  Object.entries(rows as Record<string, Setting<unknown>>).map(([key, row]) => ({
    ...row,
    group: group as keyof ConfigTable,
    key,
  })),
);
