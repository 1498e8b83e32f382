/**
 * The reads every sync run starts with, in ONE $batch of GETs (a $batch counts as one request against
 * Dataverse's service protection): the connector row with its token columns, runs of this kind left
 * "running" (a dead process's run to take over), and the newest account row version (does matching need
 * to run again?). This keeps a no-change run within a few requests of the floor.
 */
import type { DataverseClient } from "../dataverse";
import { queryString } from "../dataverse";
import { CONNECTION_WITH_TOKEN_COLUMNS, ConnectionRecord, connectionWithTokensFromRow } from "./context";
import { ConnectionNotFoundError } from "./errors";
import type { RunKind, RunRow } from "./runs";
import { RUN_COLUMNS } from "./runs";
import { SETS } from "./schema";

export interface RunPrefetch {
  connection: ConnectionRecord;
  /** The connector row's ETag as read: the run writes the connector's checkpoint onto this version. */
  connectionEtag?: string;
  /** Runs of this connector and kind still marked running (newest first). */
  runningRuns: RunRow[];
  /** Highest account row version now, when it could be read. */
  accountsMaxVersion?: string;
  /**
   * The newest Ion `updateTime` among the connector's provider accounts (`w365_ionupdatedon`): Ion's own clock,
   * so a customer Ion lists with a later one changed since the sync last wrote it, whatever our clock says.
   */
  ionCustomersSeenUntil?: string;
}

export function staleRunsFilter(connectionId: string, kind: RunKind): string {
  return `_w365_connection_value eq ${connectionId} and w365_kind eq '${kind}' and w365_status eq 'running' and w365_dryrun eq false`;
}

export async function prefetchRun(
  dv: DataverseClient,
  connectionId: string,
  kind: RunKind,
  o: { wantRuns: boolean; wantAccountsVersion: boolean },
): Promise<RunPrefetch> {
  const select = [...CONNECTION_WITH_TOKEN_COLUMNS];
  const ops = [
    { method: "GET" as const, entitySet: SETS.connection, key: connectionId, query: queryString({ select }).replace(/^\?/, "") },
    ...(o.wantRuns
      ? [
          {
            method: "GET" as const,
            entitySet: SETS.syncRun,
            query: queryString({
              select: RUN_COLUMNS,
              filter: staleRunsFilter(connectionId, kind),
              orderby: "w365_startedon desc",
              top: 5,
            }).replace(/^\?/, ""),
          },
        ]
      : []),
    ...(o.wantAccountsVersion
      ? [
          {
            method: "GET" as const,
            entitySet: SETS.account,
            query: queryString({ select: ["accountid", "versionnumber"], orderby: "versionnumber desc", top: 1 }).replace(/^\?/, ""),
          },
          {
            method: "GET" as const,
            entitySet: SETS.providerAccount,
            query: queryString({
              select: ["w365_provideraccountid", "w365_ionupdatedon"],
              filter: `_w365_connection_value eq ${connectionId} and w365_ionupdatedon ne null`,
              orderby: "w365_ionupdatedon desc",
              top: 1,
            }).replace(/^\?/, ""),
          },
        ]
      : []),
  ];
  const results = await dv.batch(ops, { continueOnError: true });
  const [conn] = results;
  const runs = o.wantRuns ? results[1] : undefined;
  const [version, seen] = o.wantAccountsVersion ? results.slice(o.wantRuns ? 2 : 1) : [];
  if (!conn || !conn.ok) {
    if (conn && !conn.ok && conn.status !== 404) throw conn.error;
    throw new ConnectionNotFoundError(`StreamOne Ion connector ${connectionId} was not found.`);
  }
  const connectionRow = conn.body as Record<string, unknown>;
  const connection = connectionWithTokensFromRow(connectionRow);
  const connectionEtag = typeof connectionRow["@odata.etag"] === "string" ? connectionRow["@odata.etag"] : undefined;
  const runningRuns = o.wantRuns && runs?.ok ? (((runs.body as { value?: RunRow[] })?.value ?? []) as RunRow[]) : [];
  let accountsMaxVersion: string | undefined;
  const vrow =
    o.wantAccountsVersion && version?.ok ? (version.body as { value?: { versionnumber?: number | string }[] })?.value?.[0] : undefined;
  if (vrow?.versionnumber !== undefined && vrow.versionnumber !== null) accountsMaxVersion = String(vrow.versionnumber);
  const seenRow = seen?.ok ? (seen.body as { value?: { w365_ionupdatedon?: string | null }[] })?.value?.[0] : undefined;
  const ionCustomersSeenUntil = typeof seenRow?.w365_ionupdatedon === "string" ? seenRow.w365_ionupdatedon : undefined;
  return { connection, connectionEtag, runningRuns, accountsMaxVersion, ionCustomersSeenUntil };
}
