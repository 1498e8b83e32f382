import { REDACTED, redactValue } from "../../shared/redact";
import { IonResponseError } from "../errors";
import { IonAttribute, IonOrder, IonOrderItem } from "../types";
import { asArray, asObject, compact, idFromName, num, str, tokenPage, upper } from "./common";

/**
 * Provisioning attributes are name/value pairs (the new tenant's admin userName/password), so
 * key-based redaction misses them: their values are masked by attribute name.
 */
const CREDENTIAL_ATTRIBUTE = /^(password|username)$/i;

function attributes(value: unknown): IonAttribute[] {
  return asArray(value)
    .map(asObject)
    .filter((a) => str(a.name) !== undefined)
    .map((a) => {
      const name = str(a.name) as string;
      return { name, value: CREDENTIAL_ATTRIBUTE.test(name) ? REDACTED : (str(a.value) ?? "") };
    });
}

function errors(value: unknown): { code?: string; detail?: string }[] {
  return asArray(value)
    .map(asObject)
    .map((e) => compact({ code: str(e.code), detail: str(e.detail) ?? str(e.message) }));
}

function fromIonOrderItem(value: unknown): IonOrderItem {
  const raw = asObject(value);
  return compact({
    name: str(raw.name),
    referenceId: str(raw.referenceId),
    action: upper(raw.action),
    resourceId: str(raw.resourceId),
    productId: str(raw.productId),
    skuId: str(raw.skuId),
    planId: str(raw.planId),
    quantity: num(raw.quantity),
    status: upper(raw.status),
    attributes: attributes(raw.attributes),
    errors: errors(raw.errors),
  });
}

/** Ion order JSON → IonOrder; `raw` and item attributes are redacted (tenant admin userName/password). */
export function fromIonOrder(value: unknown): IonOrder {
  const rawIn = asObject(value);
  const raw = redactValue(rawIn);
  const name = str(rawIn.name) ?? "";
  const orderId = str(rawIn.orderId) ?? idFromName(name, "orders");
  if (!orderId)
    throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion returned an order without a name or orderId.", {
      raw: redactUserAttributes(raw),
    });
  const items = asArray(rawIn.orderItems).map(fromIonOrderItem);
  return compact({
    orderId,
    name,
    customerId: str(rawIn.customerId) ?? idFromName(name, "customers") ?? "",
    referenceId: str(rawIn.referenceId),
    displayName: str(rawIn.displayName),
    status: upper(rawIn.status) ?? "UNKNOWN",
    errors: errors(rawIn.errors),
    items,
    createTime: str(rawIn.createTime),
    updateTime: str(rawIn.updateTime),
    raw: redactUserAttributes(raw),
  });
}

/** The same attribute masking on the raw body kept for diagnostics. */
function redactUserAttributes(raw: Record<string, unknown>): Record<string, unknown> {
  const items = asArray(raw.orderItems).map((it) => {
    const item = asObject(it);
    if (!Array.isArray(item.attributes)) return item;
    return {
      ...item,
      attributes: item.attributes.map((a) => {
        const attr = asObject(a);
        return CREDENTIAL_ATTRIBUTE.test(str(attr.name) ?? "") ? { ...attr, value: REDACTED } : attr;
      }),
    };
  });
  return Array.isArray(raw.orderItems) ? { ...raw, orderItems: items } : raw;
}

export function fromIonOrderPage(value: unknown): { items: IonOrder[]; nextPageToken?: string } {
  return tokenPage(value, "orders", fromIonOrder);
}
