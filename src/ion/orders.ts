/**
 * Orders (docs/platform/ion-api.md §4.3, §4.4): every subscription change is an order with action UPDATE. Order
 * creation is not idempotent, so the client never blindly retries it; callers record a referenceId
 * first and look for it with `findByReferenceId` before placing again.
 */
import { ValidationError } from "../shared/errors";
import { IonHttp } from "./http";
import { flatten, tokenPages } from "./paging";
import { fromIonOrder, fromIonOrderPage } from "./parse/order";
import { IonAttribute, IonOrder, IonOrderRequest, IonOrderStatus, IonSubscription } from "./types";

export const DEFAULT_ORDER_PAGE_SIZE = 100;

export interface OrderListOptions {
  /** Customer orders when given, else the account-wide list. */
  customerId?: string;
  pageSize?: number;
  status?: IonOrderStatus;
}

export class OrdersResource {
  constructor(private readonly http: IonHttp) {}

  /** POST …/customers/{C}/orders. Retried only when the connection was refused (never reached Ion). */
  async create(customerId: string, order: IonOrderRequest): Promise<IonOrder> {
    const body = await this.http.call({
      method: "POST",
      path: `/customers/${encodeURIComponent(customerId)}/orders`,
      endpoint: "POST /customers/{id}/orders",
      idempotent: false,
      body: order,
    });
    return fromIonOrder(body);
  }

  async get(customerId: string, orderId: string): Promise<IonOrder> {
    const body = await this.http.call({
      method: "GET",
      path: `/customers/${encodeURIComponent(customerId)}/orders/${encodeURIComponent(orderId)}`,
      endpoint: "GET /customers/{id}/orders/{orderId}",
      idempotent: true,
    });
    return fromIonOrder(body);
  }

  listPages(options: OrderListOptions = {}): AsyncIterable<IonOrder[]> {
    const path = options.customerId ? `/customers/${encodeURIComponent(options.customerId)}/orders` : "/orders";
    const endpoint = options.customerId ? "GET /customers/{id}/orders" : "GET /orders";
    const pageSize = options.pageSize ?? DEFAULT_ORDER_PAGE_SIZE;
    return tokenPages(async (pageToken) => {
      const body = await this.http.call({
        method: "GET",
        path,
        endpoint,
        idempotent: true,
        query: { pageSize, pageToken, status: options.status },
      });
      return fromIonOrderPage(body);
    }, endpoint);
  }

  list(options: OrderListOptions = {}): AsyncIterable<IonOrder> {
    return flatten(this.listPages(options));
  }

  /** The customer's order carrying `referenceId` (on the order or one of its items), if any. */
  async findByReferenceId(customerId: string, referenceId: string): Promise<IonOrder | undefined> {
    for await (const order of this.list({ customerId })) {
      if (order.referenceId === referenceId || order.items.some((i) => i.referenceId === referenceId)) return order;
    }
    return undefined;
  }
}

export type SubscriptionChange = { quantity?: number; autoRenew?: boolean; status?: "active" | "suspended" | "deleted" };

/**
 * The UPDATE order that applies `change` to `sub` (Microsoft attribute vocabulary, §4.3):
 * resourceId = provider subscription id, quantity = the new total (current when unchanged),
 * attributes operations=updatesubscription, renewalSetting=auto-on|auto-off, statusUpdate=active|suspended|deleted.
 */
export function buildSubscriptionUpdateOrder(sub: IonSubscription, change: SubscriptionChange, referenceId: string): IonOrderRequest {
  const missing = (
    [
      ["subscriptionId (provider id)", sub.subscriptionId],
      ["ccpProductId", sub.ccpProductId],
      ["ccpSkuId", sub.ccpSkuId],
      ["ccpPlanId", sub.ccpPlanId],
    ] as const
  )
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) {
    throw new ValidationError(`Ion subscription ${sub.id} cannot be changed through an order: it has no ${missing.join(", ")}.`, {
      field: "subscription",
    });
  }
  if (!referenceId) throw new ValidationError("An Ion order needs a referenceId so a retry can find it.", { field: "referenceId" });
  if (change.quantity !== undefined && (!Number.isInteger(change.quantity) || change.quantity < 1)) {
    throw new ValidationError(`Quantity must be a whole number of at least 1 (got ${change.quantity}).`, { field: "quantity" });
  }
  if (change.status !== undefined && !["active", "suspended", "deleted"].includes(change.status)) {
    throw new ValidationError(`Status must be active, suspended or deleted (got ${String(change.status)}).`, { field: "status" });
  }
  if (change.quantity === undefined && change.autoRenew === undefined && change.status === undefined) {
    throw new ValidationError(`No change requested for Ion subscription ${sub.id}.`, { field: "change" });
  }
  const attributes: IonAttribute[] = [{ name: "operations", value: "updatesubscription" }];
  if (change.autoRenew !== undefined) attributes.push({ name: "renewalSetting", value: change.autoRenew ? "auto-on" : "auto-off" });
  if (change.status !== undefined) attributes.push({ name: "statusUpdate", value: change.status });
  return {
    referenceId,
    displayName: `Work 365 update: ${sub.productName ?? sub.name ?? sub.subscriptionId}`,
    orderItems: [
      {
        referenceId,
        action: "UPDATE",
        resourceId: sub.subscriptionId as string,
        productId: sub.ccpProductId as string,
        skuId: sub.ccpSkuId as string,
        planId: sub.ccpPlanId as string,
        quantity: change.quantity ?? sub.quantity,
        attributes,
      },
    ],
  };
}
