/**
 * The per-page bookkeeping both inbound phases share: a page counts as done for the checkpoint, in page
 * order, only once all of its writes are written; complete batches go out while the next Ion page is read,
 * the reader pausing while more wait than the writer sends at once (bounded memory); then the test hook `afterPage`.
 */
import type { Phase } from "./checkpoint";
import type { SyncContext } from "./context";
import type { RunRecorder } from "./runs";
import type { BatchWriter } from "./writer";

export class PageCheckpoints {
  private checkpoints: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: SyncContext,
    private readonly run: RunRecorder,
    private readonly writer: BatchWriter,
    private readonly phase: Phase,
    private readonly dryRun: boolean,
    o: {
      /**
       * Checkpoint events wait for this (the accounts phase recorded as done, when the subscriptions phase
       * runs beside it): the checkpoint keeps one current phase, and a run interrupted before then redoes
       * the subscriptions from their first page, which is safe (hash-guarded upserts).
       */
      gate?: Promise<void>;
    } = {},
  ) {
    if (o.gate) {
      this.checkpoints = o.gate.then(() => this.run.event({ type: "phase-start", phase: this.phase, at: this.ctx.clock.now() }));
      this.checkpoints.catch(() => undefined);
    }
  }

  /** After page `page` (1-based) was processed: checkpoint it once written, flush full batches, call the hook. */
  async pageDone(page: number, progress: string): Promise<void> {
    const seq = this.writer.lastSeq;
    this.checkpoints = this.checkpoints
      .then(() => this.writer.whenWritten(seq))
      .then(() =>
        this.run.event({ type: "page-done", phase: this.phase, counts: this.run.report.counts, at: this.ctx.clock.now() }, progress),
      );
    this.checkpoints.catch(() => undefined);
    // Complete batches go out at once (up to the writer's concurrency in flight); the reader waits only
    // while batches queue behind those, which bounds the memory held in writes.
    if (!this.dryRun && this.writer.hasFullBatch) {
      this.writer.flush({ onlyFull: true }).catch(() => undefined);
      await this.writer.whenSendQueueEmpty();
    }
    await this.ctx.deps.hooks?.afterPage?.({ phase: this.phase, page });
    await this.run.watch?.check();
  }

  /** Resolves once every page checkpoint so far is written (rejects with the first failure). */
  settled(): Promise<void> {
    return this.checkpoints;
  }

  /** The phase failed: keep what was already decided (writes are idempotent; their pages then count as done). */
  async abort(): Promise<void> {
    if (!this.dryRun) await this.writer.drain().catch(() => undefined);
    await this.checkpoints.catch(() => undefined);
  }
}
