/**
 * A subscriber of bench/events.ts, in its own process as a real subscriber would be (in the
 * bench's process its work would delay the load generator's own timers and skew the very
 * latencies being measured). Answers every notification after ANSWER_MS (default 1000) with 201,
 * or with 500 to every FAIL_EVERY-th one (0: never). Tells its parent its port; on request how many
 * notifications it received (2xx answers); and on 'arrivals' the first arrival time (epoch ms,
 * sub-millisecond) of each notification it answered 2xx, keyed by `eventType:note` of the cart
 * (the sustained bench gives every write a unique note).
 *
 * A listener stands for another system (ordering, marketing) that a real deployment runs on
 * another machine; on the benchmark's machine every CPU-second it takes is one the API does not
 * get (see docs/performance.md). So it does the least a subscriber must, by default:
 * - LISTENER_SERVER=net (default) answers on node:net with a minimal HTTP/1.1 responder: requests
 *   with a Content-Length (all the server's poster sends; anything else is answered 501 and the
 *   connection closed), answered in order, kept alive. LISTENER_SERVER=http serves with
 *   node:http instead.
 * - The arrival key is read from the body's text (its `"eventType":"` and `"note":"` members)
 *   rather than by parsing the whole event, falling back to JSON.parse when either is not found.
 *   Three listeners at ~4,300 notifications/s: 0.19 cores with node:http and JSON.parse, 0.15
 *   with the responder and JSON.parse, 0.09 with both (docs/performance.md).
 * - LISTENER_NICE (default 0) lowers the listener's priority by that many nice steps.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';

const nice = Number(process.env.LISTENER_NICE ?? 0);
if (nice > 0) setPriority(0, Math.min(19, getPriority(0) + nice));

const answerMs = Number(process.env.ANSWER_MS ?? 1000);
const failEvery = Number(process.env.FAIL_EVERY ?? 0);
const recordArrivals = process.env.RECORD_ARRIVALS === '1';
const serverKind = process.env.LISTENER_SERVER ?? 'net';
if (serverKind !== 'net' && serverKind !== 'http')
  throw new Error(`LISTENER_SERVER: net or http, not ${serverKind}`);
let received = 0;
let requests = 0;
const arrivals = new Map<string, number>();
const now = (): number => performance.timeOrigin + performance.now();

const eventTypeKey = Buffer.from('"eventType":"');
const noteKey = Buffer.from('"note":"');

/** The string member after `key` in `body`, up to the next quote (undefined: not found). */
function member(body: Buffer, key: Buffer): string | undefined {
  const at = body.indexOf(key);
  if (at < 0) return undefined;
  const end = body.indexOf(0x22, at + key.length);
  return end < 0 ? undefined : body.toString('utf8', at + key.length, end);
}

function arrivalKey(body: Buffer): string {
  const eventType = member(body, eventTypeKey);
  const note = member(body, noteKey);
  if (eventType !== undefined && note !== undefined) return `${eventType}:${note}`;
  const parsed = JSON.parse(body.toString('utf8')) as {
    eventType: string;
    event: { shoppingCart: { note?: string } };
  };
  return `${parsed.eventType}:${parsed.event.shoppingCart.note ?? ''}`;
}

/** One notification arrived (its whole body, at `at`): answer it now or after ANSWER_MS. */
function take(body: Buffer, at: number, answer: (fail: boolean) => void): void {
  requests++;
  const fail = failEvery > 0 && requests % failEvery === 0;
  const done = (): void => {
    answer(fail);
    if (fail) return;
    received++;
    if (!recordArrivals) return;
    const key = arrivalKey(body);
    if (!arrivals.has(key)) arrivals.set(key, at);
  };
  if (answerMs > 0) setTimeout(done, answerMs);
  else done();
}

const created = Buffer.from('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n', 'latin1');
const failed = Buffer.from('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n', 'latin1');
const refused = 'HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const headEnd = Buffer.from('\r\n\r\n', 'latin1');

/**
 * One connection of the minimal responder. Answers go out in request order: every request of a
 * connection waits the same ANSWER_MS, and timers of equal delay fire in the order they were set.
 */
function serveConnection(socket: Socket): void {
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const end = pending.indexOf(headEnd);
      if (end < 0) return;
      const head = pending.toString('latin1', 0, end);
      const length = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?:\r\n|$)/i.exec(head)?.[1];
      if (length === undefined || /\r\ntransfer-encoding:/i.test(head)) {
        socket.end(refused);
        return;
      }
      const bodyEnd = end + headEnd.length + Number(length);
      if (pending.length < bodyEnd) return;
      const body = pending.subarray(end + headEnd.length, bodyEnd);
      pending = pending.subarray(bodyEnd);
      take(body, now(), (fail) => {
        if (!socket.destroyed) socket.write(fail ? failed : created);
      });
    }
  });
}

function httpServer(): Server {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      take(Buffer.concat(chunks), now(), (fail) => {
        res.statusCode = fail ? 500 : 201;
        res.end();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

const server = serverKind === 'net' ? createNetServer(serveConnection) : httpServer();
const sockets = new Set<Socket>();
server.on('connection', (socket: Socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: address && typeof address === 'object' ? address.port : 0 });
});
process.on('message', (message: unknown) => {
  if (message === 'count') process.send?.({ received });
  if (message === 'arrivals') process.send?.({ arrivals: [...arrivals] });
  if (message === 'stop') {
    for (const socket of sockets) socket.destroy();
    server.close(() => process.exit(0));
  }
});
