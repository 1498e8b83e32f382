/**
 * Which connectors the scheduled sync queues, and the queueing itself (pure of Azure registration,
 * so the local host and tests use it directly). See scheduledSync.ts for the timer.
 */
import { queueSyncRun } from "../plugins/startSync";
import type { PluginDeps } from "../plugins/types";
import { odataString } from "../src/dataverse";
import { isDue, parseNcrontab } from "../src/shared/cron";
import { ConnectorError, ensureError } from "../src/shared/errors";
import { ENV_DEFAULT_SYNC_SCHEDULE } from "../src/solution/contract";
import { ConnectionStatus, SETS } from "../src/sync/schema";

export const STATUS_CONNECTED = ConnectionStatus.Connected;

export interface ScheduledSyncReport {
  queued: { connectionId: string; runId: string }[];
  skipped: { connectionId: string; reason: string }[];
  failed: { connectionId: string; error: string }[];
}

interface ConnectionRow {
  w365_providerconnectionid: string;
  w365_name?: string | null;
  w365_status?: number | null;
  w365_syncschedule?: string | null;
  w365_lastsyncon?: string | null;
  createdon?: string | null;
}

/** The solution's environment variable holding the schedule of connectors without their own. */
export const DEFAULT_SCHEDULE_VARIABLE = ENV_DEFAULT_SYNC_SCHEDULE;

/**
 * Why a connector is not due now, or undefined when it is. Pure, so the rule is tested directly.
 * The schedule is the connector's own w365_syncschedule, else the environment's default schedule
 * (w365_DefaultSyncSchedule); with neither, every timer tick is due.
 */
export function notDueReason(row: ConnectionRow, now: Date, environmentDefault?: string): string | undefined {
  if (row.w365_status !== STATUS_CONNECTED) return "not connected (verify the connector first)";
  const ownSchedule = row.w365_syncschedule?.trim();
  const own = ownSchedule || environmentDefault?.trim();
  if (!own) return undefined;
  let schedule;
  try {
    schedule = parseNcrontab(own);
  } catch {
    return undefined; // an unreadable per-connector schedule falls back to the app schedule
  }
  const since = row.w365_lastsyncon ?? row.createdon;
  if (!since || Number.isNaN(Date.parse(since))) return undefined;
  const which = ownSchedule ? "its own schedule" : `the environment's default schedule (${DEFAULT_SCHEDULE_VARIABLE})`;
  return isDue(schedule, new Date(since), now) ? undefined : `${which} "${own}" has no occurrence since the last sync`;
}

/** The effective value of an environment variable: its current value row, else the definition's default. */
export async function readEnvironmentVariable(deps: PluginDeps<unknown>, schemaName: string): Promise<string | undefined> {
  const definition = await deps.dataverse.queryFirst<{ environmentvariabledefinitionid: string; defaultvalue?: string | null }>(
    "environmentvariabledefinitions",
    {
      select: ["environmentvariabledefinitionid", "defaultvalue"],
      filter: `schemaname eq ${odataString(schemaName)}`,
    },
  );
  if (!definition) return undefined;
  const value = await deps.dataverse.queryFirst<{ value?: string | null }>("environmentvariablevalues", {
    select: ["value"],
    filter: `_environmentvariabledefinitionid_value eq ${definition.environmentvariabledefinitionid}`,
  });
  return value?.value?.trim() || definition.defaultvalue?.trim() || undefined;
}

export async function queueDueSyncs(deps: PluginDeps<unknown>): Promise<ScheduledSyncReport> {
  const report: ScheduledSyncReport = { queued: [], skipped: [], failed: [] };
  const now = new Date(deps.clock.now());
  // A missing or unreadable default never blocks the schedule: the app timer alone then decides.
  const environmentDefault = await readEnvironmentVariable(deps, DEFAULT_SCHEDULE_VARIABLE).catch(() => undefined);
  const rows: ConnectionRow[] = [];
  for await (const row of deps.dataverse.query<ConnectionRow>(SETS.connection, {
    select: ["w365_providerconnectionid", "w365_name", "w365_status", "w365_syncschedule", "w365_lastsyncon", "createdon"],
    filter: "statecode eq 0",
  })) {
    rows.push(row);
  }
  for (const row of rows) {
    const connectionId = row.w365_providerconnectionid;
    const reason = notDueReason(row, now, environmentDefault);
    if (reason) {
      report.skipped.push({ connectionId, reason });
      continue;
    }
    try {
      const connection = { id: connectionId, name: row.w365_name ?? "StreamOne Ion", active: true };
      const runId = await queueSyncRun(deps, async () => connection, { connectionId, kind: "all", trigger: "schedule" });
      report.queued.push({ connectionId, runId });
    } catch (caught) {
      if (caught instanceof ConnectorError && caught.code === "SYNC_ALREADY_RUNNING") {
        report.skipped.push({ connectionId, reason: "a sync is already queued or running" });
      } else {
        report.failed.push({ connectionId, error: ensureError(caught).message });
      }
    }
  }
  return report;
}
