import { redactValue } from "../../shared/redact";
import { IonResponseError } from "../errors";
import { IonSubscription } from "../types";
import { asArray, asObject, bool, compact, idFromName, lower, num, str } from "./common";

/** Ion subscription JSON (list item or detail) → IonSubscription. */
export function fromIonSubscription(value: unknown): IonSubscription {
  const raw = asObject(value);
  const info = asObject(raw.ccpProductInfo);
  const id = str(raw.id) ?? idFromName(str(raw.name), "subscriptions");
  if (!id)
    throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion returned a subscription without an id.", { raw: redactValue(raw) });
  const renewStatus = lower(raw.subscriptionRenewStatus);
  return compact({
    id,
    subscriptionId: str(raw.subscriptionId),
    customerId: str(raw.customerId) ?? idFromName(str(raw.name), "customers") ?? "",
    name: str(raw.subscriptionName),
    productName: str(info.productDisplayName) ?? str(raw.productName),
    skuName: str(info.skuDisplayName) ?? str(raw.skuName),
    ccpProductId: str(raw.ccpProductId) ?? str(info.productId),
    ccpSkuId: str(raw.ccpSkuId) ?? str(info.skuId),
    ccpPlanId: str(raw.ccpPlanId) ?? str(info.planId),
    quantity: num(raw.subscriptionTotalLicenses) ?? num(raw.quantity) ?? num(raw.totalLicense) ?? 0,
    status: lower(raw.subscriptionStatus) ?? lower(raw.status) ?? "unknown",
    autoRenew: bool(raw.autoRenew) ?? (renewStatus === undefined ? false : renewStatus === "enabled"),
    billingCycle: lower(raw.subscriptionBillingCycle),
    billingTerm: str(raw.subscriptionBillingTerm),
    startDate: str(raw.subscriptionStartDate),
    endDate: str(raw.subscriptionEndDate),
    renewalDate: str(raw.renewalDate),
    cancellationAllowedUntil: str(raw.cancellationAllowedUntilDate),
    currency: str(raw.currency) ?? str(raw.billingCurrency),
    cost: num(raw.cost) ?? num(raw.customerCost),
    price: num(raw.price),
    lastUpdatedDate: str(raw.lastUpdatedDate),
    customerName: str(raw.customerName),
    raw,
  });
}

/** `{items:[...], totalCount:"7", paginationResponse:{totalSize:7}}` → page. */
export function fromIonSubscriptionPage(value: unknown): { items: IonSubscription[]; totalSize?: number } {
  const body = asObject(value);
  const totalSize = num(asObject(body.paginationResponse).totalSize) ?? num(body.totalCount);
  return { items: asArray(body.items ?? body.subscriptions).map(fromIonSubscription), totalSize };
}
