/**
 * Daily keep-alive: Ion refresh tokens expire (32 days from each issue by the v3 reference; 30 is
 * assumed where Ion does not say) and rotate on use, so rotating each connector's token about once a day
 * keeps it alive indefinitely. A connector whose rotation is refused is marked Credentials expired with
 * the reason; one whose token nears expiry is warned (then marked expired); one that has not synced
 * successfully for a configured time is flagged on its message. A connector whose rotated token this
 * process could not save is rotated at once (the rotation saves it first) and set back to Connected.
 */
import { IonAuthenticationError, REQUEST_NEW_CREDENTIALS_INSTRUCTION } from "../ion";
import { systemClock } from "../shared/clock";
import { ensureError } from "../shared/errors";
import { connectionFromRow, makeContext, SyncDeps } from "../sync/context";
import { toEpochMs } from "../sync/rows/dates";
import { CONNECTION_COLUMNS, ConnectionStatus, SETS } from "../sync/schema";
import { connectorKey } from "./dataverseStore";
import { PROCESS_ROTATION_JOURNAL } from "./journal";
import { isRefreshTokenRejected, recoveredConnectorStatus } from "./status";

const DAY = 86_400_000;
export const DEFAULT_MAX_TOKEN_AGE_MS = 20 * 3_600_000; // rotate when older than ~1 day (a daily timer always finds it due)
export const DEFAULT_STALE_SYNC_MS = 3 * DAY;
export const DEFAULT_WARN_EXPIRY_MS = 7 * DAY;
export const DEFAULT_EXPIRED_MS = 1 * DAY;

export interface KeepAliveEntry {
  connectionId: string;
  name: string;
  action: "rotated" | "not-due" | "expired" | "failed" | "skipped";
  warnings: string[];
  message: string;
  status?: number;
}

export interface KeepAliveReport {
  at: string;
  connections: KeepAliveEntry[];
}

/** Pure: warnings for a connector given its dates. */
export function keepAliveWarnings(o: {
  now: number;
  refreshTokenExpiresOn?: string;
  lastSyncOn?: string;
  lastVerifiedOn?: string;
  staleSyncMs: number;
  warnExpiryMs: number;
}): string[] {
  const warnings: string[] = [];
  const expires = toEpochMs(o.refreshTokenExpiresOn);
  if (expires !== undefined && expires - o.now < o.warnExpiryMs) {
    warnings.push(
      `The Ion refresh token expires on ${new Date(expires).toISOString().slice(0, 10)} and could not be renewed yet. ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
    );
  }
  const lastSync = toEpochMs(o.lastSyncOn) ?? toEpochMs(o.lastVerifiedOn);
  if (lastSync !== undefined && o.now - lastSync > o.staleSyncMs) {
    warnings.push(
      `No successful sync since ${new Date(lastSync).toISOString().slice(0, 16).replace("T", " ")} UTC: check the schedule and the last sync runs.`,
    );
  }
  return warnings;
}

export async function runKeepAlive(
  deps: SyncDeps,
  o: { now?: number; maxTokenAgeMs?: number; staleSyncMs?: number; warnExpiryMs?: number } = {},
): Promise<KeepAliveReport> {
  const clock = deps.clock ?? systemClock;
  const now = o.now ?? clock.now();
  const maxAge = o.maxTokenAgeMs ?? DEFAULT_MAX_TOKEN_AGE_MS;
  const staleSyncMs = o.staleSyncMs ?? DEFAULT_STALE_SYNC_MS;
  const warnExpiryMs = o.warnExpiryMs ?? DEFAULT_WARN_EXPIRY_MS;
  const entries: KeepAliveEntry[] = [];
  const rows = await deps.dataverse.queryAll<Record<string, unknown>>(SETS.connection, { select: [...CONNECTION_COLUMNS] });
  for (const row of rows) {
    const c = connectionFromRow(row);
    const entry: KeepAliveEntry = { connectionId: c.id, name: c.name, action: "not-due", warnings: [], message: "" };
    entries.push(entry);
    if (c.status === undefined || c.status === ConnectionStatus.NotVerified || c.status === ConnectionStatus.CredentialsExpired) {
      entry.action = "skipped";
      entry.message =
        c.status === ConnectionStatus.CredentialsExpired ? "credentials expired: waiting for new credentials" : "not verified yet";
      continue;
    }
    const savedOn = toEpochMs(c.refreshTokenSavedOn) ?? toEpochMs(c.lastVerifiedOn) ?? 0;
    let refreshTokenExpiresOn = c.refreshTokenExpiresOn;
    let status = c.status;
    let rotationFailure: string | undefined;
    let clearExpiry = false;
    let recovered: ReturnType<typeof recoveredConnectorStatus>;
    const unsaved = (deps.rotations ?? PROCESS_ROTATION_JOURNAL).has(connectorKey(deps.dataverse, c.id));
    if (now - savedOn >= maxAge || unsaved) {
      try {
        const ctx = makeContext(deps, c);
        const state = await ctx.tokens.rotate();
        entry.action = "rotated";
        recovered = recoveredConnectorStatus(c, ctx.tokens.recoveredUnsaved);
        if (recovered) status = recovered.w365_status;
        if (state.refreshTokenExpiresAt) refreshTokenExpiresOn = new Date(state.refreshTokenExpiresAt).toISOString();
      } catch (error) {
        const e = ensureError(error);
        if (error instanceof IonAuthenticationError) {
          entry.action = "expired";
          status = ConnectionStatus.CredentialsExpired;
          rotationFailure = `The daily token renewal was refused by StreamOne Ion (the refresh token expired or was used elsewhere). ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`;
          // A refused token's expiry means nothing any more (and must not raise "expires on" warnings).
          if (isRefreshTokenRejected(error)) {
            clearExpiry = refreshTokenExpiresOn !== undefined;
            refreshTokenExpiresOn = undefined;
          }
        } else {
          entry.action = "failed";
          rotationFailure = `The daily token renewal failed (${e.message}); it is retried on the next run.`;
        }
      }
    }
    entry.warnings = keepAliveWarnings({
      now,
      refreshTokenExpiresOn,
      lastSyncOn: c.lastSyncOn,
      lastVerifiedOn: c.lastVerifiedOn,
      staleSyncMs,
      warnExpiryMs,
    });
    const expires = toEpochMs(refreshTokenExpiresOn);
    if (entry.action !== "rotated" && expires !== undefined && expires - now < DEFAULT_EXPIRED_MS)
      status = ConnectionStatus.CredentialsExpired;
    entry.status = status;
    const parts = [rotationFailure, ...entry.warnings].filter((p): p is string => Boolean(p));
    if (parts.length === 0) {
      entry.message = entry.action === "rotated" ? "token renewed" : "nothing due";
      if (recovered) {
        // The rotation saved the token an earlier run could not: the connector works again.
        await deps.dataverse.update(SETS.connection, c.id, recovered);
        continue;
      }
      // Clear an earlier keep-alive warning once things are healthy again.
      if (entry.action === "rotated" && c.status === ConnectionStatus.Connected && c.statusMessage?.startsWith("Warning:")) {
        await deps.dataverse.update(SETS.connection, c.id, {
          w365_statusmessage: "Connected: the token was renewed and syncs are running.",
        });
      }
      continue;
    }
    entry.message = parts.join(" ");
    const text = (status === ConnectionStatus.CredentialsExpired ? entry.message : `Warning: ${entry.message}`).slice(0, 2000);
    if (text !== c.statusMessage || status !== c.status || clearExpiry) {
      await deps.dataverse.update(SETS.connection, c.id, {
        w365_status: status,
        w365_statusmessage: text,
        ...(clearExpiry ? { w365_refreshtokenexpireson: null } : {}),
      });
    }
  }
  return { at: new Date(now).toISOString(), connections: entries };
}
