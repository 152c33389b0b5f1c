/**
 * The dispatcher's outbound POST, on node:http / node:https rather than fetch: the server already
 * has node:http loaded and hot, while fetch loads and compiles undici on first use (tens of
 * milliseconds on the event loop, at the moment of the first event) and costs several times more
 * per request. Keep-alive agents reuse connections to a subscriber.
 *
 * The whole exchange (connect, send, answer) has one deadline; an answer body is read up to a
 * cap and the connection is dropped past it; redirects are not followed (a 3xx is an answer like
 * any non-2xx).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostOptions {
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface Poster {
  /** POSTs a JSON text; resolves with the answer's status, rejects on network errors and timeout. */
  post(url: URL, json: string): Promise<number>;
  /** Closes idle kept-alive connections. */
  close(): void;
}

export class PostTimeoutError extends Error {
  override name = 'TimeoutError';
}

export function createPoster(options: PostOptions): Poster {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true });

  const post = (url: URL, json: string): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const onAnswer = (res: IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > options.maxResponseBytes) {
            // Enough: the status is known, the rest is not worth reading (nor the socket reusing).
            res.destroy();
            finish(() => {
              resolve(status);
            });
          }
        });
        res.on('end', () => {
          finish(() => {
            resolve(status);
          });
        });
        res.on('error', (e) => {
          finish(() => {
            reject(e);
          });
        });
      };
      const secure = url.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: secure ? https : http,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) },
        },
        onAnswer,
      );
      // Declared after the request, used by finish(): every event that calls finish comes later.
      const timer = setTimeout(() => {
        const error = new PostTimeoutError(`no answer within ${options.timeoutMs} ms`);
        req.destroy(error);
        finish(() => {
          reject(error);
        });
      }, options.timeoutMs);
      req.on('error', (e) => {
        finish(() => {
          reject(e);
        });
      });
      req.end(json);
    });

  return {
    post,
    close: () => {
      http.destroy();
      https.destroy();
    },
  };
}
