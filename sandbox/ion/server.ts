/**
 * The HTTP front of the simulator: routing, bearer and Basic checks, fault injection, the request
 * log and counters, then the resource handlers. Control routes (`/__control/*`) bypass faults,
 * counters and auth.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

import { ensureError } from "../../src/shared/errors";
import type { Logger } from "../../src/shared/logger";
import { ionItems, type IonLatencyLayer } from "../latency";
import * as api from "./api";
import type { TokenAuthority } from "./auth";
import { errorBody, SimApiError } from "./errors";
import type { FaultDecision, FaultInjector } from "./faults";
import { type HandlerResult, tokenEndpoint, validateEndpoint } from "./oauth";
import { matchRoute, normalizeQuery, type RouteMatch, unmatchedTemplate } from "./routes";
import type { IonStore } from "./store";
import type { RequestLogEntry } from "./types";
import { checkBasic, v1GetCustomer, v1ListCustomers, v1ListMyInvoices, v1Unauthorized } from "./v1";

const MAX_BODY_BYTES = 1_048_576;
const MAX_LOG_ENTRIES = 200_000;

/** The position-paged lists a change between two page reads can shift. */
export type PagedList = "customers" | "subscriptions";

export interface ServerDeps {
  store: IonStore;
  auth: TokenAuthority;
  faults: FaultInjector;
  accountId: string;
  apiKey: string;
  apiSecret: string;
  maxPageSize: number;
  unauthorizedStatus: 401 | 403;
  logger: Logger;
  /** The latency model's layer; absent = answers as fast as the machine allows. */
  latency?: IonLatencyLayer;
  /** Called after a page of a list was rendered, before it is sent (the control API's afterNextPage). */
  afterListPage?: (list: PagedList) => void;
  /** Handles /__control/*; returns undefined for unknown control paths. */
  control: (
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ) => Promise<HandlerResult | undefined> | HandlerResult | undefined;
}

export class SimServer {
  readonly server: Server;
  readonly log: RequestLogEntry[] = [];
  counters = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly deps: ServerDeps) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        deps.logger.error("ion simulator: unhandled error", { error: ensureError(e).message });
        if (!res.headersSent) this.send(res, { status: 500, body: errorBody("INTERNAL_ERROR", "internal error", 500, newRequestId()) });
      });
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        const addr = this.server.address();
        resolve(typeof addr === "object" && addr ? addr.port : port);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;

    if (path.startsWith("/__control/") || path === "/__control") {
      const body = await readBody(req).catch(() => undefined);
      let parsed: unknown;
      try {
        parsed = body && body.length > 0 ? JSON.parse(body.toString("utf8")) : undefined;
      } catch {
        this.send(res, { status: 400, body: { error: "control body must be JSON" } });
        return;
      }
      try {
        const result = await this.deps.control(method, path, url.searchParams, parsed);
        this.send(res, result ?? { status: 404, body: { error: `unknown control route ${method} ${path}` } });
      } catch (e) {
        const err = ensureError(e);
        this.send(res, { status: e instanceof SimApiError ? e.status : 400, body: { error: err.message } });
      }
      return;
    }

    const requestId = newRequestId();
    const route = matchRoute(method, path);
    const endpoint = route && !route.methodNotAllowed ? route.template : (route?.template ?? unmatchedTemplate(method, path));
    const hasBearer = /^Bearer\s/i.test(req.headers.authorization ?? "");
    const entry: RequestLogEntry = { time: this.deps.store.clock.now(), method, path, endpoint, status: 0, bearer: hasBearer };
    this.record(entry);

    const latency = this.deps.latency;
    if (latency && !latency.admit()) {
      req.resume();
      const retryAfterSeconds = latency.model.retryAfterSeconds;
      entry.status = 429;
      entry.fault = "latency-concurrency";
      this.send(res, faultResponse({ kind: "status", status: 429, retryAfterSeconds, label: "latency-concurrency" }, requestId));
      return;
    }
    try {
      await this.answer(req, res, { method, url, route, endpoint, requestId, entry });
    } finally {
      latency?.release();
    }
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    r: { method: string; url: URL; route: RouteMatch | undefined; endpoint: string; requestId: string; entry: RequestLogEntry },
  ): Promise<void> {
    const { method, url, route, endpoint, requestId, entry } = r;
    const path = url.pathname;
    const fault = this.deps.faults.decide(method, path, endpoint);
    if (fault.kind !== "none") entry.fault = fault.label;
    if (fault.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault.kind === "latency") await this.sleep(fault.latencyMs);
    // Real time (monotonic) from here, whatever clock the store is given: the latency model's charge includes
    // the simulator's own work on the answer (an injected delay above is a fault, not work).
    const working = performance.now();
    if (fault.kind === "status") {
      req.resume();
      const result = faultResponse(fault, requestId);
      entry.status = result.status;
      this.send(res, result);
      return;
    }

    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (e) {
      // Too large, or the client went away mid-body.
      const err =
        e instanceof SimApiError ? e : new SimApiError("INVALID_REQUEST", `the request body could not be read: ${ensureError(e).message}`);
      entry.status = err.status;
      this.send(res, { status: err.status, body: err.body(requestId) });
      return;
    }
    this.deps.store.settleOrders();
    let result: HandlerResult;
    try {
      result = this.dispatch(method, url, route, raw, req, requestId);
    } catch (e) {
      if (e instanceof SimApiError) result = { status: e.status, body: e.body(requestId) };
      else {
        this.deps.logger.error("ion simulator: handler failed", { endpoint, error: ensureError(e).message });
        result = { status: 500, body: errorBody("INTERNAL_ERROR", "internal error", 500, requestId) };
      }
    }
    entry.status = result.status;
    if (fault.kind === "dropAfter") {
      // The work is done (a refresh token may have rotated) but the caller never hears about it.
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    this.deps.logger.debug("ion simulator request", { method, endpoint, status: result.status });
    // The latency model (sandbox/latency.ts): the call's round trip and server time, before the answer leaves.
    // The answer is serialized first: writing a 1,000-row page as JSON is the simulator's work on it too.
    const wire = serialize(result);
    if (this.deps.latency) await this.deps.latency.charge(endpoint, result.itemCount ?? ionItems(result.body), performance.now() - working);
    this.write(res, wire);
  }

  private record(entry: RequestLogEntry): void {
    if (this.log.length >= MAX_LOG_ENTRIES) this.log.splice(0, this.log.length - MAX_LOG_ENTRIES + 1);
    this.log.push(entry);
    this.counters.set(entry.endpoint, (this.counters.get(entry.endpoint) ?? 0) + 1);
  }

  private send(res: ServerResponse, result: HandlerResult): void {
    this.write(res, serialize(result));
  }

  private write(res: ServerResponse, wire: WireAnswer): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(wire.status, wire.headers);
    res.end(wire.payload);
  }

  private dispatch(
    method: string,
    url: URL,
    route: RouteMatch | undefined,
    raw: Buffer,
    req: IncomingMessage,
    requestId: string,
  ): HandlerResult {
    const path = url.pathname;
    if (!route) throw new SimApiError("NOT_FOUND", "Not Found");
    if (route.methodNotAllowed) {
      return {
        status: 405,
        body: errorBody("METHOD_NOT_ALLOWED", `Method Not Allowed: ${method} ${path}`, 405, requestId),
        headers: { allow: "GET, POST, PUT" },
      };
    }
    const contentType = req.headers["content-type"] ?? "";
    switch (route.template) {
      case "POST /oauth/token":
        return tokenEndpoint(this.deps.auth, { contentType, body: raw });
      case "POST /oauth/validateAccess":
        return validateEndpoint(this.deps.auth, { contentType, body: raw });
      case "GET /api/v1/invoices/myinvoices":
        if (!checkBasic(req.headers.authorization, this.deps.apiKey, this.deps.apiSecret)) return v1Unauthorized();
        return v1ListMyInvoices(url.searchParams, req.headers.accept);
      case "GET /api/v1/customers":
      case "GET /api/v1/customers/{C}": {
        if (!checkBasic(req.headers.authorization, this.deps.apiKey, this.deps.apiSecret)) return v1Unauthorized();
        const accept = req.headers.accept;
        return route.params.C !== undefined
          ? v1GetCustomer(this.deps.store, route.params.C, accept)
          : v1ListCustomers(this.deps.store, url.searchParams, accept);
      }
    }
    // Every /api/v3 route: bearer first, then integer path ids, then the account must be the token's.
    const auth = this.deps.auth.checkBearer(req.headers.authorization);
    const accountInPath = route.params.A as string;
    if (!auth.ok) {
      const status = this.deps.unauthorizedStatus;
      const message =
        auth.reason === "missing"
          ? "missing bearer access token"
          : auth.reason === "expired"
            ? "access token expired"
            : "access token is not valid";
      if (status === 403) throw new SimApiError("PERMISSION_DENIED", `permission denied to access accounts/${accountInPath}`);
      return {
        status: 401,
        body: errorBody("UNAUTHENTICATED", message, 401, requestId),
        headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      };
    }
    for (const [name, label] of [
      ["A", "accountId"],
      ["C", "customerId"],
    ] as const) {
      const v = route.params[name];
      if (v !== undefined && !/^\d+$/.test(v))
        throw new SimApiError("INVALID_ARGUMENT", `invalid value for ${label}: '${v}' is not an integer`);
    }
    if (accountInPath !== auth.accountId)
      throw new SimApiError("PERMISSION_DENIED", `permission denied to access accounts/${accountInPath}`);

    const q = normalizeQuery(url.searchParams);
    const ctx: api.ApiContext = { store: this.deps.store, accountId: this.deps.accountId, maxPageSize: this.deps.maxPageSize };
    const C = route.params.C as string;
    const ok = (body: Record<string, unknown>): HandlerResult => ({ status: 200, body });
    switch (route.template) {
      case "GET /api/v3/accounts/{A}/customers": {
        const page = api.listCustomers(ctx, q);
        this.deps.afterListPage?.("customers");
        return ok(page);
      }
      case "POST /api/v3/accounts/{A}/customers":
        return ok(api.createCustomer(ctx, parseJson(raw, contentType)));
      case "GET /api/v3/accounts/{A}/customers/{C}":
        return ok(api.getCustomer(ctx, C));
      case "PUT /api/v3/accounts/{A}/customers/{C}":
        return ok(api.replaceCustomer(ctx, C, parseJson(raw, contentType)));
      case "GET /api/v3/accounts/{A}/customers/{C}/cloudProfiles":
        return ok(api.cloudProfiles(ctx, C, q));
      case "GET /api/v3/accounts/{A}/customers/{C}/cloudProfile":
        return ok(api.legacyCloudProfile(ctx, C, q));
      case "GET /api/v3/accounts/{A}/subscriptions": {
        const page = api.listSubscriptionsJson(ctx, q);
        this.deps.afterListPage?.("subscriptions");
        return { status: 200, body: undefined, text: page.json, headers: JSON_CONTENT, itemCount: page.items };
      }
      case "GET /api/v3/accounts/{A}/customers/{C}/subscriptions/{S}":
        return ok(api.getSubscription(ctx, C, route.params.S as string, q));
      case "GET /api/v3/accounts/{A}/orders":
        return ok(api.listAccountOrders(ctx, q));
      case "GET /api/v3/accounts/{A}/customers/{C}/orders":
        return ok(api.listCustomerOrders(ctx, C, q));
      case "POST /api/v3/accounts/{A}/customers/{C}/orders":
        return ok(api.createOrder(ctx, C, parseJson(raw, contentType)));
      case "GET /api/v3/accounts/{A}/customers/{C}/orders/{O}":
        return ok(api.getOrder(ctx, C, route.params.O as string));
      case "POST /api/v3/accounts/{A}/customers/{C}/orders/{O}:cancel":
        return ok(api.cancelOrder(ctx, C, route.params.O as string));
      case "GET /api/v3/accounts/{A}/products":
        return ok(api.listProducts(ctx, q));
      case "GET /api/v3/accounts/{A}/products/{P}":
        return ok(api.getProduct(ctx, route.params.P as string, q));
      default:
        throw new SimApiError("NOT_FOUND", "Not Found");
    }
  }
}

function faultResponse(fault: Extract<FaultDecision, { kind: "status" }>, requestId: string): HandlerResult {
  const code =
    fault.status === 429
      ? "RESOURCE_EXHAUSTED"
      : fault.status === 503
        ? "UNAVAILABLE"
        : fault.status >= 500
          ? "INTERNAL_ERROR"
          : "INVALID_REQUEST";
  const message =
    fault.status === 429
      ? "too many requests, retry later"
      : fault.status === 503
        ? "the service is temporarily unavailable"
        : "injected failure";
  return {
    status: fault.status,
    body: errorBody(code, message, fault.status, requestId),
    ...(fault.retryAfterSeconds !== undefined ? { headers: { "retry-after": String(fault.retryAfterSeconds) } } : {}),
  };
}

export function newRequestId(): string {
  return randomBytes(10).toString("hex");
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimApiError("PAYLOAD_TOO_LARGE", "request body too large"));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** v3 bodies are JSON; unknown fields are ignored by the handlers (§3). */
function parseJson(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) throw new SimApiError("INVALID_REQUEST", "request body is required");
  if (contentType && !/json/i.test(contentType))
    throw new SimApiError("INVALID_REQUEST", `unsupported content type '${contentType}': use application/json`);
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new SimApiError("INVALID_REQUEST", "request body is not valid JSON");
  }
}

/** An answer as it goes on the wire: status, headers (with its length) and the body text. */
interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  payload: string;
}

const JSON_CONTENT = { "content-type": "application/json; charset=utf-8" };

function serialize(result: HandlerResult): WireAnswer {
  const headers: Record<string, string> = { ...(result.headers ?? {}) };
  let payload: string;
  if (result.text !== undefined) payload = result.text;
  else {
    payload = result.body === undefined ? "" : JSON.stringify(result.body);
    headers["content-type"] ??= "application/json; charset=utf-8";
  }
  headers["content-length"] = String(Buffer.byteLength(payload));
  return { status: result.status, headers, payload };
}
