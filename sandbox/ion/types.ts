/**
 * Data types of the StreamOne Ion simulator. The simulator keeps its own compact records (times in
 * epoch ms, quantities as numbers) and renders Ion's wire shapes (ISO strings, string numbers,
 * resource names) only at the HTTP edge, in `render.ts`.
 */
import type { Logger } from "../../src/shared/logger";
import type { IonLatency } from "../latency";

export interface SimAddress {
  street: string;
  suite?: string;
  city: string;
  state: string;
  zip: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface SimCloudProfile {
  providerId: string;
  displayName: string;
  shortName: string;
  enabled: boolean;
  customerTenantId: string;
  /** The tenant's initial domain, e.g. "contoso.onmicrosoft.com". */
  customerDomain: string;
  allowDelegatedAccess: boolean;
  gdapStatus: string;
  gdapLevel: string;
  gdapRoles: string[];
  agreementStatus: string;
}

export interface SimCustomer {
  id: string;
  customerOrganization: string;
  customerAddress: SimAddress;
  customerName: string;
  customerEmail: string;
  customerTitle?: string;
  customerPhone?: string;
  languageCode: string;
  customerStatus: "ACTIVE" | "INACTIVE";
  uid: string;
  createTime: number;
  updateTime: number;
  /** The organisation's own web domain (not an Ion field on the wire unless sent as customerDomain). */
  customerDomain?: string;
  alternateEmail?: string;
  cloudProfiles: SimCloudProfile[];
}

export interface SimActivity {
  id: string;
  actionType: string;
  actionDate: number;
  actionStatus: string;
  quantity: number;
  subscriptionStatus: string;
  actionDetails: string;
  ccpUserId: string;
  ccpUserName: string;
  ccpUserEmail: string;
}

export type BillingCycle = "monthly" | "annual";
export type BillingTerm = "P1M" | "P1Y";

export interface SimSubscription {
  /** Ion's internal id. */
  id: string;
  customerId: string;
  /** The provider's (Microsoft's) subscription GUID, Ion's `subscriptionId`. */
  subscriptionId: string;
  subscriptionName: string;
  ccpProductId: string;
  ccpSkuId: string;
  ccpPlanId: string;
  quantity: number;
  /** Lower case, as Ion returns it: active, suspended, cancelled, expired, pending. */
  status: string;
  autoRenew: boolean;
  purchasedAt: number;
  termStart: number;
  termEnd: number;
  cancellationAllowedUntil: number;
  billingCycle: BillingCycle;
  billingTerm: BillingTerm;
  /** Price per licence per billing cycle, in `currency`. */
  unitPrice: number;
  unitCost: number;
  unitMsrp: number;
  currency: string;
  resellerPO?: string;
  customerPO?: string;
  isTrial: boolean;
  lastUpdated: number;
  /** Changes made while the simulator runs, newest first (the API adds the seeded history after them). */
  activity: SimActivity[];
  /** What the seeded history of a generated subscription is rendered from (see dataset.historyActivity). */
  history?: { quantity: number; termStart: number; statusChange?: { at: number; status: string } };
}

export type OrderStatus = "NEW" | "CONFIRMED" | "ON_HOLD" | "IN_PROGRESS" | "COMPLETED" | "ERROR" | "CANCELED";

export interface SimAttribute {
  name: string;
  value: string;
}

export interface SimOrderItem {
  itemId: string;
  referenceId?: string;
  action: "CREATE" | "UPDATE";
  resourceId?: string;
  productId: string;
  skuId: string;
  planId: string;
  quantity: number;
  providerName: string;
  endCustomerPO?: string;
  resellerPO?: string;
  attributes: SimAttribute[];
  price: number;
  status: string;
}

export interface SimOrderError {
  code: string;
  detail: string;
  sourceName?: string;
  instancePath?: string;
}

export interface SimOrder {
  orderId: string;
  customerId: string;
  referenceId?: string;
  displayName?: string;
  status: OrderStatus;
  currencyCode: string;
  total: number;
  items: SimOrderItem[];
  errors: SimOrderError[];
  createTime: number;
  updateTime: number;
  /** Failure injected by control.failNextOrder: applied instead of completing. */
  injectedFailure?: SimOrderError[];
  /** Real-time (Date.now) creation instant, for auto processing. */
  createdRealMs: number;
  /** Real time (ms) before which Ion's API does not show the order yet (an order recorded late). */
  visibleFromRealMs?: number;
}

/** One fault rule. Rules are checked in order; the first that fires decides the response. */
export interface FaultRule {
  /** Which requests the rule looks at. All fields optional; absent = every simulated request (never /__control). */
  method?: string;
  /** Regular expression (source string or RegExp) tested against the path without query. */
  path?: string | RegExp;
  /** Exact templated endpoint, e.g. "GET /api/v3/accounts/{A}/subscriptions". */
  endpoint?: string;
  /** Fire with this probability (0..1) per matching request, from the seeded RNG. */
  rate?: number;
  /** Fire on these 1-based matching-request numbers (counted per rule). */
  requests?: number[];
  /** Fire on every Nth matching request. */
  everyNth?: number;
  /** Fire on every matching request after the first N. */
  afterRequests?: number;
  /** Stop after firing this many times. */
  times?: number;
  /**
   * What happens: "status" answers with `status` (429 adds Retry-After); "drop" destroys the socket
   * before any work; "dropAfter" does the work (e.g. rotates the refresh token) and then destroys the
   * socket, the "response lost" case; "latency" waits `latencyMs` and then answers normally.
   */
  kind: "status" | "drop" | "dropAfter" | "latency";
  status?: number;
  retryAfterSeconds?: number;
  latencyMs?: number;
}

export interface FaultConfig {
  rules?: FaultRule[];
  /** Sliding real-time window limit: more than `limit` requests in `windowMs` get 429 + Retry-After. */
  rateLimit?: { limit: number; windowMs: number };
  /** Seed for `rate` rules; default the simulator's seed. */
  seed?: number;
}

export interface IonSimulatorOptions {
  /** 0/undefined = any free port; always binds 127.0.0.1. */
  port?: number;
  /** Default 1: deterministic data. */
  seed?: number;
  /** Default 25. */
  customers?: number;
  /** Default 3, an exact average: see README ("Data"). */
  subscriptionsPerCustomer?: number;
  /** Default "1000123". */
  accountId?: string;
  /** Simulated clock start (epoch ms), default 2026-11-01T00:00:00Z. */
  startTime?: number;
  /** The reseller's country (ISO alpha-2), default "US"; most customers are generated there. */
  country?: string;
  /** Account currency (ISO 4217), default from the country (USD for US). */
  currency?: string;
  /** Default "sliding": 32 days from each issue; "absolute": 32 days from the portal issue. */
  refreshTokenLifetime?: "sliding" | "absolute";
  /**
   * Status for missing/unknown/expired bearer tokens, default 401. 403 is what TD SYNNEX's v3 reference
   * documents (PERMISSION_DENIED "permission denied to access accounts/{A}"; it lists no 401 anywhere).
   */
  unauthorizedStatus?: 401 | 403;
  /**
   * Default false. When true, GET …/customers/{C}/subscriptions/{S} answers the details as Ion last read
   * them from the vendor (the first read, or the last read with `refresh=true`), so a read right after an
   * order completes is stale unless it sends `refresh=true` (the v3 reference's `refresh` parameter).
   */
  staleSubscriptionDetails?: boolean;
  /** Default auto with delayMs 200. See README ("Orders"). */
  orderProcessing?: { mode: "auto"; delayMs?: number } | { mode: "manual" };
  faults?: FaultConfig;
  /** Default 1000; larger pageSize / pagination.limit values are capped to it. */
  maxPageSize?: number;
  /** The latency model (sandbox/latency.ts): each call costs real time, concurrent calls past a cap get 429; off when absent. */
  latency?: IonLatency;
  /** Default false: Ion does not document referenceId de-duplication. */
  rejectDuplicateReferenceId?: boolean;
  /**
   * Default true. False: orders come back without the caller's referenceId (on the order and its items).
   * Ion's reference documents referenceId only as "User defined ID to identify the order" and shows cart
   * orders answering with their own value, so a client cannot rely on the echo for every order type.
   */
  echoOrderReferenceId?: boolean;
  /** Default false. When true, NCE seat decreases are refused after cancellationAllowedUntilDate, as Microsoft does. */
  enforceSeatDecreaseWindow?: boolean;
  /** Default "frozen": the clock moves only with advanceClock. "running": it also follows real time. */
  clockMode?: "frozen" | "running";
  logger?: Logger;
}

export interface RequestLogEntry {
  time: number;
  method: string;
  path: string;
  endpoint: string;
  status: number;
  bearer?: boolean;
  /** Set when a fault rule decided the response. */
  fault?: string;
}

export interface TokenUsage {
  /** Refresh tokens presented to /oauth/token. */
  presented: number;
  /** Presentations of a refresh token that had already been exchanged (must stay 0 for a healthy connector). */
  reusedRefreshTokens: number;
  /** Token requests answered with an error. */
  rejected: number;
}
