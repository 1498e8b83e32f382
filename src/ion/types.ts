/** Normalised StreamOne Ion shapes the rest of the product codes against. Parsers live in ./parse. */

export interface IonAddress {
  street?: string;
  suite?: string;
  city?: string;
  state?: string;
  zip?: string;
  country?: string;
}

export interface IonCustomer {
  /** Customer id: the last segment of `name` (Ion customers have no separate id field). */
  id: string;
  /** Resource name, accounts/{A}/customers/{C}. */
  name: string;
  organization: string;
  contactName?: string;
  email?: string;
  phone?: string;
  title?: string;
  domain?: string;
  address?: IonAddress;
  /** Lower case: "active", "inactive", or whatever Ion sent. */
  status: string;
  languageCode?: string;
  /** Ion's user id of the customer's default user (used as agreementUserId in Microsoft orders). */
  uid?: string;
  createTime?: string;
  updateTime?: string;
  /** The body as Ion sent it, redacted (create returns the default user's password). */
  raw: Record<string, unknown>;
}

/** Input for create and full-replacement update (PUT). */
export interface IonCustomerInput {
  organization: string;
  contactName: string;
  email: string;
  phone?: string;
  title?: string;
  languageCode: string;
  address: { street: string; suite?: string; city: string; state: string; zip: string; country: string };
  domain?: string;
}

export interface IonCloudProfile {
  providerId?: string;
  displayName?: string;
  shortName?: string;
  enabled?: boolean;
  tenantId?: string;
  domain?: string;
  raw: Record<string, unknown>;
}

export interface IonSubscription {
  /** Ion's internal id (`id`). */
  id: string;
  /** The provider's id (`subscriptionId`, e.g. the Microsoft GUID). */
  subscriptionId?: string;
  customerId: string;
  name?: string;
  productName?: string;
  skuName?: string;
  ccpProductId?: string;
  ccpSkuId?: string;
  ccpPlanId?: string;
  quantity: number;
  /** Lower case, as Ion returns it ("active", "suspended", "cancelled", ...). */
  status: string;
  autoRenew: boolean;
  billingCycle?: string;
  billingTerm?: string;
  startDate?: string;
  endDate?: string;
  renewalDate?: string;
  cancellationAllowedUntil?: string;
  currency?: string;
  cost?: number;
  price?: number;
  lastUpdatedDate?: string;
  customerName?: string;
  raw: Record<string, unknown>;
}

export type IonOrderStatus = "NEW" | "CONFIRMED" | "ON_HOLD" | "IN_PROGRESS" | "COMPLETED" | "ERROR" | "CANCELED";

export interface IonAttribute {
  name: string;
  value: string;
}

export interface IonOrderItemRequest {
  referenceId?: string;
  action: "CREATE" | "UPDATE";
  /** Provider subscription id; required for UPDATE. */
  resourceId?: string;
  productId: string;
  skuId: string;
  planId: string;
  quantity: number;
  providerName?: string;
  endCustomerPO?: string;
  resellerPO?: string;
  attributes: IonAttribute[];
}

export interface IonOrderRequest {
  referenceId?: string;
  displayName?: string;
  orderItems: IonOrderItemRequest[];
}

export interface IonOrderItem {
  name?: string;
  referenceId?: string;
  action?: string;
  resourceId?: string;
  productId?: string;
  skuId?: string;
  planId?: string;
  quantity?: number;
  status?: string;
  attributes: IonAttribute[];
  errors: { code?: string; detail?: string }[];
}

export interface IonOrder {
  orderId: string;
  name: string;
  customerId: string;
  referenceId?: string;
  displayName?: string;
  /** Upper case; one of IonOrderStatus or whatever Ion sent. */
  status: IonOrderStatus | string;
  errors: { code?: string; detail?: string }[];
  items: IonOrderItem[];
  createTime?: string;
  updateTime?: string;
  /** Redacted: Microsoft order items can return the tenant admin's userName/password. */
  raw: Record<string, unknown>;
}

/** Terminal order states: no further change will happen in Ion. */
export const TERMINAL_ORDER_STATUSES: ReadonlySet<string> = new Set(["COMPLETED", "ERROR", "CANCELED"]);
