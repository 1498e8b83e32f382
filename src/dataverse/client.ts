/**
 * The server-side Dataverse Web API client: queries with paging, CRUD with ETags, upsert by alternate key,
 * $batch, custom APIs and WhoAmI. Every HTTP request passes through one concurrency limiter and the
 * shared retry policy (src/shared/retry.ts), is counted, and fails with a typed error. Why an own client
 * rather than dynamics-web-api: see README.md in this folder.
 */
import { randomUUID } from "node:crypto";

import { Clock, systemClock } from "../shared/clock";
import { ensureError, ValidationError } from "../shared/errors";
import { FairShareLimiter, type LimiterLane } from "../shared/limiter";
import { Logger, silentLogger } from "../shared/logger";
import { redact } from "../shared/redact";
import {
  AttemptOutcome,
  DEFAULT_RETRY,
  delayBeforeRetryMs,
  parseRetryAfterMs,
  RetryOptions,
  sleep as realSleep,
  withRetry,
} from "../shared/retry";
import { AcquireToken, createTokenSource, DataverseAuth, TokenSource } from "./auth";
import {
  BatchRequestPart,
  BatchRequestUnit,
  BatchResponsePart,
  boundaryOf,
  contentIdReferences,
  cutRuns,
  mapBatchResponse,
  MAX_BATCH_SIZE,
  OperationOutcome,
  readBatchResponse,
  writeBatchBody,
} from "./batch";
import {
  DataverseApiError,
  DataverseAuthError,
  dataverseErrorFrom,
  DataverseNetworkError,
  DataverseNotExecutedError,
  DataverseNotFoundError,
  DataverseThrottledError,
  networkErrorFrom,
} from "./errors";
import { idFromEntityIdHeader, isGuid, normalizeGuid, RecordKey, recordPath } from "./keys";

export const DEFAULT_API_VERSION = "9.2";
export const DEFAULT_MAX_CONCURRENCY = 8;
/** Dataverse's concurrent-request limit per user: the most the lanes of one identity ever have in flight together. */
export const MAX_IDENTITY_CONCURRENCY = 52;
/** Dataverse's own request timeout is 2 minutes; waiting longer only hides a dead connection. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Dataverse's maximum page size (its batch size, `MAX_BATCH_SIZE`, is in ./batch.ts with the wire format). */
export const MAX_PAGE_SIZE = 5000;

export interface RequestInfo {
  method: string;
  /** Path relative to the Web API root, e.g. `w365_provideraccounts?$select=…` or `$batch`. */
  path: string;
  status?: number;
  /** Operations carried, for a $batch request. */
  batchItems?: number;
  attempt: number;
  durationMs: number;
  throttled: boolean;
}

export interface DataverseClientOptions {
  /** Environment root (`https://org.crm.dynamics.com`), with or without trailing slash; a Web API URL is accepted too. */
  url: string;
  auth: DataverseAuth;
  apiVersion?: string;
  logger?: Logger;
  retry?: Partial<RetryOptions>;
  /** Requests in flight at once on this client (default 8, well under the 52 concurrent-request limit). */
  maxConcurrency?: number;
  /**
   * Requests in flight at once over this client and every lane made from it (`lane()`): they share one
   * identity, and Dataverse counts its limits per user. Default: the environment's recommended parallelism
   * (`x-ms-dop-hint`, at most 52) once an answer carried it, `maxConcurrency` before.
   */
  identityConcurrency?: number;
  /** Called when a request waits before it is sent because this client was told to back off (its own Retry-After). */
  onThrottleWait?: (info: { delayMs: number; lane: string }) => void;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onRequest?: (info: RequestInfo) => void;
  /** systemuserid to impersonate (MSCRMCallerID header). */
  callerId?: string;
  /** Transport; defaults to Node's global fetch (which ignores http_proxy, so loopback emulators work). */
  fetch?: typeof fetch;
  clock?: Clock;
  /** Jitter source for backoff, for deterministic tests. */
  random?: () => number;
  /** Replaces the MSAL network call (tests of token caching); production leaves it unset. */
  acquireToken?: AcquireToken;
}

export interface QueryOptions {
  select?: string[];
  filter?: string;
  orderby?: string;
  /** At most this many rows in total (sent as $top; no paging preference then, as Dataverse ignores $top with it). */
  top?: number;
  expand?: string;
  /** Rows per page (Prefer: odata.maxpagesize), default and maximum 5000. */
  pageSize?: number;
  /** true = all annotations (`*`), or a comma list such as "OData.Community.Display.V1.FormattedValue". */
  includeAnnotations?: boolean | string;
  /** Adds $count=true; the count is on the first page (`queryPage().count`). */
  count?: boolean;
}

/** What RetrieveCurrentOrganization tells about the organization; `domain` is the host of its WebApplication endpoint. */
export interface CurrentOrganization {
  organizationId: string;
  uniqueName: string;
  urlName: string;
  domain?: string;
}

export interface QueryPage<T> {
  value: T[];
  nextLink?: string;
  /** `@odata.count` when `count: true` was asked (Dataverse caps it at 5000). */
  count?: number;
}

export type BatchMethod = "POST" | "PATCH" | "DELETE" | "GET" | "PUT";

export interface BatchOperation {
  method: BatchMethod;
  /** Entity set (or action name); `$1` references an earlier Content-ID of the same change set. */
  entitySet: string;
  key?: RecordKey;
  body?: object;
  /**
   * The body already serialized as JSON, sent as is (instead of `body`). Queued writes hold one compact
   * string rather than an object graph (memory of thousands of writes waiting for their batch).
   */
  bodyJson?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  contentId?: string;
  /** Raw query string for GETs, e.g. `$select=name`. */
  query?: string;
  /**
   * Consecutive operations with the same key travel as one change set (all or nothing) even when the batch
   * is not `atomic`; a request never splits them (see `cutRuns`).
   */
  changeSet?: string;
  headers?: Record<string, string>;
}

export type BatchResult =
  { ok: true; status: number; id?: string; body?: unknown } | { ok: false; status: number; error: DataverseApiError };

export interface BatchOptions {
  /** Each request becomes one change set (all or nothing per request; GETs travel outside it). */
  atomic?: boolean;
  /** Keep going after a failed operation (default: true unless atomic). */
  continueOnError?: boolean;
  /** Operations per $batch request, 1..1000 (default 1000). */
  batchSize?: number;
  /** $batch requests in flight at once when continuing on error (default 1: requests apply in order). */
  concurrency?: number;
}

/** What the lanes of one identity share: the sign-in, the capacity, the environment's recommended parallelism. */
interface IdentityShare {
  tokens: TokenSource;
  pool: FairShareLimiter;
  /** Fixed capacity (identityConcurrency); when absent the capacity follows the dop hint. */
  fixedCapacity: boolean;
  dopHint?: number;
}

export interface LaneOptions {
  /** Requests this lane may have in flight (default: the parent's maxConcurrency). */
  maxConcurrency?: number;
  /** Served before other lanes when a shared slot frees (the webhooks' synchronous work). */
  priority?: boolean;
  onRequest?: (info: RequestInfo) => void;
  onThrottleWait?: (info: { delayMs: number; lane: string }) => void;
  logger?: Logger;
}

export interface DataverseStats {
  requests: number;
  batchItems: number;
  throttled: number;
  retries: number;
}

interface RequestSpec {
  method: string;
  /** Relative to the Web API root, or an absolute nextLink. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  idempotent: boolean;
  operation: string;
  batchItems?: number;
  /** Statuses that are returned instead of thrown (a $batch answers errors with a multipart body). */
  accept?: (status: number, contentType: string | null) => boolean;
  /** A DELETE retried after an ambiguous failure may find the row already gone: that is success. */
  notFoundOnRetryIsSuccess?: boolean;
  /** Overrides of the client's retry policy for this request. */
  retry?: Partial<RetryOptions>;
}

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

const retryAfterOf = new WeakMap<object, number>();

export class DataverseClient {
  /** `<root>/api/data/v9.2/` */
  readonly apiRoot: string;
  /** `/api/data/v9.2`, the path prefix used inside $batch parts. */
  readonly apiPath: string;
  readonly environmentUrl: string;
  private readonly tokens: TokenSource;
  private readonly limiter: LimiterLane;
  private readonly share: IdentityShare;
  /** The lane's name ("default" for a client built with `new`). */
  readonly laneName: string;
  private readonly retry: RetryOptions;
  private readonly logger: Logger;
  private readonly doFetch: typeof fetch;
  private readonly doSleep: (ms: number) => Promise<void>;
  private readonly clock: Clock;
  private readonly counters: DataverseStats = { requests: 0, batchItems: 0, throttled: 0, retries: 0 };
  private throttledUntil = 0;

  /** `share` and `laneOptions` are passed by `lane()` only. */
  constructor(
    private readonly opts: DataverseClientOptions,
    share?: IdentityShare,
    laneOptions: { name?: string; priority?: boolean } = {},
  ) {
    const { environmentUrl, apiVersion } = parseEnvironmentUrl(opts.url, opts.apiVersion);
    this.environmentUrl = environmentUrl;
    this.apiPath = `/api/data/v${apiVersion}`;
    this.apiRoot = `${environmentUrl}${this.apiPath}/`;
    this.clock = opts.clock ?? systemClock;
    const max = opts.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    this.share = share ?? {
      tokens: createTokenSource(opts.auth, environmentUrl, this.clock, opts.acquireToken),
      pool: new FairShareLimiter(Math.min(MAX_IDENTITY_CONCURRENCY, opts.identityConcurrency ?? max)),
      fixedCapacity: opts.identityConcurrency !== undefined,
    };
    this.tokens = this.share.tokens;
    this.laneName = laneOptions.name ?? "default";
    this.limiter = this.share.pool.lane(this.laneName, { max, priority: laneOptions.priority ?? false });
    this.retry = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.logger = (opts.logger ?? silentLogger).child({ component: "dataverse" });
    this.doFetch = opts.fetch ?? fetch;
    this.doSleep = opts.sleep ?? realSleep;
    if (opts.callerId) normalizeGuid(opts.callerId, "callerId");
  }

  stats(): DataverseStats {
    return { ...this.counters };
  }

  /**
   * A client for one caller (a connector's sync, the webhooks) over the same identity: the same sign-in and
   * the same shared capacity (served fairly between lanes), but its own requests-in-flight cap, counters
   * and Retry-After pause. Microsoft's guidance for a 429 is that the client that received it waits out the
   * Retry-After before sending again; the limits count per user, so other callers of the same identity are
   * not paused by it (they get their own 429 if they too go over).
   * https://learn.microsoft.com/power-apps/developer/data-platform/api-limits
   */
  lane(name: string, o: LaneOptions = {}): DataverseClient {
    const opts: DataverseClientOptions = {
      ...this.opts,
      maxConcurrency: o.maxConcurrency ?? this.opts.maxConcurrency,
      ...(o.onRequest ? { onRequest: o.onRequest } : {}),
      ...(o.onThrottleWait ? { onThrottleWait: o.onThrottleWait } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    };
    return new DataverseClient(opts, this.share, { name, priority: o.priority ?? false });
  }

  /** Requests in flight over every lane of this identity, and the capacity they share. */
  get identityLoad(): { inFlight: number; peakInFlight: number; capacity: number } {
    const pool = this.share.pool;
    return { inFlight: pool.inFlight, peakInFlight: pool.peakInFlight, capacity: pool.capacity };
  }

  /**
   * The degree of parallelism the environment last recommended (`x-ms-dop-hint` response header), once a
   * response carried it. https://learn.microsoft.com/power-apps/developer/data-platform/send-parallel-requests
   */
  get dopHint(): number | undefined {
    return this.share.dopHint;
  }

  /** Highest number of requests that were in flight at once. */
  get peakConcurrency(): number {
    return this.limiter.peakInFlight;
  }

  async whoAmI(): Promise<{ UserId: string; BusinessUnitId: string; OrganizationId: string }> {
    const res = await this.send({ method: "GET", path: "WhoAmI", idempotent: true, operation: "GET WhoAmI" });
    return parseJson(res.text, "WhoAmI") as { UserId: string; BusinessUnitId: string; OrganizationId: string };
  }

  /**
   * The organization as Dataverse describes itself (RetrieveCurrentOrganization): its id, unique name,
   * URL label and the domain of its web application, which webhooks name in x-ms-dynamics-organization.
   * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrievecurrentorganization
   */
  async retrieveCurrentOrganization(): Promise<CurrentOrganization> {
    const path = "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'";
    const res = await this.send({ method: "GET", path, idempotent: true, operation: "GET RetrieveCurrentOrganization" });
    const body = parseJson(res.text, "RetrieveCurrentOrganization") as { Detail?: Record<string, unknown> };
    const detail = body.Detail ?? {};
    const endpoints = detail.Endpoints as { Keys?: unknown[]; Values?: unknown[] } | undefined;
    const index = endpoints?.Keys?.indexOf("WebApplication") ?? -1;
    const web = index >= 0 ? endpoints?.Values?.[index] : undefined;
    if (typeof detail.OrganizationId !== "string")
      throw new DataverseApiError("DATAVERSE_API", "Dataverse RetrieveCurrentOrganization returned no OrganizationId", {
        statusCode: res.status,
      });
    return {
      organizationId: detail.OrganizationId.toLowerCase(),
      uniqueName: typeof detail.UniqueName === "string" ? detail.UniqueName : "",
      urlName: typeof detail.UrlName === "string" ? detail.UrlName : "",
      ...(typeof web === "string" && URL.canParse(web) ? { domain: new URL(web).hostname.toLowerCase() } : {}),
    };
  }

  /** All rows matching the query, following @odata.nextLink page by page. */
  async *query<T = Record<string, unknown>>(entitySet: string, o: QueryOptions = {}): AsyncIterable<T> {
    for await (const page of this.queryPages<T>(entitySet, o)) yield* page;
  }

  /** All rows matching the query, collected into one array (for result sets known to be small). */
  async queryAll<T = Record<string, unknown>>(entitySet: string, o: QueryOptions = {}): Promise<T[]> {
    const rows: T[] = [];
    for await (const page of this.queryPages<T>(entitySet, o)) rows.push(...page);
    return rows;
  }

  /** The first row matching the query (one request, `$top=1`), or undefined when none matches. */
  async queryFirst<T = Record<string, unknown>>(entitySet: string, o: Omit<QueryOptions, "top"> = {}): Promise<T | undefined> {
    const page = await this.queryPage<T>(entitySet, { ...o, top: 1 });
    return page.value[0];
  }

  /** The rows page by page (each page is one HTTP request). */
  async *queryPages<T = Record<string, unknown>>(entitySet: string, o: QueryOptions = {}): AsyncIterable<T[]> {
    let page = await this.queryPage<T>(entitySet, o);
    yield page.value;
    while (page.nextLink) {
      page = await this.queryPage<T>(entitySet, o, page.nextLink);
      yield page.value;
    }
  }

  /** One page: the first when `nextLink` is absent, else the page the link points to (sent unchanged, with the same Prefer). */
  async queryPage<T = Record<string, unknown>>(entitySet: string, o: QueryOptions = {}, nextLink?: string): Promise<QueryPage<T>> {
    const path = nextLink ? this.relativeFromLink(nextLink) : `${entitySet}${queryString(o)}`;
    const prefer = preferHeader(o);
    const res = await this.send({
      method: "GET",
      path,
      headers: prefer ? { Prefer: prefer } : undefined,
      idempotent: true,
      operation: `GET ${entitySet}`,
    });
    const body = parseJson(res.text, `GET ${entitySet}`) as { value?: T[]; "@odata.nextLink"?: string; "@odata.count"?: number };
    if (!Array.isArray(body.value))
      throw new DataverseApiError("DATAVERSE_API", `Dataverse GET ${entitySet} returned no "value" array`, { statusCode: res.status });
    return {
      value: body.value,
      ...(body["@odata.nextLink"] ? { nextLink: body["@odata.nextLink"] } : {}),
      ...(typeof body["@odata.count"] === "number" ? { count: body["@odata.count"] } : {}),
    };
  }

  /** One record by id or alternate key; DataverseNotFoundError when it does not exist. */
  async retrieve<T = Record<string, unknown>>(
    entitySet: string,
    key: RecordKey,
    o: { select?: string[]; expand?: string; includeAnnotations?: boolean | string } = {},
  ): Promise<T> {
    const path = `${recordPath(entitySet, key)}${queryString({ select: o.select, expand: o.expand })}`;
    const prefer = annotationsPreference(o.includeAnnotations);
    const res = await this.send({
      method: "GET",
      path,
      headers: prefer ? { Prefer: prefer } : undefined,
      idempotent: true,
      operation: `GET ${recordPath(entitySet, key)}`,
    });
    return parseJson(res.text, `GET ${entitySet}`) as T;
  }

  /**
   * One record plus Dataverse's own time at the answer (the HTTP `Date` header, whole seconds), so a
   * caller can judge a row's `modifiedon` by Dataverse's clock instead of its host's.
   */
  async retrieveWithServerTime<T = Record<string, unknown>>(
    entitySet: string,
    key: RecordKey,
    o: { select?: string[] } = {},
  ): Promise<{ row: T; serverTime?: number }> {
    const res = await this.send({
      method: "GET",
      path: `${recordPath(entitySet, key)}${queryString({ select: o.select })}`,
      idempotent: true,
      operation: `GET ${recordPath(entitySet, key)}`,
    });
    const date = Date.parse(res.headers.get("date") ?? "");
    return { row: parseJson(res.text, `GET ${entitySet}`) as T, ...(Number.isNaN(date) ? {} : { serverTime: date }) };
  }

  async tryRetrieve<T = Record<string, unknown>>(
    entitySet: string,
    key: RecordKey,
    o: { select?: string[]; expand?: string; includeAnnotations?: boolean | string } = {},
  ): Promise<T | undefined> {
    try {
      return await this.retrieve<T>(entitySet, key, o);
    } catch (error) {
      if (error instanceof DataverseNotFoundError) return undefined;
      throw error;
    }
  }

  /** Creates a row and returns its id (from OData-EntityId). Not retried blindly: a create is not idempotent. */
  async create(entitySet: string, body: Record<string, unknown>): Promise<string> {
    const res = await this.send({
      method: "POST",
      path: entitySet,
      body: JSON.stringify(body),
      idempotent: false,
      operation: `POST ${entitySet}`,
    });
    const id = idFromEntityIdHeader(res.headers.get("odata-entityid") ?? res.headers.get("location"));
    if (id) return id;
    const parsed = res.text ? (parseJson(res.text, `POST ${entitySet}`) as Record<string, unknown>) : {};
    const fromBody = Object.entries(parsed).find(([k, v]) => k.endsWith("id") && isGuid(v))?.[1];
    if (isGuid(fromBody)) return normalizeGuid(fromBody);
    throw new DataverseApiError("DATAVERSE_API", `Dataverse POST ${entitySet} succeeded but returned no record id`, {
      statusCode: res.status,
      operation: `POST ${entitySet}`,
    });
  }

  /**
   * Updates an existing row. `ifMatch` defaults to "*" (update only, never create); pass an ETag for
   * optimistic concurrency. `retry` narrows the retry policy for this call (a write that must finish
   * within a lease bounds its attempts and Retry-After wait).
   */
  async update(
    entitySet: string,
    key: RecordKey,
    body: Record<string, unknown>,
    o: { ifMatch?: string; retry?: Partial<RetryOptions> } = {},
  ): Promise<void> {
    await this.send({
      method: "PATCH",
      path: recordPath(entitySet, key),
      body: JSON.stringify(body),
      headers: { "If-Match": o.ifMatch ?? "*" },
      idempotent: true,
      operation: `PATCH ${recordPath(entitySet, key)}`,
      retry: o.retry,
    });
  }

  /**
   * Updates an existing row (as `update`) and answers the row as written: `Prefer: return=representation`
   * with `$select` makes Dataverse answer 200 with those columns and the new `@odata.etag`, so a caller that
   * writes again with If-Match needs no second read (learn.microsoft.com/power-apps/developer/data-platform/webapi/update-delete-entities-using-web-api#update-with-data-returned).
   */
  async updateReturning<T = Record<string, unknown>>(
    entitySet: string,
    key: RecordKey,
    body: Record<string, unknown>,
    o: { ifMatch?: string; select: string[]; retry?: Partial<RetryOptions> },
  ): Promise<T & { "@odata.etag"?: string }> {
    const path = `${recordPath(entitySet, key)}${queryString({ select: o.select })}`;
    const res = await this.send({
      method: "PATCH",
      path,
      body: JSON.stringify(body),
      headers: { "If-Match": o.ifMatch ?? "*", Prefer: "return=representation" },
      idempotent: true,
      operation: `PATCH ${recordPath(entitySet, key)}`,
      retry: o.retry,
    });
    const row = (res.text ? parseJson(res.text, `PATCH ${entitySet}`) : {}) as T & { "@odata.etag"?: string };
    const etag = row["@odata.etag"] ?? res.headers.get("etag") ?? undefined;
    return etag ? { ...row, "@odata.etag": etag } : row;
  }

  /**
   * Upsert by id or alternate key (PATCH on `set(key)`): "upsert" creates or updates, "createOnly" sends
   * If-None-Match: * (412 DataverseConcurrencyError when it exists), "updateOnly" sends If-Match: * (404 when missing).
   */
  async upsert(
    entitySet: string,
    key: RecordKey,
    body: Record<string, unknown>,
    o: { mode?: "upsert" | "createOnly" | "updateOnly" } = {},
  ): Promise<string | undefined> {
    const mode = o.mode ?? "upsert";
    const headers: Record<string, string> =
      mode === "createOnly" ? { "If-None-Match": "*" } : mode === "updateOnly" ? { "If-Match": "*" } : {};
    const res = await this.send({
      method: "PATCH",
      path: recordPath(entitySet, key),
      body: JSON.stringify(body),
      headers,
      idempotent: true,
      operation: `PATCH ${recordPath(entitySet, key)}`,
    });
    return (
      idFromEntityIdHeader(res.headers.get("odata-entityid") ?? res.headers.get("location")) ??
      (typeof key === "string" ? normalizeGuid(key) : undefined)
    );
  }

  async delete(entitySet: string, key: RecordKey, o: { ifMatch?: string } = {}): Promise<void> {
    await this.send({
      method: "DELETE",
      path: recordPath(entitySet, key),
      headers: o.ifMatch ? { "If-Match": o.ifMatch } : undefined,
      idempotent: true,
      notFoundOnRetryIsSuccess: !o.ifMatch,
      operation: `DELETE ${recordPath(entitySet, key)}`,
    });
  }

  /**
   * Calls a custom API or action: unbound `POST /<name>`, bound `POST /<set>(<id>)/Microsoft.Dynamics.CRM.<name>`.
   * Returns the response properties (an empty object for 204).
   */
  async executeAction<T = Record<string, unknown>>(
    name: string,
    params: Record<string, unknown> = {},
    bound?: { entitySet: string; id: string },
  ): Promise<T> {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new ValidationError(`"${name}" is not a valid action name`);
    const path = bound ? `${recordPath(bound.entitySet, bound.id)}/Microsoft.Dynamics.CRM.${name}` : name;
    const res = await this.send({ method: "POST", path, body: JSON.stringify(params), idempotent: false, operation: `POST ${path}` });
    if (res.status === 204 || !res.text.trim()) return {} as T;
    return parseJson(res.text, name) as T;
  }

  /**
   * A raw Web API call for what the typed methods do not cover (metadata reads, solution import, polling
   * async operations). `path` is relative to the Web API root. Returns the parsed JSON body (undefined for 204).
   */
  async requestJson<T = unknown>(
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    o: { headers?: Record<string, string>; idempotent?: boolean } = {},
  ): Promise<T | undefined> {
    const res = await this.send({
      method,
      path: path.replace(/^\/+/, ""),
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: o.headers,
      idempotent: o.idempotent ?? method !== "POST",
      operation: `${method} ${path.split("?")[0]}`,
    });
    if (!res.text.trim()) return undefined;
    return parseJson(res.text, path) as T;
  }

  /**
   * Runs operations through $batch, at most `batchSize` per request, and returns one result per operation in
   * order. Request-level failures (401, a malformed batch) throw; operation failures come back as results.
   * Throttling (a 429 on the request or on an operation) is retried with Retry-After, only for the
   * operations that did not run.
   */
  async batch(ops: BatchOperation[], o: BatchOptions = {}): Promise<BatchResult[]> {
    const atomic = o.atomic ?? false;
    const continueOnError = o.continueOnError ?? !atomic;
    const batchSize = o.batchSize ?? MAX_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new ValidationError(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${batchSize}`);
    }
    const results: BatchResult[] = new Array(ops.length);
    const chunks = cutRuns(ops.length, batchSize, (i) => sameChangeSet(ops[i - 1]!, ops[i]!)).map(([start, end]) =>
      Array.from({ length: end - start }, (_, i) => start + i),
    );
    for (const chunk of chunks)
      if (chunk.length > MAX_BATCH_SIZE)
        throw new ValidationError(`A change set of ${chunk.length} operations is more than one $batch request carries (${MAX_BATCH_SIZE})`);
    const plans = chunks.map((chunk) => this.planChunk(ops, chunk, atomic));
    let stopped = false;
    const runOne = async (planIndex: number) => {
      const plan = plans[planIndex]!;
      if (stopped) {
        for (const i of plan.opIndexes) results[i] = notExecuted(ops[i]!, "an earlier $batch request failed");
        return;
      }
      const chunkResults = await this.runBatchRequest(ops, plan, continueOnError);
      chunkResults.forEach((r, k) => (results[plan.opIndexes[k]!] = r));
      if (!continueOnError && chunkResults.some((r) => !r.ok)) stopped = true;
    };
    const parallel = continueOnError ? Math.max(1, Math.min(o.concurrency ?? 1, plans.length)) : 1;
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < plans.length) await runOne(next++);
      }),
    );
    return results;
  }

  // ---------------------------------------------------------------------------------------------

  private planChunk(ops: BatchOperation[], opIndexes: number[], atomic: boolean): BatchPlan {
    const declared = new Set(opIndexes.map((i) => ops[i]!.contentId).filter((c): c is string => c !== undefined));
    let auto = 0;
    const nextAutoId = () => {
      do auto++;
      while (declared.has(String(auto)));
      return String(auto);
    };
    const units: PlannedUnit[] = [];
    let open: PlannedUnit | undefined;
    let openKey: string | undefined;
    for (const i of opIndexes) {
      const op = ops[i]!;
      if (op.method === "GET" || (!atomic && op.changeSet === undefined)) {
        open = undefined;
        units.push({ kind: "single", indexes: [i], parts: [this.toPart(op, op.contentId)] });
        continue;
      }
      // Not atomic: each run of one key is its own change set.
      if (!atomic && op.changeSet !== openKey) open = undefined;
      openKey = op.changeSet;
      if (!open) {
        open = { kind: "changeset", indexes: [], parts: [] };
        units.push(open);
      }
      open.indexes.push(i);
      open.parts.push(this.toPart(op, op.contentId ?? nextAutoId()));
    }
    // A `$n` reference must point to an earlier operation of the same change set (Dataverse's rule).
    for (const unit of units) {
      const seen = new Set<string>();
      for (const part of unit.parts) {
        for (const ref of contentIdReferences(part)) {
          if (unit.kind !== "changeset" || !seen.has(ref)) {
            throw new ValidationError(
              `$batch operation "${part.method} ${part.url}" references $${ref}, which is not an earlier operation of the same change set (use atomic: true and keep both in one request).`,
            );
          }
        }
        if (part.contentId !== undefined) seen.add(part.contentId);
      }
    }
    return { opIndexes, units };
  }

  private toPart(op: BatchOperation, contentId: string | undefined): BatchRequestPart {
    const reference = op.entitySet.startsWith("$");
    if (reference && op.key !== undefined) throw new ValidationError(`A Content-ID reference (${op.entitySet}) cannot also carry a key`);
    const base = reference ? op.entitySet : `${this.apiPath}/${recordPath(op.entitySet, op.key)}`;
    const url = op.query ? `${base}?${op.query.replace(/^\?/, "")}` : base;
    const headers: Record<string, string> = {};
    const body = op.bodyJson ?? (op.body !== undefined ? JSON.stringify(op.body) : undefined);
    if (body !== undefined) headers["Content-Type"] = "application/json; type=entry";
    if (op.method === "GET") headers.Accept = "application/json";
    if (op.ifMatch) headers["If-Match"] = op.ifMatch;
    if (op.ifNoneMatch) headers["If-None-Match"] = op.ifNoneMatch;
    Object.assign(headers, op.headers ?? {});
    return { method: op.method, url, headers, ...(body !== undefined ? { body } : {}), ...(contentId !== undefined ? { contentId } : {}) };
  }

  /** One chunk: send, map responses, resend only the throttled (or, after a stop, unexecuted) units. */
  private async runBatchRequest(ops: BatchOperation[], plan: BatchPlan, continueOnError: boolean): Promise<BatchResult[]> {
    const byOp = new Map<number, BatchResult>();
    let pending = plan.units;
    for (let attempt = 1; ; attempt++) {
      const batchBoundary = `batch_${randomUUID()}`;
      const wireUnits: BatchRequestUnit[] = pending.map((u) =>
        u.kind === "single" ? { kind: "single", part: u.parts[0]! } : { kind: "changeset", parts: u.parts },
      );
      const body = writeBatchBody(wireUnits, batchBoundary, () => `changeset_${randomUUID()}`);
      const itemCount = pending.reduce((n, u) => n + u.parts.length, 0);
      const res = await this.send({
        method: "POST",
        path: "$batch",
        body,
        headers: {
          "Content-Type": `multipart/mixed; boundary=${batchBoundary}`,
          ...(continueOnError ? { Prefer: "odata.continue-on-error" } : {}),
        },
        // Resending a batch that may have run is safe only when it creates nothing.
        idempotent: pending.every((u) => u.parts.every((p) => p.method !== "POST")),
        operation: `POST $batch (${itemCount} operations)`,
        batchItems: itemCount,
        accept: (status, contentType) => status === 200 || boundaryOf(contentType) !== undefined,
      });
      const contentType = res.headers.get("content-type") ?? "";
      let outcomes: OperationOutcome[][];
      try {
        outcomes = mapBatchResponse(wireUnits, readBatchResponse(contentType, res.text));
      } catch (error) {
        throw new DataverseApiError("DATAVERSE_BATCH_RESPONSE", `Could not read the $batch response: ${ensureError(error).message}`, {
          statusCode: res.status,
          cause: error,
        });
      }

      const retryUnits: PlannedUnit[] = [];
      let retryAfterMs: number | undefined;
      let throttledSeen = false;
      pending.forEach((unit, u) => {
        const unitOutcomes = outcomes[u]!;
        const throttled = unitOutcomes.find((x) => x.kind === "response" && x.part.status === 429);
        if (throttled && throttled.kind === "response") {
          this.counters.throttled++;
          throttledSeen = true;
          retryAfterMs = maxDefined(retryAfterMs, parseRetryAfterMs(throttled.part.headers["retry-after"], this.clock.now()));
          retryUnits.push(unit);
          return;
        }
        // Operations Dataverse stopped before are resent only when the stop was caused by throttling.
        if (throttledSeen && !continueOnError && unitOutcomes.every((x) => x.kind === "notExecuted")) {
          retryUnits.push(unit);
          return;
        }
        unitOutcomes.forEach((outcome, k) => byOp.set(unit.indexes[k]!, this.toResult(ops[unit.indexes[k]!]!, unit.parts[k]!, outcome)));
      });
      if (retryUnits.length === 0) break;
      if (attempt >= this.retry.maxAttempts) {
        for (const unit of retryUnits) {
          unit.indexes.forEach((i) =>
            byOp.set(i, {
              ok: false,
              status: 429,
              error: new DataverseThrottledError(`Dataverse kept throttling this $batch operation after ${attempt} attempts`, {
                retryAfterMs,
                operation: `${ops[i]!.method} ${ops[i]!.entitySet}`,
              }),
            }),
          );
        }
        break;
      }
      const delayMs = delayBeforeRetryMs({ status: 429, retryAfterMs }, attempt, this.retry, this.opts.random);
      this.noteThrottle(delayMs);
      this.counters.retries++;
      this.logger.warn("Dataverse throttled $batch operations; resending them", {
        operations: retryUnits.reduce((n, u) => n + u.indexes.length, 0),
        attempt,
        maxAttempts: this.retry.maxAttempts,
        delayMs,
      });
      await this.doSleep(delayMs);
      pending = retryUnits;
    }
    return plan.opIndexes.map((i) => byOp.get(i) ?? notExecuted(ops[i]!, "Dataverse did not answer for it"));
  }

  private toResult(op: BatchOperation, part: BatchRequestPart, outcome: OperationOutcome): BatchResult {
    const operation = `${op.method} ${part.url.replace(this.apiPath + "/", "")}`;
    if (outcome.kind === "notExecuted") return notExecuted(op, "an earlier operation in the $batch failed");
    if (outcome.kind === "rolledBack") {
      const cause = errorFromPart(outcome.cause, operation);
      return {
        ok: false,
        status: 424,
        error: new DataverseNotExecutedError(`Dataverse ${operation} was rolled back because its change set failed: ${cause.message}`, {
          operation,
          dataverseCode: cause.dataverseCode,
          cause,
        }),
      };
    }
    const { part: res } = outcome;
    if (res.status >= 400) return { ok: false, status: res.status, error: errorFromPart(res, operation) };
    const id = idFromEntityIdHeader(res.headers["odata-entityid"] ?? res.headers["location"]);
    let body: unknown;
    if (res.body) {
      try {
        body = JSON.parse(res.body);
      } catch {
        body = res.body;
      }
    }
    return { ok: true, status: res.status, ...(id ? { id } : {}), ...(body !== undefined ? { body } : {}) };
  }

  /** Sends one logical request through the gate, the limiter and the retry policy. */
  private async send(spec: RequestSpec): Promise<RawResponse> {
    return withRetry(
      async (attempt) => {
        if (attempt === 1) await this.waitForThrottleGate();
        return this.limiter.run(() => this.attemptOnce(spec, attempt));
      },
      classify,
      spec.retry ? { ...this.retry, ...spec.retry } : this.retry,
      spec.idempotent,
      {
        sleep: this.doSleep,
        random: this.opts.random,
        onRetry: ({ attempt, maxAttempts, delayMs, outcome }) => {
          this.counters.retries++;
          this.logger.warn(`Dataverse ${spec.operation}: retrying (attempt ${attempt + 1} of ${maxAttempts})`, {
            delayMs,
            status: outcome.status,
            networkCode: outcome.networkCode,
          });
        },
      },
    );
  }

  /** One HTTP exchange (plus one immediate resend with a fresh token after a 401 on a refreshable token). */
  private async attemptOnce(spec: RequestSpec, attempt: number): Promise<RawResponse> {
    let res = await this.exchange(spec, attempt, false);
    if (res.status === 401 && this.tokens.canRefresh) {
      this.tokens.invalidate();
      res = await this.exchange(spec, attempt, true);
    }
    const contentType = res.headers.get("content-type");
    if (res.status < 400 || spec.accept?.(res.status, contentType)) return res;
    if (res.status === 404 && attempt > 1 && spec.notFoundOnRetryIsSuccess) return res;
    const retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"), this.clock.now());
    const error = dataverseErrorFrom({
      status: res.status,
      bodyText: res.text,
      header: (n) => res.headers.get(n),
      operation: spec.operation,
      retryAfterMs,
    });
    if (retryAfterMs !== undefined) retryAfterOf.set(error, retryAfterMs);
    if (error instanceof DataverseThrottledError) {
      this.counters.throttled++;
      this.noteThrottle(delayBeforeRetryMs({ status: 429, retryAfterMs }, attempt, this.retry, this.opts.random));
    }
    if (error instanceof DataverseAuthError) {
      this.logger.error("Dataverse rejected the token", { operation: spec.operation, status: res.status, requestId: error.requestId });
    }
    throw error;
  }

  private async exchange(spec: RequestSpec, attempt: number, afterTokenRefresh: boolean): Promise<RawResponse> {
    const token = await this.tokens.getToken();
    const url = this.apiRoot + spec.path;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: "application/json",
      "OData-MaxVersion": "4.0",
      "OData-Version": "4.0",
      ...(spec.body !== undefined ? { "Content-Type": "application/json; charset=utf-8" } : {}),
      ...(this.opts.callerId ? { MSCRMCallerID: this.opts.callerId } : {}),
      ...(spec.headers ?? {}),
    };
    const started = this.clock.now();
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signal = AbortSignal.timeout(timeoutMs);
    this.counters.requests++;
    if (spec.batchItems) this.counters.batchItems += spec.batchItems;
    const info = { method: spec.method, path: spec.path, attempt, ...(spec.batchItems ? { batchItems: spec.batchItems } : {}) };
    try {
      const response = await this.doFetch(url, { method: spec.method, headers, body: spec.body, signal });
      const text = await response.text();
      const hint = Number(response.headers.get("x-ms-dop-hint"));
      if (Number.isInteger(hint) && hint >= 1 && hint !== this.share.dopHint) {
        this.share.dopHint = hint;
        // The environment's recommended parallelism is for the identity as a whole, so it sizes the shared capacity.
        if (!this.share.fixedCapacity) this.share.pool.resize(Math.min(MAX_IDENTITY_CONCURRENCY, hint));
      }
      const throttled = response.status === 429;
      this.opts.onRequest?.({ ...info, status: response.status, durationMs: this.clock.now() - started, throttled });
      this.logger.debug("Dataverse request", {
        ...info,
        status: response.status,
        durationMs: this.clock.now() - started,
        afterTokenRefresh,
      });
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      this.opts.onRequest?.({ ...info, durationMs: this.clock.now() - started, throttled: false });
      if (error instanceof DataverseApiError) throw error;
      const timedOut = signal.aborted || ensureError(error).name === "TimeoutError";
      throw networkErrorFrom(error, spec.operation, timedOut);
    }
  }

  /** After a 429, new requests wait out the Retry-After too instead of piling onto a throttled service. */
  private noteThrottle(delayMs: number): void {
    this.throttledUntil = Math.max(this.throttledUntil, this.clock.now() + delayMs);
  }

  private async waitForThrottleGate(): Promise<void> {
    const wait = this.throttledUntil - this.clock.now();
    if (wait > 0) {
      this.opts.onThrottleWait?.({ delayMs: wait, lane: this.laneName });
      await this.doSleep(wait);
    }
  }

  /** A nextLink is used as given, but always against our own API root (never sends the token elsewhere). */
  private relativeFromLink(link: string): string {
    const url = new URL(link, this.apiRoot);
    const full = url.pathname + url.search;
    const prefix = this.apiPath + "/";
    const at = full.indexOf(prefix);
    if (at < 0) throw new DataverseApiError("DATAVERSE_API", `Dataverse returned a nextLink outside the Web API: ${redact(link)}`);
    return full.slice(at + prefix.length);
  }
}

interface PlannedUnit {
  kind: "single" | "changeset";
  indexes: number[];
  parts: BatchRequestPart[];
}

interface BatchPlan {
  opIndexes: number[];
  units: PlannedUnit[];
}

/** Two neighbouring operations of one change set (`BatchOperation.changeSet`). */
function sameChangeSet(a: BatchOperation, b: BatchOperation): boolean {
  return a.changeSet !== undefined && a.changeSet === b.changeSet;
}

function notExecuted(op: BatchOperation, why: string): BatchResult {
  const operation = `${op.method} ${op.entitySet}`;
  return { ok: false, status: 424, error: new DataverseNotExecutedError(`Dataverse ${operation} was not run: ${why}.`, { operation }) };
}

function errorFromPart(part: BatchResponsePart, operation: string): DataverseApiError {
  return dataverseErrorFrom({
    status: part.status,
    bodyText: part.body,
    header: (n) => part.headers[n.toLowerCase()],
    operation,
    retryAfterMs: parseRetryAfterMs(part.headers["retry-after"]),
  });
}

function classify(error: unknown): AttemptOutcome {
  if (error instanceof DataverseNetworkError) return { networkCode: error.networkCode };
  if (error instanceof DataverseAuthError && error.statusCode === undefined) {
    // Token acquisition failed before anything was sent to Dataverse.
    return error.retryable ? { networkCode: "ECONNREFUSED" } : { status: 401 };
  }
  if (error instanceof DataverseApiError && error.statusCode !== undefined) {
    return { status: error.statusCode, retryAfterMs: retryAfterOf.get(error) };
  }
  return { status: 0 };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataverseApiError("DATAVERSE_API", `Dataverse ${what} returned a body that is not JSON: ${redact(text.slice(0, 200))}`, {
      cause: error,
    });
  }
}

/** `?$select=…&$filter=…` (values percent-encoded; `$` and `,` kept readable). */
export function queryString(o: QueryOptions): string {
  const params: string[] = [];
  const add = (name: string, value: string) =>
    params.push(`${name}=${encodeURIComponent(value).replace(/%2C/g, ",").replace(/%24/g, "$")}`);
  if (o.select?.length) add("$select", o.select.join(","));
  if (o.filter) add("$filter", o.filter);
  if (o.orderby) add("$orderby", o.orderby);
  if (o.expand) add("$expand", o.expand);
  if (o.top !== undefined) {
    if (!Number.isInteger(o.top) || o.top < 1) throw new ValidationError(`top must be a positive integer, got ${o.top}`);
    add("$top", String(o.top));
  }
  if (o.count) add("$count", "true");
  return params.length ? `?${params.join("&")}` : "";
}

/** The Prefer header: page size (unless $top is used) and annotations. */
export function preferHeader(o: Pick<QueryOptions, "pageSize" | "includeAnnotations" | "top">): string | undefined {
  const prefs: string[] = [];
  if (o.top === undefined) {
    const size = o.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE)
      throw new ValidationError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${size}`);
    prefs.push(`odata.maxpagesize=${size}`);
  }
  const annotations = annotationsPreference(o.includeAnnotations);
  if (annotations) prefs.push(annotations);
  return prefs.length ? prefs.join(",") : undefined;
}

function annotationsPreference(include: boolean | string | undefined): string | undefined {
  return include ? `odata.include-annotations="${include === true ? "*" : include}"` : undefined;
}

/** Accepts `https://org.crm.dynamics.com`, `…/`, or `…/api/data/v9.2/`. */
export function parseEnvironmentUrl(url: string, apiVersion?: string): { environmentUrl: string; apiVersion: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`Dataverse URL "${url}" is not a valid URL`, { field: "url" });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new ValidationError(`Dataverse URL must be http(s), got "${url}"`, { field: "url" });
  const m = /^(.*?)\/api\/data\/v(\d+\.\d+)\/?$/.exec(parsed.pathname);
  const basePath = (m ? m[1]! : parsed.pathname).replace(/\/+$/, "");
  return { environmentUrl: `${parsed.origin}${basePath}`, apiVersion: apiVersion ?? m?.[2] ?? DEFAULT_API_VERSION };
}
