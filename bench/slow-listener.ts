/**
 * The slow subscriber of bench/events.ts, in its own process as a real subscriber would be (in
 * the bench's process its work would delay the load generator's own timers and skew the very
 * latencies being measured). Answers every notification after ANSWER_MS (default 1000) with 201.
 * Tells its parent its port, and on request how many notifications it received.
 */
import { createServer } from 'node:http';

const answerMs = Number(process.env.ANSWER_MS ?? 1000);
let received = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    setTimeout(() => {
      res.statusCode = 201;
      res.end();
    }, answerMs);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: address && typeof address === 'object' ? address.port : 0 });
});
process.on('message', (message: unknown) => {
  if (message === 'count') process.send?.({ received });
  if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
