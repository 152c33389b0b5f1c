import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPoster, PostTimeoutError } from '../../src/events/post.js';

/** A loopback server whose handler each test sets; records what it was sent. */
const startServer = async (
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<{
  url: string;
  server: Server;
  seen: { method: string; url: string; type: string; body: string }[];
}> => {
  const seen: { method: string; url: string; type: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        type: req.headers['content-type'] ?? '',
        body,
      });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, seen };
};

const stopServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });

describe("events/post: the dispatcher's outbound POST", () => {
  it('POSTs the JSON text to the exact URL and resolves with the status', async () => {
    const { url, server, seen } = await startServer((_req, _body, res) => {
      res.statusCode = 204;
      res.end();
    });
    const poster = createPoster({ timeoutMs: 5000, maxResponseBytes: 1024 });
    try {
      const status = await poster.post(new URL(`${url}/hooks/cart?x=1&y=%20`), '{"a":"é"}');
      expect(status).to.equal(204);
      expect(seen).to.deep.equal([
        { method: 'POST', url: '/hooks/cart?x=1&y=%20', type: 'application/json', body: '{"a":"é"}' },
      ]);
      // Kept alive: a second POST reuses the connection and still works.
      expect(await poster.post(new URL(`${url}/hooks/cart`), '{}')).to.equal(204);
      expect(seen).to.have.length(2);
    } finally {
      poster.close();
      await stopServer(server);
    }
  });

  it('does not follow a redirect: the 3xx is the answer', async () => {
    const { url, server, seen } = await startServer((_req, _body, res) => {
      res.statusCode = 307;
      res.setHeader('Location', '/elsewhere');
      res.end();
    });
    const poster = createPoster({ timeoutMs: 5000, maxResponseBytes: 1024 });
    try {
      expect(await poster.post(new URL(`${url}/a`), '{}')).to.equal(307);
      expect(seen.map((s) => s.url)).to.deep.equal(['/a']);
    } finally {
      poster.close();
      await stopServer(server);
    }
  });

  it('stops reading an answer past the size cap and still reports its status', async () => {
    const { url, server } = await startServer((_req, _body, res) => {
      res.statusCode = 200;
      res.write('x'.repeat(4096));
      // Never ends: only the cap can settle this exchange before the deadline.
    });
    const poster = createPoster({ timeoutMs: 10_000, maxResponseBytes: 1000 });
    try {
      expect(await poster.post(new URL(url), '{}')).to.equal(200);
    } finally {
      poster.close();
      await stopServer(server);
    }
  });

  it('rejects with a TimeoutError when no answer comes within the deadline', async () => {
    const { url, server, seen } = await startServer(() => {
      // never answers
    });
    const poster = createPoster({ timeoutMs: 200, maxResponseBytes: 1024 });
    try {
      const error = await poster.post(new URL(url), '{}').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(PostTimeoutError);
      expect((error as Error).name).to.equal('TimeoutError');
      expect(seen).to.have.length(1);
    } finally {
      poster.close();
      await stopServer(server);
    }
  });

  it('rejects on a refused connection', async () => {
    const { url, server } = await startServer(() => undefined);
    await stopServer(server); // nothing listens on that port any more
    const poster = createPoster({ timeoutMs: 5000, maxResponseBytes: 1024 });
    try {
      const error = await poster.post(new URL(url), '{}').then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(error?.code).to.equal('ECONNREFUSED');
    } finally {
      poster.close();
    }
  });
});
