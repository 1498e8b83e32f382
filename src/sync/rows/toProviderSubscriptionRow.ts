import type { IonSubscriptionRecord } from "../../ion/parse/subscription";
import { bind, SETS } from "../schema";
import { sortedFlatContentHash } from "./contentHash";
import { toIsoOrNull } from "./dates";
import { clip } from "./text";

/** The Ion subscription fields the mapper reads: the record the sync reads Ion's pages into (tests pass plain objects). */
export type SubscriptionInput = IonSubscriptionRecord;

export interface SubscriptionLinks {
  providerAccountId: string;
  accountId?: string | null;
}

/** Ion-derived columns of a w365_providersubscription row (no lookups, no outbound columns). */
export interface ProviderSubscriptionData {
  w365_name: string;
  w365_ionsubscriptionid: string;
  w365_vendorsubscriptionid: string | null;
  w365_ioncustomerid: string;
  w365_productname: string | null;
  w365_skuname: string | null;
  w365_quantity: number;
  w365_status: string;
  w365_autorenew: boolean;
  w365_billingcycle: string | null;
  w365_billingterm: string | null;
  w365_startdate: string | null;
  w365_enddate: string | null;
  w365_renewaldate: string | null;
  w365_cancellationalloweduntil: string | null;
  w365_currency: string | null;
  w365_cost: number | null;
  w365_price: number | null;
  w365_ionupdatedon: string | null;
}

const money = (v: number | undefined): number | null =>
  typeof v === "number" && Number.isFinite(v) ? Math.round(v * 10_000) / 10_000 : null;

/** Ion subscription → provider subscription data columns. Pure. */
export function toProviderSubscriptionData(sub: SubscriptionInput): ProviderSubscriptionData {
  const quantity = Number.isFinite(sub.quantity) ? Math.max(0, Math.round(sub.quantity)) : 0;
  return {
    w365_name: clip(sub.name ?? sub.productName ?? sub.skuName) ?? `Ion subscription ${sub.id}`,
    w365_ionsubscriptionid: String(sub.id),
    w365_vendorsubscriptionid: clip(sub.subscriptionId),
    w365_ioncustomerid: String(sub.customerId),
    w365_productname: clip(sub.productName, 200),
    w365_skuname: clip(sub.skuName, 200),
    w365_quantity: quantity,
    w365_status: (sub.status || "unknown").toLowerCase(),
    w365_autorenew: Boolean(sub.autoRenew),
    w365_billingcycle: clip(sub.billingCycle?.toLowerCase()),
    w365_billingterm: clip(sub.billingTerm),
    w365_startdate: toIsoOrNull(sub.startDate),
    w365_enddate: toIsoOrNull(sub.endDate),
    w365_renewaldate: toIsoOrNull(sub.renewalDate),
    w365_cancellationalloweduntil: toIsoOrNull(sub.cancellationAllowedUntil),
    w365_currency: clip(sub.currency?.toUpperCase(), 10),
    w365_cost: money(sub.cost),
    w365_price: money(sub.price),
    w365_ionupdatedon: toIsoOrNull(sub.lastUpdatedDate),
  };
}

/** The last values both sides agreed on; the conflict policy compares each side to these. */
export interface LastSynced {
  w365_lastsyncedquantity: number;
  w365_lastsyncedstatus: string;
  w365_lastsyncedautorenew: boolean;
  /**
   * Yes/no columns cannot be empty in Dataverse (they read back as their default), so "no auto-renew
   * request" is written as requested = last synced; a request is a requested value that differs.
   */
  w365_requestedautorenew: boolean;
}

export function lastSyncedFrom(data: ProviderSubscriptionData): LastSynced {
  return {
    w365_lastsyncedquantity: data.w365_quantity,
    w365_lastsyncedstatus: data.w365_status,
    w365_lastsyncedautorenew: data.w365_autorenew,
    w365_requestedautorenew: data.w365_autorenew,
  };
}

export interface ProviderSubscriptionRow {
  /** Body to PATCH (upsert by alternate key). */
  body: Record<string, unknown>;
  /** Content hash stored in w365_contenthash (already inside body). */
  hash: string;
  data: ProviderSubscriptionData;
}

/**
 * Full row for an upsert: data, lookups to provider account and account, and, when no admin request is
 * pending, the last synced values (while a request is pending they must keep the values the request was
 * made against, or a conflict would go unnoticed).
 */
export function toProviderSubscriptionRow(
  connectionId: string,
  sub: SubscriptionInput,
  links: SubscriptionLinks,
  requestPending: boolean,
): ProviderSubscriptionRow {
  const data = toProviderSubscriptionData(sub);
  // The hashed content is built flat with its keys sorted (subscriptionHashedContent): hashed as is.
  const hash = sortedFlatContentHash(subscriptionHashedContent(data, links, requestPending));
  return new MappedSubscriptionRow(connectionId, data, links, requestPending, hash);
}

/**
 * A mapped row whose body is built on first use (then the same object): a sync hashes every subscription but
 * writes only the changed ones, so most bodies are never needed (CPU and garbage at 50,000 rows). A class, not
 * an object literal with a getter: V8 builds such a literal slowly (about 3 µs a row on Node 20).
 */
class MappedSubscriptionRow implements ProviderSubscriptionRow {
  private built: Record<string, unknown> | undefined;

  constructor(
    private readonly connectionId: string,
    readonly data: ProviderSubscriptionData,
    private readonly links: SubscriptionLinks,
    private readonly requestPending: boolean,
    readonly hash: string,
  ) {}

  get body(): Record<string, unknown> {
    return (this.built ??= upsertBody(this.connectionId, this.data, this.links, this.requestPending, this.hash));
  }
}

/**
 * What the content hash covers: the data, the last synced values unless a request is pending, and the
 * lookups. Keys written in code-unit order and values all flat, so contentHash serializes it without
 * sorting (the text, hence the hash, is the one of any key order). A pending request leaves the
 * last synced members undefined, which the hash drops like absent ones.
 */
export function subscriptionHashedContent(
  data: ProviderSubscriptionData,
  links: SubscriptionLinks,
  requestPending: boolean,
): Record<string, unknown> {
  const synced = !requestPending;
  return {
    account: links.accountId ?? null,
    providerAccount: links.providerAccountId,
    w365_autorenew: data.w365_autorenew,
    w365_billingcycle: data.w365_billingcycle,
    w365_billingterm: data.w365_billingterm,
    w365_cancellationalloweduntil: data.w365_cancellationalloweduntil,
    w365_cost: data.w365_cost,
    w365_currency: data.w365_currency,
    w365_enddate: data.w365_enddate,
    w365_ioncustomerid: data.w365_ioncustomerid,
    w365_ionsubscriptionid: data.w365_ionsubscriptionid,
    w365_ionupdatedon: data.w365_ionupdatedon,
    w365_lastsyncedautorenew: synced ? data.w365_autorenew : undefined,
    w365_lastsyncedquantity: synced ? data.w365_quantity : undefined,
    w365_lastsyncedstatus: synced ? data.w365_status : undefined,
    w365_name: data.w365_name,
    w365_price: data.w365_price,
    w365_productname: data.w365_productname,
    w365_quantity: data.w365_quantity,
    w365_renewaldate: data.w365_renewaldate,
    w365_requestedautorenew: synced ? data.w365_autorenew : undefined,
    w365_skuname: data.w365_skuname,
    w365_startdate: data.w365_startdate,
    w365_status: data.w365_status,
    w365_vendorsubscriptionid: data.w365_vendorsubscriptionid,
  };
}

/**
 * The PATCH body: data columns, last synced values (unless a request is pending), hash, lookups.
 * Copied onto `{}` by Object.assign and then set member by member, not spread: on Node 20 a spread copy
 * (or an Object.assign onto a non-empty object) made a first run's bodies 1.4x to 2.7x slower.
 */
function upsertBody(
  connectionId: string,
  data: ProviderSubscriptionData,
  links: SubscriptionLinks,
  requestPending: boolean,
  hash: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  Object.assign(body, data);
  if (!requestPending) {
    // lastSyncedFrom(data), member by member
    body.w365_lastsyncedquantity = data.w365_quantity;
    body.w365_lastsyncedstatus = data.w365_status;
    body.w365_lastsyncedautorenew = data.w365_autorenew;
    body.w365_requestedautorenew = data.w365_autorenew;
  }
  body.w365_contenthash = hash;
  body["w365_connection@odata.bind"] = bind(SETS.connection, connectionId);
  body["w365_provideraccount@odata.bind"] = bind(SETS.providerAccount, links.providerAccountId);
  if (links.accountId) body["w365_account@odata.bind"] = bind(SETS.account, links.accountId);
  return body;
}
