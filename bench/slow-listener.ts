/**
 * A subscriber of bench/events.ts, in its own process as a real subscriber would be (in the
 * bench's process its work would delay the load generator's own timers and skew the very
 * latencies being measured). Answers every notification after ANSWER_MS (default 1000) with 201,
 * or with 500 to every FAIL_EVERY-th one (0: never). Tells its parent its port; on request how many
 * notifications it received (2xx answers); and on 'arrivals' the first arrival time (epoch ms,
 * sub-millisecond) of each notification it answered 2xx, keyed by `eventType:note` of the cart
 * (the sustained bench gives every write a unique note).
 *
 * LISTENER_NICE (default 0) lowers the listener's priority by that many nice steps: a listener
 * stands for another system (ordering, marketing) that a real deployment runs on another machine,
 * and on the benchmark's machine it otherwise takes the API's CPU (see docs/performance.md).
 */
import { createServer } from 'node:http';
import { getPriority, setPriority } from 'node:os';

const nice = Number(process.env.LISTENER_NICE ?? 0);
if (nice > 0) setPriority(0, Math.min(19, getPriority(0) + nice));

const answerMs = Number(process.env.ANSWER_MS ?? 1000);
const failEvery = Number(process.env.FAIL_EVERY ?? 0);
const recordArrivals = process.env.RECORD_ARRIVALS === '1';
let received = 0;
let requests = 0;
const arrivals = new Map<string, number>();
const now = (): number => performance.timeOrigin + performance.now();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = now();
    requests++;
    const fail = failEvery > 0 && requests % failEvery === 0;
    const answer = (): void => {
      res.statusCode = fail ? 500 : 201;
      res.end();
      if (fail) return;
      received++;
      if (!recordArrivals) return;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        eventType: string;
        event: { shoppingCart: { note?: string } };
      };
      const key = `${body.eventType}:${body.event.shoppingCart.note ?? ''}`;
      if (!arrivals.has(key)) arrivals.set(key, at);
    };
    if (answerMs > 0) setTimeout(answer, answerMs);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: address && typeof address === 'object' ? address.port : 0 });
});
process.on('message', (message: unknown) => {
  if (message === 'count') process.send?.({ received });
  if (message === 'arrivals') process.send?.({ arrivals: [...arrivals] });
  if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
