/**
 * Wire shapes (docs/platform/ion-api.md §3-§4): resource names, ids and counts as strings, RFC 3339 UTC times,
 * lower-case subscription statuses, lowerCamelCase keys.
 */
import { findCatalogEntry, MICROSOFT_PROVIDER_ID } from "./catalog";
import { allActivity } from "./dataset";
import type { SimCustomer, SimOrder, SimSubscription } from "./types";

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function customerName(accountId: string, customerId: string): string {
  return `accounts/${accountId}/customers/${customerId}`;
}

export function renderCustomer(accountId: string, c: SimCustomer): Record<string, unknown> {
  return {
    name: customerName(accountId, c.id),
    customerOrganization: c.customerOrganization,
    customerAddress: { ...c.customerAddress },
    customerName: c.customerName,
    customerEmail: c.customerEmail,
    ...(c.customerTitle !== undefined ? { customerTitle: c.customerTitle } : {}),
    ...(c.customerPhone !== undefined ? { customerPhone: c.customerPhone } : {}),
    languageCode: c.languageCode,
    createTime: iso(c.createTime),
    updateTime: iso(c.updateTime),
    uid: c.uid,
    customerStatus: c.customerStatus,
  };
}

export function renderCloudProfiles(c: SimCustomer, providerId?: string, enabledOnly?: boolean): Record<string, unknown> {
  const profiles = c.cloudProfiles.filter((p) => (!providerId || p.providerId === providerId) && (!enabledOnly || p.enabled));
  return {
    customerId: c.id,
    customerOrganization: c.customerOrganization,
    customerCloudProfiles: profiles.map((p) => ({ ...p, gdapRoles: [...p.gdapRoles] })),
  };
}

export function renderSubscription(
  accountId: string,
  partnerName: string,
  customerOrg: string,
  s: SimSubscription,
  detail: boolean,
): Record<string, unknown> {
  const entry = findCatalogEntry(s.ccpProductId, s.ccpSkuId, s.ccpPlanId);
  const sku = entry?.sku;
  const usage = sku?.usageBased === true;
  const total = Math.round(s.unitPrice * s.quantity * 10000) / 10000;
  const out: Record<string, unknown> = {
    id: s.id,
    customerId: s.customerId,
    resellerId: accountId,
    isvId: "15718",
    cloudProviderId: MICROSOFT_PROVIDER_ID,
    subscriptionId: s.subscriptionId,
    subscriptionName: s.subscriptionName,
    resourceType: "AZURE::Subscription",
    ccpProductId: s.ccpProductId,
    ccpSkuId: s.ccpSkuId,
    ccpPlanId: s.ccpPlanId,
    subscriptionProductId: sku?.msProductId ?? "",
    subscriptionSkuId: sku?.msSkuId ?? "",
    subscriptionOfferId: sku ? `US,${sku.msProductId},${sku.msSkuId}` : "",
    subscriptionTotalLicenses: String(s.quantity),
    unitType: "Licenses",
    subscriptionStatus: s.status,
    subscriptionPurchasedDate: iso(s.purchasedAt),
    subscriptionStartDate: iso(s.termStart),
    subscriptionEndDate: iso(s.termEnd),
    cancellationAllowedUntilDate: iso(s.cancellationAllowedUntil),
    subscriptionBillingType: usage ? "usage" : "license",
    subscriptionBillingCycle: s.billingCycle,
    subscriptionBillingTerm: s.billingTerm,
    subscriptionRenewStatus: s.autoRenew ? "ENABLED" : "DISABLED",
    ...(s.resellerPO ? { resellerPO: s.resellerPO } : {}),
    ...(s.customerPO ? { customerPO: s.customerPO } : {}),
    ccpProductInfo: {
      productId: s.ccpProductId,
      productDisplayName: entry?.product.displayName ?? "",
      skuId: s.ccpSkuId,
      skuDisplayName: sku?.displayName ?? "",
      planId: s.ccpPlanId,
      planDisplayName: entry?.plan.displayName ?? "",
    },
    isTrial: s.isTrial,
    autoRenew: s.autoRenew,
    customerName: customerOrg,
    partnerName,
    lastUpdatedDate: iso(s.lastUpdated),
    price: s.unitPrice,
    cost: s.unitCost,
    currency: s.currency,
    billingCurrency: s.currency,
    customerCost: total,
    margin: Math.round((s.unitPrice - s.unitCost) * 10000) / 10000,
    total,
    msrp: s.unitMsrp,
    renewalDate: iso(s.termEnd),
    ...(usage || !entry ? {} : { mfgPartNumber: entry.plan.mfgPartNumber }),
    cloudProviderName: "Microsoft",
  };
  if (detail) {
    const logs = allActivity(s);
    out.activityLogs = {
      totalCount: String(logs.length),
      items: logs.map((a) => ({
        id: a.id,
        actionType: a.actionType,
        actionDate: iso(a.actionDate),
        actionStatus: a.actionStatus,
        productId: sku?.msProductId ?? "",
        skuId: sku?.msSkuId ?? "",
        offerId: sku ? `${sku.msProductId}:${sku.msSkuId}` : "",
        quantity: String(a.quantity),
        subscriptionStatus: a.subscriptionStatus,
        actionDetails: a.actionDetails,
        ccpUserId: a.ccpUserId,
        ccpUserName: a.ccpUserName,
        ccpUserEmail: a.ccpUserEmail,
      })),
    };
    out.attributes = [
      { name: "renewalSetting", value: s.autoRenew ? "auto-on" : "auto-off" },
      { name: "billingTerm", value: s.billingTerm },
    ];
  }
  return out;
}

/**
 * A subscription as list pages render it, as JSON text, kept per subscription while nothing it is rendered
 * from changes: every scalar field of the subscription (whoever changed it: the store, an order, a test
 * through the control API), compared one by one, and the names around it; the catalog is static. A real
 * Ion serves its pages from other machines; here a 1,000-row page rendered and written anew on every call
 * (about 15 ms of the simulator's thread) took CPU from the sync under test on the same cores.
 */
interface CachedListJson {
  names: string;
  fields: string[];
  values: unknown[];
  json: string;
}
const listJsonCache = new WeakMap<SimSubscription, CachedListJson>();

export function subscriptionListJson(accountId: string, partnerName: string, customerOrg: string, s: SimSubscription): string {
  const names = `${accountId}\u0000${partnerName}\u0000${customerOrg}`;
  const fields = Object.keys(s);
  const record = s as unknown as Record<string, unknown>;
  const cached = listJsonCache.get(s);
  if (cached && cached.names === names && sameScalars(record, fields, cached)) return cached.json;
  const json = JSON.stringify(renderSubscription(accountId, partnerName, customerOrg, s, false));
  listJsonCache.set(s, { names, fields, values: fields.map((f) => record[f]), json });
  return json;
}

/** Same fields in the same order, and every scalar one (the list rendering reads no nested value) unchanged. */
function sameScalars(record: Record<string, unknown>, fields: string[], cached: CachedListJson): boolean {
  if (fields.length !== cached.fields.length) return false;
  for (let i = 0; i < fields.length; i++) {
    if (fields[i] !== cached.fields[i]) return false;
    const value = record[fields[i]!];
    if (value !== null && typeof value === "object") continue;
    if (value !== cached.values[i]) return false;
  }
  return true;
}

export const API_USER = { userId: "677176", userName: "Integration User", userEmail: "integration@reseller.example" };

export function orderName(accountId: string, o: SimOrder): string {
  return `accounts/${accountId}/customers/${o.customerId}/orders/${o.orderId}`;
}

export function renderOrder(accountId: string, o: SimOrder): Record<string, unknown> {
  const name = orderName(accountId, o);
  return {
    name,
    accountId,
    customerId: o.customerId,
    orderId: o.orderId,
    ...(o.referenceId !== undefined ? { referenceId: o.referenceId } : {}),
    ...(o.displayName !== undefined ? { displayName: o.displayName } : {}),
    ...API_USER,
    status: o.status,
    currencyCode: o.currencyCode,
    total: o.total,
    cartId: "",
    errors: o.errors.map((e) => ({ ...e })),
    orderItems: o.items.map((i) => {
      const entry = findCatalogEntry(i.productId, i.skuId, i.planId);
      return {
        name: `${name}/orderItems/${i.itemId}`,
        ...(i.referenceId !== undefined ? { referenceId: i.referenceId } : {}),
        action: i.action,
        ...(i.resourceId !== undefined ? { resourceId: i.resourceId } : {}),
        productId: i.productId,
        skuId: i.skuId,
        planId: i.planId,
        quantity: i.quantity,
        providerName: i.providerName,
        price: i.price,
        ...(i.endCustomerPO !== undefined ? { endCustomerPO: i.endCustomerPO } : {}),
        ...(i.resellerPO !== undefined ? { resellerPO: i.resellerPO } : {}),
        addOns: [],
        attributes: i.attributes.map((a) => ({ ...a })),
        catalogAttributes: [],
        cartItemId: "",
        status: i.status,
        errors: o.status === "ERROR" ? o.errors.map((e) => ({ ...e })) : [],
        provisioningInfo: {
          processId: `proc-${o.orderId}-${i.itemId}`,
          processName: i.action === "CREATE" ? "Microsoft NCE provisioning" : "Microsoft NCE update",
          details: o.status,
        },
        additionalInformation: {},
        productName: entry?.product.displayName ?? "",
        skuName: entry?.sku.displayName ?? "",
        planName: entry?.plan.displayName ?? "",
        isEligibleForPromo: false,
        productOwnerCountryCode: "US",
        createTime: iso(o.createTime),
        updateTime: iso(o.updateTime),
      };
    }),
    provisioningInfo: { processId: `proc-${o.orderId}`, processName: "order", details: o.status },
    createTime: iso(o.createTime),
    updateTime: iso(o.updateTime),
    scheduledAt: iso(o.createTime),
  };
}
