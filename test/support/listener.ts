/**
 * A real HTTP listener on loopback that records every notification it receives, answers with
 * the statuses a test scripts, and lets a test await the n-th arrival with a deadline.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  contentType: string | undefined;
  body: any;
}

export interface Listener {
  url: string;
  received: Received[];
  /** Every request, answered 2xx or not, with the status it got. */
  attempts: (Received & { status: number })[];
  /** Statuses for the next answers, in order; afterwards 201. */
  script: number[];
  /** Delay before answering, in ms (a slow subscriber). */
  delayMs: number;
  /** While true, answers wait (a subscriber that does not answer) until release(). */
  hold: boolean;
  /** How many requests wait for an answer because of `hold`. */
  held(): number;
  /** Answers everything held, and stops holding. */
  release(): void;
  waitFor(count: number, deadlineMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startListener(): Promise<Listener> {
  const waiters: { count: number; resolve: () => void }[] = [];
  const heldAnswers: (() => void)[] = [];
  const listener: Listener = {
    url: '',
    received: [],
    attempts: [],
    script: [],
    delayMs: 0,
    hold: false,
    held: () => heldAnswers.length,
    release: () => {
      listener.hold = false;
      for (const answer of heldAnswers.splice(0)) answer();
    },
    waitFor: (count, deadlineMs = 10_000) =>
      new Promise((resolve, reject) => {
        if (listener.received.length >= count) {
          resolve(listener.received);
          return;
        }
        const timer = setTimeout(() => {
          reject(
            new Error(
              `listener got ${listener.received.length} of ${count} notifications in ${deadlineMs} ms`,
            ),
          );
        }, deadlineMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(listener.received);
          },
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = listener.script.shift() ?? 201;
      const received: Received = {
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      };
      const answer = () => {
        listener.attempts.push({ ...received, status });
        if (status >= 200 && status < 300) {
          listener.received.push(received);
          for (const w of waiters.filter((x) => listener.received.length >= x.count)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
        res.statusCode = status;
        res.end();
      };
      if (listener.hold) heldAnswers.push(answer);
      else if (listener.delayMs > 0) setTimeout(answer, listener.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listener.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return listener;
}
