/**
 * Group commit: writes that arrive in the same turn of the event loop share one transaction,
 * so one fsync (synchronous=FULL) makes all of them durable before any is acknowledged. Each
 * write runs in its own savepoint (better-sqlite3 nests transactions that way), so one write's
 * failure, such as a version conflict, undoes only that write.
 *
 * The batch begins IMMEDIATE, so it holds the write lock from its first statement: the reads
 * inside it (a cart's current version, the outbox) see the latest commit of every process and
 * nothing can come between them and the writes. When another process holds the lock, BEGIN
 * fails at once (busy_timeout is 0 while trying) and the whole batch is tried again a moment
 * later, with every write queued meanwhile: the event loop keeps serving, and the lock is
 * taken once per batch. A write waiting longer than lockTimeoutMs fails with STORE_UNAVAILABLE.
 */
import type Database from 'better-sqlite3';
import { storeUnavailable, type AppError } from '../../errors.js';
import { isBusy, toStoreError } from './errors.js';

interface QueuedWrite {
  apply: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Epoch ms after which it stops waiting for the lock. */
  deadline: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class WriteQueue {
  /** Goes up with every write this connection commits (or tries to). */
  writeSeq = 0;
  private queue: QueuedWrite[] = [];
  /** Cancels the planned flush (next turn, or after a back-off while another process writes). */
  private planned: (() => void) | undefined;
  /** Consecutive tries that found the lock taken. */
  private busyTries = 0;
  private readonly db: Database.Database;
  private readonly lockTimeoutMs: number;
  private readonly commitBatch: Database.Transaction<(batch: QueuedWrite[]) => Outcome[]>;

  constructor(db: Database.Database, lockTimeoutMs: number) {
    this.db = db;
    this.lockTimeoutMs = lockTimeoutMs;
    this.commitBatch = db.transaction((batch: QueuedWrite[]): Outcome[] =>
      batch.map((w): Outcome => {
        try {
          return { ok: true, value: w.apply() };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  /** Runs `apply` in the next batch; resolves once that batch is committed. */
  write<T>(apply: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        apply,
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline: Date.now() + this.lockTimeoutMs,
      });
      this.plan();
    });
  }

  /**
   * Stops planning flushes; writes still waiting for the lock get a last try, blocking, up to the
   * lock timeout. Call before closing the database.
   */
  close(): void {
    this.planned?.();
    this.planned = undefined;
    if (!this.db.open) return;
    const last = this.queue;
    this.queue = [];
    if (last.length === 0) return;
    try {
      for (const w of this.settle(last, this.commitBatch.immediate(last))) w.reject(this.lockTimeout());
    } catch (e) {
      for (const w of last) w.reject(toStoreError(e));
    }
  }

  // PRAGMA busy_timeout takes effect when it is prepared, so it is prepared each time (a few
  // microseconds per batch); a prepared one run again would change nothing.
  private lockWait(ms: number): void {
    this.db.pragma(`busy_timeout = ${ms}`);
  }

  private lockTimeout(): AppError {
    return storeUnavailable(
      `SQLite: the write lock stayed taken by other processes for ${this.lockTimeoutMs} ms`,
      // Given up before its transaction began: the write was never applied.
      { nothingStored: true },
    );
  }

  /** Back-off before trying the lock again: 1, 2, 4 ms, then 4-8 ms with jitter. */
  private backoffMs(): number {
    return this.busyTries <= 3 ? 2 ** (this.busyTries - 1) : 4 + Math.random() * 4;
  }

  private plan(): void {
    if (this.planned !== undefined || this.queue.length === 0) return;
    const turn = setImmediate(() => {
      this.flush();
    });
    this.planned = () => {
      clearImmediate(turn);
    };
  }

  private planAfter(ms: number): void {
    const timer = setTimeout(() => {
      this.flush();
    }, ms);
    this.planned = () => {
      clearTimeout(timer);
    };
  }

  private flush(): void {
    this.planned = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.writeSeq++; // whatever the outcome, cached counts are no longer known to be right
    let outcomes: Outcome[];
    try {
      this.lockWait(0);
      try {
        outcomes = this.commitBatch.immediate(batch);
      } finally {
        this.lockWait(this.lockTimeoutMs);
      }
    } catch (e) {
      if (isBusy(e)) {
        // Nothing of the batch was committed: it waits for the lock with what comes meanwhile.
        this.busyTries++;
        this.requeue(batch);
        if (this.queue.length > 0) this.planAfter(this.backoffMs());
        return;
      }
      // BEGIN or COMMIT failed and the transaction rolled back: nothing of the batch was committed.
      const error = toStoreError(e, { nothingStored: true });
      for (const w of batch) w.reject(error);
      this.plan();
      return;
    }
    this.busyTries = 0;
    this.requeue(this.settle(batch, outcomes));
    this.plan();
  }

  /** Answers each write of a committed batch; returns those to try again. */
  private settle(batch: QueuedWrite[], outcomes: Outcome[]): QueuedWrite[] {
    const again: QueuedWrite[] = [];
    outcomes.forEach((o, i) => {
      const w = batch[i];
      if (!w) return;
      if (o.ok) w.resolve(o.value);
      else if (isBusy(o.error))
        again.push(w); // not expected with the lock held; tried again whole
      else w.reject(toStoreError(o.error));
    });
    return again;
  }

  /** Puts writes back at the head of the queue, failing those that waited too long. */
  private requeue(writes: QueuedWrite[]): void {
    const now = Date.now();
    const waiting = writes.filter((w) => {
      if (now < w.deadline) return true;
      w.reject(this.lockTimeout());
      return false;
    });
    this.queue = [...waiting, ...this.queue];
  }
}
