// The generated v5 document is not served yet, but it must already be one the server could
// serve: express-openapi-validator loads it (spec validation on), accepts the spec's own
// examples and what the server sends, and refuses what the contract refuses, with request and
// response validation both running. Each v5 fix-up is exercised here.
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { expect } from 'chai';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { specForValidator } from '../../src/http/validator-spec.js';
import { v5 } from '../../src/spec/v5.js';

type Json = Record<string, any>;
const doc = JSON.parse(
  readFileSync(new URL('../../generated/v5/tmf663-openapi.json', import.meta.url), 'utf8'),
) as Json;
const example = (name: string): Json => structuredClone(doc.components.examples[name].value);
const basePath = '/tmf-api/shoppingCart/v5';

describe('generated/v5/tmf663-openapi.json under express-openapi-validator', () => {
  let server: Server;
  let url: string;
  /** What the next handled request answers: status, content type and body. */
  let reply: { status: number; type: string; body: unknown } = {
    status: 200,
    type: 'application/json',
    body: {},
  };

  before(async () => {
    const app = express();
    app.use(express.json({ type: ['application/json', 'application/*+json'] }));
    app.use(
      OpenApiValidator.middleware({
        apiSpec: specForValidator(v5.document),
        validateApiSpec: true,
        validateRequests: { allowUnknownQueryParameters: true, coerceTypes: false },
        validateResponses: { removeAdditional: false },
        validateSecurity: false,
        formats: { float: true, int32: true, int64: true, base64: true } as never,
      }) as never,
    );
    app.use((_req: Request, res: Response) => {
      res.status(reply.status).type(reply.type);
      if (reply.status === 204 || reply.status === 304) res.end();
      // The validator checks what goes through res.json (the server's routes answer with it).
      else res.json(reply.body);
    });
    app.use(
      (err: { status?: number; message: string }, _req: Request, res: Response, _next: NextFunction) => {
        res.status(err.status ?? 500).json({ message: err.message });
      },
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}`;
  });
  after(async () => {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  const send = async (
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: Json }> => {
    const res = await fetch(url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
  };

  it('serves under /tmf-api/shoppingCart/v5 (server-base-path)', () => {
    expect(doc.servers).to.deep.equal([{ url: '/tmf-api/shoppingCart/v5' }]);
  });

  it("accepts the spec's prospect-customer create and validates its 201 answer", async () => {
    reply = {
      status: 201,
      type: 'application/json',
      body: example('ShoppingCart_create_example_for_prospect_customer_response'),
    };
    const res = await send(
      'POST',
      '/shoppingCart',
      example('ShoppingCart_create_example_for_prospect_customer_request'),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body['@type']).to.equal('ShoppingCart');
  });

  it('picks a party branch by @type: a PartyRoleRef no longer also matches PartyRef (one-of-by-type)', async () => {
    reply = { status: 201, type: 'application/json', body: { id: '1', '@type': 'ShoppingCart' } };
    const party = { id: '9176', name: 'Jack Smith', '@type': 'PartyRoleRef', '@referredType': 'Customer' };
    const body = {
      '@type': 'ShoppingCart',
      relatedParty: [{ role: 'customer', '@type': 'RelatedPartyOrPartyRole', partyOrPartyRole: party }],
    };
    expect((await send('POST', '/shoppingCart', body)).status).to.equal(201);

    // The spec's existing-customer example types a party as "PartyOrPartyRole", which its
    // discriminator maps to no schema: refused, naming the attribute.
    const refused = await send(
      'POST',
      '/shoppingCart',
      example('ShoppingCart_create_example_for_existing_customer_request'),
    );
    expect(refused.status).to.equal(400);
    expect(refused.body.message).to.contain('partyOrPartyRole/@type');
  });

  it('validates list and read answers made of the spec examples, and a 206 page', async () => {
    reply = { status: 200, type: 'application/json', body: example('ShoppingCart_list_example_response') };
    expect((await send('GET', '/shoppingCart?sort=-@type&fields=id,@type')).status).to.equal(200);
    reply = { status: 206, type: 'application/json', body: example('ShoppingCart_list_example_response') };
    expect((await send('GET', '/shoppingCart?limit=1')).status).to.equal(206);
    reply = {
      status: 200,
      type: 'application/json',
      body: example('ShoppingCart_retrieve_example_response'),
    };
    expect((await send('GET', '/shoppingCart/1203')).status).to.equal(200);
  });

  it('refuses a create without @type (v5 requires it)', async () => {
    const res = await send('POST', '/shoppingCart', {});
    expect(res.status).to.equal(400);
    expect(res.body.message).to.contain("required property '@type'");
  });

  for (const type of ['application/json', 'application/json;charset=utf-8']) {
    it(`runs response validation on a ${type} answer: a cart without @type is a 500`, async () => {
      reply = { status: 200, type, body: { id: '1203' } };
      const res = await send('GET', '/shoppingCart/1203');
      expect(res.status).to.equal(500);
      expect(res.body.message).to.contain("required property '@type'");
    });
  }

  it('takes a merge patch that deletes with null (merge-patch-null-deletes)', async () => {
    reply = {
      status: 200,
      type: 'application/json',
      body: example('ShoppingCart_retrieve_example_response'),
    };
    const patch = { '@type': 'ShoppingCart', validFor: null, contactMedium: null };
    expect(
      (await send('PATCH', '/shoppingCart/1203', patch, 'application/merge-patch+json')).status,
    ).to.equal(200);
    const wrong = await send(
      'PATCH',
      '/shoppingCart/1203',
      { '@type': 'ShoppingCart', cartItem: 'none' },
      'application/merge-patch+json',
    );
    expect(wrong.status).to.equal(400);
  });

  it("takes the spec's JSON Patch Query example, whose op is delete (json-patch-delete-op)", async () => {
    reply = {
      status: 200,
      type: 'application/json',
      body: example('ShoppingCart_retrieve_example_response'),
    };
    const ops = example(
      'ShoppingCart_partialupdate_example_json_patch_query_json_request',
    ) as unknown as Json[];
    expect(ops.map((o) => o.op)).to.include('delete');
    expect(
      (await send('PATCH', '/shoppingCart/1203', ops, 'application/json-patch-query+json')).status,
    ).to.equal(200);
    const bad = await send(
      'PATCH',
      '/shoppingCart/1203',
      [{ op: 'drop', path: '/note' }],
      'application/json-patch+json',
    );
    expect(bad.status).to.equal(400);
  });

  it('declares the statuses the server sends (undeclared-statuses) and the hub reads (hub-read-operations)', async () => {
    for (const [method, path, status] of [
      ['GET', '/shoppingCart/1', 304],
      ['PATCH', '/shoppingCart/1', 412],
      ['DELETE', '/shoppingCart/1', 412],
      ['POST', '/shoppingCart', 415],
      ['GET', '/shoppingCart', 429],
    ] as const) {
      const error = {
        '@type': 'Error',
        code: String(status),
        reason: 'r',
        message: 'm',
        status: String(status),
      };
      reply = { status, type: 'application/json', body: error };
      const body = method === 'GET' || method === 'DELETE' ? undefined : { '@type': 'ShoppingCart' };
      const res = await send(
        method,
        path,
        body,
        method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
      );
      expect(res.status, `${method} ${path}`).to.equal(status);
    }
    reply = {
      status: 200,
      type: 'application/json',
      body: [{ id: 'h1', callback: 'http://127.0.0.1:1/cb', '@type': 'Hub' }],
    };
    expect((await send('GET', '/hub')).status).to.equal(200);
    reply = {
      status: 200,
      type: 'application/json',
      body: { id: 'h1', callback: 'http://127.0.0.1:1/cb', '@type': 'Hub' },
    };
    expect((await send('GET', '/hub/h1')).status).to.equal(200);
  });

  it('refuses what the contract fuzzer found schema-valid and the server refuses (fields-and-sort-grammar, hub-callback-absolute-url, list-paging-bounds)', async () => {
    // Were the validator to let them through, these answers would be the handler's 200 and 201.
    reply = { status: 200, type: 'application/json', body: [] };
    for (const query of [
      'fields=',
      'fields=id,',
      'sort=',
      'sort=-',
      'fields=a..b',
      'limit=-264',
      'offset=-1',
      'limit=9007199254740992',
    ]) {
      const res = await send('GET', `/shoppingCart?${query}`);
      expect(res.status, query).to.equal(400);
    }
    expect(
      (await send('GET', '/shoppingCart?fields=id,@type&sort=-lastUpdate&offset=0&limit=9007199254740991'))
        .status,
    ).to.equal(200);
    const hub = { id: 'h1', callback: 'http://127.0.0.1:1/cb', '@type': 'Hub' };
    reply = { status: 201, type: 'application/json', body: hub };
    for (const callback of ['', 'not a url', '/relative', 'ftp://example.com/x']) {
      const res = await send('POST', '/hub', { '@type': 'Hub', callback });
      expect(res.status, JSON.stringify(callback)).to.equal(400);
    }
    expect(
      (await send('POST', '/hub', { '@type': 'Hub', callback: 'https://example.com/cb' })).status,
    ).to.equal(201);
  });

  it('refuses a quantity below 1, a negative tax rate and a negative number of periods (pricing-bounds)', async () => {
    reply = { status: 201, type: 'application/json', body: { '@type': 'ShoppingCart', id: '1' } };
    const create = (quantity: number, taxRate: number, applicationDuration: number) =>
      send('POST', '/shoppingCart', {
        '@type': 'ShoppingCart',
        cartItem: [
          {
            '@type': 'CartItem',
            quantity,
            itemPrice: [
              {
                '@type': 'CartPrice',
                priceType: 'recurring',
                price: { '@type': 'Price', taxRate },
                priceAlteration: [
                  {
                    '@type': 'PriceAlteration',
                    priceType: 'recurring',
                    price: { '@type': 'Price' },
                    applicationDuration,
                  },
                ],
              },
            ],
          },
        ],
      });
    expect((await create(0, 0, 0)).status, 'quantity 0').to.equal(400);
    expect((await create(1, -1, 0)).status, 'taxRate -1').to.equal(400);
    expect((await create(1, 0, -1)).status, 'applicationDuration -1').to.equal(400);
    expect((await create(1, 0, 0)).status).to.equal(201);
  });

  it('refuses a JSON Patch path that is not a JSON Pointer, and a JSON Patch Query one that is neither that nor a JSONPath (json-patch-paths)', async () => {
    reply = { status: 200, type: 'application/json', body: { '@type': 'ShoppingCart', id: '1' } };
    const patch = (path: string, type: string) =>
      send('PATCH', '/shoppingCart/1', [{ op: 'remove', path }], type);
    for (const type of ['application/json-patch+json', 'application/json-patch-query+json']) {
      expect((await patch('ë', type)).status, type).to.equal(400);
      expect((await patch('', type)).status, type).to.equal(400);
      expect((await patch('/note', type)).status, type).to.equal(200);
    }
    expect((await patch('$.cartItem[0]', 'application/json-patch+json')).status).to.equal(400);
    expect((await patch('$.cartItem[0]', 'application/json-patch-query+json')).status).to.equal(200);
  });
});
