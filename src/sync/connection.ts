import { isGuid, odataString } from "../dataverse";
import { choiceLabel, w365_providerconnection_w365_statusLabels } from "../schema";
import { connectionFromRow, ConnectionRecord, SyncDeps } from "./context";
import { ConnectionNotFoundError } from "./errors";
import { CONNECTION_COLUMNS, ConnectionStatus, SETS } from "./schema";

/** A connection status as the solution labels it; no status yet reads as Not verified. */
export function statusLabel(status: number | undefined): string {
  const labels = w365_providerconnection_w365_statusLabels;
  return status === undefined ? labels[ConnectionStatus.NotVerified] : (choiceLabel(labels, status) ?? String(status));
}

/**
 * A connector by id or by name (case-insensitive). Not found or ambiguous → ConnectionNotFoundError
 * listing the connectors that exist, so the CLI user can pick one.
 */
export async function resolveConnection(deps: SyncDeps, idOrName: string): Promise<ConnectionRecord> {
  const dv = deps.dataverse;
  const wanted = idOrName.trim();
  if (isGuid(wanted)) {
    const row = await dv.tryRetrieve<Record<string, unknown>>(SETS.connection, wanted, { select: [...CONNECTION_COLUMNS] });
    if (row) return connectionFromRow(row);
  }
  const byName = await dv.queryAll<Record<string, unknown>>(SETS.connection, {
    select: [...CONNECTION_COLUMNS],
    filter: `w365_name eq ${odataString(wanted)}`,
  });
  if (byName.length === 1) return connectionFromRow(byName[0]!);
  const all = (
    await dv.queryAll<Record<string, unknown>>(SETS.connection, { select: [...CONNECTION_COLUMNS], orderby: "w365_name asc" })
  ).map(connectionFromRow);
  const list =
    all.length === 0
      ? "There are no StreamOne Ion connectors yet: create one in Admin Hub → Integrations → Add New."
      : `Available connectors: ${all.map((c) => `"${c.name}" (${c.id}, ${statusLabel(c.status)})`).join("; ")}.`;
  if (byName.length > 1) {
    throw new ConnectionNotFoundError(`${byName.length} connectors are named "${wanted}"; pass the id instead. ${list}`);
  }
  throw new ConnectionNotFoundError(`No StreamOne Ion connector has the id or name "${wanted}". ${list}`);
}
