/**
 * Handlers of the v3 resources (docs/platform/ion-api.md §4, §5): customers, cloud profiles, subscriptions, orders
 * and the product catalog. Each takes parsed input and returns a JSON body or throws SimApiError.
 */
import { CATALOG, type CatalogProduct, findProduct, MICROSOFT_PROVIDER_ID, MICROSOFT_PROVIDER_NAME, priceIn } from "./catalog";
import { DAY_MS } from "./dataset";
import { SimApiError } from "./errors";
import { filterHash, tokenPage } from "./paging";
import { iso, renderCloudProfiles, renderCustomer, renderOrder, renderSubscription, subscriptionListJson } from "./render";
import type { IonStore } from "./store";
import type { OrderStatus, SimCustomer, SimOrder, SimSubscription } from "./types";

export type Query = Record<string, string>;

export interface ApiContext {
  store: IonStore;
  accountId: string;
  maxPageSize: number;
}

// ---- customers ---------------------------------------------------------------------------------

const CUSTOMER_STATUSES = new Set(["CUSTOMER_STATUS_UNSPECIFIED", "ACTIVE", "INACTIVE"]);

function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf("@") + 1).toLowerCase();
}

export function listCustomers(ctx: ApiContext, q: Query): Record<string, unknown> {
  const email = q["filter.customerEmail"]?.trim().toLowerCase();
  const name = q["filter.customerName"]?.trim().toLowerCase();
  const language = q["filter.languageCode"]?.trim().toLowerCase();
  const domain = q["filter.customerDomain"]?.trim().toLowerCase();
  const status = q["filter.customerStatus"]?.trim().toUpperCase();
  if (status && !CUSTOMER_STATUSES.has(status))
    throw new SimApiError("INVALID_ARGUMENT", `invalid value for enum field filter.customerStatus: '${q["filter.customerStatus"]}'`);
  const filters = { email, name, language, domain, status: status === "CUSTOMER_STATUS_UNSPECIFIED" ? undefined : status };
  const active = Object.values(filters).some((v) => v);
  const items: readonly SimCustomer[] = active
    ? ctx.store.customerList.filter(
        (c) =>
          (!filters.email || c.customerEmail.toLowerCase() === filters.email) &&
          (!filters.name ||
            c.customerOrganization.toLowerCase().includes(filters.name) ||
            c.customerName.toLowerCase().includes(filters.name)) &&
          (!filters.language || c.languageCode.toLowerCase() === filters.language) &&
          (!filters.status || c.customerStatus === filters.status) &&
          (!filters.domain ||
            c.customerDomain?.toLowerCase() === filters.domain ||
            emailDomain(c.customerEmail) === filters.domain ||
            c.cloudProfiles.some((p) => p.customerDomain.toLowerCase() === filters.domain)),
      )
    : ctx.store.customerList;
  const { page, nextPageToken } = tokenPage(items, q, filterHash("customers", filters), ctx.maxPageSize);
  return { customers: page.map((c) => renderCustomer(ctx.accountId, c)), nextPageToken };
}

export function getCustomer(ctx: ApiContext, customerId: string): Record<string, unknown> {
  return renderCustomer(ctx.accountId, ctx.store.getCustomer(customerId));
}

export function createCustomer(ctx: ApiContext, body: unknown): Record<string, unknown> {
  const { customer, user } = ctx.store.createCustomer(body);
  return { ...renderCustomer(ctx.accountId, customer), user };
}

export function replaceCustomer(ctx: ApiContext, customerId: string, body: unknown): Record<string, unknown> {
  return renderCustomer(ctx.accountId, ctx.store.replaceCustomer(customerId, body));
}

export function cloudProfiles(ctx: ApiContext, customerId: string, q: Query): Record<string, unknown> {
  const c = ctx.store.getCustomer(customerId);
  return renderCloudProfiles(c, q.providerId || undefined, q.enabledOnly === "true");
}

/** Legacy singular endpoint (§4.1): `providerId` required, Azure only. */
export function legacyCloudProfile(ctx: ApiContext, customerId: string, q: Query): Record<string, unknown> {
  const c = ctx.store.getCustomer(customerId);
  if (!q.providerId) throw new SimApiError("INVALID_ARGUMENT", "providerId is required");
  const profile = c.cloudProfiles.find((p) => p.providerId === q.providerId);
  if (!profile) throw new SimApiError("NOT_FOUND", `cloud profile for provider ${q.providerId} not found for customer ${customerId}`);
  return {
    customerId: c.id,
    providerId: profile.providerId,
    customerTenantId: profile.customerTenantId,
    customerDomain: profile.customerDomain,
    enabled: profile.enabled,
    displayName: profile.displayName,
  };
}

// ---- subscriptions -----------------------------------------------------------------------------

const SUBSCRIPTION_STATUSES = new Set([
  "ACCEPTED",
  "ACTIVE",
  "AVAILABLE",
  "CANCELLED",
  "COMPLETE",
  "CONFIRMED",
  "DELETED",
  "DISABLED",
  "ENABLED",
  "ERROR",
  "EXPIRED",
  "FAILED",
  "INITIATED",
  "IN_PROGRESS",
  "PAUSED",
  "PENDING",
  "RUNNING",
  "STOPPED",
  "SUSPENDED",
]);
const SORTABLE: Record<string, (s: SimSubscription, store: IonStore) => string | number> = {
  id: (s) => Number(s.id),
  lastUpdatedDate: (s) => s.lastUpdated,
  subscriptionStartDate: (s) => s.termStart,
  subscriptionEndDate: (s) => s.termEnd,
  renewalDate: (s) => s.termEnd,
  subscriptionPurchasedDate: (s) => s.purchasedAt,
  customerId: (s) => Number(s.customerId),
  customerName: (s, store) => store.customers.get(s.customerId)?.customerOrganization.toLowerCase() ?? "",
  subscriptionName: (s) => s.subscriptionName.toLowerCase(),
  subscriptionTotalLicenses: (s) => s.quantity,
};

function startOfUtcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
function monthStart(ms: number, deltaMonths = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + deltaMonths, 1);
}
function quarterStart(ms: number, deltaQuarters = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3 + deltaQuarters * 3, 1);
}
function weekStart(ms: number): number {
  const day = startOfUtcDay(ms);
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
  return day - weekday * DAY_MS;
}

/** [from, to) for a relative range on the simulated clock, or undefined for "no filter". */
export function relativeRange(name: string, now: number): [number, number] | undefined {
  switch (name.toUpperCase()) {
    case "":
    case "UNKNOWN_RELATIVE_DATE_RANGE":
    case "CUSTOM":
      return undefined;
    case "TODAY":
      return [startOfUtcDay(now), now + 1];
    case "WEEK_TO_DATE":
      return [weekStart(now), now + 1];
    case "LAST_WEEK":
      return [weekStart(now) - 7 * DAY_MS, weekStart(now)];
    case "MONTH_TO_DATE":
      return [monthStart(now), now + 1];
    case "LAST_MONTH":
      return [monthStart(now, -1), monthStart(now)];
    case "TWO_MONTHS_AGO":
      return [monthStart(now, -2), monthStart(now, -1)];
    case "LATEST_MONTH":
      return [now - 30 * DAY_MS, now + 1];
    case "QUARTER_TO_DATE":
      return [quarterStart(now), now + 1];
    case "LAST_QUARTER":
      return [quarterStart(now, -1), quarterStart(now)];
    case "YEAR_TO_DATE":
      return [Date.UTC(new Date(now).getUTCFullYear(), 0, 1), now + 1];
    case "LAST_YEAR": {
      const y = new Date(now).getUTCFullYear();
      return [Date.UTC(y - 1, 0, 1), Date.UTC(y, 0, 1)];
    }
    case "LAST_365_DAYS":
      return [now - 365 * DAY_MS, now + 1];
    default:
      throw new SimApiError("INVALID_ARGUMENT", `invalid value for enum field relativeDateRange: '${name}'`);
  }
}

function parseDateParam(name: string, value: string, endOfDay: boolean): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const t = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t)) throw new SimApiError("INVALID_ARGUMENT", `invalid value for ${name}: '${value}' (expected YYYY-MM-DD or RFC 3339)`);
  return dateOnly && endOfDay ? t + DAY_MS : endOfDay ? t + 1 : t;
}

function dateRange(q: Query, prefix: string, now: number): [number, number] | undefined {
  const rel = q[`${prefix}.relativeDateRange`];
  const fixedStart = q[`${prefix}.fixedDateRange.startDate`];
  const fixedEnd = q[`${prefix}.fixedDateRange.endDate`];
  if (fixedStart || fixedEnd) {
    return [
      fixedStart ? parseDateParam(`${prefix}.fixedDateRange.startDate`, fixedStart, false) : -Infinity,
      fixedEnd ? parseDateParam(`${prefix}.fixedDateRange.endDate`, fixedEnd, true) : Infinity,
    ];
  }
  return rel ? relativeRange(rel, now) : undefined;
}

function intParam(q: Query, name: string, fallback: number): number {
  const raw = q[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new SimApiError("INVALID_ARGUMENT", `invalid value for ${name}: '${raw}'`);
  return n;
}

const subscriptionCache = new WeakMap<IonStore, Map<string, { version: number; items: SimSubscription[] }>>();

function filteredSubscriptions(ctx: ApiContext, q: Query): SimSubscription[] {
  const store = ctx.store;
  const now = store.clock.now();
  const status = q.subscriptionStatus?.trim().toUpperCase();
  if (status && !SUBSCRIPTION_STATUSES.has(status))
    throw new SimApiError("INVALID_ARGUMENT", `invalid value for enum field subscriptionStatus: '${q.subscriptionStatus}'`);
  const sortBy = q["pagination.sortBy"] || "id";
  const sortKey = SORTABLE[sortBy];
  if (!sortKey) throw new SimApiError("INVALID_ARGUMENT", `pagination.sortBy must be one of: ${Object.keys(SORTABLE).join(", ")}`);
  const order = (q["pagination.sortOrder"] || "ASC").toUpperCase();
  if (order !== "ASC" && order !== "DESC") throw new SimApiError("INVALID_ARGUMENT", "pagination.sortOrder must be ASC or DESC");
  const start = dateRange(q, "startDateRange", now);
  const end = dateRange(q, "endDateRange", now);
  const endDate = q.endDate ? parseDateParam("endDate", q.endDate, true) : undefined;
  const cycle = q.billingCycle?.toLowerCase();
  const termRaw = q.billingTerm?.toUpperCase();
  const term = termRaw === "MONTHLY" ? "P1M" : termRaw === "ANNUAL" || termRaw === "YEARLY" ? "P1Y" : termRaw;
  const text = (k: string) => q[k]?.trim().toLowerCase() || undefined;
  const f = {
    customerId: q.customerId?.trim() || undefined,
    subscriptionId: text("subscriptionId"),
    resellerId: q.resellerId?.trim() || undefined,
    providerId: q.providerId?.trim() || q.cloudProviderId?.trim() || undefined,
    ccpProductId: q.ccpProductId || undefined,
    providerProductId: text("providerProductId"),
    customerPo: q.customerPo || undefined,
    resellerPo: q.resellerPo || undefined,
    customerName: text("customerName"),
    subscriptionName: text("subscriptionName"),
    cloudProviderName: text("cloudProviderName"),
    accountName: text("accountName"),
    resourceType: q.resourceType || undefined,
    totalLicense: q.totalLicense ? intParam(q, "totalLicense", 0) : undefined,
    free: text("pagination.filter"),
  };
  const key = JSON.stringify([f, status, sortBy, order, start, end, endDate, cycle, term, start || end ? now : 0]);
  let cache = subscriptionCache.get(store);
  if (!cache) subscriptionCache.set(store, (cache = new Map()));
  const hit = cache.get(key);
  if (hit && hit.version === store.version) return hit.items;

  const org = (s: SimSubscription) => store.customers.get(s.customerId)?.customerOrganization.toLowerCase() ?? "";
  const base = f.customerId ? (store.subscriptionsByCustomer.get(f.customerId) ?? []) : store.subscriptionList;
  let items = base.filter(
    (s) =>
      (!status || s.status.toUpperCase() === status) &&
      (!f.subscriptionId || s.subscriptionId.toLowerCase() === f.subscriptionId) &&
      (!f.resellerId || f.resellerId === ctx.accountId) &&
      (!f.providerId || f.providerId === MICROSOFT_PROVIDER_ID) &&
      (!f.ccpProductId || s.ccpProductId === f.ccpProductId) &&
      (!f.providerProductId ||
        findProduct(s.ccpProductId)
          ?.skus.find((k) => k.id === s.ccpSkuId)
          ?.msProductId.toLowerCase() === f.providerProductId) &&
      (!f.customerPo || s.customerPO === f.customerPo) &&
      (!f.resellerPo || s.resellerPO === f.resellerPo) &&
      (!f.customerName || org(s).includes(f.customerName)) &&
      (!f.subscriptionName || s.subscriptionName.toLowerCase().includes(f.subscriptionName)) &&
      (!f.cloudProviderName ||
        "microsoft".includes(f.cloudProviderName) ||
        f.cloudProviderName === MICROSOFT_PROVIDER_NAME.toLowerCase()) &&
      (!f.accountName || store.partnerName.toLowerCase().includes(f.accountName)) &&
      (!f.resourceType || f.resourceType === "AZURE::Subscription") &&
      (f.totalLicense === undefined || s.quantity === f.totalLicense) &&
      (!cycle || s.billingCycle === cycle || (cycle === "yearly" && s.billingCycle === "annual")) &&
      (!term || s.billingTerm === term) &&
      (!start || (s.termStart >= start[0] && s.termStart < start[1])) &&
      (!end || (s.termEnd >= end[0] && s.termEnd < end[1])) &&
      (endDate === undefined || s.termEnd < endDate) &&
      (!f.free ||
        s.subscriptionName.toLowerCase().includes(f.free) ||
        org(s).includes(f.free) ||
        s.subscriptionId.toLowerCase().includes(f.free)),
  );
  if (sortBy !== "id" || order !== "ASC") {
    const dir = order === "DESC" ? -1 : 1;
    items = items
      .map((s) => ({ s, k: sortKey(s, store) }))
      .sort((a, b) => (a.k < b.k ? -dir : a.k > b.k ? dir : (Number(a.s.id) - Number(b.s.id)) * dir))
      .map((x) => x.s);
  }
  if (cache.size > 32) cache.clear();
  cache.set(key, { version: store.version, items });
  return items;
}

/** The subscriptions of one list page and the total they are taken from. */
function subscriptionListPage(ctx: ApiContext, q: Query): { page: SimSubscription[]; total: number } {
  const limitRaw = intParam(q, "pagination.limit", 100);
  const limit = Math.min(limitRaw === 0 ? 100 : limitRaw, ctx.maxPageSize);
  const offset = intParam(q, "pagination.offset", 0);
  const items = filteredSubscriptions(ctx, q);
  return { page: items.slice(offset, offset + limit), total: items.length };
}

export function listSubscriptions(ctx: ApiContext, q: Query): Record<string, unknown> {
  const { page, total } = subscriptionListPage(ctx, q);
  const store = ctx.store;
  return {
    items: page.map((s) =>
      renderSubscription(ctx.accountId, store.partnerName, store.customers.get(s.customerId)?.customerOrganization ?? "", s, false),
    ),
    totalCount: String(total),
    paginationResponse: { totalSize: total },
  };
}

/**
 * The same answer as listSubscriptions, as the JSON text the server sends (JSON.stringify of it, member for
 * member), built from each subscription's cached text (render.ts `subscriptionListJson`); `items` is how
 * many it carries.
 */
export function listSubscriptionsJson(ctx: ApiContext, q: Query): { json: string; items: number } {
  const { page, total } = subscriptionListPage(ctx, q);
  const store = ctx.store;
  const items = page.map((s) =>
    subscriptionListJson(ctx.accountId, store.partnerName, store.customers.get(s.customerId)?.customerOrganization ?? "", s),
  );
  const json = `{"items":[${items.join(",")}],"totalCount":${JSON.stringify(String(total))},"paginationResponse":{"totalSize":${total}}}`;
  return { json, items: page.length };
}

/**
 * Subscription details. With `staleSubscriptionDetails`, Ion's cached copy is answered unless the caller
 * sends `refresh=true` (the v3 reference exposes `refresh` on this read; TD SYNNEX's IONModule,
 * https://github.com/BNWEIN/IONModule, always sends it after a change): a read right after an order
 * completes then shows the details from before the order.
 */
export function getSubscription(ctx: ApiContext, customerId: string, id: string, q: Query = {}): Record<string, unknown> {
  const customer = ctx.store.getCustomer(customerId);
  const s = ctx.store.findSubscription(id);
  if (!s || s.customerId !== customerId) throw new SimApiError("NOT_FOUND", `Subscription ${id} not found`);
  const cached = ctx.store.detailsCache.get(s.id);
  if (ctx.store.staleSubscriptionDetails && cached && q.refresh?.toLowerCase() !== "true") return cached;
  const rendered = renderSubscription(ctx.accountId, ctx.store.partnerName, customer.customerOrganization, s, true);
  ctx.store.detailsCache.set(s.id, rendered);
  return rendered;
}

// ---- orders ------------------------------------------------------------------------------------

const ORDER_STATUSES = new Set<OrderStatus>(["NEW", "CONFIRMED", "ON_HOLD", "COMPLETED", "ERROR", "CANCELED", "IN_PROGRESS"]);

function orderStatusFilter(q: Query): OrderStatus | undefined {
  const s = q.status?.trim().toUpperCase();
  if (!s || s === "ORDER_STATUS_UNSPECIFIED") return undefined;
  if (!ORDER_STATUSES.has(s as OrderStatus))
    throw new SimApiError("INVALID_ARGUMENT", `invalid value for enum field status: '${q.status}'`);
  return s as OrderStatus;
}

function list(q: Query, name: string): string[] | undefined {
  const raw = q[name];
  return raw
    ? raw
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : undefined;
}

export function listAccountOrders(ctx: ApiContext, q: Query): Record<string, unknown> {
  const status = orderStatusFilter(q);
  const customers = list(q, "filter.customerIdList");
  const accounts = list(q, "filter.accountIdList");
  const providers = list(q, "filter.providerNameList")?.map((p) => p.toUpperCase());
  const sortBy = q.sortBy || "createTime";
  if (sortBy !== "createTime" && sortBy !== "updateTime")
    throw new SimApiError("INVALID_ARGUMENT", "sortBy must be createTime or updateTime");
  const order = (q.sortOrder || "DESC").toUpperCase();
  if (order !== "ASC" && order !== "DESC") throw new SimApiError("INVALID_ARGUMENT", "sortOrder must be ASC or DESC");
  const dir = order === "ASC" ? 1 : -1;
  const items = ctx.store.orderList
    .filter(
      (o) =>
        ctx.store.isOrderVisible(o) &&
        (!status || o.status === status) &&
        (!customers || customers.includes(o.customerId)) &&
        (!accounts || accounts.includes(ctx.accountId)) &&
        (!providers || o.items.some((i) => providers.includes(i.providerName.toUpperCase()))),
    )
    .sort(
      (a, b) =>
        ((sortBy === "updateTime" ? a.updateTime - b.updateTime : a.createTime - b.createTime) || Number(a.orderId) - Number(b.orderId)) *
        dir,
    );
  const { page, nextPageToken } = tokenPage(
    items,
    q,
    filterHash("orders", { status, customers, accounts, providers, sortBy, order }),
    ctx.maxPageSize,
  );
  return { orders: page.map((o) => renderOrder(ctx.accountId, o)), nextPageToken };
}

export function listCustomerOrders(ctx: ApiContext, customerId: string, q: Query): Record<string, unknown> {
  ctx.store.getCustomer(customerId);
  const status = orderStatusFilter(q);
  const items: SimOrder[] = ctx.store.orderList.filter(
    (o) => o.customerId === customerId && ctx.store.isOrderVisible(o) && (!status || o.status === status),
  );
  const { page, nextPageToken } = tokenPage(items, q, filterHash(`orders/${customerId}`, { status }), ctx.maxPageSize);
  return { orders: page.map((o) => renderOrder(ctx.accountId, o)), nextPageToken };
}

export function createOrder(ctx: ApiContext, customerId: string, body: unknown): Record<string, unknown> {
  return renderOrder(ctx.accountId, ctx.store.createOrder(customerId, body));
}

export function getOrder(ctx: ApiContext, customerId: string, orderId: string): Record<string, unknown> {
  return renderOrder(ctx.accountId, ctx.store.getOrder(customerId, orderId));
}

export function cancelOrder(ctx: ApiContext, customerId: string, orderId: string): Record<string, unknown> {
  return renderOrder(ctx.accountId, ctx.store.cancelOrder(customerId, orderId));
}

// ---- products ----------------------------------------------------------------------------------

const CATALOG_TIME = iso(Date.UTC(2026, 0, 15, 9, 30, 0));

export function renderProduct(ctx: ApiContext, p: CatalogProduct, q: Query): Record<string, unknown> {
  const currency = ctx.store.options.currency;
  const owner = (q.clientRole ?? "").toUpperCase() === "OWNER";
  const noPricing = q["excludeFilter.excludePricing"] === "true" || owner;
  const out: Record<string, unknown> = {
    name: `accounts/${ctx.accountId}/products/${p.id}`,
    id: p.id,
    type: "SUBSCRIPTION_PRODUCTS",
    disabled: false,
    categories: [p.category],
    hasPublishedVersions: true,
    hasUnpublishedChanges: false,
    etag: `W/"${p.id.length}-${p.skus.length}"`,
    createTime: CATALOG_TIME,
    updateTime: CATALOG_TIME,
  };
  if (q["excludeFilter.excludeMarketing"] !== "true")
    out.marketing = { displayName: p.displayName, description: p.description, caption: p.displayName, defaultImage: "" };
  if (q["excludeFilter.excludeDefinition"] !== "true") {
    out.definition = {
      supportedCurrencies: [currency],
      billingMode: "PREPAY",
      skus: p.skus.map((s) => ({
        id: s.id,
        displayName: s.displayName,
        description: s.description,
        cancelTiming: "END_OF_TERM",
        productCloudProviderName: MICROSOFT_PROVIDER_NAME,
        externalId: `US,${s.msProductId},${s.msSkuId}`,
        disabled: false,
        availableAddOns: [],
        includedAddOns: [],
        ...(noPricing ? {} : { pricebookPrice: priceIn(currency, s.plans[0]?.usdPrice ?? 0), pricebookCurrency: currency }),
        plans: s.plans.map((plan) => ({
          id: plan.id,
          displayName: plan.displayName,
          billingPeriod: plan.billingPeriod,
          mfgPartNumber: plan.mfgPartNumber,
          phases: [
            {
              type: "UNLIMITED_PHASE",
              duration: { unit: plan.billingTerm === "P1Y" ? "YEAR" : "MONTH", count: 1, unlimited: true },
              ...(noPricing ? {} : { recurringPrice: { [currency]: priceIn(currency, plan.usdPrice) } }),
              fixedPrice: {},
            },
          ],
          ...(noPricing ? {} : { pricebookPrice: priceIn(currency, plan.usdPrice), pricebookCurrency: currency }),
          productAvailability: true,
        })),
      })),
      addOns: [],
      customFields: [],
    };
  }
  return out;
}

export function listProducts(ctx: ApiContext, q: Query): Record<string, unknown> {
  const name = q["filter.name"]?.toLowerCase();
  const skuId = q["filter.skuId"];
  const skuName = q["filter.skuDisplayName"]?.toLowerCase();
  const mpn = q["filter.mfgPartNumber"];
  const ext = q["filter.skuExternalId"]?.toUpperCase();
  const provider = q["filter.cloudProviderId"];
  const items = CATALOG.filter(
    (p) =>
      (!name || p.displayName.toLowerCase().includes(name)) &&
      (!skuId || p.skus.some((s) => s.id === skuId)) &&
      (!skuName || p.skus.some((s) => s.displayName.toLowerCase().includes(skuName))) &&
      (!mpn || p.skus.some((s) => s.plans.some((pl) => pl.mfgPartNumber === mpn))) &&
      (!ext || p.skus.some((s) => `US,${s.msProductId},${s.msSkuId}` === ext)) &&
      (!provider || provider === MICROSOFT_PROVIDER_ID),
  );
  const { page, nextPageToken } = tokenPage(
    items,
    q,
    filterHash("products", { name, skuId, skuName, mpn, ext, provider }),
    ctx.maxPageSize,
  );
  return { products: page.map((p) => renderProduct(ctx, p, q)), nextPageToken, categories: [...new Set(CATALOG.map((p) => p.category))] };
}

export function getProduct(ctx: ApiContext, productId: string, q: Query): Record<string, unknown> {
  const p = findProduct(productId);
  if (!p) throw new SimApiError("NOT_FOUND", `listing ${productId} not found`);
  return renderProduct(ctx, p, q);
}
