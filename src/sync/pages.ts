/**
 * The per-page bookkeeping both inbound phases share: a page counts as done for the checkpoint, in page
 * order, only once all of its writes are written; complete batches go out while the next Ion page is read,
 * the reader pausing while more wait than the writer sends at once (bounded memory); then the test hook `afterPage`.
 */
import type { Phase } from "./checkpoint";
import type { SyncContext } from "./context";
import type { ReportEntry } from "./report";
import type { RunRecorder } from "./runs";
import type { WriteSink } from "./sink";

/** What a page's records report into: the run's report, their counts tied to the page. */
export interface PageReport {
  add(entry: ReportEntry): void;
  count(action: string, by?: number): void;
}

export class PageCheckpoints {
  private checkpoints: Promise<void> = Promise.resolve();
  /**
   * Counts of pages not recorded yet. Pages are pipelined (a later page is processed while an earlier one's
   * writes are in flight, and beside the accounts phase a page waits for its customers), so the report
   * holds counts of later pages whenever a page is recorded; the checkpoint must carry exactly the pages
   * it says are done, or a resumed run counts a row twice (once written, once found unchanged).
   */
  private readonly unrecorded = new Map<number, Record<string, number>>();
  private recorded = 0;
  private readonly release: () => void;

  constructor(
    private readonly ctx: SyncContext,
    private readonly run: RunRecorder,
    private readonly writer: WriteSink,
    private readonly phase: Phase,
    o: {
      /**
       * Checkpoint events wait for this (the accounts phase recorded as done, when the subscriptions phase
       * runs beside it): the checkpoint keeps one current phase, and a run interrupted before then redoes
       * the subscriptions from their first page, which is safe (hash-guarded upserts).
       */
      gate?: Promise<void>;
    } = {},
  ) {
    this.release = run.holdOutOfCheckpoints(this.unrecorded);
    if (o.gate) {
      this.checkpoints = o.gate.then(() => this.run.event({ type: "phase-start", phase: this.phase, at: this.ctx.clock.now() }));
      this.checkpoints.catch(() => undefined);
    }
  }

  /** The report for the records of page `page` (1-based): their counts reach the checkpoint with the page. */
  reportFor(page: number): PageReport {
    const report = this.run.report;
    const tally = (action: string, by: number) => {
      // A count arriving after its page was recorded (never expected: a page waits for its writes) goes with the next one.
      if (page <= this.recorded) return;
      const counts = this.unrecorded.get(page) ?? {};
      counts[action] = (counts[action] ?? 0) + by;
      this.unrecorded.set(page, counts);
    };
    return {
      add: (entry) => {
        report.add(entry);
        tally(entry.action, 1);
      },
      count: (action, by = 1) => {
        report.count(action, by);
        tally(action, by);
      },
    };
  }

  /** After page `page` (1-based) was processed: checkpoint it once written, flush full batches, call the hook. */
  async pageDone(page: number, progress: string): Promise<void> {
    const seq = this.writer.lastSeq;
    this.checkpoints = this.checkpoints
      .then(() => this.writer.whenWritten(seq))
      .then(() => {
        this.recorded = page;
        for (const p of this.unrecorded.keys()) if (p <= page) this.unrecorded.delete(p);
        return this.run.event(
          { type: "page-done", phase: this.phase, counts: this.run.checkpointCounts(), at: this.ctx.clock.now() },
          progress,
        );
      });
    this.checkpoints.catch(() => undefined);
    // Complete batches go out at once (up to the writer's concurrency in flight); the reader waits only
    // while batches queue behind those, which bounds the memory held in writes.
    if (this.writer.hasFullBatch) {
      this.writer.flush({ onlyFull: true }).catch(() => undefined);
      await this.writer.whenSendQueueEmpty();
    }
    await this.ctx.deps.hooks?.afterPage?.({ phase: this.phase, page });
    await this.run.watch?.check();
  }

  /** Resolves once every page checkpoint so far is written (rejects with the first failure); the phase's pages are all recorded. */
  async settled(): Promise<void> {
    await this.checkpoints;
    this.release();
  }

  /**
   * The phase failed: keep what was already decided (writes are idempotent; their pages then count as
   * done). Pages left unrecorded stay out of the checkpoint: a resumed run redoes and counts them.
   */
  async abort(): Promise<void> {
    await this.writer.drain().catch(() => undefined);
    await this.checkpoints.catch(() => undefined);
  }
}
