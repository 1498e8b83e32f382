/**
 * The simulator's state and domain rules: customers, subscriptions (indexed by customer and by
 * provider id, so 10,000 × 5 pages stay cheap), orders and their asynchronous processing, term
 * renewals on the simulated clock, and the portal-side edits tests make through the control API.
 */
import { randomBytes } from "node:crypto";

import { ensureError } from "../../src/shared/errors";
import { seededGuid, seededRandom } from "../../src/shared/random";
import { type CatalogEntry, findCatalogEntry, MICROSOFT_PROVIDER_NAME, priceIn } from "./catalog";
import { activity, CANCELLATION_WINDOW_MS, currentTerm, type Dataset, generateDataset, termEnd } from "./dataset";
import { invalidProvisioning, notFound, type ProvisioningError, SimApiError } from "./errors";
import { customerName } from "./render";
import type { OrderStatus, SimAddress, SimAttribute, SimCustomer, SimOrder, SimOrderError, SimOrderItem, SimSubscription } from "./types";

/** Simulated clock: frozen (moves only by advance) or running (also follows real time). */
export class SimClock {
  private advanced = 0;
  private lastStamp = 0;
  private readonly realStart: number;
  constructor(
    private readonly start: number,
    private readonly mode: "frozen" | "running",
    private readonly realNow: () => number = Date.now,
  ) {
    this.realStart = realNow();
  }
  now(): number {
    return this.start + this.advanced + (this.mode === "running" ? this.realNow() - this.realStart : 0);
  }
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new SimApiError("INVALID_ARGUMENT", "clock can only move forward by a finite number of ms");
    this.advanced += ms;
  }
  /** A strictly increasing modification time, so every change moves lastUpdatedDate/updateTime forward. */
  stamp(): number {
    this.lastStamp = Math.max(this.now(), this.lastStamp + 1);
    return this.lastStamp;
  }
}

export interface StoreOptions {
  seed: number;
  customers: number;
  subscriptionsPerCustomer: number;
  accountId: string;
  country: string;
  currency: string;
  orderProcessing: { mode: "auto"; delayMs: number } | { mode: "manual" };
  rejectDuplicateReferenceId: boolean;
  /** False: orders are recorded without the caller's referenceId (see IonSimulatorOptions.echoOrderReferenceId). */
  echoOrderReferenceId?: boolean;
  enforceSeatDecreaseWindow: boolean;
}

const LANGUAGE_CODES = new Set([
  "EN",
  "EN-US",
  "EN-GB",
  "EN-AU",
  "EN-CA",
  "DE",
  "DE-DE",
  "FR",
  "FR-FR",
  "FR-CA",
  "NL",
  "NL-NL",
  "ES",
  "ES-ES",
  "IT",
  "PT",
  "PT-BR",
  "SV",
  "DA",
  "NO",
  "NB",
  "FI",
  "PL",
  "JA",
  "ZH",
  "KO",
]);

/** Ion reports missing fields with its internal names (§8 quirk 12). */
const REQUIRED_CUSTOMER_FIELDS: Array<[field: string, internal: string]> = [
  ["customerOrganization", "orgName"],
  ["customerName", "primaryContactName"],
  ["customerEmail", "primaryContactEmail"],
  ["languageCode", "languageCode"],
];
const REQUIRED_ADDRESS_FIELDS = ["street", "city", "state", "zip", "country"] as const;

export interface CustomerInput {
  customerOrganization: string;
  customerAddress: SimAddress;
  customerName: string;
  customerEmail: string;
  customerTitle?: string;
  customerPhone?: string;
  languageCode: string;
  customerDomain?: string;
  alternateEmail?: string;
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Validates a create/update body (§4.1): 400 INVALID_REQUEST for a missing field, 412 CUS-CR-002 for a language code. */
export function validateCustomerInput(body: unknown): CustomerInput {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new SimApiError("INVALID_REQUEST", "request body must be a JSON object");
  const b = body as Record<string, unknown>;
  for (const [field, internal] of REQUIRED_CUSTOMER_FIELDS) {
    const v = str(b[field]);
    if (v === undefined || v.trim() === "") throw new SimApiError("INVALID_REQUEST", `must have required property '${internal}'`);
  }
  const addr = b.customerAddress;
  if (!addr || typeof addr !== "object" || Array.isArray(addr))
    throw new SimApiError("INVALID_REQUEST", "must have required property 'address'");
  const a = addr as Record<string, unknown>;
  for (const f of REQUIRED_ADDRESS_FIELDS) {
    const v = str(a[f]);
    if (v === undefined || v.trim() === "") throw new SimApiError("INVALID_REQUEST", `must have required property 'address.${f}'`);
  }
  const country = (str(a.country) as string).trim();
  if (!/^[A-Za-z]{2}$/.test(country)) throw new SimApiError("INVALID_REQUEST", "address.country must be a 2-letter country code (e.g. US)");
  const state = (str(a.state) as string).trim();
  if (state.length > 3) throw new SimApiError("INVALID_REQUEST", "address.state must be a short state code (e.g. VA)");
  const email = (str(b.customerEmail) as string).trim();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
    throw new SimApiError("INVALID_REQUEST", "primaryContactEmail must be a valid email address");
  const language = (str(b.languageCode) as string).trim();
  if (!LANGUAGE_CODES.has(language.toUpperCase())) {
    throw new SimApiError("FAILED_PRECONDITION", `The provided languageCode '${language}' is not supported`, {
      extraDetails: [
        {
          "@type": "type.googleapis.com/v3customererrors.ErrorBody",
          referenceEntity: "customer",
          code: "CUS-CR-002",
          detail: `Invalid language code '${language}'`,
        },
      ],
    });
  }
  const suite = str(a.suite);
  return {
    customerOrganization: (str(b.customerOrganization) as string).trim(),
    customerAddress: {
      street: str(a.street) as string,
      ...(suite ? { suite } : {}),
      city: str(a.city) as string,
      state,
      zip: str(a.zip) as string,
      country: country.toUpperCase(),
    },
    customerName: (str(b.customerName) as string).trim(),
    customerEmail: email,
    ...(str(b.customerTitle) !== undefined ? { customerTitle: str(b.customerTitle) } : {}),
    ...(str(b.customerPhone) !== undefined ? { customerPhone: str(b.customerPhone) } : {}),
    languageCode: language,
    ...(str(b.customerDomain) ? { customerDomain: str(b.customerDomain) } : {}),
    ...(str(b.alternateEmail) ? { alternateEmail: str(b.alternateEmail) } : {}),
  };
}

function duplicateEmail(email: string): SimApiError {
  return new SimApiError("FAILED_PRECONDITION", `The provided primaryContactEmail is already in use: ${email}`, {
    extraDetails: [
      {
        "@type": "type.googleapis.com/v3customererrors.ErrorBody",
        referenceEntity: "customer",
        code: "CUS-CR-001",
        detail: "The provided primaryContactEmail is already in use. It must be unique across the account.",
      },
    ],
  });
}

export class IonStore {
  readonly customers = new Map<string, SimCustomer>();
  /** Customers in id order (the stable list order). */
  customerList: SimCustomer[] = [];
  readonly subscriptions = new Map<string, SimSubscription>();
  subscriptionList: SimSubscription[] = [];
  readonly subscriptionsByCustomer = new Map<string, SimSubscription[]>();
  readonly subscriptionsByProviderId = new Map<string, SimSubscription>();
  readonly orders = new Map<string, SimOrder>();
  orderList: SimOrder[] = [];
  private readonly pending = new Set<SimOrder>();
  private readonly emails = new Map<string, string>();
  readonly partnerName: string;
  /** Bumped on every change; list caches key on it. */
  version = 0;
  /** Serve subscription details from `detailsCache` unless the read asks `refresh=true` (README "Stale details"). */
  staleSubscriptionDetails = false;
  /** Subscription details as Ion last read them from the vendor, by internal id. */
  readonly detailsCache = new Map<string, Record<string, unknown>>();
  private nextCustomerId: number;
  private nextSubscriptionId: number;
  private nextOrderId = 7_000_001;
  private nextUid = 900_001;
  private failNext: SimOrderError[] | undefined;
  private lateOrders: { delayMs: number; count: number } | undefined;
  private readonly guidRandom: () => number;
  private extraCount = 0;

  constructor(
    readonly options: StoreOptions,
    readonly clock: SimClock,
  ) {
    const data: Dataset = generateDataset({
      seed: options.seed,
      customers: options.customers,
      subscriptionsPerCustomer: options.subscriptionsPerCustomer,
      accountId: options.accountId,
      startTime: clock.now(),
      country: options.country,
      currency: options.currency,
    });
    this.partnerName = data.partnerName;
    for (const c of data.customers) this.insertCustomer(c);
    for (const s of data.subscriptions) this.insertSubscription(s);
    const maxC = data.customers.reduce((m, c) => Math.max(m, Number(c.id)), 300_000);
    const maxS = data.subscriptions.reduce((m, s) => Math.max(m, Number(s.id)), 2_200_000);
    this.nextCustomerId = maxC + 3;
    this.nextSubscriptionId = maxS + 7;
    this.guidRandom = seededRandom(options.seed * 7 + 1);
  }

  private insertCustomer(c: SimCustomer): void {
    this.customers.set(c.id, c);
    this.customerList.push(c);
    this.emails.set(c.customerEmail.toLowerCase(), c.id);
    this.version++;
  }

  private insertSubscription(s: SimSubscription): void {
    this.subscriptions.set(s.id, s);
    this.subscriptionList.push(s);
    this.subscriptionsByProviderId.set(s.subscriptionId.toLowerCase(), s);
    const list = this.subscriptionsByCustomer.get(s.customerId);
    if (list) list.push(s);
    else this.subscriptionsByCustomer.set(s.customerId, [s]);
    this.version++;
  }

  touch(): void {
    this.version++;
  }

  // ---- customers -------------------------------------------------------------------------------

  getCustomer(id: string): SimCustomer {
    const c = this.customers.get(id);
    if (!c) throw notFound(customerName(this.options.accountId, id));
    return c;
  }

  createCustomer(body: unknown): { customer: SimCustomer; user: Record<string, unknown> } {
    const input = validateCustomerInput(body);
    if (this.emails.has(input.customerEmail.toLowerCase())) throw duplicateEmail(input.customerEmail);
    const at = this.clock.stamp();
    const id = String(this.nextCustomerId);
    this.nextCustomerId += 3;
    const customer: SimCustomer = {
      id,
      ...input,
      customerStatus: "ACTIVE",
      uid: String(this.nextUid++),
      createTime: at,
      updateTime: at,
      cloudProfiles: [],
    };
    this.insertCustomer(customer);
    const user = {
      name: `${customerName(this.options.accountId, id)}/users/${customer.uid}`,
      userName: "DEFAULT ACCOUNT USER",
      email: customer.customerEmail,
      userStatus: "ACTIVE",
      // Shown once, on create only (§4.1); never stored.
      password: randomBytes(12).toString("base64url"),
      createTime: new Date(at).toISOString(),
      updateTime: new Date(at).toISOString(),
    };
    return { customer, user };
  }

  /** PUT: full replacement of the writable fields (optional ones absent from the body are cleared). */
  replaceCustomer(id: string, body: unknown): SimCustomer {
    const c = this.getCustomer(id);
    const input = validateCustomerInput(body);
    const owner = this.emails.get(input.customerEmail.toLowerCase());
    if (owner !== undefined && owner !== id) throw duplicateEmail(input.customerEmail);
    this.emails.delete(c.customerEmail.toLowerCase());
    delete c.customerTitle;
    delete c.customerPhone;
    delete c.alternateEmail;
    Object.assign(c, input);
    if (input.customerDomain === undefined) delete c.customerDomain;
    this.emails.set(c.customerEmail.toLowerCase(), id);
    c.updateTime = this.clock.stamp();
    this.touch();
    return c;
  }

  /** Portal-side edit of a customer. Address fields merge; `tenantId`/`tenantDomain` edit the Microsoft profile. */
  updateCustomer(id: string, patch: Record<string, unknown>): SimCustomer {
    const c = this.getCustomer(id);
    for (const [k, v] of Object.entries(patch)) {
      if (k === "customerAddress" && v && typeof v === "object")
        c.customerAddress = { ...c.customerAddress, ...(v as Partial<SimAddress>) };
      else if (k === "customerEmail" && typeof v === "string") {
        const owner = this.emails.get(v.toLowerCase());
        if (owner !== undefined && owner !== id) throw duplicateEmail(v);
        this.emails.delete(c.customerEmail.toLowerCase());
        c.customerEmail = v;
        this.emails.set(v.toLowerCase(), id);
      } else if (k === "customerStatus") {
        if (v !== "ACTIVE" && v !== "INACTIVE") throw new SimApiError("INVALID_ARGUMENT", "customerStatus must be ACTIVE or INACTIVE");
        c.customerStatus = v;
      } else if (k === "tenantId" || k === "tenantDomain") {
        const profile = c.cloudProfiles[0];
        if (profile) {
          if (k === "tenantId") profile.customerTenantId = String(v);
          else profile.customerDomain = String(v);
        } else if (k === "tenantId") {
          c.cloudProfiles.push({
            providerId: "30",
            displayName: "Microsoft",
            shortName: "AZURE",
            enabled: true,
            customerTenantId: String(v),
            customerDomain: String(patch.tenantDomain ?? `${c.id}.onmicrosoft.com`),
            allowDelegatedAccess: true,
            gdapStatus: "ACTIVE",
            gdapLevel: "DEFAULT",
            gdapRoles: ["Directory Readers"],
            agreementStatus: "ACCEPTED",
          });
        }
      } else if (k === "cloudProfiles" && Array.isArray(v)) {
        c.cloudProfiles = v as SimCustomer["cloudProfiles"];
      } else if (
        [
          "customerOrganization",
          "customerName",
          "customerTitle",
          "customerPhone",
          "languageCode",
          "customerDomain",
          "alternateEmail",
        ].includes(k)
      ) {
        if (v === undefined || v === null) delete (c as unknown as Record<string, unknown>)[k];
        else (c as unknown as Record<string, unknown>)[k] = String(v);
      } else {
        throw new SimApiError("INVALID_ARGUMENT", `updateCustomer: unknown field '${k}'`);
      }
    }
    c.updateTime = this.clock.stamp();
    this.touch();
    return c;
  }

  /** A generated customer with realistic data, overridden by `partial`. */
  addCustomer(partial: Partial<SimCustomer> = {}): SimCustomer {
    this.extraCount++;
    const generated = generateDataset({
      seed: this.options.seed * 1000 + this.extraCount,
      customers: 1,
      subscriptionsPerCustomer: 0,
      accountId: this.options.accountId,
      startTime: this.clock.now(),
      country: this.options.country,
      currency: this.options.currency,
    }).customers[0] as SimCustomer;
    const at = this.clock.stamp();
    const id = partial.id ?? String(this.nextCustomerId);
    if (this.customers.has(id)) throw new SimApiError("ALREADY_EXISTS", `customer ${id} already exists`);
    this.nextCustomerId = Math.max(this.nextCustomerId, Number(id) || 0) + 3;
    const customer: SimCustomer = { ...generated, createTime: at, updateTime: at, ...partial, id };
    if (this.emails.has(customer.customerEmail.toLowerCase())) customer.customerEmail = customer.customerEmail.replace("@", `.${id}@`);
    this.insertCustomer(customer);
    if (this.customerList.length > 1 && Number(id) < Number((this.customerList[this.customerList.length - 2] as SimCustomer).id)) {
      this.customerList.sort((a, b) => Number(a.id) - Number(b.id));
    }
    return customer;
  }

  /** The customer disappears from Ion ("delete", with its subscriptions and orders) or turns INACTIVE. */
  removeCustomer(id: string, mode: "delete" | "inactive" = "delete"): void {
    const c = this.getCustomer(id);
    if (mode === "inactive") {
      c.customerStatus = "INACTIVE";
      c.updateTime = this.clock.stamp();
      this.touch();
      return;
    }
    this.customers.delete(id);
    this.customerList = this.customerList.filter((x) => x.id !== id);
    this.emails.delete(c.customerEmail.toLowerCase());
    for (const s of this.subscriptionsByCustomer.get(id) ?? []) {
      this.subscriptions.delete(s.id);
      this.subscriptionsByProviderId.delete(s.subscriptionId.toLowerCase());
    }
    this.subscriptionsByCustomer.delete(id);
    this.subscriptionList = this.subscriptionList.filter((s) => s.customerId !== id);
    for (const o of this.orderList)
      if (o.customerId === id) {
        this.orders.delete(o.orderId);
        this.pending.delete(o);
      }
    this.orderList = this.orderList.filter((o) => o.customerId !== id);
    this.touch();
  }

  // ---- subscriptions ---------------------------------------------------------------------------

  /** Detail lookup (§4.2): internal id first, then the provider's subscriptionId. */
  findSubscription(idOrProviderId: string): SimSubscription | undefined {
    return this.subscriptions.get(idOrProviderId) ?? this.subscriptionsByProviderId.get(idOrProviderId.toLowerCase());
  }

  addSubscription(customerId: string, partial: Partial<SimSubscription> = {}): SimSubscription {
    this.getCustomer(customerId);
    const productId = partial.ccpProductId ?? "Microsoft365NCE--nce";
    const skuId = partial.ccpSkuId ?? "Microsoft-365-Business-Standard-n2";
    const planId = partial.ccpPlanId ?? (findCatalogEntry(productId, skuId, "Annual-Monthly-n5") ? "Annual-Monthly-n5" : "");
    const entry = findCatalogEntry(productId, skuId, planId);
    if (!entry) throw new SimApiError("INVALID_ARGUMENT", `addSubscription: no catalog entry ${productId}/${skuId}/${planId}`);
    const sub = this.newSubscription(customerId, entry, partial.quantity ?? 5, partial.autoRenew ?? true, partial.subscriptionId);
    Object.assign(sub, partial, { customerId });
    if (this.subscriptions.has(sub.id)) throw new SimApiError("ALREADY_EXISTS", `subscription ${sub.id} already exists`);
    this.insertSubscription(sub);
    if (partial.id !== undefined) {
      // Lists are kept in id order, which is the default list order.
      const byId = (a: SimSubscription, b: SimSubscription) => Number(a.id) - Number(b.id);
      this.subscriptionList.sort(byId);
      this.subscriptionsByCustomer.get(customerId)?.sort(byId);
      this.nextSubscriptionId = Math.max(this.nextSubscriptionId, (Number(partial.id) || 0) + 7);
    }
    return sub;
  }

  private newSubscription(
    customerId: string,
    entry: CatalogEntry,
    quantity: number,
    autoRenew: boolean,
    providerId?: string,
  ): SimSubscription {
    const at = this.clock.stamp();
    const id = String(this.nextSubscriptionId);
    this.nextSubscriptionId += 7;
    const usage = entry.sku.usageBased;
    const msrp = priceIn(this.options.currency, entry.plan.usdPrice);
    return {
      id,
      customerId,
      subscriptionId: providerId ?? seededGuid(this.guidRandom),
      subscriptionName: entry.sku.displayName,
      ccpProductId: entry.product.id,
      ccpSkuId: entry.sku.id,
      ccpPlanId: entry.plan.id,
      quantity: usage ? 1 : quantity,
      status: "active",
      autoRenew,
      purchasedAt: at,
      termStart: at,
      termEnd: usage ? at : termEnd(at, entry.plan.billingTerm),
      cancellationAllowedUntil: at + CANCELLATION_WINDOW_MS,
      billingCycle: entry.plan.billingCycle,
      billingTerm: entry.plan.billingTerm,
      unitPrice: msrp,
      unitCost: Math.round(msrp * 0.88 * 10000) / 10000,
      unitMsrp: msrp,
      currency: this.options.currency,
      isTrial: false,
      lastUpdated: at,
      activity: [
        activity(
          seededGuid(this.guidRandom),
          "Subscription Created",
          at,
          quantity,
          "active",
          `Offer Name: ${entry.sku.displayName}; Quantity: ${quantity}; `,
        ),
      ],
    };
  }

  /** Portal-side edit: quantity, status, autoRenew, cancellationAllowedUntilDate (and name). */
  updateSubscription(
    id: string,
    patch: Partial<{
      quantity: number;
      status: string;
      autoRenew: boolean;
      cancellationAllowedUntilDate: string;
      subscriptionName: string;
    }>,
  ): SimSubscription {
    const s = this.findSubscription(id);
    if (!s) throw new SimApiError("NOT_FOUND", `Subscription ${id} not found`);
    const parts: string[] = [];
    if (patch.quantity !== undefined) {
      const q = Number(patch.quantity);
      if (!Number.isInteger(q) || q < 0) throw new SimApiError("INVALID_ARGUMENT", "quantity must be a whole number");
      s.quantity = q;
      parts.push(`New Quantity: ${q}; `);
    }
    if (patch.status !== undefined) {
      s.status = String(patch.status).toLowerCase();
      parts.push(`Status: ${s.status}; `);
    }
    if (patch.autoRenew !== undefined) {
      s.autoRenew = Boolean(patch.autoRenew);
      parts.push(`Auto Renew: ${s.autoRenew ? "on" : "off"}; `);
    }
    if (patch.cancellationAllowedUntilDate !== undefined) {
      const t = Date.parse(patch.cancellationAllowedUntilDate);
      if (Number.isNaN(t)) throw new SimApiError("INVALID_ARGUMENT", "cancellationAllowedUntilDate must be an RFC 3339 date");
      s.cancellationAllowedUntil = t;
    }
    if (patch.subscriptionName !== undefined) s.subscriptionName = String(patch.subscriptionName);
    this.recordChange(s, "Subscription Updated", parts.join("") || "Updated in portal; ");
    return s;
  }

  private recordChange(s: SimSubscription, actionType: string, details: string): void {
    const at = this.clock.stamp();
    s.lastUpdated = at;
    s.activity.unshift(activity(seededGuid(this.guidRandom), actionType, at, s.quantity, s.status, details));
    this.touch();
  }

  /**
   * Terms that ended by `now` renew (auto-renew on) or expire (off), as Microsoft does at term end.
   * Called after the clock moves; O(subscriptions).
   */
  rollTerms(): number {
    const now = this.clock.now();
    let changed = 0;
    for (const s of this.subscriptionList) {
      const entry = findCatalogEntry(s.ccpProductId, s.ccpSkuId, s.ccpPlanId);
      if (entry?.sku.usageBased || (s.status !== "active" && s.status !== "suspended")) continue;
      if (s.termEnd > now) continue;
      if (!s.autoRenew) {
        s.status = "expired";
        this.recordChange(s, "Subscription Expired", `Status: expired; `);
        changed++;
        continue;
      }
      const term = currentTerm(s.purchasedAt, s.billingTerm, now);
      s.termStart = term.start;
      s.termEnd = term.end;
      s.cancellationAllowedUntil = s.termStart + CANCELLATION_WINDOW_MS;
      this.recordChange(s, "Subscription Renewed", `Renewed; Quantity: ${s.quantity}; `);
      changed++;
    }
    return changed;
  }

  // ---- orders ----------------------------------------------------------------------------------

  /**
   * The next `count` orders are recorded late: the POST's work is done, but lists and GET show the order
   * only `delayMs` (real time) later. Ion documents no idempotency for orders (v3 reference, OrderRequest:
   * referenceId is only a "User defined ID"), so a client whose POST got no answer must look long enough.
   */
  recordNextOrdersLate(delayMs: number, count = 1): void {
    if (!Number.isFinite(delayMs) || delayMs < 0 || !Number.isInteger(count) || count < 1)
      throw new SimApiError("INVALID_ARGUMENT", "recordNextOrdersLate needs delayMs >= 0 and a whole count >= 1");
    this.lateOrders = { delayMs, count };
  }

  /** What Ion's API shows now: orders recorded late stay hidden until their time. */
  isOrderVisible(o: SimOrder): boolean {
    return o.visibleFromRealMs === undefined || Date.now() >= o.visibleFromRealMs;
  }

  /** Whether later orders keep the caller's referenceId (IonSimulatorOptions.echoOrderReferenceId). */
  setOrderReferenceEcho(echo: boolean): void {
    this.options.echoOrderReferenceId = echo;
  }

  failNextOrder(errors?: SimOrderError[]): void {
    this.failNext =
      errors && errors.length > 0
        ? errors
        : [{ code: "PROV-ERR-001", detail: "Provisioning failed at the vendor: the request was rejected by Microsoft Partner Center" }];
  }

  /** POST …/customers/{C}/orders (§4.3, §4.4): validates, records a NEW order; the work happens on completion. */
  createOrder(customerId: string, body: unknown): SimOrder {
    const customer = this.getCustomer(customerId);
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw invalidProvisioning([{ code: "COMM-VL-001", detail: "request body must be a JSON object with orderItems", instancePath: "" }]);
    const b = body as Record<string, unknown>;
    const rawItems = b.orderItems;
    if (!Array.isArray(rawItems) || rawItems.length === 0)
      throw invalidProvisioning([{ code: "COMM-VL-001", detail: "must have required property 'orderItems'", instancePath: "/orderItems" }]);
    const errors: ProvisioningError[] = [];
    const items: SimOrderItem[] = [];
    rawItems.forEach((raw, index) => {
      const item = this.validateItem(customer, raw, index, errors);
      if (item) items.push(item);
    });
    if (errors.length > 0) throw invalidProvisioning(errors);
    const referenceId = str(b.referenceId);
    if (referenceId && this.options.rejectDuplicateReferenceId && this.orderList.some((o) => o.referenceId === referenceId)) {
      throw new SimApiError("ALREADY_EXISTS", `an order with referenceId '${referenceId}' already exists`);
    }
    this.checkBusinessRules(customer.id, items);
    const echo = this.options.echoOrderReferenceId !== false;
    if (!echo) for (const item of items) delete item.referenceId;
    const at = this.clock.stamp();
    const order: SimOrder = {
      orderId: String(this.nextOrderId++),
      customerId,
      ...(referenceId !== undefined && echo ? { referenceId } : {}),
      ...(str(b.displayName) !== undefined ? { displayName: str(b.displayName) } : {}),
      status: "NEW",
      currencyCode: this.options.currency,
      total: Math.round(items.reduce((t, i) => t + i.price * i.quantity, 0) * 10000) / 10000,
      items,
      errors: [],
      createTime: at,
      updateTime: at,
      createdRealMs: Date.now(),
      ...(this.failNext ? { injectedFailure: this.failNext } : {}),
    };
    this.failNext = undefined;
    if (this.lateOrders) {
      order.visibleFromRealMs = Date.now() + this.lateOrders.delayMs;
      this.lateOrders = this.lateOrders.count > 1 ? { ...this.lateOrders, count: this.lateOrders.count - 1 } : undefined;
    }
    this.orders.set(order.orderId, order);
    this.orderList.push(order);
    this.pending.add(order);
    this.touch();
    return order;
  }

  private validateItem(customer: SimCustomer, raw: unknown, index: number, errors: ProvisioningError[]): SimOrderItem | undefined {
    const path = `/orderItems/${index}`;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      errors.push({ code: "COMM-VL-001", detail: `'${path}' must be an object`, instancePath: path });
      return undefined;
    }
    const r = raw as Record<string, unknown>;
    const before = errors.length;
    for (const field of ["action", "productId", "skuId", "planId", "quantity", "attributes"]) {
      if (r[field] === undefined || r[field] === null || r[field] === "")
        errors.push({ code: "COMM-VL-001", detail: `'${path}' must have required property '${field}'`, instancePath: `${path}/${field}` });
    }
    if (errors.length > before) return undefined;
    const action = asText(r.action);
    if (action !== "CREATE" && action !== "UPDATE") {
      errors.push({
        code: "COMM-VL-002",
        detail: `'${path}/action' must be equal to one of the allowed values: CREATE, UPDATE`,
        instancePath: `${path}/action`,
      });
      return undefined;
    }
    const quantity = typeof r.quantity === "string" && /^\d+$/.test(r.quantity.trim()) ? Number(r.quantity) : r.quantity;
    if (typeof quantity !== "number" || !Number.isInteger(quantity) || quantity < 1) {
      errors.push({ code: "COMM-VL-002", detail: `'${path}/quantity' must be an integer >= 1`, instancePath: `${path}/quantity` });
    }
    if (
      !Array.isArray(r.attributes) ||
      r.attributes.some((a) => !a || typeof a !== "object" || typeof (a as SimAttribute).name !== "string")
    ) {
      errors.push({
        code: "COMM-VL-002",
        detail: `'${path}/attributes' must be an array of {name, value}`,
        instancePath: `${path}/attributes`,
      });
      return undefined;
    }
    const attributes = (r.attributes as Array<Record<string, unknown>>).map((a) => ({ name: asText(a.name), value: asText(a.value) }));
    const attr = (name: string) => attributes.find((a) => a.name.toLowerCase() === name.toLowerCase())?.value;
    const productId = asText(r.productId),
      skuId = asText(r.skuId),
      planId = asText(r.planId);
    const entry = findCatalogEntry(productId, skuId, planId);
    if (!entry)
      errors.push({
        code: "COMM-VL-002",
        detail: `'${path}': product '${productId}', sku '${skuId}', plan '${planId}' is not in the catalog`,
        instancePath: `${path}/planId`,
      });
    const providerName = str(r.providerName) ?? MICROSOFT_PROVIDER_NAME;
    const resourceId = str(r.resourceId);
    if (action === "UPDATE") {
      if (!resourceId)
        errors.push({
          code: "COMM-VL-003",
          detail: `resourceId must be present in '${path}' when action is UPDATE`,
          instancePath: `${path}/resourceId`,
        });
      const ops = attr("operations");
      if (ops !== undefined && !["updatesubscription", "changesubscription"].includes(ops.toLowerCase())) {
        errors.push({
          code: "COMM-VL-002",
          detail: `'${path}' attribute 'operations' must be one of: updatesubscription, changesubscription`,
          instancePath: `${path}/attributes`,
        });
      }
    } else if (providerName.toUpperCase() === MICROSOFT_PROVIDER_NAME && !attr("domainName")) {
      errors.push({
        code: "COMM-VL-004",
        detail: `domainName is required in '${path}' attributes when provider is AZURE and action is CREATE`,
        instancePath: `${path}/attributes`,
      });
    }
    const renewal = attr("renewalSetting");
    if (renewal !== undefined && !["auto-on", "auto-off"].includes(renewal.toLowerCase())) {
      errors.push({
        code: "COMM-VL-002",
        detail: `'${path}' attribute 'renewalSetting' must be one of: auto-on, auto-off`,
        instancePath: `${path}/attributes`,
      });
    }
    const statusUpdate = attr("statusUpdate");
    if (statusUpdate !== undefined && !["active", "suspended", "deleted"].includes(statusUpdate.toLowerCase())) {
      errors.push({
        code: "COMM-VL-002",
        detail: `'${path}' attribute 'statusUpdate' must be one of: active, suspended, deleted`,
        instancePath: `${path}/attributes`,
      });
    }
    if (errors.length > before || !entry) return undefined;
    return {
      itemId: String(index + 1),
      ...(str(r.referenceId) !== undefined ? { referenceId: str(r.referenceId) } : {}),
      action,
      ...(resourceId !== undefined ? { resourceId } : {}),
      productId,
      skuId,
      planId,
      quantity: quantity as number,
      providerName,
      ...(str(r.endCustomerPO) !== undefined ? { endCustomerPO: str(r.endCustomerPO) } : {}),
      ...(str(r.resellerPO) !== undefined ? { resellerPO: str(r.resellerPO) } : {}),
      attributes,
      price: priceIn(this.options.currency, entry.plan.usdPrice),
      status: "NEW",
    };
  }

  /** Rules that need the current subscription; checked when the order is placed and again when it is applied. */
  private checkBusinessRules(customerId: string, items: SimOrderItem[]): void {
    const now = this.clock.now();
    for (const item of items) {
      if (item.action !== "UPDATE") continue;
      const s = this.subscriptionForItem(customerId, item);
      const attr = (name: string) => item.attributes.find((a) => a.name.toLowerCase() === name.toLowerCase())?.value?.toLowerCase();
      if (s.ccpProductId !== item.productId || s.ccpSkuId !== item.skuId || s.ccpPlanId !== item.planId) {
        throw invalidProvisioning([
          {
            code: "COMM-VL-002",
            detail: `productId/skuId/planId of the order item do not match subscription ${item.resourceId} (${s.ccpProductId}/${s.ccpSkuId}/${s.ccpPlanId})`,
            instancePath: "/orderItems",
          },
        ]);
      }
      if (s.status === "cancelled" || s.status === "expired" || s.status === "deleted") {
        throw new SimApiError("FAILED_PRECONDITION", `Subscription ${s.subscriptionId} is ${s.status} and can no longer be changed`);
      }
      const status = attr("statusUpdate");
      if (status === "deleted" && now > s.cancellationAllowedUntil) {
        throw new SimApiError(
          "INVALID_ARGUMENT",
          `Subscription ${s.subscriptionId} can no longer be cancelled: cancellation was allowed until ${new Date(s.cancellationAllowedUntil).toISOString()} (cancellationAllowedUntilDate). It can be set not to renew (renewalSetting auto-off) instead.`,
        );
      }
      if (s.status === "suspended" && status !== "active" && status !== "deleted" && item.quantity !== s.quantity) {
        throw new SimApiError(
          "FAILED_PRECONDITION",
          `Subscription ${s.subscriptionId} is suspended: reactivate it (statusUpdate active) before changing the quantity`,
        );
      }
      if (this.options.enforceSeatDecreaseWindow && item.quantity < s.quantity && now > s.cancellationAllowedUntil) {
        throw new SimApiError(
          "INVALID_ARGUMENT",
          `Seats of subscription ${s.subscriptionId} can only be reduced until ${new Date(s.cancellationAllowedUntil).toISOString()} (cancellationAllowedUntilDate)`,
        );
      }
    }
  }

  private subscriptionForItem(customerId: string, item: SimOrderItem): SimSubscription {
    const s = item.resourceId ? this.subscriptionsByProviderId.get(item.resourceId.toLowerCase()) : undefined;
    if (!s || s.customerId !== customerId)
      throw new SimApiError("NOT_FOUND", `Subscription ${item.resourceId} not found for customer ${customerId}`);
    return s;
  }

  getOrder(customerId: string, orderId: string): SimOrder {
    this.getCustomer(customerId);
    const o = this.orders.get(orderId);
    if (!o || o.customerId !== customerId || !this.isOrderVisible(o))
      throw notFound(`accounts/${this.options.accountId}/customers/${customerId}/orders/${orderId}`);
    return o;
  }

  /** `:cancel`: only NEW or ON_HOLD orders (§4.4); the spelling is CANCELED. */
  cancelOrder(customerId: string, orderId: string): SimOrder {
    const o = this.getOrder(customerId, orderId);
    if (o.status !== "NEW" && o.status !== "ON_HOLD")
      throw new SimApiError("FAILED_PRECONDITION", `order ${orderId} is ${o.status}; only NEW or ON_HOLD orders can be cancelled`);
    this.setOrderStatus(o, "CANCELED");
    this.pending.delete(o);
    return o;
  }

  private setOrderStatus(o: SimOrder, status: OrderStatus): void {
    o.status = status;
    o.updateTime = this.clock.stamp();
    for (const i of o.items) i.status = status === "COMPLETED" ? "ACTIVE" : status;
    this.touch();
  }

  /** Auto mode: moves orders whose delay passed (on the simulated clock or in real time). */
  settleOrders(): number {
    if (this.options.orderProcessing.mode !== "auto" || this.pending.size === 0) return 0;
    const delay = this.options.orderProcessing.delayMs;
    const now = this.clock.now();
    const real = Date.now();
    let changed = 0;
    for (const o of [...this.pending]) {
      const elapsed = Math.max(now - o.createTime, real - o.createdRealMs);
      if (elapsed >= delay) {
        this.completeOrder(o);
        changed++;
      } else if (elapsed >= delay / 2 && o.status === "NEW") {
        this.setOrderStatus(o, "IN_PROGRESS");
        changed++;
      }
    }
    return changed;
  }

  /** Control: every pending order one step (NEW → IN_PROGRESS → COMPLETED/ERROR), or straight to the end. */
  processOrders(options: { step?: boolean } = {}): number {
    let changed = 0;
    for (const o of [...this.pending]) {
      if (options.step && o.status === "NEW") this.setOrderStatus(o, "IN_PROGRESS");
      else this.completeOrder(o);
      changed++;
    }
    return changed;
  }

  private completeOrder(o: SimOrder): void {
    this.pending.delete(o);
    if (o.injectedFailure) {
      o.errors = o.injectedFailure.map((e) => ({ ...e }));
      this.setOrderStatus(o, "ERROR");
      return;
    }
    try {
      this.checkBusinessRules(o.customerId, o.items);
    } catch (e) {
      const err = ensureError(e);
      const provisioning = err instanceof SimApiError ? err.provisioningErrors : undefined;
      o.errors = provisioning
        ? provisioning.map((p) => ({ code: p.code, detail: p.detail }))
        : [{ code: err instanceof SimApiError ? err.code : "INTERNAL_ERROR", detail: err.message }];
      this.setOrderStatus(o, "ERROR");
      return;
    }
    for (const item of o.items) this.applyItem(o, item);
    this.setOrderStatus(o, "COMPLETED");
  }

  private applyItem(o: SimOrder, item: SimOrderItem): void {
    const attr = (name: string) => item.attributes.find((a) => a.name.toLowerCase() === name.toLowerCase())?.value?.toLowerCase();
    const renewal = attr("renewalSetting");
    if (item.action === "CREATE") {
      const entry = findCatalogEntry(item.productId, item.skuId, item.planId) as CatalogEntry;
      const sub = this.newSubscription(o.customerId, entry, item.quantity, renewal !== "auto-off");
      if (item.resellerPO) sub.resellerPO = item.resellerPO;
      if (item.endCustomerPO) sub.customerPO = item.endCustomerPO;
      this.insertSubscription(sub);
      item.resourceId = sub.subscriptionId;
      this.provisionTenant(o.customerId, item);
      return;
    }
    const s = this.subscriptionForItem(o.customerId, item);
    const parts: string[] = [];
    if (item.quantity !== s.quantity) {
      s.quantity = item.quantity;
      parts.push(`New Quantity: ${s.quantity}; `);
    }
    if (renewal !== undefined) {
      s.autoRenew = renewal === "auto-on";
      parts.push(`Auto Renew: ${s.autoRenew ? "on" : "off"}; `);
    }
    const status = attr("statusUpdate");
    if (status !== undefined) {
      s.status = status === "deleted" ? "cancelled" : status;
      parts.push(`Status: ${s.status}; `);
    }
    this.recordChange(s, "Subscription Updated", parts.join("") || `Order ${o.orderId}; `);
  }

  /**
   * A first Microsoft CREATE for a customer without a tenant creates one named after `domainName`, and
   * (as the Ion reference documents) the order item returns the new tenant admin's userName and password.
   */
  private provisionTenant(customerId: string, item: SimOrderItem): void {
    const customer = this.customers.get(customerId);
    if (!customer || customer.cloudProfiles.length > 0 || item.providerName.toUpperCase() !== MICROSOFT_PROVIDER_NAME) return;
    const label =
      (item.attributes.find((a) => a.name.toLowerCase() === "domainname")?.value ?? customer.id)
        .toLowerCase()
        .replace(/\.onmicrosoft\.com$/, "")
        .replace(/[^a-z0-9]/g, "") || customer.id;
    const domain = `${label}.onmicrosoft.com`;
    customer.cloudProfiles.push({
      providerId: "30",
      displayName: "Microsoft",
      shortName: "AZURE",
      enabled: true,
      customerTenantId: seededGuid(this.guidRandom),
      customerDomain: domain,
      allowDelegatedAccess: true,
      gdapStatus: "ACTIVE",
      gdapLevel: "DEFAULT",
      gdapRoles: ["Directory Readers", "License Administrator", "User Administrator"],
      agreementStatus: "ACCEPTED",
    });
    customer.updateTime = this.clock.stamp();
    item.attributes.push(
      { name: "userName", value: `admin@${domain}` },
      { name: "password", value: randomBytes(12).toString("base64url") },
    );
  }

  pendingOrders(): number {
    return this.pending.size;
  }
}

/**
 * Text of an untrusted JSON value. String() throws on objects such as {"toString": null}, which a
 * hostile order body can carry; a simulator must answer those with a 400, not crash.
 */
function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return "";
  }
}
