/**
 * Calls to the v5 API for tests: every answer with a body is checked against the served v5
 * document by the schema its operation declares (beside the server's own response validator),
 * and carries v5's media type.
 */
import { expect } from 'chai';
import type { V5SchemaName } from '../../src/versions/v5/api-types.js';
import { v5Problem } from '../../src/versions/v5/v5-document.js';
import { call, type Answer } from './server.js';

export const v5Base = '/tmf-api/shoppingCart/v5';

/** The schema a v5 answer's body must satisfy, by operation and status. */
function schemaOf(method: string, path: string, status: number): V5SchemaName | 'array' | undefined {
  if (status >= 400) return 'Error';
  if (status === 204 || status === 304 || method === 'HEAD') return undefined;
  if (path.startsWith('/hub')) return method === 'GET' && /^\/hub\/?(\?|$)/.test(path) ? 'array' : 'Hub';
  if (/^\/shoppingCart\/?(\?|$)/.test(path) && method === 'GET') return 'array';
  return 'ShoppingCart';
}

/**
 * One call under the v5 base path (`path` relative to it, e.g. `/shoppingCart`); the body is
 * validated against the v5 document before the test sees it.
 */
export async function v5call(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const answer = await call(server, method, `${v5Base}${path}`, body, headers);
  const schema = schemaOf(method, path, answer.status);
  if (schema === undefined) return answer;
  expect(answer.headers.get('content-type'), `${method} ${path}`).to.equal('application/json');
  const items: unknown[] = schema === 'array' ? (answer.body as unknown[]) : [answer.body];
  expect(Array.isArray(items), `${method} ${path}: ${answer.text}`).to.equal(true);
  const itemSchema: V5SchemaName =
    schema !== 'array' ? schema : path.startsWith('/hub') ? 'Hub' : 'ShoppingCart';
  for (const item of items) {
    expect(v5Problem(itemSchema, item), `${method} ${path} ${answer.status}: ${answer.text}`).to.equal(
      undefined,
    );
  }
  return answer;
}

/** A v5 error answer with this status (TMF Error, v5 media type). */
export function expectV5Error(answer: Answer, status: number): Record<string, string> {
  expect(answer.status, answer.text).to.equal(status);
  const body = answer.body as Record<string, string>;
  expect(body).to.include({ '@type': 'Error', status: String(status) });
  expect(answer.headers.get('content-type')).to.equal('application/json');
  return body;
}
