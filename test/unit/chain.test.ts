import { expect } from 'chai';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { chain } from '../../src/http/chain.js';

const run = (handler: RequestHandler): Promise<unknown> =>
  new Promise((resolve) => {
    void handler(
      {} as Request,
      {} as Response,
      ((err?: unknown) => {
        resolve(err ?? 'done');
      }) as NextFunction,
    );
  });

describe('chain', () => {
  it('runs handlers in order and then continues', async () => {
    const seen: number[] = [];
    const h =
      (n: number): RequestHandler =>
      (_req, _res, next) => {
        seen.push(n);
        next();
      };
    expect(await run(chain(h(1), h(2), h(3)))).to.equal('done');
    expect(seen).to.deep.equal([1, 2, 3]);
  });

  it('stops at an error passed to next, thrown, or rejected, and passes it on', async () => {
    const boom = new Error('boom');
    let after = false;
    const tail: RequestHandler = (_req, _res, next) => {
      after = true;
      next();
    };
    expect(
      await run(
        chain((_q, _s, next) => {
          next(boom);
        }, tail),
      ),
    ).to.equal(boom);
    expect(
      await run(
        chain(() => {
          throw boom;
        }, tail),
      ),
    ).to.equal(boom);
    expect(await run(chain(() => Promise.reject(boom), tail))).to.equal(boom);
    expect(after).to.equal(false);
  });
});
