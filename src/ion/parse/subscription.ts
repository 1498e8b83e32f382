import { redactValue } from "../../shared/redact";
import { IonResponseError } from "../errors";
import { IonSubscription } from "../types";
import { asArray, asObject, bool, compact, idFromName, lower, num, str } from "./common";

/**
 * The fields of an Ion subscription the sync maps into its row, without the wire object (`raw`) and the
 * fields only other readers use. Every member is always present (undefined when Ion sent nothing), so all
 * records share one object shape.
 */
export type IonSubscriptionRecord = Pick<
  IonSubscription,
  | "id"
  | "subscriptionId"
  | "customerId"
  | "name"
  | "productName"
  | "skuName"
  | "quantity"
  | "status"
  | "autoRenew"
  | "billingCycle"
  | "billingTerm"
  | "startDate"
  | "endDate"
  | "renewalDate"
  | "cancellationAllowedUntil"
  | "currency"
  | "cost"
  | "price"
  | "lastUpdatedDate"
>;

/**
 * Ion subscription JSON → the record the sync maps: the same values fromIonSubscription gives those fields.
 * A sync reads 50,000 of them per run: nothing of the wire object is kept (it dies with the page's text),
 * and no object is built twice.
 */
export function fromIonSubscriptionRecord(value: unknown): IonSubscriptionRecord {
  const raw = asObject(value);
  const info = asObject(raw.ccpProductInfo);
  const name = str(raw.name);
  const id = str(raw.id) ?? idFromName(name, "subscriptions");
  if (!id)
    throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion returned a subscription without an id.", { raw: redactValue(raw) });
  const renewStatus = lower(raw.subscriptionRenewStatus);
  return {
    id,
    subscriptionId: str(raw.subscriptionId),
    customerId: str(raw.customerId) ?? idFromName(name, "customers") ?? "",
    name: str(raw.subscriptionName),
    productName: str(info.productDisplayName) ?? str(raw.productName),
    skuName: str(info.skuDisplayName) ?? str(raw.skuName),
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
  };
}

/** Ion subscription JSON (list item or detail) → IonSubscription. */
export function fromIonSubscription(value: unknown): IonSubscription {
  const raw = asObject(value);
  const r = fromIonSubscriptionRecord(raw);
  const info = asObject(raw.ccpProductInfo);
  return compact({
    id: r.id,
    subscriptionId: r.subscriptionId,
    customerId: r.customerId,
    name: r.name,
    productName: r.productName,
    skuName: r.skuName,
    ccpProductId: str(raw.ccpProductId) ?? str(info.productId),
    ccpSkuId: str(raw.ccpSkuId) ?? str(info.skuId),
    ccpPlanId: str(raw.ccpPlanId) ?? str(info.planId),
    quantity: r.quantity,
    status: r.status,
    autoRenew: r.autoRenew,
    billingCycle: r.billingCycle,
    billingTerm: r.billingTerm,
    startDate: r.startDate,
    endDate: r.endDate,
    renewalDate: r.renewalDate,
    cancellationAllowedUntil: r.cancellationAllowedUntil,
    currency: r.currency,
    cost: r.cost,
    price: r.price,
    lastUpdatedDate: r.lastUpdatedDate,
    customerName: str(raw.customerName),
    raw,
  });
}

function subscriptionPage<T>(value: unknown, parse: (item: unknown) => T): { items: T[]; totalSize?: number } {
  const body = asObject(value);
  const totalSize = num(asObject(body.paginationResponse).totalSize) ?? num(body.totalCount);
  const list = asArray(body.items ?? body.subscriptions);
  const items = new Array<T>(list.length);
  for (let i = 0; i < list.length; i++) items[i] = parse(list[i]);
  return { items, totalSize };
}

/** `{items:[...], totalCount:"7", paginationResponse:{totalSize:7}}` → page. */
export function fromIonSubscriptionPage(value: unknown): { items: IonSubscription[]; totalSize?: number } {
  return subscriptionPage(value, fromIonSubscription);
}

/** The same page as the records the sync maps (fromIonSubscriptionRecord). */
export function fromIonSubscriptionRecordPage(value: unknown): { items: IonSubscriptionRecord[]; totalSize?: number } {
  return subscriptionPage(value, fromIonSubscriptionRecord);
}
