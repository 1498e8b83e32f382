/**
 * A Work 365 account was deleted: the provider accounts mapped or suggested to it go back to Unmapped, with
 * a reason the admin reads on the mapping page, and their content hash is cleared so the next accounts sync
 * matches them again (a deletion leaves no newer account row version that would make it re-match).
 *
 * The relationships from w365_provideraccount to account remove the link on delete (CascadeDelete
 * RemoveLink), in the same transaction as the delete, so an asynchronous post-operation step finds the
 * lookups already empty: the rows to re-open are those Mapped or Suggested with no account left (any such
 * row is broken, whichever delete emptied it), plus any still pointing at the deleted id.
 * Each row is written with If-Match on the version read: an admin who maps it meanwhile keeps that mapping.
 */
import { DataverseConcurrencyError } from "../dataverse";
import { normalizeGuid } from "../shared/guid";
import type { SyncDeps } from "./context";
import { MappingStatus, SETS } from "./schema";

export interface ReopenedProviderAccount {
  providerAccountId: string;
  name?: string | null;
  was: "mapped" | "suggested";
  outcome: "reopened" | "changed-by-admin";
}

export interface AccountDeletedResult {
  accountId: string;
  reopened: ReopenedProviderAccount[];
  message: string;
}

interface Row {
  w365_provideraccountid: string;
  w365_name?: string | null;
  w365_mappingstatus?: number | null;
  _w365_account_value?: string | null;
  _w365_suggestedaccount_value?: string | null;
  "@odata.etag"?: string;
}

const COLUMNS = ["w365_provideraccountid", "w365_name", "w365_mappingstatus", "_w365_account_value", "_w365_suggestedaccount_value"];
/** Tries per row when an admin's write lands between the read and the re-open (each try re-reads). */
const MAX_TRIES = 3;

/** Pure: what the deleted account meant for a row, or undefined when the row no longer depends on it. */
export function dependsOnDeletedAccount(row: Row, accountId: string): "mapped" | "suggested" | undefined {
  const same = (v: string | null | undefined) => !v || v.toLowerCase() === accountId.toLowerCase();
  if (row.w365_mappingstatus === MappingStatus.Mapped && same(row._w365_account_value)) return "mapped";
  if (row.w365_mappingstatus === MappingStatus.Suggested && same(row._w365_suggestedaccount_value)) return "suggested";
  return undefined;
}

/** Pure: the reason shown on the row (names the account only when the row still pointed at it). */
export function reopenedReason(was: "mapped" | "suggested", accountName?: string): string {
  const which = was === "mapped" ? "it was mapped to" : "suggested for it";
  const named = accountName ? ` (${accountName})` : "";
  return `Matching re-opened: the Work 365 account ${which} was deleted${named}. The next sync looks for a match again; or map it on the mapping page.`.slice(
    0,
    1000,
  );
}

export async function reopenMatchingForDeletedAccount(
  deps: Pick<SyncDeps, "dataverse" | "logger">,
  o: { accountId: string; accountName?: string },
): Promise<AccountDeletedResult> {
  const accountId = normalizeGuid(o.accountId, "accountId");
  const dv = deps.dataverse;
  const { Mapped, Suggested } = MappingStatus;
  const filter =
    `(w365_mappingstatus eq ${Mapped} and (_w365_account_value eq null or _w365_account_value eq ${accountId}))` +
    ` or (w365_mappingstatus eq ${Suggested} and (_w365_suggestedaccount_value eq null or _w365_suggestedaccount_value eq ${accountId}))`;
  const rows = await dv.queryAll<Row>(SETS.providerAccount, { select: COLUMNS, filter });
  const reopened: ReopenedProviderAccount[] = [];
  for (const first of rows) {
    let row: Row | undefined = first;
    const was = dependsOnDeletedAccount(first, accountId)!;
    let outcome: ReopenedProviderAccount["outcome"] = "changed-by-admin";
    for (let attempt = 1; row && attempt <= MAX_TRIES; attempt++) {
      const now = dependsOnDeletedAccount(row, accountId);
      if (!now) break;
      const pointed = (now === "mapped" ? row._w365_account_value : row._w365_suggestedaccount_value)?.toLowerCase() === accountId;
      const body: Record<string, unknown> = {
        w365_mappingstatus: MappingStatus.Unmapped,
        w365_matchreason: reopenedReason(now, pointed ? o.accountName : undefined),
        w365_matchscore: null,
        // The next accounts sync plans this row as changed: it is matched again (and its cloud profile re-read).
        w365_contenthash: null,
      };
      if (row._w365_account_value) body["w365_account@odata.bind"] = null;
      if (row._w365_suggestedaccount_value) body["w365_suggestedaccount@odata.bind"] = null;
      try {
        await dv.update(SETS.providerAccount, row.w365_provideraccountid, body, { ifMatch: row["@odata.etag"] ?? "*" });
        outcome = "reopened";
        break;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
        // Someone (an admin, a sync) changed the row since it was read: decide again on what it holds now.
        row = await dv.tryRetrieve<Row>(SETS.providerAccount, row.w365_provideraccountid, { select: COLUMNS });
      }
    }
    reopened.push({ providerAccountId: first.w365_provideraccountid, name: first.w365_name, was, outcome });
  }
  const count = reopened.filter((r) => r.outcome === "reopened").length;
  const message =
    count === 0
      ? `No provider account was mapped or suggested to the deleted account ${accountId}.`
      : `Matching re-opened for ${count} provider account${count === 1 ? "" : "s"} mapped or suggested to the deleted account.`;
  deps.logger?.info("account deleted: matching re-opened", { accountId, reopened: count, unchanged: reopened.length - count });
  return { accountId, reopened, message };
}
