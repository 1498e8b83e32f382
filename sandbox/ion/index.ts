/**
 * StreamOne Ion simulator: a local HTTP stand-in for ion.tdsynnex.com (OAuth at /oauth/*, v3 at
 * /api/v3, v1 at /api/v1) with deterministic seeded data and a control API for tests. See README.md.
 */
import { randomBytes } from "node:crypto";

import { silentLogger } from "../../src/shared/logger";
import { IonLatencyLayer, type LatencyLedger } from "../latency";
import { TokenAuthority } from "./auth";
import { isSupportedCurrency } from "./catalog";
import { COUNTRIES, DEFAULT_START_TIME } from "./dataset";
import { SimApiError } from "./errors";
import { FaultInjector } from "./faults";
import type { HandlerResult } from "./oauth";
import { renderSubscription } from "./render";
import { type PagedList, SimServer } from "./server";
import { IonStore, SimClock } from "./store";
import type {
  FaultConfig,
  IonSimulatorOptions,
  RequestLogEntry,
  SimCustomer,
  SimOrder,
  SimOrderError,
  SimSubscription,
  TokenUsage,
} from "./types";

export { ACCESS_TOKEN_TTL_S, INVALID_REFRESH_TOKEN_ERROR, REFRESH_TOKEN_TTL_S } from "./auth";
export { CATALOG, catalogEntries, findCatalogEntry } from "./catalog";
export { type CrmAccount, type CrmAccountWithTruth, type CrmMatchKind, generateCrmAccounts, generateDataset } from "./dataset";
export type { PagedList } from "./server";
export * from "./types";

export interface SubscriptionPatch {
  quantity?: number;
  status?: string;
  autoRenew?: boolean;
  cancellationAllowedUntilDate?: string;
  subscriptionName?: string;
}

export interface IonSimulatorControl {
  now(): number;
  advanceClock(ms: number): void;
  /** "Request New Credentials" in the portal: a new refresh token and access token (older ones keep working). */
  issuePortalCredentials(): { refreshToken: string; accessToken: string };
  revokeRefreshTokens(): void;
  revokeAccessTokens(): void;
  setFaults(f: FaultConfig | undefined): void;
  /** Serve cached subscription details unless a read sends refresh=true (options.staleSubscriptionDetails). */
  setStaleSubscriptionDetails(on: boolean): void;
  /** Portal-side edits: bump lastUpdatedDate/updateTime and add activity log entries. */
  updateSubscription(id: string, patch: SubscriptionPatch): SimSubscription;
  updateCustomer(id: string, patch: Record<string, unknown>): SimCustomer;
  addCustomer(c?: Partial<SimCustomer>): SimCustomer;
  addSubscription(customerId: string, s?: Partial<SimSubscription>): SimSubscription;
  /** "delete" (default): gone from Ion with its subscriptions and orders; "inactive": customerStatus INACTIVE. */
  removeCustomer(id: string, mode?: "delete" | "inactive"): void;
  /**
   * Runs `change` once, right after the next page of `list` (the `page`-th from now, default 1) is rendered:
   * a change landing between two page reads of a caller, placed deterministically. Ion pages customers with a
   * page token and subscriptions with `pagination.offset` (README "Paging while records change"); both stand for a position in the
   * list, so a record deleted there moves every later record one place up, and one of them is on no page.
   */
  afterNextPage(list: PagedList, change: () => void, page?: number): void;
  /** Pending orders to COMPLETED/ERROR (or one step with {step: true}); returns how many changed. */
  processOrders(options?: { step?: boolean }): number;
  failNextOrder(errors?: SimOrderError[]): void;
  /** Whether later orders keep the caller's referenceId (see IonSimulatorOptions.echoOrderReferenceId). */
  setOrderReferenceEcho(echo: boolean): void;
  /** The next `count` orders are recorded late: Ion's API shows them only `delayMs` (real time) after the POST. */
  recordNextOrdersLate(delayMs: number, count?: number): void;
  customers(): SimCustomer[];
  subscriptions(): SimSubscription[];
  orders(): SimOrder[];
  getSubscription(id: string): SimSubscription | undefined;
  getCustomer(id: string): SimCustomer | undefined;
  /** The subscription as GET …/subscriptions/{id} renders it (wire shape). */
  renderSubscription(id: string): Record<string, unknown> | undefined;
  requestLog(): RequestLogEntry[];
  counters(): Record<string, number>;
  /** What the latency model charged since the last `resetCounters` (undefined when the model is off). */
  latencyLedger(): LatencyLedger | undefined;
  resetCounters(): void;
  tokenUsage(): TokenUsage;
  resetTokenUsage(): void;
}

export interface IonSimulator {
  /** http://127.0.0.1:PORT, the "Ion host". */
  url: string;
  accountId: string;
  /** The "portal-issued" credentials. */
  credentials: { refreshToken: string; apiKey: string; apiSecret: string };
  control: IonSimulatorControl;
  close(): Promise<void>;
}

function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

export async function startIonSimulator(options: IonSimulatorOptions = {}): Promise<IonSimulator> {
  const seed = options.seed ?? 1;
  const accountId = options.accountId ?? "1000123";
  if (!/^\d+$/.test(accountId))
    throw new SimApiError("INVALID_ARGUMENT", `accountId must be numeric (Ion account ids are integers): '${accountId}'`);
  const country = (options.country ?? "US").toUpperCase();
  const currency = (options.currency ?? COUNTRIES[country]?.currency ?? "USD").toUpperCase();
  // priceIn would otherwise price an unknown currency silently at the USD rate.
  if (!isSupportedCurrency(currency))
    throw new SimApiError("INVALID_ARGUMENT", `currency '${currency}' has no rate in the simulator's FX table (catalog.ts USD_RATES)`);
  const customers = options.customers ?? 25;
  const perCustomer = options.subscriptionsPerCustomer ?? 3;
  if (!Number.isInteger(customers) || customers < 0) throw new SimApiError("INVALID_ARGUMENT", "customers must be a whole number >= 0");
  if (!Number.isInteger(perCustomer) || perCustomer < 0)
    throw new SimApiError("INVALID_ARGUMENT", "subscriptionsPerCustomer must be a whole number >= 0");
  const logger = options.logger ?? silentLogger;
  const clock = new SimClock(options.startTime ?? DEFAULT_START_TIME, options.clockMode ?? "frozen");
  const processing =
    options.orderProcessing?.mode === "manual"
      ? { mode: "manual" as const }
      : { mode: "auto" as const, delayMs: options.orderProcessing?.delayMs ?? 200 };
  const store = new IonStore(
    {
      seed,
      customers,
      subscriptionsPerCustomer: perCustomer,
      accountId,
      country,
      currency,
      orderProcessing: processing,
      rejectDuplicateReferenceId: options.rejectDuplicateReferenceId ?? false,
      echoOrderReferenceId: options.echoOrderReferenceId ?? true,
      enforceSeatDecreaseWindow: options.enforceSeatDecreaseWindow ?? false,
    },
    clock,
  );
  store.staleSubscriptionDetails = options.staleSubscriptionDetails ?? false;
  const auth = new TokenAuthority(accountId, () => clock.now(), options.refreshTokenLifetime ?? "sliding");
  const portal = auth.issuePortalCredentials();
  const credentials = { refreshToken: portal.refreshToken, apiKey: `ak_${randomSecret(12)}`, apiSecret: randomSecret(24) };
  const faults = new FaultInjector(options.faults, seed);

  const pageHooks: { list: PagedList; change: () => void; remaining: number }[] = [];
  const afterListPage = (list: PagedList) => {
    for (const hook of pageHooks.filter((h) => h.list === list)) {
      if (--hook.remaining > 0) continue;
      pageHooks.splice(pageHooks.indexOf(hook), 1);
      hook.change();
    }
  };
  const control: IonSimulatorControl = {
    now: () => clock.now(),
    advanceClock: (ms) => {
      clock.advance(ms);
      store.rollTerms();
      store.settleOrders();
    },
    issuePortalCredentials: () => auth.issuePortalCredentials(),
    revokeRefreshTokens: () => auth.revokeRefreshTokens(),
    revokeAccessTokens: () => auth.revokeAccessTokens(),
    setFaults: (f) => faults.configure(f),
    setStaleSubscriptionDetails: (on) => {
      store.staleSubscriptionDetails = on;
      if (!on) store.detailsCache.clear();
    },
    updateSubscription: (id, patch) => store.updateSubscription(id, patch),
    updateCustomer: (id, patch) => store.updateCustomer(id, patch),
    addCustomer: (c) => store.addCustomer(c),
    addSubscription: (customerId, s) => store.addSubscription(customerId, s),
    removeCustomer: (id, mode) => store.removeCustomer(id, mode),
    afterNextPage: (list, change, page = 1) => {
      if (!Number.isInteger(page) || page < 1)
        throw new SimApiError("INVALID_ARGUMENT", `afterNextPage: page must be a whole number >= 1, got ${page}`);
      pageHooks.push({ list, change, remaining: page });
    },
    processOrders: (o) => store.processOrders(o),
    failNextOrder: (errors) => store.failNextOrder(errors),
    setOrderReferenceEcho: (echo) => store.setOrderReferenceEcho(echo),
    recordNextOrdersLate: (delayMs, count) => store.recordNextOrdersLate(delayMs, count),
    customers: () => {
      store.settleOrders();
      return [...store.customerList];
    },
    subscriptions: () => {
      store.settleOrders();
      return [...store.subscriptionList];
    },
    orders: () => {
      store.settleOrders();
      return [...store.orderList];
    },
    getSubscription: (id) => {
      store.settleOrders();
      return store.findSubscription(id);
    },
    getCustomer: (id) => store.customers.get(id),
    renderSubscription: (id) => {
      store.settleOrders();
      const s = store.findSubscription(id);
      return s
        ? renderSubscription(accountId, store.partnerName, store.customers.get(s.customerId)?.customerOrganization ?? "", s, true)
        : undefined;
    },
    requestLog: () => server.log.map((e) => ({ ...e })),
    counters: () => Object.fromEntries(server.counters),
    latencyLedger: () => (latency ? structuredClone(latency.ledger) : undefined),
    resetCounters: () => {
      latency?.resetLedger();
      server.counters = new Map();
      server.log.length = 0;
    },
    tokenUsage: () => auth.tokenUsage(),
    resetTokenUsage: () => auth.resetTokenUsage(),
  };

  const latency = options.latency ? new IonLatencyLayer(options.latency) : undefined;
  const server = new SimServer({
    store,
    auth,
    faults,
    accountId,
    apiKey: credentials.apiKey,
    apiSecret: credentials.apiSecret,
    maxPageSize: options.maxPageSize ?? 1000,
    latency,
    afterListPage,
    unauthorizedStatus: options.unauthorizedStatus ?? 401,
    logger,
    control: (method, path, query, body) => controlRoute(control, method, path, query, body),
  });
  const port = await server.listen(options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  logger.info("ion simulator listening", { url, accountId, customers, subscriptions: store.subscriptionList.length });
  return { url, accountId, credentials, control, close: () => server.close() };
}

function obj(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw new SimApiError("INVALID_ARGUMENT", "control body must be a JSON object");
  return body as Record<string, unknown>;
}

const json = (body: unknown, status = 200): HandlerResult => ({ status, body });

/** The control API over HTTP (README "Control API"). Only on the simulator, never on Ion. */
export function controlRoute(
  control: IonSimulatorControl,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): HandlerResult | undefined {
  const seg = path
    .replace(/^\/__control\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((x) => {
      try {
        return decodeURIComponent(x);
      } catch {
        return x;
      }
    });
  const [a, b, c] = seg;
  // "POST customers/:/subscriptions": the second segment is an id or a verb, checked per route.
  const route = `${method} ${a ?? ""}${b !== undefined ? "/:" : ""}${c !== undefined ? `/${c}` : ""}`;
  if (seg.length > 3) return undefined;
  switch (route) {
    case "GET state": {
      return json({
        now: new Date(control.now()).toISOString(),
        nowMs: control.now(),
        customers: control.customers().length,
        subscriptions: control.subscriptions().length,
        orders: control.orders().length,
        pendingOrders: control.orders().filter((o) => o.status === "NEW" || o.status === "IN_PROGRESS").length,
        tokenUsage: control.tokenUsage(),
      });
    }
    case "GET clock":
      return json({ now: new Date(control.now()).toISOString(), nowMs: control.now() });
    case "POST clock/:": {
      if (b !== "advance") return undefined;
      const ms = Number(obj(body).ms);
      control.advanceClock(ms);
      return json({ now: new Date(control.now()).toISOString(), nowMs: control.now() });
    }
    case "POST credentials/:": {
      if (b === "issue") return json(control.issuePortalCredentials());
      if (b === "revoke") {
        control.revokeRefreshTokens();
        return json({ revoked: "refreshTokens" });
      }
      if (b === "revoke-access") {
        control.revokeAccessTokens();
        return json({ revoked: "accessTokens" });
      }
      return undefined;
    }
    case "PUT faults":
    case "POST faults":
      control.setFaults(body === undefined || body === null ? undefined : (obj(body) as FaultConfig));
      return json({ ok: true });
    case "DELETE faults":
      control.setFaults(undefined);
      return json({ ok: true });
    case "GET customers":
      return json({ customers: control.customers() });
    case "POST customers":
      return json(control.addCustomer(obj(body) as Partial<SimCustomer>));
    case "GET customers/:": {
      const found = control.getCustomer(b as string);
      return found ? json(found) : json({ error: `customer ${b} not found` }, 404);
    }
    case "POST customers/:":
    case "PATCH customers/:":
      return json(control.updateCustomer(b as string, obj(body)));
    case "DELETE customers/:":
      control.removeCustomer(b as string, query.get("mode") === "inactive" ? "inactive" : "delete");
      return json({ ok: true });
    case "POST customers/:/subscriptions":
      return json(control.addSubscription(b as string, obj(body) as Partial<SimSubscription>));
    case "GET subscriptions":
      return json({ subscriptions: control.subscriptions() });
    case "GET subscriptions/:": {
      const s = control.renderSubscription(b as string);
      return s ? json(s) : json({ error: `subscription ${b} not found` }, 404);
    }
    case "POST subscriptions/:":
    case "PATCH subscriptions/:": {
      const patch = obj(body);
      control.updateSubscription(b as string, (patch.patch && typeof patch.patch === "object" ? patch.patch : patch) as SubscriptionPatch);
      return json(control.renderSubscription(b as string));
    }
    case "GET orders":
      return json({ orders: control.orders() });
    case "POST orders/:": {
      if (b === "process") return json({ changed: control.processOrders({ step: obj(body).step === true }) });
      if (b === "fail-next") {
        control.failNextOrder(obj(body).errors as SimOrderError[] | undefined);
        return json({ ok: true });
      }
      return undefined;
    }
    case "GET requests":
      return json({ requests: control.requestLog() });
    case "GET counters":
      return json(control.counters());
    case "POST counters/:":
      if (b === "reset") {
        control.resetCounters();
        return json({ ok: true });
      }
      return undefined;
    case "GET token-usage":
      return json(control.tokenUsage());
    default:
      return undefined;
  }
}
