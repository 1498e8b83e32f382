/**
 * The event pipeline: webhook steps registered on Create/Update/Delete or a custom API message,
 * RemoteExecutionContext JSON built as docs/platform/dataverse.md section 3 shows, delivery with the
 * x-ms-dynamics-* headers and the endpoint's auth, synchronous steps failing the caller, asynchronous
 * steps queued and recorded as system jobs (asyncoperation rows, statuscode 0 → 20 → 30/31) with one
 * retry on 502/503/504.
 */
import { randomUUID } from "node:crypto";

import type { Clock } from "../../src/shared/clock";
import { EMPTY_GUID } from "../../src/shared/guid";
import type { Logger } from "../../src/shared/logger";
import { redact } from "../../src/shared/redact";
import type { CustomApiDef, ServiceEndpointDef, StepDef, StepImageDef } from "../../src/solution/model";
import { DataverseHttpError, ErrorCodes } from "./errors";
import type { EmulatedOrganization } from "./organization";
import type { OpContext, RecordEvent, RecordEvents, UserInfo } from "./records";
import { isLookup, isPolymorphic, type TableMeta } from "./schema";
import { q, type Row, type Store, typeColumn } from "./store";
import { wcfDate } from "./values";

const CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts";
/** Path appended when an environment variable holds only a base URL (see README). */
export const DEFAULT_WEBHOOK_PATH = "/api/dataverse/webhook";
const MAX_PAYLOAD = 256 * 1024;

export interface KeyValue {
  key: string;
  value: unknown;
}

export interface PipelineOptions {
  organization: EmulatedOrganization;
  timeoutMs: number;
  logger: Logger;
  clock: Clock;
  stats: { webhooksSent: number; webhooksFailed: number };
  getEnvironmentVariable(schemaName: string): string | undefined;
}

interface StepInvocation {
  step: StepDef;
  message: string;
  primaryEntityName: string;
  primaryEntityId: string;
  inputParameters: KeyValue[];
  outputParameters: KeyValue[];
  preImages: KeyValue[];
  postImages: KeyValue[];
  user: UserInfo;
  correlationId: string;
  requestId: string;
  depth: number;
  inTransaction: boolean;
}

export const entityReference = (logicalName: string, id: string, name: string | null = null) => ({
  __type: `EntityReference:${CONTRACTS}`,
  Id: id,
  KeyAttributes: [],
  LogicalName: logicalName,
  Name: name,
  RowVersion: null,
});

/** SDK-typed value for a stored column value (EntityReference, OptionSetValue, Money, WCF dates). */
export function sdkValue(meta: TableMeta, column: string, row: Row): unknown {
  const c = meta.columns.get(column);
  const v = row[column];
  if (!c || v === null || v === undefined) return v ?? null;
  if (isLookup(c))
    return entityReference(isPolymorphic(c) ? String(row[typeColumn(c)] ?? c.targets?.[0] ?? "") : (c.targets?.[0] ?? ""), String(v));
  switch (c.type) {
    case "picklist":
    case "state":
    case "status":
      return { __type: `OptionSetValue:${CONTRACTS}`, Value: v };
    case "money":
      return { __type: `Money:${CONTRACTS}`, Value: v };
    case "datetime":
      return wcfDate(String(v));
    case "boolean":
      return v === 1 || v === true;
    default:
      return v;
  }
}

export function sdkEntity(meta: TableMeta, id: string, row: Row, attributes?: string[]): Record<string, unknown> {
  const names = (attributes && attributes.length > 0 ? attributes : Object.keys(row)).filter(
    (a) => meta.columns.has(a) && row[a] !== undefined,
  );
  return {
    __type: `Entity:${CONTRACTS}`,
    Attributes: names.map((a) => ({ key: a, value: sdkValue(meta, a, row) })),
    EntityState: null,
    FormattedValues: [],
    Id: id,
    KeyAttributes: [],
    LogicalName: meta.logicalName,
    RelatedEntities: [],
    RowVersion: row.versionnumber !== undefined && row.versionnumber !== null ? String(row.versionnumber) : null,
  };
}

interface Job {
  invocation: StepInvocation;
  jobId: string;
}

export class EventPipeline implements RecordEvents {
  private readonly queue: Job[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly maxConcurrentJobs = 4;
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly store: Store,
    private readonly options: PipelineOptions,
  ) {}

  /**
   * The enabled steps on a message, read from the sdkmessageprocessingstep rows (the source of truth, as in
   * Dataverse): steps imported with a solution and steps created, re-bound, disabled (statecode 1) or deleted
   * through the Web API alike. The message is resolved by the name of the sdkmessage row the step is bound to,
   * the table by its sdkmessagefilter (else the step's primaryobjecttypecode). Images come from the solution.
   */
  stepsFor(message: string, entity: string | undefined): StepDef[] {
    const rows = this.store
      .stmt(
        `SELECT s.*, m.name AS "__message", f.primaryobjecttypecode AS "__filter_entity"
         FROM "sdkmessageprocessingstep" s
         JOIN "sdkmessage" m ON m.sdkmessageid = s.sdkmessageid
         LEFT JOIN "sdkmessagefilter" f ON f.sdkmessagefilterid = s.sdkmessagefilterid
         WHERE lower(m.name) = ? AND coalesce(s.statecode, 0) = 0 AND s.eventhandler IS NOT NULL`,
      )
      .all(message.toLowerCase()) as Row[];
    const shipped = new Map(this.store.catalog.steps.map((st) => [st.id.toLowerCase(), st]));
    return rows
      .map((row) =>
        stepFromRow(
          row,
          shipped.get(String(row.sdkmessageprocessingstepid)),
          this.registeredImages(String(row.sdkmessageprocessingstepid)),
        ),
      )
      .filter((st) => !st.primaryEntity || st.primaryEntity === "none" || st.primaryEntity === entity)
      .sort((a, b) => a.stage - b.stage || a.rank - b.rank);
  }

  /** Images registered on a step through the Web API (sdkmessageprocessingstepimage rows). */
  private registeredImages(stepId: string): StepImageDef[] {
    const rows = this.store
      .stmt(`SELECT name, entityalias, imagetype, attributes FROM "sdkmessageprocessingstepimage" WHERE sdkmessageprocessingstepid = ?`)
      .all(stepId.toLowerCase()) as Row[];
    return rows.map((r) => ({
      name: String(r.name ?? ""),
      entityAlias: String(r.entityalias ?? r.name ?? ""),
      imageType: (Number(r.imagetype ?? 0) === 1 ? 1 : Number(r.imagetype ?? 0) === 2 ? 2 : 0) as StepImageDef["imageType"],
      attributes: String(r.attributes ?? "")
        .split(",")
        .map((a) => a.trim().toLowerCase())
        .filter(Boolean),
    }));
  }

  hasSteps(message: string, entity: string): boolean {
    return this.stepsFor(message, entity).length > 0;
  }

  private recordInvocation(step: StepDef, event: RecordEvent, ctx: OpContext, inTransaction: boolean): StepInvocation {
    const { meta, id } = event;
    const input: KeyValue[] =
      event.message === "Delete"
        ? [{ key: "Target", value: entityReference(meta.logicalName, id) }]
        : [{ key: "Target", value: sdkEntity(meta, id, event.target) }];
    const images = (kind: 0 | 1): KeyValue[] => {
      const source = kind === 0 ? event.preImage : event.postImage;
      if (!source) return [];
      return step.images
        .filter((img) => img.imageType === kind || img.imageType === 2)
        .map((img) => ({ key: img.entityAlias, value: sdkEntity(meta, id, source, img.attributes) }));
    };
    return {
      step,
      message: event.message,
      primaryEntityName: meta.logicalName,
      primaryEntityId: id,
      inputParameters: input,
      outputParameters: event.message === "Create" && step.stage === 40 ? [{ key: "id", value: id }] : [],
      preImages: images(0),
      postImages: step.stage === 40 ? images(1) : [],
      user: ctx.user,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
      depth: ctx.depth,
      inTransaction,
    };
  }

  private fires(step: StepDef, event: RecordEvent): boolean {
    if (event.message !== "Update" || step.filteringAttributes.length === 0) return true;
    return step.filteringAttributes.some((a) => Object.prototype.hasOwnProperty.call(event.target, a) && a !== event.meta.primaryId);
  }

  async before(event: RecordEvent, ctx: OpContext): Promise<void> {
    for (const step of this.stepsFor(event.message, event.meta.logicalName)) {
      if (step.stage >= 40 || !this.fires(step, event)) continue;
      await this.deliverSync(this.recordInvocation(step, event, ctx, step.stage === 20));
    }
  }

  async after(event: RecordEvent, ctx: OpContext): Promise<void> {
    for (const step of this.stepsFor(event.message, event.meta.logicalName)) {
      if (step.stage !== 40 || !this.fires(step, event)) continue;
      const inv = this.recordInvocation(step, event, ctx, step.mode === 0);
      if (step.mode === 0) await this.deliverSync(inv);
      else ctx.afterCommit.push(() => this.enqueueSafely(inv));
    }
  }

  /** Runs the steps of a custom API message around its (empty) main operation. */
  async runCustomApi(
    api: CustomApiDef,
    invocation: { target?: { meta: TableMeta; id: string }; inputs: KeyValue[]; outputs: KeyValue[] },
    ctx: OpContext,
  ): Promise<void> {
    const entity = invocation.target?.meta.logicalName;
    const base = (step: StepDef): StepInvocation => ({
      step,
      message: api.uniqueName,
      primaryEntityName: entity ?? "none",
      primaryEntityId: invocation.target?.id ?? EMPTY_GUID,
      inputParameters: [
        ...(invocation.target ? [{ key: "Target", value: entityReference(invocation.target.meta.logicalName, invocation.target.id) }] : []),
        ...invocation.inputs,
      ],
      outputParameters: step.stage === 40 ? invocation.outputs : [],
      preImages: [],
      postImages: [],
      user: ctx.user,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
      depth: ctx.depth,
      inTransaction: step.mode === 0,
    });
    const steps = this.stepsFor(api.uniqueName, entity);
    for (const step of steps) if (step.stage < 40) await this.deliverSync(base(step));
    for (const step of steps) if (step.stage === 40 && step.mode === 0) await this.deliverSync(base(step));
    for (const step of steps) if (step.stage === 40 && step.mode === 1) this.enqueueSafely(base(step));
  }

  buildContext(inv: StepInvocation, operationId: string): Record<string, unknown> {
    const now = this.options.clock.now();
    return {
      BusinessUnitId: inv.user.businessUnitId,
      CorrelationId: inv.correlationId,
      Depth: inv.depth,
      InitiatingUserAzureActiveDirectoryObjectId: EMPTY_GUID,
      InitiatingUserId: inv.user.id,
      InputParameters: inv.inputParameters,
      IsExecutingOffline: false,
      IsInTransaction: inv.inTransaction,
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: inv.message,
      Mode: inv.step.mode,
      OperationCreatedOn: `/Date(${now})/`,
      OperationId: operationId,
      OrganizationId: this.options.organization.id,
      // The unique name (unq…), never the URL label: a receiver must not compare it with its URL.
      OrganizationName: this.options.organization.uniqueName,
      OutputParameters: inv.outputParameters,
      OwningExtension: entityReference("sdkmessageprocessingstep", inv.step.id, inv.step.name),
      ParentContext: null,
      PostEntityImages: inv.postImages,
      PreEntityImages: inv.preImages,
      PrimaryEntityId: inv.primaryEntityId,
      PrimaryEntityName: inv.primaryEntityName,
      RequestId: inv.requestId,
      SecondaryEntityName: "none",
      SharedVariables: [],
      Stage: inv.step.stage,
      UserAzureActiveDirectoryObjectId: EMPTY_GUID,
      UserId: inv.user.id,
    };
  }

  /**
   * Endpoint URL and auth for a step, resolved at send time so changes apply at once. URL: the value of
   * the endpoint's URL environment variable (a bare base URL gets the shipped path appended), else the
   * serviceendpoint row's `url` (which a deployment may have updated), else the shipped URL. Key: the
   * key environment variable's value, else the row's write-only `authvalue`.
   */
  resolveEndpoint(endpointId: string): { url: URL; headers: Record<string, string> } {
    const ep: ServiceEndpointDef | undefined = this.store.catalog.serviceEndpoints.find(
      (e) => e.id.toLowerCase() === endpointId.toLowerCase(),
    );
    const meta = this.store.table("serviceendpoint")!;
    const row = this.store.getRow(meta, endpointId.toLowerCase());
    if (!ep && !row)
      throw new DataverseHttpError(500, ErrorCodes.IsvAborted, `The service endpoint ${endpointId} registered on the step does not exist.`);
    const name = (row?.name as string | undefined) ?? ep?.name ?? endpointId;
    const shippedUrl = (row?.url as string | null | undefined) || ep?.url || "";
    const override = ep?.urlEnvironmentVariable ? this.options.getEnvironmentVariable(ep.urlEnvironmentVariable)?.trim() : undefined;
    let url: URL;
    try {
      url = new URL(override || shippedUrl);
      if (override && (url.pathname === "/" || url.pathname === "")) {
        const shipped = safeUrl(shippedUrl);
        url.pathname = shipped && shipped.pathname !== "/" ? shipped.pathname : DEFAULT_WEBHOOK_PATH;
      }
    } catch {
      throw new DataverseHttpError(500, ErrorCodes.IsvAborted, `The webhook URL of service endpoint '${name}' is not a valid URL.`);
    }
    const key =
      (ep?.keyEnvironmentVariable ? this.options.getEnvironmentVariable(ep.keyEnvironmentVariable) : undefined) ||
      (row?.authvalue as string | null | undefined) ||
      undefined;
    const authType = (row?.authtype as number | null | undefined) ?? ep?.authType ?? 4;
    const headers: Record<string, string> = {};
    if (key) {
      if (authType === 4) url.searchParams.set("code", key);
      else if (authType === 6) for (const [k, v] of parseAuthPairs(key, "=")) url.searchParams.set(k, v);
      else if (authType === 5) for (const [k, v] of parseAuthPairs(key, ":")) headers[k] = v;
    }
    return { url, headers };
  }

  /** One delivery with Dataverse's single retry on 502/503/504. Returns null on success, else the failure text. */
  private async deliver(inv: StepInvocation, operationId: string): Promise<{ ok: true } | { ok: false; status?: number; message: string }> {
    const { url, headers } = this.resolveEndpoint(inv.step.serviceEndpointId);
    const context = this.buildContext(inv, operationId);
    let body = JSON.stringify(context);
    const extra: Record<string, string> = {};
    if (Buffer.byteLength(body) > MAX_PAYLOAD) {
      extra["x-ms-dynamics-msg-size-exceeded"] = "true";
      body = JSON.stringify({ ...context, ParentContext: null, InputParameters: [], PreEntityImages: [], PostEntityImages: [] });
    }
    let last: { ok: false; status?: number; message: string } = { ok: false, message: "not sent" };
    for (let attempt = 1; attempt <= 2; attempt++) {
      const controller = new AbortController();
      this.inflight.add(controller);
      const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
      try {
        this.options.stats.webhooksSent++;
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            // "A unique identifier for the request" (Learn, use-webhooks: HTTP headers). Learn does not say whether a retry
            // keeps it; the emulator draws a new one per POST, so nothing of ours may rely on it being stable.
            "x-request-id": randomUUID(),
            "x-ms-dynamics-organization": this.options.organization.domain,
            "x-ms-dynamics-entity-name": inv.primaryEntityName,
            "x-ms-dynamics-request-name": inv.message,
            "x-ms-correlation-request-id": inv.correlationId,
            ...extra,
            ...headers,
          },
          body,
          signal: controller.signal,
        });
        const text = await res.text();
        if (res.ok) return { ok: true };
        last = { ok: false, status: res.status, message: extractMessage(text) ?? `The webhook returned HTTP ${res.status}.` };
        if (![502, 503, 504].includes(res.status)) break;
      } catch (err) {
        const aborted = controller.signal.aborted;
        last = {
          ok: false,
          message: aborted
            ? `The webhook call timed out after ${this.options.timeoutMs} ms.`
            : `The webhook endpoint could not be reached: ${(err as Error).message}`,
        };
        break;
      } finally {
        clearTimeout(timer);
        this.inflight.delete(controller);
      }
    }
    this.options.stats.webhooksFailed++;
    this.options.logger.warn("webhook delivery failed", {
      step: inv.step.name,
      message: inv.message,
      status: last.status,
      error: redact(last.message),
      url: redact(url.toString()),
    });
    return last;
  }

  private async deliverSync(inv: StepInvocation): Promise<void> {
    const result = await this.deliver(inv, randomUUID());
    if (!result.ok) throw new DataverseHttpError(400, ErrorCodes.IsvAborted, result.message);
  }

  private enqueueSafely(inv: StepInvocation): void {
    this.enqueue(inv).catch((err: unknown) =>
      this.options.logger.error("could not queue an asynchronous webhook step", { step: inv.step.name, error: (err as Error).message }),
    );
  }

  /** Queues an asynchronous step as a system job (asyncoperation row) and processes it in the background. */
  private async enqueue(inv: StepInvocation): Promise<void> {
    if (this.closed) return;
    const jobId = randomUUID();
    this.running++; // counts the job from the moment it is queued, so whenIdle() waits for it
    try {
      await this.writeJob(
        jobId,
        {
          name: inv.step.name,
          operationtype: 1,
          messagename: inv.message,
          primaryentitytype: inv.primaryEntityName,
          correlationid: inv.correlationId,
          requestid: inv.requestId,
          owningextensionid: inv.step.id,
          depth: inv.depth,
          retrycount: 0,
          statecode: 0,
          statuscode: 0,
        },
        true,
      );
      this.queue.push({ invocation: inv, jobId });
    } finally {
      this.running--;
    }
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running < this.maxConcurrentJobs && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.runJob(job)
        .catch((err: unknown) =>
          this.options.logger.error("asynchronous webhook job failed to record its outcome", {
            step: job.invocation.step.name,
            error: (err as Error).message,
          }),
        )
        .finally(() => {
          this.running--;
          this.pump();
          this.checkIdle();
        });
    }
    this.checkIdle();
  }

  private async runJob(job: Job): Promise<void> {
    const now = () => new Date(this.options.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    await this.writeJob(job.jobId, { statecode: 2, statuscode: 20, startedon: now() }, false);
    let result: Awaited<ReturnType<EventPipeline["deliver"]>>;
    try {
      result = await this.deliver(job.invocation, job.jobId);
    } catch (err) {
      result = { ok: false, message: (err as Error).message };
    }
    if (this.closed) return;
    if (result.ok) {
      if (job.invocation.step.asyncAutoDelete)
        await this.store.withWriteLock(
          async () => void this.store.stmt(`DELETE FROM "asyncoperation" WHERE asyncoperationid = ?`).run(job.jobId),
        );
      else await this.writeJob(job.jobId, { statecode: 3, statuscode: 30, completedon: now() }, false);
    } else {
      await this.writeJob(
        job.jobId,
        {
          statecode: 3,
          statuscode: 31,
          completedon: now(),
          message: result.message,
          friendlymessage: result.message,
          errorcode: -2147220891,
        },
        false,
      );
    }
  }

  private async writeJob(id: string, values: Row, create: boolean): Promise<void> {
    if (this.closed) return;
    await this.store.withWriteLock(async () => {
      if (this.closed) return;
      const meta = this.store.table("asyncoperation")!;
      const now = new Date(this.options.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
      const row: Row = { ...values, modifiedon: now, versionnumber: this.store.nextVersion() };
      if (create) {
        Object.assign(row, { asyncoperationid: id, createdon: now, ownerid: EMPTY_GUID, ownerid__type: "systemuser" });
        const cols = Object.keys(row);
        this.store
          .stmt(`INSERT INTO ${q(meta.logicalName)} (${cols.map(q).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
          .run(...cols.map((c) => row[c]));
      } else {
        const cols = Object.keys(row);
        this.store
          .stmt(`UPDATE ${q(meta.logicalName)} SET ${cols.map((c) => `${q(c)} = ?`).join(", ")} WHERE asyncoperationid = ?`)
          .run(...cols.map((c) => row[c]), id);
      }
    });
  }

  private checkIdle(): void {
    if (this.running === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when no asynchronous step is queued or running. */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const c of this.inflight) c.abort();
    this.checkIdle();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** A step as the pipeline runs it, from its sdkmessageprocessingstep row (joined with its message and filter). */
export function stepFromRow(row: Row, shipped: StepDef | undefined, registeredImages: StepImageDef[] = []): StepDef {
  // The table comes from the step's filter, as in Dataverse (primaryobjecttypecode is derived from it). A row
  // imported before filters existed (a persisted sandbox) has none: it keeps its own while still on its message.
  const legacy =
    shipped && shipped.message.toLowerCase() === String(row.__message).toLowerCase()
      ? (row.primaryobjecttypecode as string | null | undefined)
      : undefined;
  const entity = (row.sdkmessagefilterid ? (row.__filter_entity as string | null | undefined) : legacy) || undefined;
  const filtering = String(row.filteringattributes ?? "")
    .split(",")
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a.length > 0);
  const description = row.description as string | null | undefined;
  return {
    id: String(row.sdkmessageprocessingstepid),
    name: String(row.name ?? shipped?.name ?? ""),
    message: String(row.__message),
    ...(entity ? { primaryEntity: entity } : {}),
    serviceEndpointId: String(row.eventhandler),
    stage: Number(row.stage ?? 40) as StepDef["stage"],
    mode: Number(row.mode ?? 0) === 1 ? 1 : 0,
    rank: Number(row.rank ?? 1),
    filteringAttributes: filtering,
    asyncAutoDelete: row.asyncautodelete === 1 || row.asyncautodelete === true,
    // Images registered through the Web API, else those the step's solution shipped.
    images: registeredImages.length > 0 ? registeredImages : (shipped?.images ?? []),
    ...(description ? { description } : {}),
  };
}

/**
 * HttpHeader / HttpQueryString auth values: Dataverse stores them as
 * `<settings><setting name="k" value="v" /></settings>`; plain `k: v` lines or `k=v&…` are accepted too.
 */
function parseAuthPairs(value: string, sep: ":" | "="): [string, string][] {
  const xml = [...value.matchAll(/<setting\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
  if (xml.length > 0) return xml;
  if (sep === "=") return [...new URLSearchParams(value)];
  return value
    .split(/\r?\n|;/)
    .map((line) => [line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim()] as [string, string])
    .filter(([k]) => k.length > 0);
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The failure text a webhook returned: `message`, `error.message` or `Message` from JSON, else the text. */
export function extractMessage(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    const body = JSON.parse(trimmed) as Record<string, unknown>;
    const err = body.error as Record<string, unknown> | string | undefined;
    const candidate = body.message ?? (typeof err === "object" ? err?.message : err) ?? body.Message;
    if (typeof candidate === "string" && candidate) return candidate;
  } catch {
    // not JSON: use the text itself
  }
  return trimmed.slice(0, 2000);
}
