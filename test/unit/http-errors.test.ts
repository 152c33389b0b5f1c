// src/http/errors.ts: what becomes which TMF Error (status, code, reason, message) and how it is
// sent. The code -> status table itself is checked against docs/api.md by error-table.test.ts.
import { expect } from 'chai';
import type { Response } from 'express';
import { AppError, errorCatalogue, errorCodes, type ErrorCode } from '../../src/errors.js';
import {
  clientErrorOf,
  clientErrorResponse,
  errorBody,
  errorHandler,
  jsonType,
  methodNotAllowed,
  sendError,
  toAppError,
} from '../../src/http/errors.js';

/** The parts of an Express response the error code uses, recording what it was given. */
function fakeResponse(headersSent = false) {
  const sent = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const res = {
    headersSent,
    locals: {} as Record<string, unknown>,
    set(name: string, value: string) {
      sent.headers[name.toLowerCase()] = value;
      return res;
    },
    setHeader(name: string, value: string) {
      sent.headers[name.toLowerCase()] = value;
      return res;
    },
    status(code: number) {
      sent.status = code;
      return res;
    },
    json(body: unknown) {
      sent.body = body;
      return res;
    },
  };
  return { res, asResponse: res as unknown as Response, sent };
}

const parts = (e: AppError) => [e.code, e.reason, e.message];

describe('http/errors: anything thrown becomes an AppError', () => {
  it('keeps an AppError as it is', () => {
    const original = new AppError('CONFLICT', 'already there');
    expect(toAppError(original)).to.equal(original);
  });

  const cases: [string, unknown, [ErrorCode, string, string]][] = [
    [
      "body-parser's malformed JSON",
      { type: 'entity.parse.failed', status: 400 },
      ['BAD_REQUEST', 'Malformed JSON', 'The request body is not valid JSON'],
    ],
    [
      "body-parser's size limit",
      { type: 'entity.too.large', status: 413 },
      ['PAYLOAD_TOO_LARGE', 'Payload too large', 'The request body is over the size limit'],
    ],
    ['a 404 with a message', { status: 404, message: 'no route' }, ['NOT_FOUND', 'Not found', 'no route']],
    [
      'a 405 (statusCode)',
      { statusCode: 405 },
      ['METHOD_NOT_ALLOWED', 'Method not allowed', 'Invalid request'],
    ],
    ['a 409 without a reason of its own', { status: 409, message: 'x' }, ['CONFLICT', 'Error', 'x']],
    [
      'a validator finding on a body member',
      { status: 400, errors: [{ path: '/body/cartItem/0/quantity', message: 'must be integer' }] },
      ['BAD_REQUEST', 'Invalid request', 'cartItem[0].quantity: must be integer'],
    ],
    [
      'a missing required property',
      { status: 400, errors: [{ path: '/body/cartItem/0', message: "must have required property 'id'" }] },
      ['BAD_REQUEST', 'Invalid request', 'cartItem[0].id: is required'],
    ],
    [
      'a finding on the whole body',
      { status: 400, errors: [{ path: '/body', message: 'must be object' }] },
      ['BAD_REQUEST', 'Invalid request', 'the body: must be object'],
    ],
    [
      'findings on a query parameter and a header, joined',
      {
        status: 400,
        errors: [
          { path: '/query/limit', message: 'must be >= 0' },
          { path: '/headers/if-match', message: 'must be string' },
        ],
      },
      ['BAD_REQUEST', 'Invalid request', 'limit: must be >= 0; header if-match: must be string'],
    ],
    [
      'an escaped pointer segment',
      { status: 400, errors: [{ path: '/body/a~1b/c~0d', message: 'is invalid' }] },
      ['BAD_REQUEST', 'Invalid request', 'a/b.c~d: is invalid'],
    ],
    [
      'a finding whose path is not about the request content',
      { status: 400, errors: [{ path: '/shoppingCart', message: 'something' }] },
      ['BAD_REQUEST', 'Invalid request', 'something'],
    ],
    [
      "the validator's unsupported media type",
      { status: 415, errors: [{ path: '/shoppingCart', message: 'unsupported media type text/plain' }] },
      [
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported media type',
        'Content-Type: text/plain is not a media type this operation accepts',
      ],
    ],
    [
      'no Content-Type at all',
      { status: 415, errors: [{ message: 'unsupported media type undefined' }] },
      [
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported media type',
        'Content-Type: none is not a media type this operation accepts',
      ],
    ],
  ];
  for (const [what, thrown, expected] of cases) {
    it(`maps ${what}`, () => {
      expect(parts(toAppError(thrown))).to.deep.equal(expected);
    });
  }

  const internal = ['Internal error', 'The server could not handle the request'];
  const hidden: [string, unknown][] = [
    ['a plain Error', new Error('secret detail')],
    ['a 500', { status: 500, message: 'secret detail' }],
    ['a 503', { status: 503, message: 'secret detail' }],
    ['a status no code has', { status: 418, message: 'secret detail' }],
    ['a 422 (only the Idempotency-Key code uses it, and never by status)', { status: 422 }],
    ['null', null],
    ['a string', 'secret detail'],
  ];
  for (const [what, thrown] of hidden) {
    it(`answers ${what} as INTERNAL, saying nothing of it`, () => {
      expect(parts(toAppError(thrown))).to.deep.equal(['INTERNAL', ...internal]);
    });
  }
});

describe('http/errors: the TMF Error answer', () => {
  it('has @type, code, reason, message and the status as a string, for every code', () => {
    for (const code of errorCodes) {
      const { status } = errorCatalogue[code];
      expect(status, code).to.be.within(400, 599);
      expect(errorBody(new AppError(code, 'Message', { reason: 'Reason' }))).to.deep.equal({
        '@type': 'Error',
        code,
        reason: 'Reason',
        message: 'Message',
        status: String(status),
      });
    }
  });

  it("takes the catalogue's reason for the code when none is given", () => {
    expect(errorBody(new AppError('NOT_FOUND', 'No x'))).to.include({ reason: 'Not found', message: 'No x' });
  });

  const sent: [ErrorCode, number, string | undefined][] = [
    ['NOT_FOUND', 404, undefined],
    ['PRECONDITION_FAILED', 412, undefined],
    ['STORE_UNAVAILABLE', 503, '1'],
    ['SERVICE_UNAVAILABLE', 503, undefined],
  ];
  for (const [code, status, retryAfter] of sent) {
    it(`sends ${code} as ${status}${retryAfter === undefined ? '' : ` with Retry-After: ${retryAfter}`}`, () => {
      const { asResponse, sent: answer } = fakeResponse();
      const error = new AppError(code, 'M', { reason: 'R' });
      sendError(asResponse, error);
      expect(answer.status).to.equal(status);
      expect(answer.headers['content-type']).to.equal(jsonType);
      expect(answer.headers['retry-after']).to.equal(retryAfter);
      expect(answer.body).to.deep.equal(errorBody(error));
    });
  }

  it('405 names the allowed methods in Allow and in the message', () => {
    const { asResponse, sent: answer } = fakeResponse();
    const error = methodNotAllowed(asResponse, 'PUT', '/shoppingCart/1', ['GET', 'PATCH', 'DELETE']);
    expect(answer.headers.allow).to.equal('GET, PATCH, DELETE');
    expect(parts(error)).to.deep.equal([
      'METHOD_NOT_ALLOWED',
      'Method not allowed',
      'PUT is not allowed on /shoppingCart/1; it allows GET, PATCH, DELETE',
    ]);
  });
});

describe('http/errors: the error handler', () => {
  it('answers with the mapped error, logs only internal ones, and leaves the error for idempotency', () => {
    const logged: unknown[] = [];
    const handler = errorHandler((e) => logged.push(e));
    const cases: [unknown, number, boolean][] = [
      [new AppError('CONFLICT', 'Conflict'), 409, false],
      [{ status: 404 }, 404, false],
      [new Error('boom'), 500, true],
    ];
    for (const [thrown, status, logs] of cases) {
      const { res, asResponse, sent } = fakeResponse();
      logged.length = 0;
      handler(thrown, {} as never, asResponse, () => expect.fail('next must not be called'));
      expect(sent.status).to.equal(status);
      expect(logged).to.deep.equal(logs ? [thrown] : []);
      expect((res.locals.error as AppError).code).to.equal(toAppError(thrown).code);
    }
  });

  it('hands the error on when the answer has already started', () => {
    const { asResponse, sent } = fakeResponse(true);
    const passed: unknown[] = [];
    const thrown = new Error('late');
    errorHandler(() => expect.fail('not logged here'))(thrown, {} as never, asResponse, (e?: unknown) =>
      passed.push(e),
    );
    expect(passed).to.deep.equal([thrown]);
    expect(sent.status).to.equal(0);
  });
});

describe("http/errors: requests Node's parser refuses", () => {
  const cases: [unknown, ErrorCode, number][] = [
    ['HPE_HEADER_OVERFLOW', 'HEADERS_TOO_LARGE', 431],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'REQUEST_TIMEOUT', 408],
    ['HPE_INVALID_METHOD', 'BAD_REQUEST', 400],
    [undefined, 'BAD_REQUEST', 400],
  ];
  for (const [code, errorCode, status] of cases) {
    it(`${String(code)} is a ${status} ${errorCode}, sent whole and closing the connection`, () => {
      const error = clientErrorOf({ code });
      expect(error.code).to.equal(errorCode);
      const text = clientErrorResponse({ code });
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      expect(lines[0]).to.equal(`HTTP/1.1 ${status} ${error.reason}`);
      expect(lines.slice(1)).to.deep.equal([
        `Content-Type: ${jsonType}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
      ]);
      expect(JSON.parse(body)).to.deep.equal(errorBody(error));
    });
  }
});
