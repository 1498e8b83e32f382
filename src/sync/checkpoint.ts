/**
 * Run checkpoints (explicit state + a pure nextState), stored as JSON in w365_syncrun.w365_checkpoint.
 *
 * Rule: every write is an idempotent upsert by alternate key, guarded by content hashes, so re-running
 * any part of a run is safe; the checkpoint only saves work. A run resumes at the first phase not marked
 * done and, inside it, skips processing of the pages already completed (they are still read from Ion so
 * that "missing from Ion" detection sees every customer). A run is resumed when runSync gets its runId,
 * or automatically when a run of the same connection and kind is still "running" but its heartbeat
 * (checkpoint updatedAt) is older than the stale limit: its process is presumed dead.
 */
export type Phase = "accounts" | "subscriptions" | "outbound";

export interface CheckpointState {
  version: 1;
  phases: Phase[];
  done: Phase[];
  current?: Phase;
  /** Pages fully processed in the current phase. */
  pagesDone: number;
  /**
   * Rows handled in the current phase when it has rows, not pages (outbound: one request or tracked order each).
   * Only the progress and hand-off texts show it: a resumed outbound phase reads the requests still pending,
   * so it skips nothing by this number.
   */
  rowsDone?: number;
  /** Counts so far (restored into the report on resume). */
  counts: Record<string, number>;
  /** Heartbeat, epoch ms. */
  updatedAt: number;
  holder?: string;
  /**
   * The work item that carries this run (a run split across Functions invocations, ./workItems.ts):
   * its step, and once a delivery claimed it, which queue message and which delivery of it holds it.
   */
  item?: ItemClaim;
  /**
   * A stale run whose checkpoint this run copied when its first item claimed it, not yet marked as taken over
   * (./workItems.ts): the run it came from and that row's ETag when read.
   */
  takeover?: { runId: string; etag: string };
  /**
   * The outbound phase split across branch items that run at once (./branches.ts), by key ("0", "1", …). Set by
   * the one write that hands the run from its parent item to the branches; each branch records itself done.
   */
  branches?: Record<string, OutboundBranch>;
}

/**
 * One branch of a fanned-out outbound phase: the rows whose id (lower case) is `from` or after and before `to`
 * (either end open when absent), the last row it finished (a later turn goes on after it), and once `done`,
 * what its rows added to the run's counts (added to `counts` by the same write that set `done`).
 */
export interface OutboundBranch {
  from?: string;
  to?: string;
  /** The id of the last row this branch finished; a later turn of the branch starts after it. */
  last?: string;
  done: boolean;
  /** The branch's counts so far (carried across its turns); once done, what it added to the run's counts. */
  counts: Record<string, number>;
  /** Rows looked at and their outcomes (the run report's outbound phase). */
  rows: number;
  outcomes: Record<string, number>;
  /** Which turn of the branch is current, and which delivery holds it (as `item` for the run's step). */
  item: ItemClaim;
}

export interface ItemClaim {
  step: number;
  /** Queue message id of the delivery holding this step; absent while the step waits for its message. */
  messageId?: string;
  dequeueCount?: number;
}

export type CheckpointEvent =
  | { type: "phase-start"; phase: Phase; at: number }
  | { type: "page-done"; phase: Phase; counts: Record<string, number>; at: number }
  /** An outbound row handled: its counts are in `counts`; no page is done (the phase has none). */
  | { type: "row-done"; phase: "outbound"; counts: Record<string, number>; at: number }
  | { type: "phase-done"; phase: Phase; counts: Record<string, number>; at: number }
  | { type: "heartbeat"; at: number; holder?: string };

/** Pure: two count maps added key by key. */
export function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export function phasesFor(kind: "accounts" | "subscriptions" | "outbound" | "all"): Phase[] {
  return kind === "all" ? ["accounts", "subscriptions", "outbound"] : [kind];
}

export function initialState(kind: "accounts" | "subscriptions" | "outbound" | "all", at: number): CheckpointState {
  return { version: 1, phases: phasesFor(kind), done: [], pagesDone: 0, counts: {}, updatedAt: at };
}

export function nextState(state: CheckpointState, event: CheckpointEvent): CheckpointState {
  switch (event.type) {
    case "phase-start":
      if (state.current === event.phase) return { ...state, updatedAt: event.at };
      return { ...withoutRows(state), current: event.phase, pagesDone: 0, updatedAt: event.at };
    case "page-done":
      if (state.current !== event.phase) return state;
      return { ...state, pagesDone: state.pagesDone + 1, counts: { ...event.counts }, updatedAt: event.at };
    case "row-done":
      if (state.current !== event.phase) return state;
      return { ...state, rowsDone: (state.rowsDone ?? 0) + 1, counts: { ...event.counts }, updatedAt: event.at };
    case "phase-done":
      return {
        ...withoutRows(state),
        done: state.done.includes(event.phase) ? state.done : [...state.done, event.phase],
        current: undefined,
        pagesDone: 0,
        counts: { ...event.counts },
        updatedAt: event.at,
      };
    case "heartbeat":
      return { ...state, updatedAt: event.at, holder: event.holder ?? state.holder };
  }
}

/** The state without a phase's row count (a phase starting or done). */
function withoutRows(state: CheckpointState): CheckpointState {
  const { rowsDone: _rows, ...rest } = state;
  return rest;
}

/** Where a run stands, for the hand-off text: the current phase's pages, or its requests (outbound), else the phases done. */
export function positionText(state: CheckpointState): string {
  if (!state.current) return `${state.done.length} phase(s) done`;
  if (state.current === "outbound") return `outbound, ${state.rowsDone ?? 0} request(s) handled`;
  return `${state.current}, ${state.pagesDone} page(s) done`;
}

/** Phases still to run, in order. */
export function remainingPhases(state: CheckpointState): Phase[] {
  return state.phases.filter((p) => !state.done.includes(p));
}

/** Pages of `phase` whose processing can be skipped on resume. */
export function pagesToSkip(state: CheckpointState, phase: Phase): number {
  return state.current === phase ? state.pagesDone : 0;
}

export function parseCheckpoint(text: unknown): CheckpointState | undefined {
  if (typeof text !== "string" || text.trim() === "") return undefined;
  try {
    const v = JSON.parse(text) as Partial<CheckpointState>;
    if (v && v.version === 1 && Array.isArray(v.phases) && Array.isArray(v.done)) {
      const state: CheckpointState = {
        version: 1,
        phases: v.phases,
        done: v.done,
        current: v.current,
        pagesDone: v.pagesDone ?? 0,
        counts: v.counts ?? {},
        updatedAt: v.updatedAt ?? 0,
      };
      if (typeof v.rowsDone === "number") state.rowsDone = v.rowsDone;
      if (v.holder !== undefined) state.holder = v.holder;
      if (v.item && typeof v.item === "object" && typeof v.item.step === "number") state.item = v.item;
      if (v.takeover && typeof v.takeover.runId === "string" && typeof v.takeover.etag === "string") state.takeover = v.takeover;
      if (v.branches && typeof v.branches === "object") state.branches = v.branches;
      return state;
    }
  } catch {
    /* a damaged checkpoint means a fresh start, which is safe (idempotent upserts) */
  }
  return undefined;
}

/** A "running" run whose heartbeat is older than this is presumed dead and may be taken over. */
export const DEFAULT_STALE_RUN_MS = 15 * 60_000;

export function isStale(
  state: CheckpointState | undefined,
  startedOnMs: number | undefined,
  now: number,
  staleMs = DEFAULT_STALE_RUN_MS,
): boolean {
  const last = state?.updatedAt ?? startedOnMs ?? 0;
  return now - last > staleMs;
}
