// Shared by the work item suites: queueing a sync as the timer does, mapping every customer, and what a sync leaves
// in Dataverse in a form comparable across two environments.
import { all as rows, type FunctionsWorld } from "../../support/world";

export type Row = Record<string, unknown>;

const SUBSCRIPTION_COLUMNS = [
  "w365_ionsubscriptionid",
  "w365_ioncustomerid",
  "w365_name",
  "w365_productname",
  "w365_skuname",
  "w365_quantity",
  "w365_status",
  "w365_price",
  "w365_cost",
  "w365_currency",
  "w365_billingcycle",
  "w365_billingterm",
  "w365_startdate",
  "w365_enddate",
  "w365_renewaldate",
  "w365_autorenew",
  "w365_vendorsubscriptionid",
  "w365_lastsyncedquantity",
  "w365_lastsyncedstatus",
  "w365_syncstate",
  "w365_missingsince",
];

/** What a sync leaves in Dataverse, without ids and timestamps: comparable across two environments. */
export async function snapshot(world: FunctionsWorld) {
  const accounts = await rows<Row>(world.dv, "w365_provideraccounts");
  const byId = new Map(accounts.map((a) => [String(a.w365_provideraccountid), String(a.w365_ioncustomerid)]));
  const subs = await rows<Row>(world.dv, "w365_providersubscriptions");
  const pick = (r: Row, cols: string[]): Row => Object.fromEntries(cols.map((c) => [c, r[c] ?? null]));
  return {
    accounts: accounts
      .map((a) => pick(a, ["w365_ioncustomerid", "w365_name", "w365_mappingstatus", "w365_contenthash"]))
      .sort((x, y) => String(x.w365_ioncustomerid).localeCompare(String(y.w365_ioncustomerid))),
    subscriptions: subs
      .map((s): Row => ({
        // The content hash covers the row's lookups, whose ids differ between two environments: the columns themselves are compared.
        ...pick(s, SUBSCRIPTION_COLUMNS),
        customer: byId.get(String(s._w365_provideraccount_value)) ?? null,
      }))
      .sort((x, y) => String(x.w365_ionsubscriptionid).localeCompare(String(y.w365_ionsubscriptionid))),
  };
}

/** Queues a sync "all" as the scheduled timer does (a queued run row, then its first work item); `onQueued` learns the run id before its first item runs. */
export async function queueSync(world: FunctionsWorld, connectionId: string, onQueued?: (runId: string) => void): Promise<string> {
  const { runId } = await world.host.runtime.engine.startQueuedRun({ connectionId, kind: "all", trigger: "schedule" });
  onQueued?.(runId);
  await world.host.queue.enqueue({ type: "sync", runId, connectionId, kind: "all", trigger: "schedule" });
  await world.idle();
  return runId;
}

/** Every provider account mapped to a new account, as the admin does in the mapping page. */
export async function mapAll(world: FunctionsWorld): Promise<void> {
  for (const a of await rows<Row>(world.dv, "w365_provideraccounts")) {
    await world.admin.executeAction(
      "w365_MapProviderAccount",
      { CreateNew: true },
      { entitySet: "w365_provideraccounts", id: String(a.w365_provideraccountid) },
    );
  }
  await world.idle();
}
