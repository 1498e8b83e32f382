/**
 * Where a run's writes go. The phases hand every Dataverse write of a record to a sink together with what a
 * dry run reports for it; they never ask whether the run is a dry run:
 * - `BatchWriter` (./writer.ts) writes: continue-on-error `$batch` requests, results to each write's callback;
 * - `DryRunSink` writes nothing: it reports each write's plan (`would-create`, `would-update`, `missing`,
 *   `would-send`) into the record's report and keeps a tally of the writes it was handed, by entity set
 *   and method, for the run report (`phases.wouldWrite`).
 */
import type { BatchOperation, BatchResult, DataverseClient } from "../dataverse";
import { DataverseConcurrencyError } from "../dataverse";
import type { ReportEntry } from "./report";

/** What a record's outcome is reported into (the run's report, or a page's share of it). */
export interface EntryTarget {
  add(entry: ReportEntry): void;
}

/** What a dry run reports in place of a write. */
export interface WritePlan {
  report: EntryTarget;
  entry: ReportEntry;
  /** What a dry run does in place of the write's result (e.g. keep the planned mapping for the run message). */
  onPlanned?: () => void;
}

/** One write of `WriteSink.writeTogether`. */
export interface TogetherWrite {
  op: BatchOperation;
  plan: WritePlan | null;
  /** True: when the change set fails, this write goes again on its own, and its callback gets that result. */
  alone: boolean;
  /** Called once with the write's final result. */
  onResult: (result: BatchResult) => void;
}

export interface WriteSink {
  /** False when the sink only records (a dry run): nothing written can be relied on later in the run. */
  readonly applies: boolean;
  /**
   * Queues one write (sent with others in a `$batch`); returns its sequence number. `plan` is what a dry run
   * reports instead; null for the run's own bookkeeping (no record's outcome).
   */
  write(op: BatchOperation, plan: WritePlan | null, onResult: (result: BatchResult) => void): number;
  /**
   * Queues writes that land together or not at all (one change set); when they fail, those marked `alone` go
   * again each on its own. Returns the sequence number of the last. A dry run reports each plan, as `write` does.
   */
  writeTogether(writes: TogetherWrite[]): number;
  /**
   * One write now, onto the row version `ifMatch` (the outbound step's writes): true when written (a dry
   * run: recorded), false when the row changed since it was read (412).
   */
  update(entitySet: string, id: string, body: Record<string, unknown>, o?: { ifMatch?: string }): Promise<boolean>;
  /**
   * A step beyond Dataverse the run is about to take (an Ion order): true when the sink only plans, and has
   * reported `plan` instead, so the caller stops there.
   */
  plansOnly(plan: WritePlan): boolean;
  flush(o?: { onlyFull?: boolean }): Promise<void>;
  /**
   * The run's reads are over: what is queued from now on goes out with the run's last writes (split for the
   * dop hint), not as early batches one at a time.
   */
  readsDone(): void;
  /**
   * The caller has nothing more to add for now (a pause in the reads): under a dop hint, while the reads go on
   * and Dataverse has workers to spare, what is buffered goes out as an early batch even below the usual
   * early-batch size (at least MIN_EARLY_BATCH rows). Otherwise nothing happens: batches stay full.
   */
  sendBuffered(): void;
  whenWritten(seq: number): Promise<void>;
  whenSendQueueEmpty(): Promise<void>;
  drain(): Promise<void>;
  readonly pending: number;
  readonly lastSeq: number;
  readonly hasFullBatch: boolean;
}

/** The single writes of the outbound step, on the sink that sends them to Dataverse. */
export async function updateIfUnchanged(
  dv: DataverseClient,
  entitySet: string,
  id: string,
  body: Record<string, unknown>,
  o: { ifMatch?: string } = {},
): Promise<boolean> {
  try {
    await dv.update(entitySet, id, body, o.ifMatch ? { ifMatch: o.ifMatch } : {});
    return true;
  } catch (caught) {
    if (caught instanceof DataverseConcurrencyError) return false;
    throw caught;
  }
}

/** A dry run's sink: every write is reported as planned and tallied, none is made. */
export class DryRunSink implements WriteSink {
  readonly applies = false;
  private seq = 0;
  /** Writes handed to the sink, by "METHOD entity set" (a queued write and a single one alike). */
  readonly tally: Record<string, number> = {};

  private note(method: string, entitySet: string): void {
    const key = `${method} ${entitySet}`;
    this.tally[key] = (this.tally[key] ?? 0) + 1;
  }

  write(op: BatchOperation, plan: WritePlan | null): number {
    this.note(op.method, op.entitySet);
    if (plan) {
      plan.report.add(plan.entry);
      plan.onPlanned?.();
    }
    return ++this.seq;
  }

  writeTogether(writes: TogetherWrite[]): number {
    for (const { op, plan } of writes) this.write(op, plan);
    return this.seq;
  }

  update(entitySet: string): Promise<boolean> {
    this.note("PATCH", entitySet);
    return Promise.resolve(true);
  }

  plansOnly(plan: WritePlan): boolean {
    plan.report.add(plan.entry);
    return true;
  }

  readsDone(): void {}

  sendBuffered(): void {}

  flush(): Promise<void> {
    return Promise.resolve();
  }

  whenWritten(): Promise<void> {
    return Promise.resolve();
  }

  whenSendQueueEmpty(): Promise<void> {
    return Promise.resolve();
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  get pending(): number {
    return 0;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get hasFullBatch(): boolean {
    return false;
  }
}
