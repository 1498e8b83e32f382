/**
 * Mapping actions on one provider account (custom API w365_MapProviderAccount):
 * map to a chosen account, create a new account from the Ion customer (after a duplicate check that
 * returns likely matches instead of creating), ignore, unmap. Several Ion customers may map to one account.
 */
import type { IonCustomer } from "../ion";
import { ValidationError } from "../shared/errors";
import { ADMIN_UNMAPPED_MARKER, loadAccountIndex } from "./accounts";
import { loadConnection, makeContext, SyncDeps } from "./context";
import { RecordNotFoundError } from "./errors";
import { Candidate, likelyDuplicatesMessage, rankCandidates, SUGGEST_THRESHOLD } from "./matching";
import { hostOf } from "./rows/text";
import { bind, MappingStatus, SETS } from "./schema";
import type { MapAction } from "./vocabulary";

export type { MapAction } from "./vocabulary";

export interface MapResult {
  providerAccountId: string;
  action: MapAction;
  outcome: "mapped" | "created" | "ignored" | "unmapped" | "duplicates-found";
  accountId?: string;
  /** Likely existing accounts when `create` found possible duplicates (nothing was created). */
  candidates?: Candidate[];
  message: string;
}

interface ProviderAccountRow {
  w365_provideraccountid: string;
  w365_name?: string | null;
  w365_ioncustomerid?: string | null;
  _w365_connection_value?: string | null;
  w365_contactname?: string | null;
  w365_contactemail?: string | null;
  w365_domain?: string | null;
  w365_tenantid?: string | null;
  w365_postalcode?: string | null;
  w365_country?: string | null;
}

const ROW_COLUMNS = [
  "w365_provideraccountid",
  "w365_name",
  "w365_ioncustomerid",
  "_w365_connection_value",
  "w365_contactname",
  "w365_contactemail",
  "w365_domain",
  "w365_tenantid",
  "w365_postalcode",
  "w365_country",
];

/** Pure: the new account's columns from the Ion customer (or, when Ion is unreachable, the row). */
export function toNewAccount(row: ProviderAccountRow, customer?: IonCustomer): Record<string, unknown> {
  const domain = hostOf(row.w365_domain) ?? hostOf(customer?.domain);
  const body: Record<string, unknown> = {
    name: (customer?.organization || row.w365_name || `Ion customer ${row.w365_ioncustomerid ?? ""}`).slice(0, 160),
    w365_microsofttenantid: row.w365_tenantid ?? null,
    w365_primarydomain: domain ?? null,
  };
  if (domain) body.websiteurl = `https://${domain}`;
  const email = customer?.email ?? row.w365_contactemail;
  if (email) body.emailaddress1 = email;
  if (customer?.phone) body.telephone1 = customer.phone;
  const a = customer?.address;
  if (a?.street) body.address1_line1 = a.street;
  if (a?.city) body.address1_city = a.city;
  if (a?.state) body.address1_stateorprovince = a.state;
  const zip = a?.zip ?? row.w365_postalcode;
  if (zip) body.address1_postalcode = zip;
  const country = a?.country ?? row.w365_country;
  if (country) body.address1_country = country;
  return body;
}

export async function mapProviderAccount(
  deps: SyncDeps,
  o: { providerAccountId: string; action: MapAction; accountId?: string; force?: boolean },
): Promise<MapResult> {
  const dv = deps.dataverse;
  const row = await dv.tryRetrieve<ProviderAccountRow>(SETS.providerAccount, o.providerAccountId, { select: ROW_COLUMNS });
  if (!row) throw new RecordNotFoundError(`Provider account ${o.providerAccountId} was not found.`);
  const id = row.w365_provideraccountid;
  const name = row.w365_name ?? row.w365_ioncustomerid ?? id;
  switch (o.action) {
    case "map": {
      if (!o.accountId) throw new ValidationError("Choose the account to map to (AccountId).", { field: "AccountId" });
      const account = await dv.tryRetrieve<{ accountid: string; name?: string }>(SETS.account, o.accountId, {
        select: ["accountid", "name"],
      });
      if (!account) throw new RecordNotFoundError(`Account ${o.accountId} was not found.`);
      await dv.update(SETS.providerAccount, id, {
        w365_mappingstatus: MappingStatus.Mapped,
        "w365_account@odata.bind": bind(SETS.account, account.accountid),
        w365_matchreason: `Mapped by an admin to ${account.name ?? account.accountid}`.slice(0, 1000),
      });
      return {
        providerAccountId: id,
        action: "map",
        outcome: "mapped",
        accountId: account.accountid,
        message: `${name} is mapped to ${account.name ?? account.accountid}; its subscriptions follow on the next subscription sync.`,
      };
    }
    case "ignore":
      await dv.update(SETS.providerAccount, id, {
        w365_mappingstatus: MappingStatus.Ignored,
        "w365_account@odata.bind": null,
        w365_matchreason: "Ignored by an admin",
      });
      return {
        providerAccountId: id,
        action: "ignore",
        outcome: "ignored",
        message: `${name} is ignored: the sync will not map it or sync its subscriptions.`,
      };
    case "unmap":
      await dv.update(SETS.providerAccount, id, {
        w365_mappingstatus: MappingStatus.Unmapped,
        "w365_account@odata.bind": null,
        w365_matchreason: `${ADMIN_UNMAPPED_MARKER}; the sync will only suggest matches`,
      });
      return {
        providerAccountId: id,
        action: "unmap",
        outcome: "unmapped",
        message: `${name} is unmapped; the sync will suggest matches but not map it automatically again.`,
      };
    case "create": {
      let customer: IonCustomer | undefined;
      if (row._w365_connection_value && row.w365_ioncustomerid) {
        try {
          const ctx = makeContext(deps, await loadConnection(dv, row._w365_connection_value));
          customer = await ctx.ion.customers.get(row.w365_ioncustomerid);
        } catch {
          customer = undefined; // the row's own data is enough to create the account
        }
      }
      if (!o.force) {
        const index = await loadAccountIndex(dv);
        const candidates = rankCandidates(index, {
          organization: customer?.organization ?? row.w365_name,
          tenantId: row.w365_tenantid,
          domain: row.w365_domain,
          email: customer?.email ?? row.w365_contactemail,
          postalCode: customer?.address?.zip ?? row.w365_postalcode,
          country: customer?.address?.country ?? row.w365_country,
        }).filter((c) => c.score >= SUGGEST_THRESHOLD);
        if (candidates.length > 0) {
          return {
            providerAccountId: id,
            action: "create",
            outcome: "duplicates-found",
            candidates,
            message: likelyDuplicatesMessage(name, candidates),
          };
        }
      }
      const accountId = await dv.create(SETS.account, toNewAccount(row, customer));
      await dv.update(SETS.providerAccount, id, {
        w365_mappingstatus: MappingStatus.Mapped,
        "w365_account@odata.bind": bind(SETS.account, accountId),
        w365_matchreason: "New account created from the Ion customer by an admin",
      });
      return {
        providerAccountId: id,
        action: "create",
        outcome: "created",
        accountId,
        message: `Account ${customer?.organization ?? name} was created and mapped.`,
      };
    }
    default:
      throw new ValidationError(`Unknown mapping action "${String(o.action)}": use map, create, ignore or unmap.`, { field: "action" });
  }
}
