/**
 * Bearer-token authentication and scope checks (AUTH_MODE=jwt). Tokens are JWTs verified with
 * `jose` against a JWKS URL, an HS256 shared secret or a PEM public key; `iss` and `aud` are
 * checked when configured and `exp` is required. Failures answer RFC 6750 challenges: 401 with
 * `WWW-Authenticate: Bearer` (error="invalid_token" when a token was sent) and 403 with
 * error="insufficient_scope", each with a TMF Error body from the one error handler.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { forbidden, serviceUnavailable, unauthorized } from '../errors.js';
import { matchedOperation, type MatchedOperation } from './matched-operation.js';

export const scopes = {
  read: 'shoppingCart:read',
  write: 'shoppingCart:write',
  hub: 'shoppingCart:hub',
  /** Implies every other scope and sees every party's carts. */
  admin: 'shoppingCart:admin',
} as const;

export type Scope = (typeof scopes)[keyof typeof scopes];

export interface AuthOptions {
  jwksUrl?: string | undefined;
  /** An HS256/384/512 shared secret, or a PEM public key (or certificate). */
  secret?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** The claim naming the caller's party id; set, non-admin callers see only their own carts. */
  ownerClaim?: string | undefined;
}

export interface Principal {
  subject: string | undefined;
  scopes: ReadonlySet<string>;
  /** The party whose carts this caller may see; undefined = every cart. */
  owner: string | undefined;
}

const realm = 'tmf663-shopping-cart';
const asymmetric = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

const principals = new WeakMap<Request, Principal>();

/** Who made this request, when authentication is on and it succeeded. */
export const principalOf = (req: Request): Principal | undefined => principals.get(req);

/**
 * The scopes an operation of the route table needs: those its document's security requirement
 * names, if any (the TMF663 documents name none); else the hub has its own, and on carts GET/HEAD
 * read and the rest write. A request matched to no operation (none gets this far) needs admin.
 */
export function requiredScopes(match: MatchedOperation | undefined): readonly string[] {
  if (match === undefined) return [scopes.admin];
  const { operation } = match;
  if (operation.scopes.length > 0) return operation.scopes;
  if (operation.hub) return [scopes.hub];
  return [operation.method === 'get' || operation.method === 'head' ? scopes.read : scopes.write];
}

/** The algorithms a PEM key can verify: pinning them rules out algorithm confusion. */
const algorithmsByKeyType: Record<string, string[]> = {
  rsa: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'rsa-pss': ['PS256', 'PS384', 'PS512'],
  ec: ['ES256', 'ES384', 'ES512'],
  ed25519: ['EdDSA', 'Ed25519'],
};

function algorithmsOf(key: KeyObject): string[] {
  const type = key.asymmetricKeyType ?? 'unknown';
  const algorithms = algorithmsByKeyType[type];
  if (!algorithms) throw new Error(`AUTH_SECRET holds a ${type} key, which JWTs do not use`);
  return algorithms;
}

interface Verifier {
  key: KeyObject | Uint8Array | JWTVerifyGetKey;
  algorithms: string[];
}

function verifierOf(options: AuthOptions): Verifier {
  if (options.jwksUrl !== undefined) {
    // jose caches the key set, refetches on an unknown `kid` (at most every 30 s) and times out.
    return { key: createRemoteJWKSet(new URL(options.jwksUrl)), algorithms: asymmetric };
  }
  const secret = options.secret ?? '';
  if (secret.startsWith('-----BEGIN')) {
    const key = createPublicKey(secret);
    return { key, algorithms: algorithmsOf(key) };
  }
  return { key: new TextEncoder().encode(secret), algorithms: ['HS256', 'HS384', 'HS512'] };
}

/** `scope` is space-separated (RFC 8693); some issuers send `scp` as an array or a string. */
function scopesOf(payload: JWTPayload): Set<string> {
  const found = new Set<string>();
  for (const claim of [payload.scope, payload.scp]) {
    const items = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(' ') : [];
    for (const s of items) if (typeof s === 'string' && s !== '') found.add(s);
  }
  return found;
}

const notAccepted = (description: string): Error =>
  unauthorized(`The bearer token is not accepted: ${description}`);

const quote = (text: string): string => text.replace(/["\\]/g, "'");

function challenge(res: Response, error?: string, description?: string, scope?: string): void {
  const parts = [`realm="${realm}"`];
  if (error !== undefined) parts.push(`error="${error}"`);
  if (description !== undefined) parts.push(`error_description="${quote(description)}"`);
  if (scope !== undefined) parts.push(`scope="${scope}"`);
  res.set('WWW-Authenticate', `Bearer ${parts.join(', ')}`);
}

/** jose error codes that mean "this token is not acceptable" (401); anything else is ours (503). */
const tokenErrors: Record<string, (e: { claim?: unknown }) => string> = {
  ERR_JWT_EXPIRED: () => 'the token has expired',
  ERR_JWT_CLAIM_VALIDATION_FAILED: (e) =>
    `the "${typeof e.claim === 'string' ? e.claim : 'unknown'}" claim is missing or not accepted`,
  ERR_JWT_INVALID: () => 'the token is not a valid JWT',
  ERR_JWS_INVALID: () => 'the token is not a valid JWS',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: () => 'the token signature is not valid',
  ERR_JOSE_ALG_NOT_ALLOWED: () => 'the token algorithm is not accepted',
  ERR_JOSE_NOT_SUPPORTED: () => 'the token algorithm is not supported',
  ERR_JWKS_NO_MATCHING_KEY: () => 'no known key matches the token',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: () => 'several keys match the token',
};

/**
 * The authentication middleware for the TMF routes: verifies the bearer token, checks the scope
 * the operation needs and records the principal (with its owner, if owner isolation is on).
 */
export function requireAuth(options: AuthOptions): RequestHandler {
  const verifier = verifierOf(options);
  const verify = async (token: string): Promise<JWTPayload> => {
    const verifyOptions = {
      algorithms: verifier.algorithms,
      requiredClaims: ['exp'],
      clockTolerance: 5,
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    };
    const key = verifier.key;
    const result =
      typeof key === 'function'
        ? await jwtVerify(token, key, verifyOptions)
        : await jwtVerify(token, key, verifyOptions);
    return result.payload;
  };

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('Authorization') ?? '';
    const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
    if (!match?.[1]) {
      // RFC 6750 section 3.1: no credentials at all gets a challenge without an error code.
      const sent = /^Bearer\b/i.test(header);
      if (sent) challenge(res, 'invalid_token', 'the bearer token is malformed');
      else challenge(res);
      throw unauthorized(sent ? 'The bearer token is malformed' : 'A bearer token is required');
    }
    let payload: JWTPayload;
    try {
      payload = await verify(match[1]);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const describe = typeof code === 'string' ? tokenErrors[code] : undefined;
      if (describe === undefined) {
        // The key set could not be fetched or read: the token may be fine, we cannot tell.
        throw serviceUnavailable('The token signing keys cannot be loaded; try again later');
      }
      const description = describe(e as { claim?: unknown });
      challenge(res, 'invalid_token', description);
      throw notAccepted(description);
    }

    const granted = scopesOf(payload);
    const admin = granted.has(scopes.admin);
    const needed = requiredScopes(matchedOperation(req));
    if (!admin && !needed.every((s) => granted.has(s))) {
      // RFC 6750 section 3: `scope` is a space-delimited list.
      const list = needed.join(' ');
      challenge(res, 'insufficient_scope', `this operation needs ${list}`, list);
      throw forbidden(`This operation needs the ${list} scope`);
    }

    let owner: string | undefined;
    // The hub too: a subscription belongs to its creator and hears only of that party's carts.
    if (options.ownerClaim !== undefined && !admin) {
      const value = payload[options.ownerClaim];
      if ((typeof value !== 'string' || value === '') && typeof value !== 'number') {
        const description = `the token has no "${options.ownerClaim}" claim naming the caller's party`;
        challenge(res, 'invalid_token', description);
        throw notAccepted(description);
      }
      owner = String(value);
    }
    principals.set(req, { subject: payload.sub, scopes: granted, owner });
    next();
  };
}
