/**
 * The Dataverse Web API emulator: a Node HTTP server on 127.0.0.1 over SQLite that speaks the Web API
 * as docs/platform/dataverse.md describes (sections 1, 3, 4, checklist 10). The whole product runs and is
 * tested against it, so its behaviour follows Dataverse, errors included.
 */
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

import { type Clock, systemClock } from "../../src/shared/clock";
import { type Logger, silentLogger } from "../../src/shared/logger";
import { seededRandom } from "../../src/shared/random";
import { registerSecret } from "../../src/shared/redact";
import { SDK_MESSAGE_IDS } from "../../src/solution/components/step";
import { readSolutionZip } from "../../src/solution/io";
import type { RelationshipDef, SolutionModel } from "../../src/solution/model";
import { type DataverseLatency, DataverseLatencyLayer, type LatencyLedger } from "../latency";
import { DataverseHttpError, ErrorCodes } from "./errors";
import { type EmulatorStats, type EmuRequest, type EmuResponse, errorResponse, Handler, type ThrottleRule } from "./handler";
import { checkImport } from "./importChecks";
import { describeOrganization } from "./organization";
import { Records, type UserInfo } from "./records";
import { deterministicGuid, type Row, Store } from "./store";
import { ServiceProtection, type ServiceProtectionOptions } from "./throttle";
import { EventPipeline } from "./webhooks";

export type { EmulatorStats, ThrottleRule } from "./handler";
export { DEFAULT_WEBHOOK_PATH } from "./webhooks";

export interface DataverseEmulatorOptions {
  /** 0/undefined = any free port; always bound to 127.0.0.1. */
  port?: number;
  /** Default ":memory:"; a file path persists (WAL). */
  dbPath?: string;
  /**
   * The label of the environment URL (UrlName), default "work365dev". The organization's UniqueName (what
   * deliveries carry as OrganizationName) is derived from it and differs, as in a tenant; webhooks name the
   * domain "work365dev.crm.dynamics.com" in x-ms-dynamics-organization (sandbox/dataverse/organization.ts).
   */
  orgName?: string;
  /** Dataverse service protection limits; disabled by default (tests), the sandbox enables them. */
  serviceProtection?: ServiceProtectionOptions;
  /**
   * Injected throttling (429) and version conflicts (412 on If-Match writes), reproducible with `seed`. An
   * injected 412 plays another writer changing the row: `sets412` limits it to the entity sets where a test
   * wants that writer (absent = every If-Match write).
   */
  faults?: { rate429?: number; rate412?: number; sets412?: readonly string[]; seed?: number };
  /** The latency model (sandbox/latency.ts): each request costs real time and answers `x-ms-dop-hint`; off when absent. */
  latency?: DataverseLatency;
  /** Webhook timeout, 60 000 ms like Dataverse. */
  webhookTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** How long an ImportSolutionAsync takes by `clock` (default 0: as long as the work). */
  importDurationMs?: number;
  /**
   * How a failed change set is answered: "single" (default), the failed request's response in the change set's place;
   * "wrapped", that one response inside a change set response, as OData's ASP.NET server libraries write it. Both are
   * the one response OData 4.0 (11.7.4) asks for; Learn does not say which one Dataverse writes (docs/platform/dataverse.md 1.7).
   */
  failedChangeSet?: "single" | "wrapped";
}

export interface DataverseEmulator {
  /** Environment root, e.g. http://127.0.0.1:PORT (Web API under /api/data/v9.2/). */
  url: string;
  /** Application user "Work 365 Integration": holds the field security profile (reads secured columns). */
  integrationToken: string;
  /** A Work 365 admin user without the field security profile (secured columns read as null). */
  adminToken: string;
  issueToken(user: { name: string; fieldSecurity?: boolean; fieldSecurityProfiles?: string[]; applicationUser?: boolean }): string;
  /** Same code path as the ImportSolution action. */
  importSolution(zip: Buffer): Promise<void>;
  applySolutionModel(model: SolutionModel): void;
  setEnvironmentVariable(schemaName: string, value: string): void;
  getEnvironmentVariable(schemaName: string): string | undefined;
  stats(): EmulatorStats;
  /** What the latency model charged since the last `resetStats` (undefined when the model is off). */
  latencyLedger(): LatencyLedger | undefined;
  resetStats(): void;
  /** Answers the next `times` requests that `match` with a 429 and `Retry-After` (see ThrottleRule); returns the rule, whose `fired` counts them. */
  throttleRequests(rule: Omit<ThrottleRule, "fired">): ThrottleRule;
  /** Resolves when no asynchronous webhook (system job) is queued or running. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 128 * 1024 * 1024;
/**
 * The longest URL Dataverse accepts: 32 KB, 32,768 characters ("Compose HTTP requests and handle errors", Maximum
 * URL length, https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors).
 * Node's own 16 KB header limit is raised to let every URL Dataverse takes through.
 */
export const MAX_URL_CHARS = 32_768;
/**
 * What a tenant answers a longer URL: status 414 and the stock HTML page of the web server in front of the Web API,
 * not an OData error (no JSON, no error code): the answer a real environment gave, quoted in a public report,
 * https://github.com/microsoft/vscode-copilotstudio/issues/122 ("Dataverse request failed (414): <HTML>…"). Learn
 * documents neither the status nor the body; the report does not say how long that URL was, so the limit stays
 * Learn's figure, nor which headers came with it (`Content-Type: text/html` is our reading of the page). 414 is
 * also HTTP's status for a request target too long to interpret (RFC 9110 §15.5.15); docs/platform/dataverse.md 1.1.
 */
export const URL_TOO_LONG_BODY = [
  "<HTML><HEAD><TITLE>Request URL Too Long</TITLE></HEAD>",
  "<BODY><h2>Request URL Too Long</h2>",
  "<hr><p>HTTP Error 414. The request URL is too long.</p>",
  "</BODY></HTML>",
].join("\r\n");
const ENV_TYPES: Record<string, number> = { String: 100000000, Number: 100000001, Boolean: 100000002, JSON: 100000003, Secret: 100000005 };

/** The ImportSolution action: the product's own solution reader, so import and pack agree on the format. */
async function readSolution(zip: Buffer): Promise<SolutionModel> {
  try {
    return await readSolutionZip(zip);
  } catch (err) {
    throw new DataverseHttpError(400, "0x80048033", `The import file is not a valid solution: ${(err as Error).message}`);
  }
}

export async function startDataverseEmulator(options: DataverseEmulatorOptions = {}): Promise<DataverseEmulator> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const orgName = options.orgName ?? "work365dev";
  const organization = describeOrganization(orgName);
  const orgId = organization.id;
  const businessUnitId = deterministicGuid(`bu:${orgName}`);
  const store = new Store(options.dbPath ?? ":memory:");
  const counters = { requests: 0, batchItems: 0, throttled: 0 };
  const webhookStats = { webhooksSent: 0, webhooksFailed: 0 };
  const users = new Map<string, UserInfo>();

  /** Current value of an environment variable: its value row (linked by lookup or by schema name), else the default. */
  const getEnvironmentVariable = (schemaName: string): string | undefined => {
    const def = store
      .stmt(`SELECT environmentvariabledefinitionid AS id, defaultvalue FROM "environmentvariabledefinition" WHERE schemaname = ?`)
      .get(schemaName) as { id: string; defaultvalue: string | null } | undefined;
    const value = store
      .stmt(
        `SELECT value FROM "environmentvariablevalue" WHERE environmentvariabledefinitionid = ? OR schemaname = ? ORDER BY versionnumber DESC LIMIT 1`,
      )
      .get(def?.id ?? null, schemaName) as { value: string | null } | undefined;
    if (value?.value !== undefined && value.value !== null) return value.value;
    return def?.defaultvalue ?? undefined;
  };

  const pipeline = new EventPipeline(store, {
    organization,
    timeoutMs: options.webhookTimeoutMs ?? 60_000,
    logger,
    clock,
    stats: webhookStats,
    getEnvironmentVariable,
  });
  const records = new Records(store, pipeline, clock);
  const systemUser: UserInfo = {
    id: deterministicGuid(`user:SYSTEM:${orgName}`),
    name: "SYSTEM",
    fieldSecurity: true,
    applicationUser: false,
    businessUnitId,
  };

  /** Sync upsert used for seed and solution rows (not counted as client writes). */
  const upsertSystemRow = (table: string, id: string, values: Row) => {
    const meta = store.table(table)!;
    const existing = store.getRow(meta, id);
    const now = records.now();
    const version = store.nextVersion();
    const before = store.writes;
    if (existing) store.update(meta, id, { ...values, modifiedon: now, versionnumber: version });
    else {
      const row: Row = {
        statecode: 0,
        statuscode: table === "asyncoperation" ? 0 : 1,
        ...values,
        [meta.primaryId]: id,
        createdon: now,
        modifiedon: now,
        versionnumber: version,
        createdby: systemUser.id,
        modifiedby: systemUser.id,
      };
      if (meta.def.ownership === "UserOwned")
        Object.assign(row, { ownerid: systemUser.id, ownerid__type: "systemuser", owningbusinessunit: businessUnitId });
      for (const c of meta.def.columns) if (c.type === "boolean" && row[c.logicalName] === undefined) row[c.logicalName] = 0;
      store.insert(meta, row);
    }
    store.writes = before;
  };

  upsertSystemRow("organization", orgId, { name: organization.friendlyName, uniquename: organization.uniqueName });
  upsertSystemRow("businessunit", businessUnitId, { name: orgName });
  upsertSystemRow("systemuser", systemUser.id, { fullname: "SYSTEM", domainname: "SYSTEM", businessunitid: businessUnitId, isdisabled: 0 });

  /** The sdkmessage row of a message (a custom API gets one when it is created); same id in every run. */
  const ensureMessage = (name: string): string => {
    // The platform's own messages have the same id in every environment; others get one when created.
    const id = SDK_MESSAGE_IDS[name] ?? deterministicGuid(`sdkmessage:${name.toLowerCase()}`);
    if (!store.getRow(store.table("sdkmessage")!, id)) upsertSystemRow("sdkmessage", id, { name });
    return id;
  };
  /** The sdkmessagefilter row saying the message applies to a table. */
  const ensureFilter = (messageName: string, entity: string): string => {
    const messageId = ensureMessage(messageName);
    const id = deterministicGuid(`sdkmessagefilter:${messageName.toLowerCase()}:${entity}`);
    if (!store.getRow(store.table("sdkmessagefilter")!, id))
      upsertSystemRow("sdkmessagefilter", id, { sdkmessageid: messageId, primaryobjecttypecode: entity });
    return id;
  };
  for (const name of ["Create", "Update", "Delete"]) ensureMessage(name);

  const issueToken = (user: {
    name: string;
    fieldSecurity?: boolean;
    fieldSecurityProfiles?: string[];
    applicationUser?: boolean;
  }): string => {
    const id = deterministicGuid(`user:${user.name}:${orgName}`);
    upsertSystemRow("systemuser", id, {
      fullname: user.name,
      domainname: user.applicationUser
        ? `${id}@application`
        : `${user.name.toLowerCase().replace(/[^a-z0-9]+/g, ".")}@${orgName}.onmicrosoft.com`,
      businessunitid: businessUnitId,
      isdisabled: 0,
      ...(user.applicationUser ? { applicationid: deterministicGuid(`app:${user.name}`) } : {}),
    });
    const token = `dvemu.${randomBytes(24).toString("base64url")}`;
    registerSecret(token);
    users.set(token, {
      id,
      name: user.name,
      fieldSecurity: user.fieldSecurity ?? false,
      fieldSecurityProfiles: user.fieldSecurityProfiles,
      applicationUser: user.applicationUser ?? false,
      businessUnitId,
    });
    return token;
  };

  const setEnvironmentVariable = (schemaName: string, value: string) => {
    const defRow = store
      .stmt(`SELECT environmentvariabledefinitionid AS id FROM "environmentvariabledefinition" WHERE schemaname = ?`)
      .get(schemaName) as { id: string } | undefined;
    const defId = defRow?.id ?? deterministicGuid(`envdef:${schemaName}`);
    if (!defRow)
      upsertSystemRow("environmentvariabledefinition", defId, { schemaname: schemaName, displayname: schemaName, type: ENV_TYPES.String });
    const valueRow = store
      .stmt(`SELECT environmentvariablevalueid AS id FROM "environmentvariablevalue" WHERE schemaname = ?`)
      .get(schemaName) as { id: string } | undefined;
    upsertSystemRow("environmentvariablevalue", valueRow?.id ?? randomUUID(), {
      schemaname: schemaName,
      value,
      environmentvariabledefinitionid: defId,
    });
  };

  const applySolutionModel = (model: SolutionModel) => {
    const relationships = (model as SolutionModel & { relationships?: RelationshipDef[] }).relationships ?? [];
    const apply = store.db.transaction(() => {
      const byKey = <T>(list: T[], incoming: T[], key: (t: T) => string) => {
        const map = new Map(list.map((x) => [key(x), x]));
        for (const x of incoming) map.set(key(x), x);
        return [...map.values()];
      };
      store.catalog = {
        tables: store.catalog.tables,
        relationships: byKey(store.catalog.relationships, relationships, (r) => r.name),
        customApis: byKey(store.catalog.customApis, model.customApis, (a) => a.uniqueName.toLowerCase()),
        serviceEndpoints: byKey(store.catalog.serviceEndpoints, model.serviceEndpoints, (e) => e.id.toLowerCase()),
        steps: byKey(store.catalog.steps, model.steps, (s) => s.id.toLowerCase()),
        environmentVariables: byKey(store.catalog.environmentVariables, model.environmentVariables, (e) => e.schemaName),
        fieldSecurityProfiles: byKey(store.catalog.fieldSecurityProfiles, model.fieldSecurityProfiles, (f) => f.id.toLowerCase()),
      };
      store.registerTables(model.tables);
      store.catalog.tables = byKey(
        store.catalog.tables,
        model.tables.map((t) => store.table(t.logicalName)!.def),
        (t) => t.logicalName,
      );
      store.saveCatalog();

      const publisherId = deterministicGuid(`publisher:${model.publisher.uniqueName}`);
      upsertSystemRow("publisher", publisherId, {
        uniquename: model.publisher.uniqueName,
        friendlyname: model.publisher.displayName,
        customizationprefix: model.publisher.customizationPrefix,
        customizationoptionvalueprefix: model.publisher.optionValuePrefix,
      });
      upsertSystemRow("solution", deterministicGuid(`solution:${model.uniqueName}`), {
        uniquename: model.uniqueName,
        friendlyname: model.displayName,
        version: model.version,
        ismanaged: model.managed ? 1 : 0,
        description: model.description ?? null,
        installedon: records.now(),
        publisherid: publisherId,
      });
      for (const ev of model.environmentVariables) {
        const existing = store
          .stmt(`SELECT environmentvariabledefinitionid AS id FROM "environmentvariabledefinition" WHERE schemaname = ?`)
          .get(ev.schemaName) as { id: string } | undefined;
        upsertSystemRow("environmentvariabledefinition", existing?.id ?? deterministicGuid(`envdef:${ev.schemaName}`), {
          schemaname: ev.schemaName,
          displayname: ev.displayName,
          description: ev.description,
          defaultvalue: ev.defaultValue ?? null,
          isrequired: ev.isRequired ? 1 : 0,
          type: ENV_TYPES[ev.type] ?? ENV_TYPES.String,
        });
      }
      for (const ep of model.serviceEndpoints) {
        upsertSystemRow("serviceendpoint", ep.id.toLowerCase(), {
          name: ep.name,
          description: ep.description ?? null,
          url: ep.url,
          contract: ep.contract,
          authtype: ep.authType,
          messageformat: ep.messageFormat,
          userclaim: ep.userClaim,
        });
      }
      for (const t of model.tables) for (const m of ["Create", "Update", "Delete"]) ensureFilter(m, t.logicalName);
      for (const api of model.customApis) {
        ensureMessage(api.uniqueName);
        if (api.bindingType !== 0 && api.boundEntityLogicalName) ensureFilter(api.uniqueName, api.boundEntityLogicalName);
      }
      for (const step of model.steps) {
        const messageId = ensureMessage(step.message);
        const entity = step.primaryEntity && step.primaryEntity !== "none" ? step.primaryEntity : undefined;
        upsertSystemRow("sdkmessageprocessingstep", step.id.toLowerCase(), {
          name: step.name,
          description: step.description ?? null,
          sdkmessageid: messageId,
          sdkmessagefilterid: entity ? ensureFilter(step.message, entity) : null,
          eventhandler: step.serviceEndpointId.toLowerCase(),
          primaryobjecttypecode: step.primaryEntity ?? "none",
          filteringattributes: step.filteringAttributes.join(",") || null,
          mode: step.mode,
          stage: step.stage,
          rank: step.rank,
          asyncautodelete: step.asyncAutoDelete ? 1 : 0,
        });
      }
      for (const api of model.customApis) {
        const apiId = deterministicGuid(`customapi:${api.uniqueName.toLowerCase()}`);
        upsertSystemRow("customapi", apiId, {
          uniquename: api.uniqueName,
          name: api.name,
          displayname: api.displayName,
          description: api.description.slice(0, 300),
          bindingtype: api.bindingType,
          boundentitylogicalname: api.boundEntityLogicalName ?? null,
          isfunction: api.isFunction ? 1 : 0,
          isprivate: api.isPrivate ? 1 : 0,
          allowedcustomprocessingsteptype: api.allowedCustomProcessingStepType,
          workflowsdkstepenabled: api.workflowSdkStepEnabled ? 1 : 0,
        });
        const typeCode = (t: string) =>
          [
            "Boolean",
            "DateTime",
            "Decimal",
            "Entity",
            "EntityCollection",
            "EntityReference",
            "Float",
            "Integer",
            "Money",
            "Picklist",
            "String",
            "StringArray",
            "Guid",
          ].indexOf(t);
        for (const p of api.requestParameters) {
          upsertSystemRow("customapirequestparameter", deterministicGuid(`customapiparam:${api.uniqueName}.${p.uniqueName}`), {
            uniquename: p.uniqueName,
            name: p.name,
            displayname: p.displayName,
            description: p.description.slice(0, 300),
            type: typeCode(p.type),
            isoptional: p.isOptional ? 1 : 0,
            logicalentityname: p.logicalEntityName ?? null,
            customapiid: apiId,
          });
        }
        for (const p of api.responseProperties) {
          upsertSystemRow("customapiresponseproperty", deterministicGuid(`customapiprop:${api.uniqueName}.${p.uniqueName}`), {
            uniquename: p.uniqueName,
            name: p.name,
            displayname: p.displayName,
            description: p.description.slice(0, 300),
            type: typeCode(p.type),
            logicalentityname: p.logicalEntityName ?? null,
            customapiid: apiId,
          });
        }
      }
    });
    apply();
  };

  const importSolution = async (zip: Buffer): Promise<void> => {
    const read = await readSolution(zip);
    await store.withWriteLock(async () => {
      const model = checkImport(read, {
        messageExists: (id) => Boolean(store.getRow(store.table("sdkmessage")!, id.toLowerCase())),
        installedSolution: (uniqueName) => {
          const row = store.stmt(`SELECT version, ismanaged FROM "solution" WHERE uniquename = ?`).get(uniqueName) as
            { version: string | null; ismanaged: number | null } | undefined;
          return row ? { version: String(row.version ?? "0.0.0.0"), managed: Number(row.ismanaged) === 1 } : undefined;
        },
      });
      applySolutionModel(model);
    });
  };

  const faultRandom = seededRandom(options.faults?.seed ?? 1);
  const throttleRules: ThrottleRule[] = [];
  const latency = options.latency ? new DataverseLatencyLayer(options.latency) : undefined;
  const handler = new Handler({
    store,
    records,
    pipeline,
    protection: new ServiceProtection(options.serviceProtection ?? { enabled: false }, clock),
    stats: counters,
    users,
    organization,
    businessUnitId,
    logger,
    clock,
    faults: {
      rate429: options.faults?.rate429 ?? 0,
      rate412: options.faults?.rate412 ?? 0,
      ...(options.faults?.sets412 ? { sets412: options.faults.sets412 } : {}),
      random: faultRandom,
      throttleRules,
    },
    importSolution,
    importDurationMs: options.importDurationMs ?? 0,
    latency,
    ...(options.failedChangeSet ? { failedChangeSet: options.failedChangeSet } : {}),
  });

  const server = http.createServer({ maxHeaderSize: 2 * MAX_URL_CHARS }, (req, res) => void serve(req, res));
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const origin = req.headers.origin;
    const cors: Record<string, string> = {};
    if (origin && /^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/i.test(origin)) {
      cors["Access-Control-Allow-Origin"] = origin;
      cors["Vary"] = "Origin";
      cors["Access-Control-Expose-Headers"] =
        "OData-EntityId, OData-Version, Location, ETag, Preference-Applied, Retry-After, REQ_ID, x-ms-service-request-id";
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "Access-Control-Allow-Methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS",
        "Access-Control-Allow-Headers":
          req.headers["access-control-request-headers"] ??
          "Authorization, Content-Type, Accept, OData-Version, OData-MaxVersion, Prefer, If-Match, If-None-Match",
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return;
    }
    if ((req.url ?? "").length > MAX_URL_CHARS) {
      // Refused in front of the Web API, as a tenant does: its HTML page, before the body is read or a request counted.
      res.writeHead(414, { ...cors, "Content-Type": "text/html" });
      res.end(URL_TOO_LONG_BODY);
      return;
    }
    let response: EmuResponse;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) throw new DataverseHttpError(413, ErrorCodes.ODataBadRequest, "The request body is too large.");
        chunks.push(chunk as Buffer);
      }
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
      const emuReq: EmuRequest = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      response = await handler.handle(emuReq, req.headers.host ?? `127.0.0.1:${(server.address() as AddressInfo).port}`);
    } catch (err) {
      response = errorResponse(err, logger);
    }
    if (!res.writable) return;
    res.writeHead(response.status, { ...response.headers, ...cors });
    res.end(response.body);
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const integrationToken = issueToken({ name: "Work 365 Integration", fieldSecurity: true, applicationUser: true });
  // A Work 365 admin: may enter and replace the Ion secrets (the solution's admin field security profile) but never read them.
  const adminToken = issueToken({
    name: "Work 365 Admin",
    fieldSecurity: false,
    fieldSecurityProfiles: ["Work 365 Connector Admin Secrets"],
  });
  let closed = false;

  return {
    url: `http://127.0.0.1:${port}`,
    integrationToken,
    adminToken,
    issueToken,
    importSolution,
    applySolutionModel,
    setEnvironmentVariable,
    throttleRequests(rule) {
      const added: ThrottleRule = { ...rule, fired: 0 };
      throttleRules.push(added);
      return added;
    },
    getEnvironmentVariable,
    stats: () => ({ ...counters, writes: store.writes, ...webhookStats, autoIndexes: [...store.autoIndexes] }),
    latencyLedger: () => (latency ? structuredClone(latency.ledger) : undefined),
    resetStats: () => {
      latency?.resetLedger();
      counters.requests = 0;
      counters.batchItems = 0;
      counters.throttled = 0;
      store.writes = 0;
      webhookStats.webhooksSent = 0;
      webhookStats.webhooksFailed = 0;
    },
    whenIdle: () => pipeline.whenIdle(),
    close: async () => {
      if (closed) return;
      closed = true;
      pipeline.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // Wait for the write lock so no transaction is open when the database closes.
      await store.withWriteLock(async () => undefined);
      store.close();
    },
  };
}
