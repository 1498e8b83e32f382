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
  status: "succeeded" | "partial" | "failed" | "canceled";
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
}
