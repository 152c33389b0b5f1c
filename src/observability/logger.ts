/**
 * Structured JSON logs (pino): one line per request, errors with their stack. Request bodies,
 * query strings and headers (tokens) are never logged.
 */
import type { Request, RequestHandler, Response } from 'express';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(
  level: string,
  destination?: DestinationStream,
  bindings: Record<string, unknown> = {},
): Logger {
  const options = {
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Only what the log lines below put in; never whole requests.
    serializers: { err: pino.stdSerializers.err },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

const pathOf = (req: Request): string => {
  const q = req.originalUrl.indexOf('?');
  return q < 0 ? req.originalUrl : req.originalUrl.slice(0, q);
};

/** Logs each request once it is answered (or the client went away). */
export function requestLog(log: Logger, requestIdOf: (req: Request) => string | undefined): RequestHandler {
  return (req: Request, res: Response, next) => {
    const start = process.hrtime.bigint();
    let done = false;
    const line = (aborted: boolean): void => {
      if (done) return;
      done = true;
      const fields = {
        requestId: requestIdOf(req),
        method: req.method,
        path: pathOf(req),
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - start) / 1e6,
        ...(aborted ? { aborted: true } : {}),
      };
      if (res.statusCode >= 500) log.error(fields, 'request');
      else log.info(fields, 'request');
    };
    res.once('finish', () => {
      line(false);
    });
    res.once('close', () => {
      line(!res.writableFinished);
    });
    next();
  };
}
