/**
 * The `scheduledSync` function, a timer (SYNC_SCHEDULE, default 02:00 UTC daily): queues a full sync ("all") for every connector that
 * is due. Due = active, Connected, no identical run in flight, and — when the connector has its own
 * NCRONTAB in w365_syncschedule — an occurrence of it since the connector last synced. The runs
 * themselves go through the work queue, so this invocation stays short. A connector that cannot be
 * queued does not stop the others, and the invocation succeeds whenever one was queued (its output
 * binding carries their messages); only a pass that queued nothing fails and is retried.
 */
import type { InvocationContext, Timer } from "@azure/functions";

import { queueSyncRun } from "../plugins/startSync";
import type { PluginDeps } from "../plugins/types";
import { odataString } from "../src/dataverse";
import { isDue, parseNcrontab } from "../src/shared/cron";
import { ConnectorError, ensureError } from "../src/shared/errors";
import { mapPool } from "../src/shared/pool";
import { redact } from "../src/shared/redact";
import { ENV_DEFAULT_SYNC_SCHEDULE } from "../src/solution/contract";
import { ConnectionStatus, SETS } from "../src/sync/schema";
import type { FunctionsRuntime } from "./runtime";

export const STATUS_CONNECTED = ConnectionStatus.Connected;
/** Connectors queued at once by one pass (each costs a few Dataverse requests on the webhooks' lane). */
export const QUEUE_CONCURRENCY = 4;

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
export async function readEnvironmentVariable(deps: PluginDeps, schemaName: string): Promise<string | undefined> {
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

export async function queueDueSyncs(deps: PluginDeps): Promise<ScheduledSyncReport> {
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
  // Queued a few at a time: in Azure the queue output binding is written only when the whole pass ends, so
  // the pass's length delays every connector's run; one connector's slow or failing queueing must not hold
  // the others (each outcome is recorded on its own).
  const outcomes = await mapPool(rows, QUEUE_CONCURRENCY, async (row) => {
    const connectionId = row.w365_providerconnectionid;
    const reason = notDueReason(row, now, environmentDefault);
    if (reason) return { skipped: { connectionId, reason } };
    try {
      const connection = { id: connectionId, name: row.w365_name ?? "StreamOne Ion", active: true };
      const runId = await queueSyncRun(deps, async () => connection, { connectionId, kind: "all", trigger: "schedule" });
      return { queued: { connectionId, runId } };
    } catch (caught) {
      if (caught instanceof ConnectorError && caught.code === "SYNC_ALREADY_RUNNING") {
        return { skipped: { connectionId, reason: "a sync is already queued or running" } };
      }
      return { failed: { connectionId, error: ensureError(caught).message } };
    }
  });
  for (const o of outcomes) {
    if (o.queued) report.queued.push(o.queued);
    if (o.skipped) report.skipped.push(o.skipped);
    if (o.failed) report.failed.push(o.failed);
  }
  return report;
}

/** No due connector could be queued; the timer's retry option runs the whole pass again. */
export class ScheduledSyncError extends ConnectorError {
  constructor(report: ScheduledSyncReport) {
    super(
      "SCHEDULED_SYNC_FAILED",
      redact(`Could not queue ${report.failed.length} connector sync(s): ${report.failed.map((f) => f.error).join("; ")}`),
      { retryable: true },
    );
  }
}

export function createScheduledSync(runtime: Pick<FunctionsRuntime, "pluginDeps" | "logger">) {
  return async function scheduledSyncHandler(timer: Timer, context: InvocationContext): Promise<ScheduledSyncReport> {
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "scheduledSync" });
    const report = await queueDueSyncs(runtime.pluginDeps(context));
    log.info("scheduled sync", {
      queued: report.queued.length,
      skipped: report.skipped.length,
      failed: report.failed.length,
      pastDue: timer.isPastDue,
    });
    if (report.failed.length === 0) return report;
    log.error("scheduled sync could not queue every connector", { failed: report.failed });
    // The host writes the queue output binding only when the invocation succeeds: failing it would drop
    // the messages of the connectors already queued, whose runs would then stay "queued" with no worker.
    // So the pass fails (and is retried) only when it queued nothing; otherwise the failed connectors,
    // which have no run in flight, are due again at the next tick.
    if (report.queued.length === 0) throw new ScheduledSyncError(report);
    return report;
  };
}
