/**
 * The side-by-side orchestrator: a fresh full run (kind "all", writing, the whole connector, not resumed
 * inside the accounts phase) runs the subscriptions phase beside the accounts phase. Subscriptions are
 * linked as their customers are decided (./links.ts); the subscriptions' checkpoint events wait until the
 * accounts phase is recorded as done (the checkpoint keeps one current phase). See README "Side by side".
 */
import { decideSettledLinks, loadExistingProviderAccounts, runAccountsPhase } from "./accounts";
import { type CheckpointState, pagesToSkip, remainingPhases } from "./checkpoint";
import type { SyncContext } from "./context";
import { type CustomerDigests, digestsOf } from "./digest";
import { RunYield } from "./itemClaim";
import { CustomerLinks } from "./links";
import { keepAccountsVersion, keepDigestMarks, keepListShape, type PhaseContext } from "./phases";
import { isFullScope, type SyncScope } from "./scope";
import type { WriteSink } from "./sink";
import { type HeldSubscription, runSubscriptionsPhase, speculateOpeningPages } from "./subscriptions";

/**
 * A work item's budget while the two phases overlap: a spent budget does not stop the item at once (the
 * subscription pages already written can be checkpointed only after the accounts phase is recorded done),
 * so the subscriptions stop reading, the accounts phase finishes, and the item hands off after the last
 * subscription page it read (README "Work items").
 */
export interface Overlap {
  active: boolean;
  yieldWanted: boolean;
}

/** Does this run take its accounts and subscriptions phases side by side? */
export function runsSideBySide(scope: SyncScope, sink: WriteSink, checkpoint: CheckpointState): boolean {
  const planned = remainingPhases(checkpoint);
  return (
    sink.applies &&
    isFullScope(scope) &&
    planned[0] === "accounts" &&
    planned.includes("subscriptions") &&
    pagesToSkip(checkpoint, "accounts") === 0
  );
}

/**
 * A fresh side-by-side run's first Ion reads (the first customer page, the subscription pages that phase opens
 * with), asked for while the engine still writes the run's row: a round trip earlier than the phases would ask,
 * and Ion's calls are what bounds such a run. Reads only: a run that then does not start has cost Ion those calls.
 */
export function speculateOpeningReads(sync: SyncContext): void {
  sync.ion.customers.speculateFirstPage({ pageSize: sync.deps.ion?.customerPageSize });
  speculateOpeningPages(sync);
}

/** Both phases at once; their results go to the run's state as the phases in sequence would leave them. */
export async function runSideBySide(
  scope: SyncScope,
  sink: WriteSink,
  { sync, run, state }: PhaseContext,
  o: { overlap: Overlap; progress: (phase: string, message: string) => void; phaseTimes: Record<string, number> },
): Promise<void> {
  const phaseStart = sync.clock.now();
  o.progress("accounts", "accounts: started");
  o.progress("subscriptions", "subscriptions: started");
  const links = new CustomerLinks<HeldSubscription>();
  // One read of the provider accounts serves both phases: the accounts phase's state and the subscriptions' digests.
  // Page by page, a customer's digest goes in before its link is decided (settled rows at once), so the
  // subscriptions of those customers are compared while the rest of the rows are still read.
  const liveDigests: CustomerDigests = new Map();
  const providerAccounts = loadExistingProviderAccounts(sync.dv, sync.connection.id, {
    withDigests: true,
    onPage: (rows) => {
      for (const [customerId, digest] of digestsOf(rows)) liveDigests.set(customerId, digest);
      decideSettledLinks(links, rows);
    },
  });
  const digests = providerAccounts.then(() => liveDigests);
  providerAccounts.catch(() => undefined);
  digests.catch(() => undefined);
  const accounts = runAccountsPhase(sync, run, scope, sink, {
    existing: providerAccounts,
    accountsVersion: state.connectorCheckpoint.accountsVersion,
    accountsMaxVersion: state.accountsMaxVersion,
    ionCustomersSeenUntil: state.ionCustomersSeenUntil,
    deferWrites: true,
    links,
  }).then((result) => {
    o.phaseTimes.accounts = sync.clock.now() - phaseStart;
    return result;
  });
  // The accounts phase is recorded as done only once its writes are; the subscriptions' checkpoints wait for that.
  const accountsRecorded = accounts.then((result) => result.phaseDone);
  accountsRecorded.catch((error: unknown) => links.fail(error));
  o.overlap.active = true;
  const subscriptions = runSubscriptionsPhase(sync, run, scope, sink, {
    existing: state.storedSubscriptions,
    digests: { live: liveDigests, complete: digests },
    concurrent: { links, gate: accountsRecorded, stopReading: () => o.overlap.yieldWanted },
  });
  const [a, b] = await Promise.allSettled([accounts, subscriptions]);
  o.overlap.active = false;
  if (a.status === "rejected") throw a.reason;
  if (b.status === "rejected") throw b.reason;
  await accountsRecorded;
  state.mappingTotals = a.value.mappingTotals;
  state.outboundCandidates = b.value.outbound;
  keepDigestMarks(sink, state, b.value.digestMarks);
  keepListShape(sink, state, b.value.listShape);
  keepAccountsVersion(scope, sink, state, a.value.accountsVersion);
  o.phaseTimes.subscriptions = sync.clock.now() - phaseStart;
  o.progress("accounts", "accounts: done");
  o.progress("subscriptions", "subscriptions: done");
  // The budget ran out after the last subscription page was read: hand off at this phase boundary.
  if (o.overlap.yieldWanted) throw new RunYield();
}
