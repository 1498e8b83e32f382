/**
 * The phases of a sync run behind one interface. A phase runs over a scope (the whole connector or one
 * provider account, ./scope.ts), writes through the run's sink (Dataverse, or a dry run's record,
 * ./sink.ts), and hands what later phases need through the run's state: the accounts phase its mapping,
 * the subscriptions phase the rows the outbound phase must look at, both the marks the connector's
 * checkpoint keeps. Phases run one after the other (runSync in ./index.ts) or, for a fresh full run, the
 * first two side by side (./sideBySide.ts).
 */
import { type MappingSnapshot, runAccountsPhase } from "./accounts";
import { addCounts, type Phase, remainingPhases } from "./checkpoint";
import type { CheckpointChanges, ConnectorCheckpoint } from "./connectorCheckpoint";
import type { SyncContext } from "./context";
import type { DigestMarks } from "./digest";
import { RunStateError } from "./errors";
import type { ListShape } from "./ionPages";
import { RunFanOut, RunYield } from "./itemClaim";
import type { MappingTotals } from "./messages";
import { branchCount, splitIds } from "./outbound/partition";
import { outboundFilter, type OutboundRow, processOutboundRow } from "./outbound/runner";
import type { RunReport } from "./report";
import type { RunRecorder } from "./runs";
import { OUTBOUND_COLUMNS, SETS } from "./schema";
import { isFullScope, scopedProviderAccount, type SyncScope } from "./scope";
import type { WriteSink } from "./sink";
import { runSubscriptionsPhase, type StoredSubscriptions } from "./subscriptions";

/** Outcome counts a phase added to the run's report (created, updated, skipped-unmapped, order-placed...). */
export type PhaseCounts = Record<string, number>;

/** What the phases of one run share and hand on. */
export interface RunState {
  /** The connector's checkpoint as read at the run's start. */
  readonly connectorCheckpoint: ConnectorCheckpoint;
  /** The newest account row version when the run started (read with its first requests). */
  readonly accountsMaxVersion?: string;
  /** The newest Ion update time the stored provider accounts hold (read with the run's first requests). */
  readonly ionCustomersSeenUntil?: string;
  /** The marks this run changes in the connector's checkpoint (written when it ends). */
  readonly checkpointChanges: CheckpointChanges;
  /** The accounts phase's mapping, when fully known in memory (saves the subscriptions phase a read). */
  mapping?: MappingSnapshot;
  /** What is left for the admin after the accounts phase (the run message). */
  mappingTotals?: MappingTotals;
  /** The accounts phase's deferred writes: resolves once written and the phase recorded as done. */
  accountsDone?: Promise<void>;
  /** The stored subscription rows, read while the accounts phase runs. */
  storedSubscriptions?: Promise<StoredSubscriptions>;
  /** The rows the outbound phase looks at, as the subscriptions phase found them. */
  outboundCandidates?: OutboundRow[];
  /** A work item's budget is spent: the outbound phase stops between rows. */
  readonly shouldYield?: () => boolean;
  /** A work item whose outbound phase may fan out: above `rows` pending rows, up to `branches` branch items. */
  readonly fanOut?: { rows: number; branches: number };
}

export interface PhaseContext {
  sync: SyncContext;
  run: RunRecorder;
  state: RunState;
}

export interface SyncPhase {
  readonly name: Phase;
  run(scope: SyncScope, sink: WriteSink, ctx: PhaseContext): Promise<PhaseCounts>;
}

/** Pure: the counts added since `before`. */
function countsSince(before: Record<string, number>, after: Record<string, number>): PhaseCounts {
  const out: PhaseCounts = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

async function counted(run: RunRecorder, work: () => Promise<void>): Promise<PhaseCounts> {
  const before = { ...run.report.counts };
  await work();
  return countsSince(before, run.report.counts);
}

/** Keeps the account row version the phase matched against, for the connector's checkpoint (full scope only). */
export function keepAccountsVersion(scope: SyncScope, sink: WriteSink, state: RunState, version: string | undefined): void {
  if (!sink.applies || !isFullScope(scope) || version === state.connectorCheckpoint.accountsVersion) return;
  state.checkpointChanges.accountsVersion = version;
}

/** Keeps the digests' marks (null: forget them; undefined: leave them as they are). */
export function keepDigestMarks(sink: WriteSink, state: RunState, marks: DigestMarks | null | undefined): void {
  if (!sink.applies || marks === undefined) return;
  state.checkpointChanges.subscriptionDigest = marks ?? undefined;
}

/** Keeps the shape of Ion's subscription list as this run read it, when it differs from the stored hint. */
export function keepListShape(sink: WriteSink, state: RunState, shape: ListShape | undefined): void {
  const stored = state.connectorCheckpoint.ionSubscriptions;
  if (!sink.applies || !shape || (stored?.step === shape.step && stored.total === shape.total)) return;
  state.checkpointChanges.ionSubscriptions = shape;
}

export const accountsPhase: SyncPhase = {
  name: "accounts",
  run: (scope, sink, { sync, run, state }) =>
    counted(run, async () => {
      const result = await runAccountsPhase(sync, run, scope, sink, {
        accountsVersion: state.connectorCheckpoint.accountsVersion,
        accountsMaxVersion: state.accountsMaxVersion,
        ionCustomersSeenUntil: state.ionCustomersSeenUntil,
        deferWrites: remainingPhases(run.checkpoint).includes("subscriptions"),
      });
      state.mapping = result.mapping;
      state.mappingTotals = result.mappingTotals;
      state.accountsDone = result.phaseDone;
      keepAccountsVersion(scope, sink, state, result.accountsVersion);
    }),
};

export const subscriptionsPhase: SyncPhase = {
  name: "subscriptions",
  run: (scope, sink, { sync, run, state }) =>
    counted(run, async () => {
      const result = await runSubscriptionsPhase(sync, run, scope, sink, { mapping: state.mapping, existing: state.storedSubscriptions });
      state.outboundCandidates = result.outbound;
      keepDigestMarks(sink, state, result.digestMarks);
      keepListShape(sink, state, result.listShape);
      // The accounts phase's deferred writes went out with these; its checkpoint follows them.
      await state.accountsDone;
      state.accountsDone = undefined;
    }),
};

/** What one pass over outbound rows did: rows looked at, their outcomes, the counts it added, the last row finished. */
export interface OutboundPass {
  rows: number;
  outcomes: Record<string, number>;
  counts: PhaseCounts;
  /** The id (lower case) of the last row finished. */
  last?: string;
  /** Set when the pass stopped (`shouldStop`) with rows left. */
  stopped: boolean;
}

export function emptyPass(): OutboundPass {
  return { rows: 0, outcomes: {}, counts: {}, stopped: false };
}

/**
 * The outbound work of a set of rows (the whole phase, or one branch's partition of it): each row processed in
 * turn, with a cancel check before each. Returns what it did rather than ending anything: the caller records
 * it (the phase's checkpoint, or a branch's done write). `pass` is filled as rows finish, so a caller that
 * catches a cancel still has the counts of the rows done. Stops between rows when `shouldStop` says so.
 */
export async function runOutboundRows(
  sync: SyncContext,
  rows: OutboundRow[],
  o: {
    report: RunReport;
    sink: WriteSink;
    watch?: { check(): Promise<void> };
    /** After each row, with `pass` up to date (a branch records its progress there). */
    afterRow?: (pass: OutboundPass) => Promise<void>;
    shouldStop?: () => boolean;
  },
  pass: OutboundPass = emptyPass(),
): Promise<OutboundPass> {
  const before = { ...o.report.counts };
  try {
    for (const [i, row] of rows.entries()) {
      await o.watch?.check();
      const r = await processOutboundRow(sync, row, o.report, { sink: o.sink, adminEdit: false });
      pass.outcomes[r.outcome] = (pass.outcomes[r.outcome] ?? 0) + 1;
      // Failures are counted where they are reported (processOutboundRow).
      if (r.outcome === "applied" || r.outcome === "already-applied") o.report.count("updated");
      pass.rows++;
      pass.last = row.w365_providersubscriptionid.toLowerCase();
      pass.counts = countsSince(before, o.report.counts);
      await o.afterRow?.(pass);
      if (i < rows.length - 1 && o.shouldStop?.()) {
        pass.stopped = true;
        break;
      }
    }
  } finally {
    pass.counts = countsSince(before, o.report.counts);
  }
  return pass;
}

/** The pending rows of the outbound phase: a request, or an order being tracked (one query, 5,000 a page). */
export async function readOutboundRows(sync: SyncContext, scope: SyncScope): Promise<OutboundRow[]> {
  const one = scopedProviderAccount(scope);
  const filter = outboundFilter(sync.connection.id) + (one ? ` and _w365_provideraccount_value eq ${one}` : "");
  return sync.dv.queryAll<OutboundRow>(SETS.providerSubscription, { select: [...OUTBOUND_COLUMNS], filter, pageSize: 5000 });
}

export const outboundPhase: SyncPhase = {
  name: "outbound",
  run: (scope, sink, { sync, run, state }) =>
    counted(run, async () => {
      await run.event({ type: "phase-start", phase: "outbound", at: sync.clock.now() }, "outbound: reading requested changes");
      const branches = run.checkpoint.branches;
      if (branches) {
        // The phase ran in branch items; the write that recorded the last of them done handed the run here, and
        // their counts are in the checkpoint's (restored into the report when this item began).
        const open = Object.keys(branches).filter((k) => !branches[k]!.done);
        if (open.length > 0) throw new RunStateError(`The outbound branches ${open.join(", ")} of this run have not finished.`);
        let outcomes: Record<string, number> = {};
        let rows = 0;
        for (const b of Object.values(branches)) {
          rows += b.rows;
          outcomes = addCounts(outcomes, b.outcomes);
        }
        run.report.phase("outbound", { rows, outcomes, branches: Object.keys(branches).length });
        await run.phaseDone("outbound", `outbound: done (${rows} rows in ${Object.keys(branches).length} branches)`);
        return;
      }
      const rows = state.outboundCandidates ?? (await readOutboundRows(sync, scope));
      // Many pending requests: each row waits on its order's polls, so branch items working at once finish sooner.
      const n = state.fanOut && sink.applies ? branchCount(rows.length, state.fanOut) : 0;
      if (n > 1)
        throw new RunFanOut(
          splitIds(
            rows.map((r) => r.w365_providersubscriptionid),
            n,
          ),
        );
      const pass = await runOutboundRows(sync, rows, {
        report: run.report,
        sink,
        ...(run.watch ? { watch: run.watch } : {}),
        // Each row's counts go into the checkpoint as the row ends (written with the next progress write or the
        // hand-off): the next item reads only the requests still pending, so a handled row is never counted again.
        afterRow: (pass) =>
          run.event(
            { type: "row-done", phase: "outbound", counts: run.checkpointCounts(), at: sync.clock.now() },
            `outbound: ${pass.rows} of ${rows.length} requests`,
          ),
        // The next item reads the requests still pending again: a handled row no longer matches the filter.
        ...(state.shouldYield ? { shouldStop: state.shouldYield } : {}),
      });
      if (pass.stopped) throw new RunYield();
      run.report.phase("outbound", { rows: rows.length, outcomes: pass.outcomes });
      await run.phaseDone("outbound", `outbound: done (${rows.length} rows)`);
    }),
};

/** The phases by name, in the order a run of kind "all" takes them. */
export const PHASES: Record<Phase, SyncPhase> = { accounts: accountsPhase, subscriptions: subscriptionsPhase, outbound: outboundPhase };
