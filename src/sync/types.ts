import type { SyncKind } from "./vocabulary";

export type { SyncKind, Trigger } from "./vocabulary";

export interface SyncProgress {
  runId: string;
  phase: string;
  message: string;
  counts: Record<string, number>;
}

export interface SyncRunSummary {
  runId: string;
  connectionId: string;
  kind: SyncKind;
  /** "running": a work item handed the rest of the run to the next item (`continuation`). */
  status: "succeeded" | "partial" | "failed" | "canceled" | "running";
  dryRun: boolean;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** Every outcome count (auto-mapped, suggestions, skipped-unmapped, conflict, order-placed...). */
  counts: Record<string, number>;
  message: string;
  durationMs: number;
  resumed: boolean;
  /** The run report (capped), as written to w365_report. */
  report: unknown;
  /** Set when status is "running": the step and cursor the next work item starts from. */
  continuation?: {
    step: number;
    phase?: "accounts" | "subscriptions" | "outbound";
    pagesDone: number;
    /** The outbound phase fanned out: step `step` runs as one branch item per key, at once. */
    branches?: string[];
  };
}
