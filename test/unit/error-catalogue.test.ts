// Errors are made only by the catalogue's factories (src/errors.ts): no module types a code, a
// reason or a status of its own, so each is written once. src/http/errors.ts alone maps foreign
// errors (body-parser's, the validator's) onto a code. The HTTP answer carries the catalogue's
// status and reason.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { cartNotFound, errorCatalogue, errorCodes, shuttingDown, VersionConflict } from '../../src/errors.js';
import { errorBody } from '../../src/http/errors.js';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Files that construct an AppError themselves: `new AppError(` outside the factories. */
const constructing = (files: readonly { name: string; text: string }[]): string[] =>
  files.filter((f) => /new AppError\(/.test(f.text)).map((f) => f.name);

describe('The error catalogue', () => {
  it('is the only maker of errors (src/http/errors.ts maps foreign ones)', () => {
    const files = sources(join(root, 'src')).map((path) => ({
      name: relative(root, path),
      text: readFileSync(path, 'utf8'),
    }));
    expect(constructing(files).sort()).to.deep.equal(['src/errors.ts', 'src/http/errors.ts']);
    // The check itself can fail.
    expect(
      constructing([{ name: 'x.ts', text: "throw new AppError('CONFLICT', 'Conflict');" }]),
    ).to.deep.equal(['x.ts']);
  });

  it('gives every code a status and a default reason, answered as they are', () => {
    for (const code of errorCodes) {
      const { status, reason } = errorCatalogue[code];
      expect(status, code).to.be.within(400, 599);
      expect(reason, code).to.match(/^\S/);
    }
    expect(errorBody(cartNotFound('c1'))).to.deep.equal({
      '@type': 'Error',
      code: 'NOT_FOUND',
      reason: 'Not found',
      message: 'No shopping cart with id c1',
      status: '404',
    });
    expect(errorBody(shuttingDown())).to.include({ reason: 'Shutting down', status: '503' });
  });

  it('has no code for the version conflict between retries: that is an internal signal', () => {
    expect(errorCodes).not.to.include('VERSION_CONFLICT');
    expect(new VersionConflict('c1')).not.to.have.property('code');
  });
});
