// The policy of src/http/auth.ts: which scope an operation needs, which grants let a caller
// through, who owns what, and the RFC 6750 challenge of each refusal. Tokens are real HS256 JWTs
// (the middleware verifies them with jose); token verification itself is test/api/auth.test.ts's.
import { expect } from 'chai';
import type { Request, Response } from 'express';
import { SignJWT } from 'jose';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { principalOf, requireAuth, requiredScopes, scopes, type AuthOptions } from '../../src/http/auth.js';
import { findOperation, recordMatch } from '../../src/http/matched-operation.js';
import { v4 } from '../../src/spec/v4.js';

const secret = 'a-unit-test-secret-of-at-least-32-bytes!';
const token = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

interface Outcome {
  /** 'next' when the request went on, else the code of the AppError. */
  result: 'next' | ErrorCode;
  challenge: string | undefined;
  owner?: string | undefined;
  message?: string;
}

/** Runs the middleware on a request with `authorization`, as Express would. */
async function authenticate(
  method: string,
  path: string,
  authorization: string | undefined,
  options: Partial<AuthOptions> = {},
): Promise<Outcome> {
  const headers: Record<string, string> = {};
  const req = {
    method,
    path,
    get: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined),
  } as unknown as Request;
  // As the 405/404 table in front does: the request's operation in the v4 route table.
  const match = findOperation(v4.routes, method, path);
  if (match) recordMatch(req, match);
  const res = {
    set: (name: string, value: string) => (headers[name.toLowerCase()] = value),
  } as unknown as Response;
  let wentOn = false;
  try {
    await requireAuth({ secret, ...options })(req, res, () => (wentOn = true));
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    return { result: e.code, challenge: headers['www-authenticate'], message: e.message };
  }
  expect(wentOn, 'next() was called').to.equal(true);
  return { result: 'next', challenge: headers['www-authenticate'], owner: principalOf(req)?.owner };
}

describe('http/auth: the scope an operation needs', () => {
  const cases: [string, string, string][] = [
    ['GET', '/shoppingCart', scopes.read],
    ['HEAD', '/shoppingCart/1', scopes.read],
    ['POST', '/shoppingCart', scopes.write],
    ['PATCH', '/shoppingCart/1', scopes.write],
    ['DELETE', '/shoppingCart/1', scopes.write],
    ['GET', '/hub', scopes.hub],
    ['POST', '/hub', scopes.hub],
    ['DELETE', '/hub/42', scopes.hub],
    // A cart whose id is "hub" is a cart; a path of no operation (the 404/405 table answers it
    // first) would need admin.
    ['GET', '/shoppingCart/hub', scopes.read],
    ['GET', '/hubs', scopes.admin],
    ['POST', '/shoppingCart/hub', scopes.admin],
  ];
  for (const [method, path, scope] of cases) {
    it(`${method} ${path} needs ${scope}`, () => {
      expect(requiredScopes(findOperation(v4.routes, method, path))).to.deep.equal([scope]);
    });
  }
});

describe('http/auth: who gets through', () => {
  const insufficient = (scope: string) =>
    `Bearer realm="tmf663-shopping-cart", error="insufficient_scope", error_description="this operation needs ${scope}", scope="${scope}"`;
  const cases: [string, Record<string, unknown>, string, string, Outcome['result'], string | undefined][] = [
    // what, claims, method, path, result, challenge
    ['read on a read', { scope: scopes.read }, 'GET', '/shoppingCart', 'next', undefined],
    [
      'read on a write',
      { scope: scopes.read },
      'POST',
      '/shoppingCart',
      'FORBIDDEN',
      insufficient(scopes.write),
    ],
    [
      'write on a read',
      { scope: scopes.write },
      'GET',
      '/shoppingCart',
      'FORBIDDEN',
      insufficient(scopes.read),
    ],
    [
      'read and write, space-separated',
      { scope: `${scopes.read}  ${scopes.write}` },
      'PATCH',
      '/shoppingCart/1',
      'next',
      undefined,
    ],
    ['scp as an array', { scp: [scopes.write, 7] }, 'DELETE', '/shoppingCart/1', 'next', undefined],
    ['scp as a string', { scp: scopes.hub }, 'POST', '/hub', 'next', undefined],
    ['write on the hub', { scope: scopes.write }, 'POST', '/hub', 'FORBIDDEN', insufficient(scopes.hub)],
    ['admin on anything', { scope: scopes.admin }, 'DELETE', '/hub/1', 'next', undefined],
    ['no scope at all', {}, 'GET', '/shoppingCart', 'FORBIDDEN', insufficient(scopes.read)],
    [
      'a scope of another API',
      { scope: 'productOrder:read' },
      'GET',
      '/shoppingCart',
      'FORBIDDEN',
      insufficient(scopes.read),
    ],
  ];
  for (const [what, claims, method, path, result, challenge] of cases) {
    it(`${what}: ${method} ${path} -> ${result}`, async () => {
      const outcome = await authenticate(method, path, `Bearer ${await token(claims)}`);
      expect([outcome.result, outcome.challenge]).to.deep.equal([result, challenge]);
    });
  }

  const bare = 'Bearer realm="tmf663-shopping-cart"';
  const malformed =
    'Bearer realm="tmf663-shopping-cart", error="invalid_token", error_description="the bearer token is malformed"';
  const headers: [string, string | undefined, string, string][] = [
    ['no Authorization header', undefined, bare, 'A bearer token is required'],
    ['another scheme', 'Basic dXNlcjpwYXNz', bare, 'A bearer token is required'],
    ['Bearer without a token', 'Bearer', malformed, 'The bearer token is malformed'],
    ['a token with spaces', 'Bearer a b', malformed, 'The bearer token is malformed'],
  ];
  for (const [what, authorization, challenge, message] of headers) {
    it(`${what}: 401 with challenge ${challenge.includes('error=') ? 'invalid_token' : 'and no error code'}`, async () => {
      expect(await authenticate('GET', '/shoppingCart', authorization)).to.deep.equal({
        result: 'UNAUTHORIZED',
        challenge,
        message,
      });
    });
  }
});

describe('http/auth: owners (AUTH_OWNER_CLAIM)', () => {
  const rw = `${scopes.read} ${scopes.write}`;
  const missing =
    'Bearer realm="tmf663-shopping-cart", error="invalid_token", error_description="the token has no \'party_id\' claim naming the caller\'s party"';
  const cases: [
    string,
    Record<string, unknown>,
    string | undefined,
    Outcome['result'],
    string | undefined,
  ][] = [
    // what, claims, owner claim configured, result, owner
    ['a party claim', { scope: rw, party_id: 'alice' }, 'party_id', 'next', 'alice'],
    ['a numeric party claim', { scope: rw, party_id: 42 }, 'party_id', 'next', '42'],
    [
      'an admin, who sees every party',
      { scope: scopes.admin, party_id: 'alice' },
      'party_id',
      'next',
      undefined,
    ],
    ['no owner claim configured', { scope: rw, party_id: 'alice' }, undefined, 'next', undefined],
    ['no party claim', { scope: rw }, 'party_id', 'UNAUTHORIZED', undefined],
    ['an empty party claim', { scope: rw, party_id: '' }, 'party_id', 'UNAUTHORIZED', undefined],
    ['an object as party claim', { scope: rw, party_id: { id: 'a' } }, 'party_id', 'UNAUTHORIZED', undefined],
  ];
  for (const [what, claims, ownerClaim, result, owner] of cases) {
    it(`${what}: ${result}${result === 'next' ? `, owner ${String(owner)}` : ''}`, async () => {
      const outcome = await authenticate('GET', '/shoppingCart', `Bearer ${await token(claims)}`, {
        ownerClaim,
      });
      expect(outcome.result).to.equal(result);
      if (result === 'next') expect(outcome.owner).to.equal(owner);
      else expect(outcome.challenge).to.equal(missing);
    });
  }
});
