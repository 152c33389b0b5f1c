/**
 * CPU time of the benchmark's processes, read from Linux's /proc (elsewhere: undefined): a whole
 * process (all its threads), or one thread, such as the server's main thread (its id is the
 * process id), which runs the API's event loop. In seconds of CPU (user + system).
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ; 100 on Linux). */
const ticksPerS = 100;

function cpuOf(statPath: string): number | undefined {
  try {
    const text = readFileSync(statPath, 'utf8');
    // Fields after the command name in parentheses (which may itself hold spaces).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerS;
  } catch {
    return undefined;
  }
}

/** A process's CPU seconds, all threads. */
export const processCpuS = (pid: number | undefined): number | undefined =>
  pid === undefined ? undefined : cpuOf(`/proc/${pid}/stat`);

/** The CPU seconds of a process's main thread. */
export const mainThreadCpuS = (pid: number | undefined): number | undefined =>
  pid === undefined ? undefined : cpuOf(`/proc/${pid}/task/${pid}/stat`);
