/**
 * A normalised dump of what the connector owns in Dataverse: accounts, connectors, provider accounts,
 * provider subscriptions and sync runs, with ids, timestamps, ETags, row versions, order ids and other
 * per-environment values removed and lookups replaced by natural keys, so two environments that went
 * through the same story compare equal exactly when the connector produced the same state.
 */
import type { DataverseClient } from "../../../src/dataverse";

type Row = Record<string, unknown>;

/**
 * System columns, the content hash and the subscriptions digest (both hash lookup GUIDs, so they differ per
 * environment by design; the digest's correctness is tested in test/integration/sync/digest.test.ts).
 */
const SYSTEM = new Set([
  "@odata.etag",
  "w365_contenthash",
  "w365_subscriptionsdigest",
  "createdon",
  "modifiedon",
  "overriddencreatedon",
  "versionnumber",
  "_createdby_value",
  "_modifiedby_value",
  "_ownerid_value",
  "_owningbusinessunit_value",
]);
/** Connector columns that differ per environment or per moment (tokens, leases, URLs, timestamps). */
const CONNECTION_VOLATILE = new Set([
  "w365_ionbaseurl",
  "w365_apikey",
  "w365_apisecret",
  "w365_refreshtoken",
  "w365_accesstoken",
  "w365_accesstokenexpireson",
  "w365_refreshtokenexpireson",
  "w365_refreshtokensavedon",
  "w365_apisecretsavedon",
  "w365_tokenleaseuntil",
  "w365_tokenleaseholder",
  "w365_lastsyncon",
  "w365_lastverifiedon",
  "w365_checkpoint",
  "w365_statusmessage",
]);
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export interface Dump {
  accounts: Row[];
  connections: Row[];
  providerAccounts: Row[];
  providerSubscriptions: Row[];
  runs: Row[];
}

async function all(dv: DataverseClient, set: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const r of dv.query<Row>(set, {})) out.push(r);
  return out;
}

function strip(row: Row, primary: string, extra: Set<string> = new Set()): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === primary || SYSTEM.has(k) || extra.has(k) || k.includes("@")) continue;
    out[k] = v;
  }
  return out;
}

/** Natural key first, then the whole normalised row (accounts may share a name). */
function byKey(key: (r: Row) => string): (a: Row, b: Row) => number {
  return (a, b) => {
    const ka = `${key(a)}\u0000${JSON.stringify(a)}`;
    const kb = `${key(b)}\u0000${JSON.stringify(b)}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/**
 * `runs: "status"` keeps only kind and status of each run (an interrupted run counts its redone work
 * differently); `runs: "kind"` only the kind (a run that met a fault it recovered from later says so).
 */
export async function dumpState(dv: DataverseClient, o: { runs?: "full" | "status" | "kind" } = {}): Promise<Dump> {
  // One at a time: the dump itself must stay under a throttled emulator's concurrency limit.
  const accounts = await all(dv, "accounts");
  const connections = await all(dv, "w365_providerconnections");
  const providerAccounts = await all(dv, "w365_provideraccounts");
  const providerSubscriptions = await all(dv, "w365_providersubscriptions");
  const runs = await all(dv, "w365_syncruns");
  const accountName = new Map(accounts.map((a) => [String(a.accountid), `${String(a.name)} <${String(a.emailaddress1 ?? "")}>`]));
  const providerAccountKey = new Map(
    providerAccounts.map((p) => [String(p.w365_provideraccountid), `ion:${String(p.w365_ioncustomerid)}`]),
  );
  const connectionName = new Map(connections.map((c) => [String(c.w365_providerconnectionid), String(c.w365_name)]));
  const lookups = (r: Row): Row => {
    const out: Row = { ...r };
    for (const [k, v] of Object.entries(r)) {
      if (!k.startsWith("_") || !k.endsWith("_value") || v === null || v === undefined) continue;
      const id = String(v);
      out[k] = accountName.get(id) ?? providerAccountKey.get(id) ?? connectionName.get(id) ?? "<unknown reference>";
    }
    return out;
  };
  const orderFields = (r: Row): Row => ({
    ...r,
    // Order ids and reference ids embed per-environment GUIDs; what matters is whether one is there.
    w365_lastorderid: r.w365_lastorderid ? "<order>" : null,
    w365_orderreference: r.w365_orderreference ? "<reference>" : null,
    // What the claimed order carries stays; the Ion time the claim was made after is a timestamp.
    w365_orderedchange:
      typeof r.w365_orderedchange === "string" ? r.w365_orderedchange.replace(/,?"subscriptionUpdated":"[^"]*"/, "") : null,
    w365_syncmessage:
      typeof r.w365_syncmessage === "string"
        ? r.w365_syncmessage.replace(GUID, "<guid>").replace(/\b(order|reference) [\w:-]+/gi, "$1 <id>")
        : r.w365_syncmessage,
  });
  return {
    accounts: accounts.map((a) => lookups(strip(a, "accountid"))).sort(byKey((r) => `${String(r.name)}|${String(r.emailaddress1)}`)),
    connections: connections.map((c) => lookups(strip(c, "w365_providerconnectionid", CONNECTION_VOLATILE))),
    providerAccounts: providerAccounts
      .map((p) => lookups(strip(p, "w365_provideraccountid")))
      .sort(byKey((r) => String(r.w365_ioncustomerid))),
    providerSubscriptions: providerSubscriptions
      .map((s) => orderFields(lookups(strip(s, "w365_providersubscriptionid"))))
      .sort(byKey((r) => String(r.w365_ionsubscriptionid))),
    runs: runs
      .map((r) =>
        o.runs === "kind"
          ? { kind: r.w365_kind }
          : o.runs === "status"
            ? { kind: r.w365_kind, status: r.w365_status }
            : {
                kind: r.w365_kind,
                trigger: r.w365_trigger,
                status: r.w365_status,
                dryrun: r.w365_dryrun,
                created: r.w365_created,
                updated: r.w365_updated,
                unchanged: r.w365_unchanged,
                failed: r.w365_failed,
              },
      )
      .sort(byKey((r) => JSON.stringify(r))),
  };
}

/** Rows per table, for the report. */
export function dumpCounts(d: Dump): Record<string, number> {
  return {
    accounts: d.accounts.length,
    providerAccounts: d.providerAccounts.length,
    providerSubscriptions: d.providerSubscriptions.length,
    runs: d.runs.length,
  };
}

/** Rows that share their natural key (there must be none). */
export function duplicates(d: Dump): string[] {
  const out: string[] = [];
  const check = (name: string, rows: Row[], key: (r: Row) => string) => {
    const seen = new Set<string>();
    for (const r of rows) {
      const k = key(r);
      if (seen.has(k)) out.push(`${name}:${k}`);
      seen.add(k);
    }
  };
  // The reseller's own data has same-name accounts; a duplicate the connector made is identical in every column.
  check("account", d.accounts, (r) => JSON.stringify(r));
  check("provideraccount", d.providerAccounts, (r) => String(r.w365_ioncustomerid));
  check("providersubscription", d.providerSubscriptions, (r) => String(r.w365_ionsubscriptionid));
  return out;
}
