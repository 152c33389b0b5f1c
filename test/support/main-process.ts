/**
 * The process as operators run it: `node src/main.ts` (through tsx) as a child process, with its
 * JSON log lines collected. Every wait has a deadline; nothing sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface LogLine {
  msg: string;
  [key: string]: any;
}

export interface Child {
  proc: ChildProcess;
  lines: LogLine[];
  stderr: string[];
  /** Resolves with the first log line (already seen or coming) that matches. */
  waitFor(match: (l: LogLine) => boolean, deadlineMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startMain(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    // Pinned to SQLite: these tests read the data file afterwards (CI's MongoDB leg sets STORE).
    env: { ...process.env, STORE: 'sqlite', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buffered = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return {
    proc,
    lines,
    stderr,
    exited,
    waitFor: (match, deadlineMs = 15_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find(match);
        if (seen) {
          resolve(seen);
          return;
        }
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no matching log line in ${deadlineMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr.join('')}`,
            ),
          );
        }, deadlineMs);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before the log line; stderr:\n${stderr.join('')}`));
        });
      }),
  };
}

export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${what} did not happen within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
