/**
 * The w365_syncrun row of one verify or sync: created at start (or a queued/interrupted row continued),
 * progress and checkpoint written during the run (throttled), counts, status and report at the end.
 */
import type { BatchOperation, BatchResult, DataverseClient } from "../dataverse";
import { Clock } from "../shared/clock";
import { redact } from "../shared/redact";
import type { CancelWatch } from "./cancellation";
import {
  CheckpointEvent,
  CheckpointState,
  initialState,
  ItemClaim,
  nextState,
  type OutboundBranch,
  parseCheckpoint,
  Phase,
} from "./checkpoint";
import { RunStateError } from "./errors";
import { RunRowLink, type RunRowRead } from "./itemClaim";
import { RunReport } from "./report";
import { toEpochMs } from "./rows/dates";
import { bind, SETS } from "./schema";

export type RunKind = "verify" | "accounts" | "subscriptions" | "outbound" | "all";
export type RunStatus = "queued" | "running" | "succeeded" | "partial" | "failed" | "canceled";

/** Progress/checkpoint writes at most this often (a few extra requests per run, not per page). */
export const PROGRESS_INTERVAL_MS = 5_000;

export const RUN_COLUMNS = [
  "w365_syncrunid",
  "w365_name",
  "_w365_connection_value",
  "w365_kind",
  "w365_trigger",
  "w365_status",
  "w365_dryrun",
  "w365_requestid",
  "w365_startedon",
  "w365_checkpoint",
  "w365_created",
  "w365_updated",
  "w365_unchanged",
  "w365_failed",
];

export interface RunRow {
  w365_syncrunid: string;
  w365_name?: string;
  _w365_connection_value?: string;
  w365_kind?: string;
  w365_trigger?: string;
  w365_status?: string;
  w365_dryrun?: boolean;
  w365_requestid?: string | null;
  w365_startedon?: string | null;
  w365_checkpoint?: string | null;
}

export interface RunStart {
  connectionId: string;
  connectionName: string;
  kind: RunKind;
  trigger: string;
  dryRun: boolean;
  requestId?: string;
  /** Continue this row (queued by a webhook, or interrupted). */
  runId?: string;
  holderId: string;
  /** The work item's claim on the row (./workItems.ts): every write of the row is then fenced by it. */
  claim?: ItemClaim;
}

export function runName(kind: RunKind, trigger: string, connectionName: string, at: number): string {
  return `${kind} · ${connectionName} · ${trigger} · ${new Date(at).toISOString().replace("T", " ").slice(0, 19)}`.slice(0, 100);
}

export async function createQueuedRun(
  dv: DataverseClient,
  o: Omit<RunStart, "runId" | "holderId">,
  now: number,
  status: RunStatus = "queued",
): Promise<string> {
  return dv.create(SETS.syncRun, {
    w365_name: runName(o.kind, o.trigger, o.connectionName, now),
    "w365_connection@odata.bind": bind(SETS.connection, o.connectionId),
    w365_kind: o.kind,
    w365_trigger: o.trigger,
    w365_status: status,
    w365_dryrun: o.dryRun,
    w365_requestid: o.requestId ?? null,
    ...(status === "running" ? { w365_startedon: new Date(now).toISOString() } : {}),
  });
}

export interface RunTotals {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

/** The four totals the run row and the run list show, from a report's counts (a dry run's plans count as what they would do). */
export function runTotals(counts: Record<string, number>): RunTotals {
  const n = (action: string) => counts[action] ?? 0;
  return {
    created: n("created") + n("would-create"),
    updated: n("updated") + n("would-update"),
    unchanged: n("unchanged"),
    failed: n("failed"),
  };
}

export type CountColumns = { w365_created: number; w365_updated: number; w365_unchanged: number; w365_failed: number };

/** The run row's count columns, written with every progress update so the admin UI shows them live. */
export function countColumnsOf(counts: Record<string, number>): CountColumns {
  const c = runTotals(counts);
  return { w365_created: c.created, w365_updated: c.updated, w365_unchanged: c.unchanged, w365_failed: c.failed };
}

export class RunRecorder {
  readonly report: RunReport;
  checkpoint: CheckpointState;
  private lastWrite = 0;
  private readonly startedAt: number;
  private lastProgress = "";
  /** Called with every progress text (not throttled): the CLI prints it. */
  onProgress?: (phase: string, text: string) => void;
  /** Checked between pages and outbound rows: stops the run when an admin cancels it or deactivates the connector. */
  watch?: CancelWatch;
  /** Counts already in the report for pages whose checkpoint is not recorded yet, by page (./pages.ts). */
  private readonly unrecorded = new Set<Map<number, Record<string, number>>>();

  private constructor(
    /** The run row: its ETag, cancel stamp and connector state as last seen; every write goes through it. */
    readonly row: RunRowLink,
    private readonly clock: Clock,
    readonly runId: string,
    readonly start: RunStart,
    checkpoint: CheckpointState,
    readonly resumed: boolean,
  ) {
    this.startedAt = clock.now();
    this.lastWrite = this.startedAt; // the row was just written
    this.report = new RunReport(start.kind, start.dryRun);
    this.checkpoint = checkpoint;
    if (resumed) this.report.restore(checkpoint.counts);
  }

  /** Creates the run row (status running), or takes over a queued/interrupted one. */
  static async begin(dv: DataverseClient, clock: Clock, start: RunStart): Promise<RunRecorder> {
    const now = clock.now();
    const kindForCheckpoint = start.kind === "verify" ? "accounts" : start.kind;
    if (start.runId) {
      const link = new RunRowLink(dv, () => clock.now(), start.runId, start.claim);
      // One read: the columns to continue from, and the cancel stamp and connector state the first cancel check judges.
      const row = await link.read<RunRowRead & RunRow>(RUN_COLUMNS, false);
      if (!row) throw new RunStateError(`Sync run ${start.runId} was not found.`);
      if (row._w365_connection_value && row._w365_connection_value.toLowerCase() !== start.connectionId.toLowerCase()) {
        throw new RunStateError(`Sync run ${start.runId} belongs to another connector.`);
      }
      if (row.w365_status === "succeeded") throw new RunStateError(`Sync run ${start.runId} already succeeded; start a new run instead.`);
      link.judge(row);
      const saved = parseCheckpoint(row.w365_checkpoint);
      const checkpoint = saved ?? initialState(kindForCheckpoint, now);
      // A claim written on a queued row carries no phase state yet: the run starts fresh.
      const resumed = saved !== undefined && (saved.done.length > 0 || saved.current !== undefined || Object.keys(saved.counts).length > 0);
      await link.write({
        w365_status: "running",
        w365_startedon: row.w365_startedon ?? new Date(now).toISOString(),
        w365_finishedon: null,
        w365_progress: resumed ? "resuming from checkpoint" : "started",
      });
      return new RunRecorder(link, clock, start.runId, start, checkpoint, resumed);
    }
    const runId = await dv.create(SETS.syncRun, {
      w365_name: runName(start.kind, start.trigger, start.connectionName, now),
      "w365_connection@odata.bind": bind(SETS.connection, start.connectionId),
      w365_kind: start.kind,
      w365_trigger: start.trigger,
      w365_status: "running",
      w365_dryrun: start.dryRun,
      w365_requestid: start.requestId ?? null,
      w365_startedon: new Date(now).toISOString(),
      w365_progress: "started",
    });
    return new RunRecorder(
      new RunRowLink(dv, () => clock.now(), runId, start.claim),
      clock,
      runId,
      start,
      initialState(kindForCheckpoint, now),
      false,
    );
  }

  /**
   * Keeps the counts of pages not yet recorded out of the checkpoint: a run resumed from it redoes those
   * pages and counts them then (a row they wrote comes back unchanged, counted once). Returns the release.
   */
  holdOutOfCheckpoints(pages: Map<number, Record<string, number>>): () => void {
    this.unrecorded.add(pages);
    return () => this.unrecorded.delete(pages);
  }

  /** The report's counts minus those of pages not recorded yet: what a checkpoint may carry. */
  checkpointCounts(): Record<string, number> {
    const counts = { ...this.report.counts };
    for (const pages of this.unrecorded)
      for (const page of pages.values())
        for (const [action, n] of Object.entries(page)) {
          const left = (counts[action] ?? 0) - n;
          if (left > 0) counts[action] = left;
          else delete counts[action];
        }
    return counts;
  }

  /** Applies a checkpoint event; persists it (with progress text) when due or when `force`. */
  async event(event: CheckpointEvent, progress?: string, force = false): Promise<void> {
    this.checkpoint = nextState(this.checkpoint, event);
    if (progress) {
      this.lastProgress = progress;
      this.onProgress?.(this.checkpoint.current ?? ("phase" in event ? event.phase : ""), progress);
    }
    const now = this.clock.now();
    if (!force && now - this.lastWrite < PROGRESS_INTERVAL_MS) return;
    this.lastWrite = now;
    await this.write({
      w365_progress: this.lastProgress.slice(0, 400),
      w365_checkpoint: JSON.stringify({ ...this.checkpoint, holder: this.start.holderId }),
      ...this.countColumns(),
    });
  }

  /**
   * Marks a phase done. Persisted with the throttled progress writes, not at once: a crash right after
   * a phase only repeats that phase's reads (its writes are idempotent and already hashed), which is
   * cheaper than one extra request on every run. A dry run only writes its row at start and end.
   */
  async phaseDone(phase: Phase, progress: string): Promise<void> {
    const event: CheckpointEvent = { type: "phase-done", phase, counts: this.checkpointCounts(), at: this.clock.now() };
    if (this.start.dryRun) {
      this.checkpoint = nextState(this.checkpoint, event);
      return;
    }
    await this.event(event, progress);
  }

  /** Progress text only, throttled. */
  async progress(text: string): Promise<void> {
    this.lastProgress = text;
    this.onProgress?.(this.checkpoint.current ?? "", text);
    const now = this.clock.now();
    if (now - this.lastWrite < PROGRESS_INTERVAL_MS) return;
    this.lastWrite = now;
    this.checkpoint = nextState(this.checkpoint, { type: "heartbeat", at: now, holder: this.start.holderId });
    await this.write({
      w365_progress: text.slice(0, 400),
      w365_checkpoint: JSON.stringify(this.checkpoint),
      ...this.countColumns(),
    });
  }

  /** Writes the run row; a work item's writes are fenced by its claim. */
  private async write(body: Record<string, unknown>): Promise<void> {
    await this.row.write(body);
  }

  /**
   * The work item's budget is spent: records the checkpoint now (not throttled) and releases the row to
   * step `nextStep`, which the caller then enqueues. The run stays "running".
   */
  async handOff(nextStep: number, progress: string, branches?: Record<string, OutboundBranch>): Promise<void> {
    const now = this.clock.now();
    this.checkpoint = {
      ...nextState(this.checkpoint, { type: "heartbeat", at: now, holder: this.start.holderId }),
      item: { step: nextStep },
      // The branches and the step they share go out in this one fenced write (./branches.ts).
      ...(branches ? { branches } : {}),
    };
    this.lastWrite = now;
    await this.write({
      w365_progress: progress.slice(0, 400),
      w365_checkpoint: JSON.stringify(this.checkpoint),
      ...this.countColumns(),
    });
  }

  /** The counts so far, written with every progress update so the admin UI shows them live. */
  private countColumns(): CountColumns {
    return countColumnsOf(this.report.counts);
  }

  get durationMs(): number {
    return Math.max(0, this.clock.now() - this.startedAt);
  }

  counts(): RunTotals {
    return runTotals(this.report.counts);
  }

  /**
   * Final write: status, counts, report, duration, message. `alsoWrite` (e.g. the connector's last-sync
   * stamp) travels in the same $batch, so finishing costs one request. Returns the results of `alsoWrite`.
   */
  async finish(status: RunStatus, message: string, alsoWrite: BatchOperation[] = []): Promise<BatchResult[]> {
    const body = {
      ...endOfRunColumns(status, message, this.clock.now()),
      ...this.countColumns(),
      w365_report: this.report.serialize(),
      w365_durationms: this.durationMs,
      w365_checkpoint: JSON.stringify(this.checkpoint),
    };
    if (alsoWrite.length === 0) {
      await this.write(body);
      return [];
    }
    return this.row.writeWith(body, alsoWrite);
  }
}

/**
 * The columns that end a run: its status, finish time, message, and the progress line the run list shows.
 * The run's own final write, a takeover marking the stale run and the poison handler all end a run this way.
 */
export function endOfRunColumns(
  status: RunStatus,
  message: string,
  now: number,
): { w365_status: RunStatus; w365_finishedon: string; w365_message: string; w365_progress: string } {
  const text = redact(message);
  return {
    w365_status: status,
    w365_finishedon: new Date(now).toISOString(),
    w365_message: text.slice(0, 2000),
    w365_progress: status === "failed" ? `failed: ${text}`.slice(0, 400) : status === "canceled" ? "canceled" : "finished",
  };
}

/** Of the runs still marked running, the newest whose heartbeat (checkpoint updatedAt) is older than `staleMs`: its process died. */
export function pickStaleRun<R extends RunRow>(rows: R[], now: number, staleMs: number): R | undefined {
  for (const row of rows) {
    const cp = parseCheckpoint(row.w365_checkpoint);
    const last = cp?.updatedAt ?? toEpochMs(row.w365_startedon) ?? 0;
    if (now - last > staleMs) return row;
  }
  return undefined;
}
