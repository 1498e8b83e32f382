/**
 * The phases of a sync run behind one interface. A phase runs over a scope (the whole connector or one
 * provider account, ./scope.ts), writes through the run's sink (Dataverse, or a dry run's record,
 * ./sink.ts), and hands what later phases need through the run's state: the accounts phase its mapping,
 * the subscriptions phase the rows the outbound phase must look at, both the marks the connector's
 * checkpoint keeps. Phases run one after the other (runSync in ./index.ts) or, for a fresh full run, the
 * first two side by side (./sideBySide.ts).
 */
import { type MappingSnapshot, runAccountsPhase } from "./accounts";
import { type Phase, remainingPhases } from "./checkpoint";
import type { CheckpointChanges, ConnectorCheckpoint } from "./connectorCheckpoint";
import type { SyncContext } from "./context";
import type { DigestMarks } from "./digest";
import { RunYield } from "./itemClaim";
import type { MappingTotals } from "./messages";
import { outboundFilter, type OutboundRow, processOutboundRow } from "./outbound/runner";
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

export const accountsPhase: SyncPhase = {
  name: "accounts",
  run: (scope, sink, { sync, run, state }) =>
    counted(run, async () => {
      const result = await runAccountsPhase(sync, run, scope, sink, {
        accountsVersion: state.connectorCheckpoint.accountsVersion,
        accountsMaxVersion: state.accountsMaxVersion,
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
      // The accounts phase's deferred writes went out with these; its checkpoint follows them.
      await state.accountsDone;
      state.accountsDone = undefined;
    }),
};

export const outboundPhase: SyncPhase = {
  name: "outbound",
  run: (scope, sink, { sync, run, state }) =>
    counted(run, async () => {
      await run.event({ type: "phase-start", phase: "outbound", at: sync.clock.now() }, "outbound: reading requested changes");
      const one = scopedProviderAccount(scope);
      const filter = outboundFilter(sync.connection.id) + (one ? ` and _w365_provideraccount_value eq ${one}` : "");
      const rows =
        state.outboundCandidates ??
        (await sync.dv.queryAll<OutboundRow>(SETS.providerSubscription, { select: [...OUTBOUND_COLUMNS], filter, pageSize: 5000 }));
      const outcomes: Record<string, number> = {};
      for (const row of rows) {
        await run.watch?.check();
        const r = await processOutboundRow(sync, row, run.report, { sink, adminEdit: false });
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
        // Failures are counted where they are reported (processOutboundRow).
        if (r.outcome === "applied" || r.outcome === "already-applied") run.report.count("updated");
        await run.progress(`outbound: ${Object.values(outcomes).reduce((a, b) => a + b, 0)} of ${rows.length} requests`);
        // The next item reads the requests still pending again: a handled row no longer matches the filter.
        if (state.shouldYield?.()) throw new RunYield();
      }
      run.report.phase("outbound", { rows: rows.length, outcomes });
      await run.phaseDone("outbound", `outbound: done (${rows.length} rows)`);
    }),
};

/** The phases by name, in the order a run of kind "all" takes them. */
export const PHASES: Record<Phase, SyncPhase> = { accounts: accountsPhase, subscriptions: subscriptionsPhase, outbound: outboundPhase };
