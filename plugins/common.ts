/** Checks shared by the handlers: the connector exists and is active, no identical run is in flight, who caused an event. */
import { GUID_PATTERN } from "../src/shared/guid";
import { SETS } from "../src/sync/schema";
import type { WebhookContext } from "./context";
import { EMPTY_GUID } from "./context";
import { type PluginDeps, type SyncKind, type Trigger, WebhookRefusedError } from "./types";

const STATE_ACTIVE = 0;

export interface ConnectionSummary {
  id: string;
  name: string;
  active: boolean;
  status?: number;
}

export function requireTargetId(ctx: WebhookContext, what: string): string {
  const id = ctx.target && ctx.target.id !== EMPTY_GUID ? ctx.target.id : ctx.primaryEntityId;
  if (!id || id === EMPTY_GUID || !GUID_PATTERN.test(id)) {
    throw new WebhookRefusedError(
      "WEBHOOK_NO_TARGET",
      `The ${ctx.messageName} call carries no ${what} id.`,
      400,
      `Call ${ctx.messageName} bound to a ${what} record.`,
    );
  }
  return id;
}

/** Reads the connector and refuses when it is missing or deactivated: no work starts for either. */
export async function requireActiveConnection(deps: PluginDeps, connectionId: string): Promise<ConnectionSummary> {
  const row = await deps.dataverse.tryRetrieve<Record<string, unknown>>(SETS.connection, connectionId, {
    select: ["w365_providerconnectionid", "w365_name", "statecode", "w365_status"],
  });
  if (!row) {
    throw new WebhookRefusedError(
      "CONNECTION_NOT_FOUND",
      `StreamOne connector ${connectionId} was not found.`,
      404,
      "It may have been deleted; refresh the connector list.",
    );
  }
  const name = typeof row.w365_name === "string" && row.w365_name ? row.w365_name : "StreamOne Ion";
  const active = row.statecode === undefined || row.statecode === null || Number(row.statecode) === STATE_ACTIVE;
  if (!active) {
    throw new WebhookRefusedError(
      "CONNECTION_INACTIVE",
      `StreamOne connector "${name}" is deactivated.`,
      409,
      "Activate the connector before verifying or syncing it.",
    );
  }
  const summary: ConnectionSummary = { id: connectionId, name, active };
  if (typeof row.w365_status === "number") summary.status = row.w365_status;
  return summary;
}

function conflicts(newKind: SyncKind, activeKind: string): boolean {
  if (activeKind === "verify") return false;
  return newKind === "all" || activeKind === "all" || activeKind === newKind;
}

function timestamp(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Refuses a second identical sync while one is queued or running on the connector. The engine
 * serialises token use, so different kinds may overlap; two identical runs would only duplicate
 * work and confuse the run history. Dry runs write nothing, so they never block or get blocked.
 * A run older than `staleRunMs` is assumed dead (its process crashed) and no longer blocks.
 */
export async function ensureNoActiveRun(deps: PluginDeps, connection: ConnectionSummary, kind: SyncKind, dryRun: boolean): Promise<void> {
  if (dryRun) return;
  const filter = `_w365_connection_value eq ${connection.id} and (w365_status eq 'queued' or w365_status eq 'running')`;
  const now = deps.clock.now();
  for await (const run of deps.dataverse.query<Record<string, unknown>>(SETS.syncRun, {
    select: ["w365_syncrunid", "w365_kind", "w365_status", "w365_dryrun", "w365_startedon", "createdon", "modifiedon"],
    filter,
  })) {
    if (run.w365_dryrun === true) continue;
    const kindOfRun = typeof run.w365_kind === "string" ? run.w365_kind : "";
    if (!conflicts(kind, kindOfRun)) continue;
    const lastSign = timestamp(run.modifiedon) ?? timestamp(run.w365_startedon) ?? timestamp(run.createdon);
    if (lastSign !== undefined && now - lastSign > deps.staleRunMs) continue;
    throw new WebhookRefusedError(
      "SYNC_ALREADY_RUNNING",
      `A ${kindOfRun} sync is already ${String(run.w365_status)} for connector "${connection.name}" (run ${String(run.w365_syncrunid)}).`,
      409,
      "Wait for it to finish (see the connector's sync history), then start the sync again.",
    );
  }
}

/** Custom API calls made from inside another operation (a classic workflow, a plug-in) have Depth > 1. */
export function triggerFor(ctx: WebhookContext): Trigger {
  return ctx.depth > 1 || ctx.parentContext ? "workflow" : "manual";
}

/** True when the change was made by the connector itself (its writes must never start outbound work or a verify). */
export async function causedByIntegration(ctx: WebhookContext, deps: PluginDeps): Promise<boolean> {
  const integrationUser = (await deps.integrationUserId()).toLowerCase();
  return ctx.userId === integrationUser || ctx.initiatingUserId === integrationUser;
}
