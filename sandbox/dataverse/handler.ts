/**
 * Request routing and the Web API operations (docs/platform/dataverse.md 1.1-1.8, 3, 4). One `dispatch`
 * serves both top-level HTTP requests and `$batch` parts, so a batch item behaves exactly like the
 * same request sent alone.
 */
import { randomUUID } from "node:crypto";

import type { Clock } from "../../src/shared/clock";
import { EMPTY_GUID } from "../../src/shared/guid";
import type { Logger } from "../../src/shared/logger";
import type { CustomApiDef, CustomApiParameterDef } from "../../src/solution/model";
import type { DataverseLatencyLayer } from "../latency";
import { type BatchRequest, type BatchResponseItem, type BatchResponsePart, parseBatch, writeBatchResponse } from "./batch";
import { badRequest, DataverseHttpError, ErrorCodes, notFound } from "./errors";
import { startImportJob } from "./importJob";
import { attributeDefinition, csdl, entityDefinition, keyDefinitions, selectProps, serviceDocument } from "./metadata";
import { evaluateFilter, parseFilter } from "./odata/filter";
import {
  encodeSkipToken,
  type KeySegment,
  parseKeySegment,
  parsePrefer,
  parseSelect,
  type Preferences,
  wantsAnnotation,
} from "./odata/query";
import { type EmulatedOrganization, retrieveCurrentOrganization } from "./organization";
import type { OpContext, Records, UserInfo } from "./records";
import { isLookup, isPolymorphic, type TableMeta } from "./schema";
import { type Row, type Store, typeColumn } from "./store";
import type { ServiceProtection } from "./throttle";
import { fromStorage, isGuid, toStorage, wcfDate } from "./values";
import { entityReference, type EventPipeline, type KeyValue } from "./webhooks";

/**
 * A test's service protection breach at a chosen request: the next `times` requests that `match` are answered
 * 429 with Dataverse's request-count code and `Retry-After`, as a real environment answers whichever request
 * arrives once the user's limit is reached (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits).
 */
export interface ThrottleRule {
  match: (request: { method: string; url: string; body: string }) => boolean;
  times: number;
  retryAfterSeconds: number;
  /** Requests answered 429 by this rule so far. */
  fired: number;
}

export interface EmuRequest {
  method: string;
  /** Path and query; absolute URLs (batch parts) are accepted. */
  url: string;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface EmuResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export interface EmulatorStats {
  requests: number;
  batchItems: number;
  writes: number;
  throttled: number;
  webhooksSent: number;
  webhooksFailed: number;
  /** Indexes the automatic query tuning created (store.ts `tuneFor`), in order. */
  autoIndexes: string[];
}

export interface HandlerDeps {
  store: Store;
  records: Records;
  pipeline: EventPipeline;
  protection: ServiceProtection;
  stats: Omit<EmulatorStats, "writes" | "webhooksSent" | "webhooksFailed" | "autoIndexes">;
  users: Map<string, UserInfo>;
  organization: EmulatedOrganization;
  businessUnitId: string;
  logger: Logger;
  clock: Clock;
  /** `sets412`: only writes to these entity sets get injected 412s; absent = every If-Match write. */
  faults: { rate429: number; rate412: number; sets412?: readonly string[]; random: () => number; throttleRules: ThrottleRule[] };
  importSolution(zip: Buffer): Promise<void>;
  /** How long an ImportSolutionAsync takes by `clock` (./importJob.ts). */
  importDurationMs: number;
  /** The latency model's layer; absent = answers as fast as the machine allows. */
  latency?: DataverseLatencyLayer;
  /** How a failed change set is answered (DataverseEmulatorOptions.failedChangeSet); default "single". */
  failedChangeSet?: "single" | "wrapped";
}

interface RequestScope {
  user: UserInfo;
  /** Service root, e.g. http://127.0.0.1:1234/api/data/v9.2/ */
  base: string;
  op: OpContext;
  /** True while inside a change set (the change set owns the transaction). */
  inChangeSet: boolean;
}

const JSON_TYPE = "application/json; odata.metadata=minimal";
const MAX_BATCH_ITEMS = 1000;
const MAX_PAGE = 5000;
const YIELD_EVERY_ITEMS = 100;
const SUPPORTED_OPTIONS = new Set(["$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken"]);

const json = (status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse => ({
  status,
  headers: { "Content-Type": JSON_TYPE, "OData-Version": "4.0", ...headers },
  body: JSON.stringify(body),
});
const noContent = (headers: Record<string, string> = {}): EmuResponse => ({ status: 204, headers: { "OData-Version": "4.0", ...headers } });

export function errorResponse(err: unknown, logger?: Logger): EmuResponse {
  if (err instanceof DataverseHttpError) return json(err.status, err.toBody(), err.headers);
  logger?.error("unexpected emulator error", { error: (err as Error)?.stack ?? String(err) });
  return json(500, { error: { code: "0x80040216", message: `An unexpected error occurred: ${(err as Error)?.message ?? String(err)}` } });
}

function parseJsonBody(body: string): unknown {
  if (!body.trim()) return {};
  try {
    return JSON.parse(body);
  } catch (e) {
    throw badRequest(`Error parsing the request body as JSON: ${(e as Error).message}`);
  }
}

/** Splits `name(key)/rest` honouring quotes inside the key. */
function splitResource(path: string): { name: string; key?: string; rest: string } {
  let i = 0;
  while (i < path.length && path[i] !== "(" && path[i] !== "/") i++;
  const name = path.slice(0, i);
  if (path[i] !== "(") return { name, rest: path[i] === "/" ? path.slice(i + 1) : "" };
  let depth = 0;
  let quote = false;
  let j = i;
  for (; j < path.length; j++) {
    const ch = path[j];
    if (ch === "'") quote = !quote;
    if (quote) continue;
    if (ch === "(") depth++;
    if (ch === ")" && --depth === 0) break;
  }
  if (j >= path.length) throw badRequest(`Bad Request - Error in query syntax: unbalanced parentheses in '${path}'.`);
  const key = path.slice(i + 1, j);
  const after = path.slice(j + 1);
  return { name, key, rest: after.startsWith("/") ? after.slice(1) : after };
}

function header(req: EmuRequest, name: string): string | undefined {
  return req.headers[name.toLowerCase()];
}

export class Handler {
  private itemsSinceYield = 0;
  constructor(private readonly d: HandlerDeps) {}

  /** Top-level entry: auth, service protection, fault injection, stats; then dispatch. */
  async handle(req: EmuRequest, host: string): Promise<EmuResponse> {
    this.d.stats.requests++;
    const started = this.d.clock.now();
    // Real time (monotonic), whatever clock the emulator is given: the latency model's charge includes it.
    const arrived = performance.now();
    const auth = header(req, "authorization");
    const token = /^Bearer\s+(.+)$/i.exec(auth ?? "")?.[1]?.trim();
    const user = token ? this.d.users.get(token) : undefined;
    if (!user) {
      return json(
        401,
        {
          error: {
            code: ErrorCodes.NotAuthenticated,
            message: "The user is not authenticated. Send a valid bearer token in the Authorization header.",
          },
        },
        {
          "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"',
        },
      );
    }
    let admission: { finish: () => void } | null = null;
    try {
      admission = this.d.protection.admit(user.id);
      const rule = this.d.faults.throttleRules.find((r) => r.fired < r.times && r.match(req));
      if (rule) {
        rule.fired++;
        throw new DataverseHttpError(
          429,
          ErrorCodes.TooManyRequests,
          `Number of requests exceeded the limit of ${this.d.protection.limits.requestsPerWindow} over time window of ${this.d.protection.limits.windowMs / 1000} seconds.`,
          { "Retry-After": String(rule.retryAfterSeconds) },
        );
      }
      if (this.d.faults.rate429 > 0 && this.d.faults.random() < this.d.faults.rate429) {
        throw new DataverseHttpError(
          429,
          ErrorCodes.TooManyRequests,
          "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
          {
            "Retry-After": String(this.d.protection.limits.retryAfterSeconds ?? 1),
          },
        );
      }
    } catch (err) {
      // An injected 429 after admission must give the concurrency slot back, or the user's slots leak.
      admission?.finish();
      if (err instanceof DataverseHttpError && err.status === 429) this.d.stats.throttled++;
      return errorResponse(err, this.d.logger);
    }
    const requestId = randomUUID();
    const scope: RequestScope = {
      user,
      base: "",
      op: {
        user,
        correlationId: header(req, "x-ms-correlation-request-id") ?? randomUUID(),
        requestId,
        depth: 1,
        afterCommit: [],
      },
      inChangeSet: false,
    };
    try {
      const path = req.url.replace(/^https?:\/\/[^/]+/i, "");
      const m = /^\/api\/data\/(v9\.[0-2])(\/|\?|$)/i.exec(path);
      if (!m)
        throw new DataverseHttpError(
          404,
          ErrorCodes.ResourceNotFoundForSegment,
          `Resource not found: ${path.split("?")[0]}. The Web API lives under /api/data/v9.2/.`,
        );
      scope.base = `http://${host}/api/data/${m[1]}/`;
      const res = await this.dispatch(req, scope);
      res.headers["REQ_ID"] = requestId;
      res.headers["x-ms-service-request-id"] = requestId;
      await this.chargeLatency(req, res, arrived);
      Object.assign(res.headers, this.d.protection.remaining(user.id));
      return res;
    } catch (err) {
      const res = errorResponse(err, this.d.logger);
      res.headers["REQ_ID"] = requestId;
      await this.chargeLatency(req, res, arrived);
      return res;
    } finally {
      admission?.finish();
      void started;
    }
  }

  /**
   * The latency model's layer (sandbox/latency.ts), when on: the request's cost in real time, inside the
   * service protection admission so that it counts as execution time, and the `x-ms-dop-hint` header.
   */
  private async chargeLatency(req: EmuRequest, res: EmuResponse, arrived: number): Promise<void> {
    const latency = this.d.latency;
    if (!latency) return;
    await latency.charge(req, res, performance.now() - arrived);
    Object.assign(res.headers, latency.headers);
  }

  /** Routes one request (top-level or a batch part). */
  async dispatch(req: EmuRequest, scope: RequestScope): Promise<EmuResponse> {
    const url = new URL(req.url, "http://emulator/api/data/v9.2/");
    const path = url.pathname.replace(/^\/api\/data\/v9\.[0-2]\/?/i, "");
    const query = url.searchParams;
    const method = req.method.toUpperCase();
    if (path === "") {
      if (method !== "GET") throw this.methodNotAllowed(method, "service document");
      return json(200, serviceDocument(scope.base, [...this.d.store.tables.values()]));
    }
    if (path === "$metadata")
      return {
        status: 200,
        headers: { "Content-Type": "application/xml", "OData-Version": "4.0" },
        body: csdl([...this.d.store.tables.values()], this.d.store.catalog.customApis),
      };
    if (path === "$batch") {
      if (method !== "POST") throw this.methodNotAllowed(method, "$batch");
      if (scope.inChangeSet || req.headers["x-emu-batch-part"]) throw badRequest("Nested $batch requests are not supported.");
      return this.batch(req, scope);
    }
    const { name, key, rest } = splitResource(decodeURIComponent(path));
    if (name === "WhoAmI") {
      return json(200, {
        "@odata.context": `${scope.base}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: scope.user.businessUnitId,
        UserId: scope.user.id,
        OrganizationId: this.d.organization.id,
      });
    }
    if (name === "RetrieveCurrentOrganization") {
      if (method !== "GET") throw this.methodNotAllowed(method, name);
      return json(200, retrieveCurrentOrganization(this.d.organization, key, query, scope.base));
    }
    if (name === "EntityDefinitions") return this.entityDefinitions(key, rest, query, scope);
    if (name === "ImportSolution" || name === "ImportSolutionAsync" || name === "PublishAllXml" || name === "PublishXml") {
      if (method !== "POST") throw this.methodNotAllowed(method, name);
      return this.solutionAction(name, req, scope);
    }
    if (name === "AddSolutionComponent") {
      if (method !== "POST") throw this.methodNotAllowed(method, name);
      return this.addSolutionComponent(req, scope);
    }
    const meta = this.d.store.bySet.get(name);
    if (!meta) {
      const api = this.findApi(name);
      if (api && api.bindingType === 0) return this.customApi(api, req, scope, undefined);
      throw new DataverseHttpError(404, ErrorCodes.ResourceNotFoundForSegment, `Resource not found for the segment '${name}'.`);
    }
    if (key === undefined) {
      if (rest === "$count") {
        if (method !== "GET") throw this.methodNotAllowed(method, `${name}/$count`);
        const n = this.d.records.count(meta, query.get("$filter") ?? undefined, this.aliases(query));
        return { status: 200, headers: { "Content-Type": "text/plain", "OData-Version": "4.0" }, body: String(Math.min(n, MAX_PAGE)) };
      }
      if (rest !== "") {
        const api = this.findApi(rest.replace(/^Microsoft\.Dynamics\.CRM\./, ""));
        if (api && api.bindingType === 2 && method === "POST") return this.customApi(api, req, scope, undefined);
        throw new DataverseHttpError(404, ErrorCodes.ResourceNotFoundForSegment, `Resource not found for the segment '${rest}'.`);
      }
      if (method === "GET") return this.list(meta, req, query, scope);
      if (method === "POST") return this.create(meta, req, query, scope);
      throw this.methodNotAllowed(method, name);
    }
    const keySeg = parseKeySegment(key);
    if (rest === "") {
      if (method === "GET") return this.retrieve(meta, keySeg, req, query, scope);
      if (method === "PATCH") return this.patch(meta, keySeg, req, query, scope);
      if (method === "DELETE") return this.remove(meta, keySeg, req, scope);
      throw this.methodNotAllowed(method, name);
    }
    if (rest.startsWith("Microsoft.Dynamics.CRM.")) {
      const api = this.findApi(rest.slice("Microsoft.Dynamics.CRM.".length));
      if (!api || api.bindingType !== 1)
        throw new DataverseHttpError(404, ErrorCodes.ResourceNotFoundForSegment, `Resource not found for the segment '${rest}'.`);
      if (method !== "POST" && !(api.isFunction && method === "GET")) throw this.methodNotAllowed(method, rest);
      if (api.boundEntityLogicalName && api.boundEntityLogicalName !== meta.logicalName) {
        throw badRequest(`The custom API '${api.uniqueName}' is bound to '${api.boundEntityLogicalName}', not '${meta.logicalName}'.`);
      }
      return this.customApi(api, req, scope, { meta, key: keySeg });
    }
    return this.property(meta, keySeg, rest, req, scope);
  }

  private methodNotAllowed(method: string, what: string): DataverseHttpError {
    return new DataverseHttpError(
      405,
      ErrorCodes.MethodNotAllowed,
      `The HTTP method '${method}' is not allowed for the resource '${what}'.`,
    );
  }

  private aliases(query: URLSearchParams): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of query) if (k.startsWith("@")) out[k] = v;
    return out;
  }

  private prefs(req: EmuRequest): Preferences {
    return parsePrefer([header(req, "prefer")]);
  }

  private checkQueryOptions(query: URLSearchParams): void {
    for (const k of query.keys()) {
      if (!k.startsWith("$")) {
        if (k === "fetchXml" || k === "savedQuery" || k === "userQuery")
          throw badRequest(`The query parameter ${k} is not supported by the Dataverse emulator; use OData query options.`);
        continue;
      }
      if (k === "$skip") throw badRequest("The query parameter $skip is not supported");
      if (!SUPPORTED_OPTIONS.has(k)) throw badRequest(`The query parameter ${k} is not supported`);
    }
  }

  private contextUrl(scope: RequestScope, meta: TableMeta, select: string[] | undefined, entity: boolean): string {
    return `${scope.base}$metadata#${meta.entitySet}${select ? `(${select.join(",")})` : ""}${entity ? "/$entity" : ""}`;
  }

  private entityId(scope: RequestScope, meta: TableMeta, id: string): string {
    return `${scope.base}${meta.entitySet}(${id})`;
  }

  /** Runs a write in its own transaction unless a change set already owns one; then the after-commit work. */
  private async write<T>(scope: RequestScope, fn: () => Promise<T>): Promise<T> {
    if (scope.inChangeSet) return fn();
    scope.op.afterCommit = [];
    const result = await this.d.store.transaction(fn);
    for (const f of scope.op.afterCommit.splice(0)) f();
    return result;
  }

  private maybeInject412(req: EmuRequest, meta: TableMeta): void {
    const ifMatch = header(req, "if-match");
    const sets = this.d.faults.sets412;
    if (sets && !sets.includes(meta.entitySet)) return;
    if (ifMatch && ifMatch !== "*" && this.d.faults.rate412 > 0 && this.d.faults.random() < this.d.faults.rate412) {
      throw new DataverseHttpError(
        412,
        ErrorCodes.ConcurrencyVersionMismatch,
        "The version of the existing record doesn't match the RowVersion property provided.",
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Collections and records

  private list(
    meta: TableMeta,
    req: EmuRequest,
    query: URLSearchParams,
    scope: RequestScope,
    extra?: { sql: string; params: unknown[] },
    resourcePath?: string,
  ): EmuResponse {
    this.checkQueryOptions(query);
    const prefs = this.prefs(req);
    const select = parseSelect(query.get("$select") ?? undefined);
    this.d.records.checkSelect(meta, select);
    const expand = this.d.records.parseExpand(meta, query.get("$expand") ?? undefined);
    const aliases = this.aliases(query);
    const filter = query.get("$filter") ?? undefined;
    const topText = query.get("$top");
    const top = topText === null ? undefined : Number(topText);
    if (top !== undefined && (!Number.isInteger(top) || top < 0))
      throw badRequest(
        `Invalid value '${topText}' for $top query option found. The $top query option requires a non-negative integer value.`,
      );
    const countText = query.get("$count");
    if (countText !== null && countText !== "true" && countText !== "false")
      throw badRequest(`'${countText}' is not a valid count option.`);
    // page-results.md: with both odata.maxpagesize and $top, $top is ignored.
    const paged = prefs.maxPageSize !== undefined || top === undefined;
    const pageSize = Math.min(prefs.maxPageSize ?? MAX_PAGE, MAX_PAGE);
    const limit = paged ? pageSize : Math.min(top!, MAX_PAGE);
    const columns = select && expand.length === 0 ? this.d.records.storedColumns(meta, select) : undefined;
    const page = this.d.records.queryPage(meta, {
      filter,
      aliases,
      orderby: query.get("$orderby") ?? undefined,
      limit,
      skiptoken: query.get("$skiptoken") ?? undefined,
      ...(extra ? { extra } : {}),
      ...(columns ? { columns } : {}),
    });
    const body: Record<string, unknown> = { "@odata.context": this.contextUrl(scope, meta, select, false) };
    const wantCount = countText === "true";
    let total: number | undefined;
    if (wantCount || wantsAnnotation(prefs, "Microsoft.Dynamics.CRM.totalrecordcount"))
      total = this.d.records.count(meta, filter, aliases, extra);
    if (wantCount) body["@odata.count"] = Math.min(total!, MAX_PAGE);
    if (wantsAnnotation(prefs, "Microsoft.Dynamics.CRM.totalrecordcount")) {
      body["@Microsoft.Dynamics.CRM.totalrecordcount"] = wantCount ? Math.min(total!, MAX_PAGE) : -1;
      body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = wantCount ? total! > MAX_PAGE : false;
    }
    body.value = page.rows.map((r) => this.d.records.present(meta, r, { select, expand, prefs, user: scope.user, aliases }));
    if (page.cursor && paged) {
      const next = new URLSearchParams();
      for (const [k, v] of query) if (k !== "$skiptoken") next.append(k, v);
      next.append("$skiptoken", encodeSkipToken(page.cursor));
      body["@odata.nextLink"] = `${scope.base}${resourcePath ?? meta.entitySet}?${next.toString().replace(/\+/g, "%20")}`;
    }
    return json(200, body, this.preferenceApplied(prefs, false));
  }

  private preferenceApplied(prefs: Preferences, representation: boolean): Record<string, string> {
    const applied: string[] = [];
    if (prefs.maxPageSize !== undefined) applied.push(`odata.maxpagesize=${Math.min(prefs.maxPageSize, MAX_PAGE)}`);
    if (prefs.includeAnnotations) applied.push(`odata.include-annotations="${prefs.includeAnnotations.join(",")}"`);
    if (representation) applied.push("return=representation");
    return applied.length ? { "Preference-Applied": applied.join(",") } : {};
  }

  private retrieve(meta: TableMeta, key: KeySegment, req: EmuRequest, query: URLSearchParams, scope: RequestScope): EmuResponse {
    this.checkQueryOptions(query);
    const prefs = this.prefs(req);
    const select = parseSelect(query.get("$select") ?? undefined);
    this.d.records.checkSelect(meta, select);
    const expand = this.d.records.parseExpand(meta, query.get("$expand") ?? undefined);
    const found = this.d.records.locate(meta, key);
    if (!found.row) throw this.d.records.notFoundError(meta, found);
    const etag = `W/"${found.row.versionnumber as number}"`;
    const ifNoneMatch = header(req, "if-none-match");
    if (ifNoneMatch && ifNoneMatch === etag && expand.length === 0 && !prefs.includeAnnotations) {
      return { status: 304, headers: { "OData-Version": "4.0", ETag: etag } };
    }
    const body = {
      "@odata.context": this.contextUrl(scope, meta, select, true),
      ...this.d.records.present(meta, found.row, { select, expand, prefs, user: scope.user, aliases: this.aliases(query) }),
    };
    return json(200, body, { ETag: etag, ...this.preferenceApplied(prefs, false) });
  }

  private async create(meta: TableMeta, req: EmuRequest, query: URLSearchParams, scope: RequestScope): Promise<EmuResponse> {
    const prefs = this.prefs(req);
    const body = parseJsonBody(req.body);
    const select = parseSelect(query.get("$select") ?? undefined);
    this.d.records.checkSelect(meta, select);
    const row = await this.write(scope, async () => {
      const values = this.d.records.prepareBody(meta, body, scope.op, "create");
      return this.d.records.create(meta, values, scope.op);
    });
    return this.writeResult(meta, row, prefs, select, scope, 201);
  }

  private writeResult(
    meta: TableMeta,
    row: Row,
    prefs: Preferences,
    select: string[] | undefined,
    scope: RequestScope,
    status: 200 | 201,
  ): EmuResponse {
    const id = row[meta.primaryId] as string;
    const location = this.entityId(scope, meta, id);
    if (prefs.returnRepresentation) {
      const body = {
        "@odata.context": this.contextUrl(scope, meta, select, true),
        ...this.d.records.present(meta, row, { select, prefs, user: scope.user }),
      };
      return json(status, body, { ETag: `W/"${row.versionnumber as number}"`, Location: location, ...this.preferenceApplied(prefs, true) });
    }
    return noContent({ "OData-EntityId": location, Location: location });
  }

  private async patch(
    meta: TableMeta,
    key: KeySegment,
    req: EmuRequest,
    query: URLSearchParams,
    scope: RequestScope,
  ): Promise<EmuResponse> {
    this.maybeInject412(req, meta);
    const prefs = this.prefs(req);
    const body = parseJsonBody(req.body);
    const select = parseSelect(query.get("$select") ?? undefined);
    this.d.records.checkSelect(meta, select);
    const ifMatch = header(req, "if-match");
    const ifNoneMatch = header(req, "if-none-match");
    const outcome = await this.write(scope, async () => {
      const found = this.d.records.locate(meta, key);
      if (found.row) {
        if (ifNoneMatch === "*")
          throw new DataverseHttpError(412, ErrorCodes.DuplicateRecord, "A record with matching key values already exists.");
        if (ifMatch && ifMatch !== "*" && ifMatch !== `W/"${found.row.versionnumber as number}"`) {
          throw new DataverseHttpError(
            412,
            ErrorCodes.ConcurrencyVersionMismatch,
            "The version of the existing record doesn't match the RowVersion property provided.",
          );
        }
        const values = this.d.records.prepareBody(meta, body, scope.op, "update");
        return { row: await this.d.records.update(meta, found.row, values, scope.op), created: false };
      }
      if (ifMatch) throw this.d.records.notFoundError(meta, found);
      // Upsert: create with the addressed id or alternate key values.
      const values = this.d.records.prepareBody(meta, body, scope.op, "create");
      if (found.id) values[meta.primaryId] = found.id;
      for (const [col, v] of found.keyValues ?? []) {
        const c = meta.columns.get(col)!;
        values[col] = v;
        if (isPolymorphic(c)) values[typeColumn(c)] = c.targets?.[0] ?? null;
      }
      return { row: await this.d.records.create(meta, values, scope.op, true), created: true };
    });
    return this.writeResult(meta, outcome.row, prefs, select, scope, outcome.created ? 201 : 200);
  }

  private async remove(meta: TableMeta, key: KeySegment, req: EmuRequest, scope: RequestScope): Promise<EmuResponse> {
    this.maybeInject412(req, meta);
    const ifMatch = header(req, "if-match");
    await this.write(scope, async () => {
      const found = this.d.records.locate(meta, key);
      if (!found.row) throw this.d.records.notFoundError(meta, found);
      if (ifMatch && ifMatch !== "*" && ifMatch !== `W/"${found.row.versionnumber as number}"`) {
        throw new DataverseHttpError(
          412,
          ErrorCodes.ConcurrencyVersionMismatch,
          "The version of the existing record doesn't match the RowVersion property provided.",
        );
      }
      await this.d.records.delete(meta, found.row, scope.op);
    });
    return noContent();
  }

  /** `set(id)/prop` GET/PUT/DELETE, `set(id)/nav` GET, `set(id)/nav/$ref` PUT/DELETE. */
  private async property(meta: TableMeta, key: KeySegment, rest: string, req: EmuRequest, scope: RequestScope): Promise<EmuResponse> {
    const method = req.method.toUpperCase();
    const [propName, ref] = rest.split("/");
    const rel = ref === undefined ? meta.referencedBy.find((r) => r.name === propName) : undefined;
    if (rel && method === "GET") return this.relatedCollection(meta, key, rel.referencingEntity, rel.referencingAttribute, req, scope);
    if (ref !== undefined && ref !== "$ref" && ref !== "$value")
      throw new DataverseHttpError(404, ErrorCodes.ResourceNotFoundForSegment, `Resource not found for the segment '${ref}'.`);
    const c = meta.columns.get(propName!) ?? meta.columns.get(/^_(.+)_value$/.exec(propName!)?.[1] ?? "");
    if (!c) throw badRequest(`Could not find a property named '${propName}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
    if (method === "GET") {
      const found = this.d.records.locate(meta, key);
      if (!found.row) throw this.d.records.notFoundError(meta, found);
      if (isLookup(c) && propName === c.logicalName) {
        const id = found.row[c.logicalName] as string | null;
        const target = this.d.store.table(isPolymorphic(c) ? String(found.row[typeColumn(c)] ?? c.targets?.[0]) : String(c.targets?.[0]));
        const related = id && target ? this.d.store.getRow(target, id) : undefined;
        if (!related || !target) return noContent();
        return json(200, {
          "@odata.context": this.contextUrl(scope, target, undefined, true),
          ...this.d.records.present(target, related, { prefs: this.prefs(req), user: scope.user }),
        });
      }
      const value =
        c.secured && !this.d.records.securedAccess(scope.user, meta.logicalName, c.logicalName, "read")
          ? null
          : isLookup(c)
            ? found.row[c.logicalName]
            : fromStorage(c, found.row[c.logicalName]);
      if (ref === "$value")
        return {
          status: value === null ? 204 : 200,
          headers: { "Content-Type": "text/plain", "OData-Version": "4.0" },
          ...(value === null ? {} : { body: String(value) }),
        };
      return json(200, {
        "@odata.context": `${scope.base}$metadata#${meta.entitySet}(${found.row[meta.primaryId] as string})/${propName}`,
        value,
      });
    }
    if (method !== "PUT" && method !== "DELETE") throw this.methodNotAllowed(method, rest);
    const body = method === "PUT" ? (parseJsonBody(req.body) as Record<string, unknown>) : {};
    await this.write(scope, async () => {
      const found = this.d.records.locate(meta, key);
      if (!found.row) throw this.d.records.notFoundError(meta, found);
      let patch: Record<string, unknown>;
      if (isLookup(c)) {
        if (ref !== "$ref") throw badRequest(`Use '${c.logicalName}/$ref' to change the lookup '${c.logicalName}'.`);
        patch = { [`${c.logicalName}@odata.bind`]: method === "DELETE" ? null : (body["@odata.id"] ?? null) };
      } else {
        if (method === "PUT" && !("value" in body)) throw badRequest('The request body must be {"value": <new value>}.');
        patch = { [c.logicalName]: method === "DELETE" ? null : body.value };
      }
      const values = this.d.records.prepareBody(meta, patch, scope.op, "update");
      await this.d.records.update(meta, found.row, values, scope.op);
    });
    return noContent();
  }

  /** `set(id)/<one-to-many relationship>`: the related rows, with the usual query options and paging. */
  private relatedCollection(
    meta: TableMeta,
    key: KeySegment,
    childTable: string,
    lookup: string,
    req: EmuRequest,
    scope: RequestScope,
  ): EmuResponse {
    const found = this.d.records.locate(meta, key);
    if (!found.row) throw this.d.records.notFoundError(meta, found);
    const child = this.d.store.table(childTable)!;
    const url = new URL(req.url, "http://emulator/api/data/v9.2/");
    return this.list(
      child,
      req,
      url.searchParams,
      scope,
      { sql: `t."${lookup}" = ?`, params: [found.row[meta.primaryId]] },
      url.pathname.replace(/^\/api\/data\/v9\.[0-2]\//i, ""),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // $batch

  private async batch(req: EmuRequest, scope: RequestScope): Promise<EmuResponse> {
    const parts = parseBatch(req.body, header(req, "content-type"));
    const items = parts.reduce((n, p) => n + (p.kind === "request" ? 1 : p.requests.length), 0);
    if (items > MAX_BATCH_ITEMS) {
      throw new DataverseHttpError(
        400,
        ErrorCodes.BatchSizeExceeded,
        `The number of requests in the batch (${items}) exceeds the limit of ${MAX_BATCH_ITEMS}.`,
      );
    }
    this.d.stats.batchItems += items;
    const continueOnError = this.prefs(req).continueOnError;
    const out: BatchResponsePart[] = [];
    let failure: number | undefined;
    for (const part of parts) {
      if (part.kind === "request") {
        const res = await this.batchItem(part.request, scope, false);
        out.push({ kind: "response", response: res });
        if (res.status >= 400 && !continueOnError) {
          failure = res.status;
          break;
        }
        continue;
      }
      const result = await this.changeSet(part.requests, scope);
      if ("error" in result) {
        out.push(
          this.d.failedChangeSet === "wrapped"
            ? { kind: "changeset", responses: [result.error] }
            : { kind: "response", response: result.error },
        );
        if (!continueOnError) {
          failure = result.error.status;
          break;
        }
      } else out.push({ kind: "changeset", responses: result.responses });
    }
    const written = writeBatchResponse(out);
    return { status: failure ?? 200, headers: { "Content-Type": written.contentType, "OData-Version": "4.0" }, body: written.body };
  }

  private partScope(scope: RequestScope, inChangeSet: boolean, contentIds?: Map<string, string>): RequestScope {
    return {
      ...scope,
      inChangeSet,
      op: {
        ...scope.op,
        requestId: randomUUID(),
        afterCommit: inChangeSet ? scope.op.afterCommit : [],
        ...(contentIds ? { contentIds } : {}),
      },
    };
  }

  private toEmuRequest(r: BatchRequest, scope: RequestScope, contentIds?: Map<string, string>): EmuRequest {
    let url = r.url;
    // `$1/...` URLs refer to an entity created earlier in the change set.
    const ref = /^\$(\d+)(.*)$/.exec(url);
    if (ref) {
      const target = contentIds?.get(`$${ref[1]}`);
      if (!target) throw badRequest(`Content-ID Reference: '$${ref[1]}' does not exist in the batch context.`);
      url = `${target}${ref[2]}`;
    }
    if (!/^https?:/i.test(url) && !url.startsWith("/")) url = `${scope.base}${url}`;
    return { method: r.method, url, headers: { ...r.headers, "x-emu-batch-part": "1" }, body: r.body };
  }

  private async batchItem(
    r: BatchRequest,
    scope: RequestScope,
    inChangeSet: boolean,
    contentIds?: Map<string, string>,
  ): Promise<BatchResponseItem> {
    // Items run synchronously on SQLite; yield to the event loop now and then so other requests
    // (reads above all) are served while a 1000-item batch runs.
    if (++this.itemsSinceYield >= YIELD_EVERY_ITEMS) {
      this.itemsSinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const itemScope = this.partScope(scope, inChangeSet, contentIds);
    try {
      const res = await this.dispatch(this.toEmuRequest(r, scope, contentIds), itemScope);
      return {
        status: res.status,
        headers: res.headers,
        ...(res.body !== undefined ? { body: res.body } : {}),
        ...(r.contentId ? { contentId: r.contentId } : {}),
      };
    } catch (err) {
      const res = errorResponse(err, this.d.logger);
      return {
        status: res.status,
        headers: res.headers,
        ...(res.body !== undefined ? { body: res.body } : {}),
        ...(r.contentId ? { contentId: r.contentId } : {}),
      };
    }
  }

  /** A change set is atomic: one SQLite transaction; the first failure rolls back all of it. */
  private async changeSet(
    requests: BatchRequest[],
    scope: RequestScope,
  ): Promise<{ responses: BatchResponseItem[] } | { error: BatchResponseItem }> {
    const contentIds = new Map<string, string>();
    const csScope: RequestScope = { ...scope, op: { ...scope.op, afterCommit: [] } };
    try {
      const responses = await this.d.store.transaction(async () => {
        const out: BatchResponseItem[] = [];
        for (const r of requests) {
          const res = await this.batchItem(r, csScope, true, contentIds);
          if (res.status >= 400) throw new ChangeSetFailure(res);
          const entityUrl = res.headers["OData-EntityId"] ?? res.headers["Location"];
          if (r.contentId && entityUrl) contentIds.set(`$${r.contentId}`, entityUrl.replace(scope.base, ""));
          out.push(res);
        }
        return out;
      });
      for (const f of csScope.op.afterCommit.splice(0)) f();
      return { responses };
    } catch (err) {
      if (err instanceof ChangeSetFailure) return { error: { ...err.response, contentId: undefined } as BatchResponseItem };
      const res = errorResponse(err, this.d.logger);
      return { error: { status: res.status, headers: res.headers, ...(res.body !== undefined ? { body: res.body } : {}) } };
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  private entityDefinitions(key: string | undefined, rest: string, query: URLSearchParams, scope: RequestScope): EmuResponse {
    const select = parseSelect(query.get("$select") ?? undefined);
    const filterText = query.get("$filter");
    const filter = filterText ? parseFilter(filterText, this.aliases(query)) : undefined;
    const matches = (obj: Record<string, unknown>) =>
      !filter ||
      evaluateFilter(filter, (path) =>
        path.reduce<unknown>((v, p) => (v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined), obj),
      );
    if (key === undefined) {
      const value = [...this.d.store.tables.values()]
        .map(entityDefinition)
        .filter(matches)
        .map((e) => selectProps(e, select));
      return json(200, { "@odata.context": `${scope.base}$metadata#EntityDefinitions${select ? `(${select.join(",")})` : ""}`, value });
    }
    const seg = parseKeySegment(key);
    let meta: TableMeta | undefined;
    if (seg.id) meta = [...this.d.store.tables.values()].find((t) => t.metadataId === seg.id);
    else {
      const ln = seg.named?.find((n) => n.name === "LogicalName")?.value.value;
      meta = typeof ln === "string" ? this.d.store.table(ln.toLowerCase()) : undefined;
    }
    if (!meta) throw notFound(`Could not find an entity with key ${key}.`, "0x80040217");
    if (rest === "")
      return json(200, {
        "@odata.context": `${scope.base}$metadata#EntityDefinitions${select ? `(${select.join(",")})` : ""}/$entity`,
        ...selectProps(entityDefinition(meta), select),
      });
    const [sub, cast] = rest.split("/");
    if (sub === "Attributes") {
      const attrKey = /^Attributes\(LogicalName='([^']+)'\)$/.exec(rest.split("/")[0] ?? "");
      let value = meta.def.columns.map((c) => attributeDefinition(meta!, c));
      if (cast) value = value.filter((a) => a["@odata.type"] === `#${cast}`);
      value = value.filter(matches).map((a) => selectProps(a, select));
      return json(200, {
        "@odata.context": `${scope.base}$metadata#EntityDefinitions('${meta.metadataId}')/Attributes`,
        value,
        ...(attrKey ? {} : {}),
      });
    }
    const attrMatch = /^Attributes\(LogicalName='([^']+)'\)$/.exec(sub ?? "");
    if (attrMatch) {
      const c = meta.columns.get(attrMatch[1]!);
      if (!c) throw notFound(`Could not find an attribute with LogicalName '${attrMatch[1]}' on '${meta.logicalName}'.`);
      return json(200, {
        "@odata.context": `${scope.base}$metadata#EntityDefinitions('${meta.metadataId}')/Attributes/$entity`,
        ...selectProps(attributeDefinition(meta, c), select),
      });
    }
    if (sub === "Keys")
      return json(200, {
        "@odata.context": `${scope.base}$metadata#EntityDefinitions('${meta.metadataId}')/Keys`,
        value: keyDefinitions(meta).map((k) => selectProps(k, select)),
      });
    throw new DataverseHttpError(404, ErrorCodes.ResourceNotFoundForSegment, `Resource not found for the segment '${sub}'.`);
  }

  // ---------------------------------------------------------------------------------------------
  // Solutions

  private async solutionAction(name: string, req: EmuRequest, scope: RequestScope): Promise<EmuResponse> {
    if (name === "PublishAllXml" || name === "PublishXml") return noContent();
    const body = parseJsonBody(req.body) as Record<string, unknown>;
    const file = body.CustomizationFile;
    if (typeof file !== "string" || file.length === 0)
      throw badRequest("The parameter 'CustomizationFile' is required (the solution zip as base64).", ErrorCodes.InvalidArgument);
    const zip = Buffer.from(file, "base64");
    if (name === "ImportSolution") {
      await this.d.importSolution(zip);
      return noContent();
    }
    const job = await startImportJob(
      {
        store: this.d.store,
        records: this.d.records,
        clock: this.d.clock,
        logger: this.d.logger,
        importSolution: this.d.importSolution,
        durationMs: this.d.importDurationMs,
      },
      zip,
      scope.op,
    );
    return json(200, {
      "@odata.context": `${scope.base}$metadata#Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse`,
      AsyncOperationId: job.asyncOperationId,
      ImportJobKey: job.importJobId,
    });
  }

  /** AddSolutionComponent: records the component in the named (installed) solution, once. */
  private async addSolutionComponent(req: EmuRequest, scope: RequestScope): Promise<EmuResponse> {
    const body = parseJsonBody(req.body) as Record<string, unknown>;
    const componentId = typeof body.ComponentId === "string" ? body.ComponentId.replace(/[{}]/g, "").toLowerCase() : "";
    const componentType = body.ComponentType;
    const solutionName = body.SolutionUniqueName;
    if (!isGuid(componentId)) throw badRequest("The parameter 'ComponentId' must be a GUID.", ErrorCodes.InvalidArgument);
    if (typeof componentType !== "number" || !Number.isInteger(componentType))
      throw badRequest("The parameter 'ComponentType' must be an integer.", ErrorCodes.InvalidArgument);
    if (typeof solutionName !== "string" || !solutionName)
      throw badRequest("The parameter 'SolutionUniqueName' is required.", ErrorCodes.InvalidArgument);
    const solution = this.d.store.stmt(`SELECT solutionid AS id FROM "solution" WHERE uniquename = ?`).get(solutionName) as
      { id: string } | undefined;
    if (!solution) throw notFound(`The solution '${solutionName}' does not exist.`);
    const meta = this.d.store.table("solutioncomponent")!;
    const existing = this.d.store
      .stmt(`SELECT solutioncomponentid AS id FROM "solutioncomponent" WHERE objectid = ? AND solutionid = ?`)
      .get(componentId, solution.id) as { id: string } | undefined;
    let id = existing?.id;
    if (!id) {
      const newId = randomUUID();
      await this.d.store.transaction(async () => {
        await this.d.records.create(
          meta,
          { solutioncomponentid: newId, objectid: componentId, componenttype: componentType, solutionid: solution.id },
          scope.op,
        );
      });
      id = newId;
    }
    return json(200, { "@odata.context": `${scope.base}$metadata#Microsoft.Dynamics.CRM.AddSolutionComponentResponse`, id });
  }

  // ---------------------------------------------------------------------------------------------
  // Custom APIs

  private findApi(name: string): CustomApiDef | undefined {
    const apis = this.d.store.catalog.customApis;
    return apis.find((a) => a.uniqueName === name) ?? apis.find((a) => a.uniqueName.toLowerCase() === name.toLowerCase());
  }

  private async customApi(
    api: CustomApiDef,
    req: EmuRequest,
    scope: RequestScope,
    bound: { meta: TableMeta; key: KeySegment } | undefined,
  ): Promise<EmuResponse> {
    if (api.isFunction ? req.method.toUpperCase() !== "GET" : req.method.toUpperCase() !== "POST") {
      throw this.methodNotAllowed(req.method.toUpperCase(), api.uniqueName);
    }
    let target: { meta: TableMeta; id: string } | undefined;
    if (bound) {
      const found = this.d.records.locate(bound.meta, bound.key);
      if (!found.row) throw this.d.records.notFoundError(bound.meta, found);
      target = { meta: bound.meta, id: found.row[bound.meta.primaryId] as string };
    }
    const body = api.isFunction ? {} : (parseJsonBody(req.body) as Record<string, unknown>);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("The request body must be a JSON object of parameters.");
    const inputs = this.customApiInputs(api, body, scope);
    const outputs: KeyValue[] = api.responseProperties.map((p) => ({ key: p.uniqueName, value: defaultOutput(p.type) }));
    await this.d.pipeline.runCustomApi(api, { ...(target ? { target } : {}), inputs, outputs }, scope.op);
    if (api.responseProperties.length === 0) return noContent();
    const response: Record<string, unknown> = {
      "@odata.context": `${scope.base}$metadata#Microsoft.Dynamics.CRM.${api.uniqueName}Response`,
    };
    for (const o of outputs) response[o.key] = o.value;
    return json(200, response);
  }

  private customApiInputs(api: CustomApiDef, body: Record<string, unknown>, scope: RequestScope): KeyValue[] {
    const defs = new Map(api.requestParameters.map((p) => [p.uniqueName, p]));
    for (const k of Object.keys(body)) {
      if (k.startsWith("@")) continue;
      if (!defs.has(k))
        throw badRequest(`The parameter '${k}' in the request payload is not a valid parameter for the operation '${api.uniqueName}'.`);
    }
    const out: KeyValue[] = [];
    for (const p of api.requestParameters) {
      const v = body[p.uniqueName];
      if (v === undefined || v === null) {
        if (!p.isOptional)
          throw badRequest(
            `The required parameter '${p.uniqueName}' of the operation '${api.uniqueName}' is missing.`,
            ErrorCodes.InvalidArgument,
          );
        continue;
      }
      out.push({ key: p.uniqueName, value: this.convertParameter(api, p, v, scope) });
    }
    return out;
  }

  private convertParameter(api: CustomApiDef, p: CustomApiParameterDef, v: unknown, scope: RequestScope): unknown {
    const bad = (edm: string) =>
      badRequest(
        `Cannot convert the literal '${typeof v === "string" ? v : JSON.stringify(v)}' to the expected type '${edm}' for the parameter '${p.uniqueName}' of the operation '${api.uniqueName}'.`,
      );
    switch (p.type) {
      case "Boolean":
        if (typeof v !== "boolean") throw bad("Edm.Boolean");
        return v;
      case "String":
        if (typeof v !== "string") throw bad("Edm.String");
        return v;
      case "Guid":
        if (!isGuid(v)) throw bad("Edm.Guid");
        return v.toLowerCase();
      case "Integer":
        if (typeof v !== "number" || !Number.isInteger(v)) throw bad("Edm.Int32");
        return v;
      case "Decimal":
      case "Float":
        if (typeof v !== "number") throw bad(p.type === "Decimal" ? "Edm.Decimal" : "Edm.Double");
        return v;
      case "Money":
        if (typeof v !== "number") throw bad("Edm.Decimal");
        return { __type: "Money:http://schemas.microsoft.com/xrm/2011/Contracts", Value: v };
      case "Picklist":
        if (typeof v !== "number" || !Number.isInteger(v)) throw bad("Edm.Int32");
        return { __type: "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", Value: v };
      case "DateTime": {
        if (typeof v !== "string" || Number.isNaN(new Date(v).getTime())) throw bad("Edm.DateTimeOffset");
        return wcfDate(new Date(v).getTime());
      }
      case "StringArray":
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw bad("Collection(Edm.String)");
        return v;
      case "EntityReference": {
        if (!v || typeof v !== "object") throw bad("mscrm.crmbaseentity");
        const o = v as Record<string, unknown>;
        const typeName =
          typeof o["@odata.type"] === "string"
            ? String(o["@odata.type"]).replace(/^#?Microsoft\.Dynamics\.CRM\./, "")
            : p.logicalEntityName;
        const meta = typeName ? this.d.store.table(typeName) : undefined;
        const id = meta ? o[meta.primaryId] : undefined;
        if (!meta || !isGuid(id)) throw bad("mscrm.crmbaseentity");
        return entityReference(meta.logicalName, id.toLowerCase());
      }
      case "Entity":
      case "EntityCollection": {
        const one = (x: unknown) => {
          if (!x || typeof x !== "object") throw bad("mscrm.crmbaseentity");
          const o = x as Record<string, unknown>;
          const typeName = String(o["@odata.type"] ?? p.logicalEntityName ?? "").replace(/^#?Microsoft\.Dynamics\.CRM\./, "");
          const meta = this.d.store.table(typeName);
          if (!meta) throw bad("mscrm.crmbaseentity");
          const attrs = Object.entries(o).filter(([k]) => !k.includes("@"));
          return {
            __type: "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
            Attributes: attrs.map(([key, value]) => {
              const c = meta.columns.get(key);
              return { key, value: c && !isLookup(c) ? toSdk(meta, key, toStorage(meta.logicalName, c, value)) : value };
            }),
            Id: (o[meta.primaryId] as string | undefined) ?? EMPTY_GUID,
            LogicalName: meta.logicalName,
          };
        };
        if (p.type === "Entity") return one(v);
        if (!Array.isArray(v)) throw bad("Collection(mscrm.crmbaseentity)");
        return { __type: "EntityCollection:http://schemas.microsoft.com/xrm/2011/Contracts", Entities: v.map(one) };
      }
    }
    void scope;
    return v;
  }
}

class ChangeSetFailure extends Error {
  constructor(readonly response: BatchResponseItem) {
    super(`change set item failed with ${response.status}`);
  }
}

function defaultOutput(type: string): unknown {
  switch (type) {
    case "Boolean":
      return false;
    case "Integer":
    case "Decimal":
    case "Float":
    case "Money":
      return 0;
    default:
      return null;
  }
}

function toSdk(meta: TableMeta, column: string, stored: unknown): unknown {
  const c = meta.columns.get(column);
  if (!c || stored === null) return stored;
  if (c.type === "picklist" || c.type === "state" || c.type === "status")
    return { __type: "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", Value: stored };
  if (c.type === "money") return { __type: "Money:http://schemas.microsoft.com/xrm/2011/Contracts", Value: stored };
  if (c.type === "datetime") return wcfDate(String(stored));
  if (c.type === "boolean") return stored === 1;
  return stored;
}
