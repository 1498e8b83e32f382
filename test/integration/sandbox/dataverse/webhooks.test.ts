/* eslint-disable @typescript-eslint/no-explicit-any -- conformance tests assert on arbitrary Web API JSON bodies */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { startDataverseEmulator } from "../../../../sandbox/dataverse";
import { memoryLogger } from "../../../../src/shared/logger";
import type { SolutionModel } from "../../../../src/solution/model";
import {
  type Api,
  apiFor,
  ENDPOINT_ID,
  fixtureModel,
  startWithFixture,
  STEP_SUB_UPDATE,
  STEP_SYNC,
  STEP_VERIFY,
} from "../../../support/dataverseFixture";

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A tiny webhook receiver standing in for the functions app. */
async function startReceiver() {
  const received: Received[] = [];
  let responder: (r: Received, n: number) => { status: number; body?: string; delayMs?: number } = () => ({ status: 200 });
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      };
      received.push(r);
      const out = responder(r, received.length);
      const send = () => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(out.status, { "Content-Type": "application/json" });
        res.end(out.body ?? "");
      };
      if (out.delayMs) {
        const t = setTimeout(send, out.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    respond(fn: typeof responder) {
      responder = fn;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
const KEY = "functions-key-0123456789";
let api: Api;
let rx: Receiver;
let conn: string;
const logger = memoryLogger();

beforeAll(async () => {
  rx = await startReceiver();
  api = await startWithFixture({ logger });
  api.emu.setEnvironmentVariable("w365_FunctionsBaseUrl", rx.url);
  api.emu.setEnvironmentVariable("w365_FunctionsKey", KEY);
  const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Webhook conn" } });
  conn = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
});
afterEach(() => {
  rx.received.length = 0;
  rx.respond(() => ({ status: 200 }));
});
afterAll(async () => {
  await api.emu.close();
  await rx.close();
});

describe("Dataverse emulator: custom API webhooks (reference 3, 4)", () => {
  it("3: a synchronous step POSTs the RemoteExecutionContext with the x-ms-dynamics-* headers and ?code=<key>", async () => {
    const r = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, {
      body: {},
      headers: { "x-ms-correlation-request-id": "3d7e0f6a-0000-4000-8000-00000000c0de" },
    });
    expect(r.status).toBe(204);
    expect(rx.received).toHaveLength(1);
    const hook = rx.received[0]!;
    expect(hook.method).toBe("POST");
    // The environment variable held only a base URL: the shipped path is appended.
    expect(hook.url).toBe(`/api/dataverse/webhook?code=${KEY}`);
    expect(hook.headers["content-type"]).toBe("application/json");
    expect(hook.headers["x-ms-dynamics-organization"]).toBe("work365dev.crm.dynamics.com");
    expect(hook.headers["x-ms-dynamics-entity-name"]).toBe("w365_providerconnection");
    expect(hook.headers["x-ms-dynamics-request-name"]).toBe("w365_VerifyConnectivity");
    expect(hook.headers["x-ms-correlation-request-id"]).toBe("3d7e0f6a-0000-4000-8000-00000000c0de");
    expect(hook.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const who = (await api.call("GET", "WhoAmI")).json;
    const org = (
      await api.call("GET", "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'")
    ).json.Detail;
    // As in a tenant: OrganizationName is the unique name (unq + 32 hex), not the URL label, and the header
    // names the host of the organization's WebApplication endpoint.
    expect(org.UniqueName).toMatch(/^unq[0-9a-f]{32}$/);
    expect(org.UrlName).toBe("work365dev");
    expect(org.OrganizationId).toBe(who.OrganizationId);
    const web = org.Endpoints.Values[org.Endpoints.Keys.indexOf("WebApplication")];
    expect(new URL(web).hostname).toBe(hook.headers["x-ms-dynamics-organization"]);
    const ctx = hook.body;
    expect(ctx).toMatchObject({
      MessageName: "w365_VerifyConnectivity",
      Mode: 0,
      Stage: 40,
      Depth: 1,
      PrimaryEntityName: "w365_providerconnection",
      PrimaryEntityId: conn,
      OrganizationName: org.UniqueName,
      OrganizationId: who.OrganizationId,
      UserId: who.UserId,
      InitiatingUserId: who.UserId,
      BusinessUnitId: who.BusinessUnitId,
      CorrelationId: "3d7e0f6a-0000-4000-8000-00000000c0de",
      SecondaryEntityName: "none",
      IsInTransaction: true,
      ParentContext: null,
      PreEntityImages: [],
      PostEntityImages: [],
      SharedVariables: [],
      OwningExtension: {
        __type: "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
        Id: STEP_VERIFY,
        LogicalName: "sdkmessageprocessingstep",
      },
    });
    expect(ctx.OperationCreatedOn).toMatch(/^\/Date\(\d+\)\/$/);
    expect(ctx.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.OperationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.InputParameters).toEqual([
      {
        key: "Target",
        value: {
          __type: "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
          Id: conn,
          KeyAttributes: [],
          LogicalName: "w365_providerconnection",
          Name: null,
          RowVersion: null,
        },
      },
    ]);
  });

  it("3: a failing synchronous step fails the API call with 0x80040265 and the webhook's message", async () => {
    rx.respond(() => ({ status: 500, body: JSON.stringify({ message: "Ion refused the API secret." }) }));
    const r = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "0x80040265", message: "Ion refused the API secret." });
    expect(api.emu.stats().webhooksFailed).toBeGreaterThan(0);
    expect(logger.lines.join("\n")).not.toContain(KEY);
  });

  it("3: 502/503/504 get exactly one more attempt", async () => {
    rx.respond((_, n) => ({ status: n === 1 ? 503 : 200 }));
    const ok = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
    expect(ok.status).toBe(204);
    expect(rx.received).toHaveLength(2);
    // Each POST is its own request (x-request-id); the retry carries the same correlation.
    expect(rx.received[0]!.headers["x-request-id"]).not.toBe(rx.received[1]!.headers["x-request-id"]);
    expect(rx.received[0]!.headers["x-ms-correlation-request-id"]).toBe(rx.received[1]!.headers["x-ms-correlation-request-id"]);
    rx.received.length = 0;
    rx.respond(() => ({ status: 502, body: "bad gateway" }));
    const failed = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
    expect(failed.status).toBe(400);
    expect(failed.json.error.message).toBe("bad gateway");
    expect(rx.received).toHaveLength(2);
  });

  it("3: an asynchronous step answers at once, then runs as a system job recorded in asyncoperations (0 → 20 → 30)", async () => {
    const r = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_SyncProviderAccounts`, {
      body: { DryRun: true, RequestId: "req-42" },
    });
    expect(r.status).toBe(204);
    await api.emu.whenIdle();
    expect(rx.received).toHaveLength(1);
    const ctx = rx.received[0]!.body;
    expect(ctx).toMatchObject({ MessageName: "w365_SyncProviderAccounts", Mode: 1, Stage: 40, IsInTransaction: false });
    expect(ctx.InputParameters).toEqual(
      expect.arrayContaining([
        { key: "DryRun", value: true },
        { key: "RequestId", value: "req-42" },
      ]),
    );
    const jobs = await api.call(
      "GET",
      `asyncoperations?$filter=_owningextensionid_value eq ${STEP_SYNC}&$select=statuscode,statecode,name,messagename,startedon,completedon`,
    );
    expect(jobs.json.value).toHaveLength(1);
    expect(jobs.json.value[0]).toMatchObject({
      statuscode: 30,
      statecode: 3,
      messagename: "w365_SyncProviderAccounts",
      name: "Sync Provider Accounts: webhook",
    });
    expect(jobs.json.value[0].completedon).toMatch(/Z$/);
  });

  it("3: a failed asynchronous step leaves its job Failed (31) with the message; the caller already succeeded", async () => {
    rx.respond(() => ({ status: 400, body: JSON.stringify({ error: { message: "Connector is not verified." } }) }));
    const r = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_SyncProviderAccounts`, { body: {} });
    expect(r.status).toBe(204);
    await api.emu.whenIdle();
    const jobs = await api.call(
      "GET",
      `asyncoperations?$filter=_owningextensionid_value eq ${STEP_SYNC} and statuscode eq 31&$select=message,statecode`,
    );
    expect(jobs.json.value[0]).toMatchObject({ statecode: 3, message: "Connector is not verified." });
  });

  it("4: parameters are validated against the definition (unknown, wrong type, missing required)", async () => {
    const unknown = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_SyncProviderAccounts`, {
      body: { Nope: 1 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toBe(
      "The parameter 'Nope' in the request payload is not a valid parameter for the operation 'w365_SyncProviderAccounts'.",
    );
    const wrong = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_SyncProviderAccounts`, {
      body: { DryRun: "yes" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.message).toContain("'Edm.Boolean'");
    const missing = await api.call("POST", "w365_Ping", { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toBe("The required parameter 'Message' of the operation 'w365_Ping' is missing.");
    const badGuid = await api.call("POST", "w365_Ping", { body: { Message: "hi", ProviderAccountId: "not-a-guid" } });
    expect(badGuid.status).toBe(400);
    expect(rx.received).toHaveLength(0);
  });

  it("4: an unbound API answers its response properties with @odata.context; a bound API on a missing record is 404", async () => {
    const r = await api.call("POST", "w365_Ping", { body: { Message: "hello", Count: 3 } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ "@odata.context": `${api.base}$metadata#Microsoft.Dynamics.CRM.w365_PingResponse`, Echo: null });
    const missing = await api.call(
      "POST",
      "w365_providerconnections(00000000-0000-0000-0000-0000000000aa)/Microsoft.Dynamics.CRM.w365_VerifyConnectivity",
      { body: {} },
    );
    expect(missing.status).toBe(404);
    const wrongTable = await api.call("POST", `accounts(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
    expect(wrongTable.status).toBeGreaterThanOrEqual(400);
  });
});

describe("Dataverse emulator: Create/Update/Delete steps (reference 3)", () => {
  it("3: Update steps honour filtering attributes and send typed Target attributes plus the requested pre-image", async () => {
    const created = await api.call("POST", "w365_providersubscriptions", {
      body: {
        w365_ionsubscriptionid: "wh-1",
        w365_quantity: 5,
        w365_cost: 12.5,
        "w365_connection@odata.bind": `/w365_providerconnections(${conn})`,
      },
    });
    const id = /\(([0-9a-f-]{36})\)$/.exec(created.headers.get("odata-entityid")!)![1]!;
    await api.call("PATCH", `w365_providersubscriptions(${id})`, { body: { w365_quantity: 6 } });
    await api.emu.whenIdle();
    expect(rx.received).toHaveLength(0); // w365_quantity is not a filtering attribute
    await api.call("PATCH", `w365_providersubscriptions(${id})`, {
      body: {
        w365_requestedquantity: 9,
        w365_cost: 13,
        w365_startdate: "2024-02-03",
        "w365_connection@odata.bind": `/w365_providerconnections(${conn})`,
      },
    });
    await api.emu.whenIdle();
    expect(rx.received).toHaveLength(1);
    const ctx = rx.received[0]!.body;
    expect(rx.received[0]!.headers["x-ms-dynamics-request-name"]).toBe("Update");
    expect(ctx).toMatchObject({
      MessageName: "Update",
      Mode: 1,
      Stage: 40,
      PrimaryEntityName: "w365_providersubscription",
      PrimaryEntityId: id,
    });
    const target = ctx.InputParameters.find((p: { key: string }) => p.key === "Target").value;
    expect(target).toMatchObject({
      __type: "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
      LogicalName: "w365_providersubscription",
      Id: id,
    });
    const attr = (k: string) => target.Attributes.find((a: { key: string }) => a.key === k)?.value;
    expect(attr("w365_requestedquantity")).toBe(9);
    expect(attr("w365_cost")).toEqual({ __type: "Money:http://schemas.microsoft.com/xrm/2011/Contracts", Value: 13 });
    expect(attr("w365_startdate")).toBe(`/Date(${Date.UTC(2024, 1, 3)})/`);
    expect(attr("w365_connection")).toMatchObject({
      __type: "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
      Id: conn,
      LogicalName: "w365_providerconnection",
    });
    expect(ctx.PreEntityImages).toHaveLength(1);
    expect(ctx.PreEntityImages[0].key).toBe("PreImage");
    expect(ctx.PreEntityImages[0].value.Attributes).toEqual([
      { key: "w365_quantity", value: 6 },
      { key: "w365_requestedquantity", value: null },
    ]);
    const jobs = await api.call("GET", `asyncoperations?$filter=_owningextensionid_value eq ${STEP_SUB_UPDATE}&$select=statuscode`);
    expect(jobs.json.value.map((j: { statuscode: number }) => j.statuscode)).toEqual([30]);
  });

  it("3: a failing synchronous Create step rolls the create back; Delete steps get a Target EntityReference", async () => {
    const extra: SolutionModel = {
      ...fixtureModel("1.0.0.1"),
      steps: [
        {
          id: "0a8e2b44-4444-4c1e-8d1a-1e2f3a4b5c04",
          name: "Account create: sync",
          message: "Create",
          primaryEntity: "account",
          serviceEndpointId: ENDPOINT_ID,
          stage: 40,
          mode: 0,
          rank: 1,
          filteringAttributes: [],
          asyncAutoDelete: false,
          images: [{ name: "post", entityAlias: "PostImage", imageType: 1, attributes: ["name"] }],
        },
        {
          id: "0a8e2b44-5555-4c1e-8d1a-1e2f3a4b5c05",
          name: "Account delete: async",
          message: "Delete",
          primaryEntity: "account",
          serviceEndpointId: ENDPOINT_ID,
          stage: 40,
          mode: 1,
          rank: 1,
          filteringAttributes: [],
          asyncAutoDelete: true,
          images: [],
        },
      ],
    };
    api.emu.applySolutionModel(extra);
    rx.respond(() => ({ status: 400, body: "Account names must be unique in Work 365." }));
    const refused = await api.call("POST", "accounts", { body: { name: "Hooked Account" } });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toEqual({ code: "0x80040265", message: "Account names must be unique in Work 365." });
    expect((await api.call("GET", "accounts?$filter=name eq 'Hooked Account'")).json.value).toHaveLength(0);
    const ctx = rx.received[0]!.body;
    expect(ctx.OutputParameters[0].key).toBe("id");
    expect(ctx.PostEntityImages[0]).toMatchObject({ key: "PostImage" });
    expect(ctx.PostEntityImages[0].value.Attributes).toEqual([{ key: "name", value: "Hooked Account" }]);

    rx.respond(() => ({ status: 200 }));
    rx.received.length = 0;
    const ok = await api.call("POST", "accounts", { body: { name: "Hooked Account" } });
    expect(ok.status).toBe(204);
    const id = /\(([0-9a-f-]{36})\)$/.exec(ok.headers.get("odata-entityid")!)![1]!;
    rx.received.length = 0;
    expect((await api.call("DELETE", `accounts(${id})`)).status).toBe(204);
    await api.emu.whenIdle();
    expect(rx.received).toHaveLength(1);
    expect(rx.received[0]!.body.InputParameters[0].value).toMatchObject({
      __type: "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
      Id: id,
      LogicalName: "account",
    });
    // asyncautodelete removes the successful job.
    const jobs = await api.call("GET", "asyncoperations?$filter=_owningextensionid_value eq 0a8e2b44-5555-4c1e-8d1a-1e2f3a4b5c05");
    expect(jobs.json.value).toHaveLength(0);
  });
});

describe("Dataverse emulator: webhook endpoint resolution and timeout (reference 3)", () => {
  it("3: a full URL in the environment variable is used as-is; a timeout fails the synchronous call", async () => {
    const emu = await startDataverseEmulator({ webhookTimeoutMs: 150 });
    const local = apiFor(emu);
    try {
      emu.applySolutionModel(fixtureModel());
      emu.setEnvironmentVariable("w365_FunctionsBaseUrl", `${rx.url}/custom/path?x=1`);
      emu.setEnvironmentVariable("w365_FunctionsKey", KEY);
      const c = await local.call("POST", "w365_providerconnections", { body: { w365_name: "t" } });
      const id = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
      rx.respond(() => ({ status: 200, delayMs: 2000 }));
      const r = await local.call("POST", `w365_providerconnections(${id})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe("The webhook call timed out after 150 ms.");
      expect(rx.received[0]!.url).toBe(`/custom/path?x=1&code=${KEY}`);
    } finally {
      await emu.close();
    }
  });
});

describe("Dataverse emulator: service endpoint rows (reference 3)", () => {
  it("3: a deployment's PATCH of serviceendpoint url/authvalue is honoured; authvalue is write-only", async () => {
    const emu = await startDataverseEmulator();
    const local = apiFor(emu);
    try {
      emu.applySolutionModel(fixtureModel());
      // No environment variable values: the row decides.
      const patched = await local.call("PATCH", `serviceendpoints(${ENDPOINT_ID})`, {
        body: { url: `${rx.url}/api/dataverse/webhook`, authtype: 4, authvalue: "row-key-123456" },
      });
      expect(patched.status).toBe(204);
      const read = await local.call("GET", `serviceendpoints(${ENDPOINT_ID})?$select=url,authvalue`);
      expect(read.json).toMatchObject({ url: `${rx.url}/api/dataverse/webhook`, authvalue: null });
      const c = await local.call("POST", "w365_providerconnections", { body: { w365_name: "row" } });
      const id = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
      expect(
        (await local.call("POST", `w365_providerconnections(${id})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} })).status,
      ).toBe(204);
      expect(rx.received[0]!.url).toBe("/api/dataverse/webhook?code=row-key-123456");
      // An environment variable value bound through the definition lookup takes precedence.
      const def = await local.call("GET", "environmentvariabledefinitions?$filter=schemaname eq 'w365_FunctionsKey'&$select=schemaname");
      await local.call("POST", "environmentvariablevalues", {
        body: {
          value: "env-key-654321",
          "EnvironmentVariableDefinitionId@odata.bind": `/environmentvariabledefinitions(${def.json.value[0].environmentvariabledefinitionid})`,
        },
      });
      rx.received.length = 0;
      await local.call("POST", `w365_providerconnections(${id})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
      expect(rx.received[0]!.url).toBe("/api/dataverse/webhook?code=env-key-654321");
    } finally {
      await emu.close();
    }
  });
});

describe("Dataverse emulator: concurrency", () => {
  it("reads are served while a change set waits on a synchronous webhook; other writes wait for it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const receiver = http.createServer((req, res) => {
      req.resume();
      void gate.then(() => res.end());
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const emu = await startDataverseEmulator();
    const local = apiFor(emu);
    try {
      const model = fixtureModel();
      model.steps = [
        {
          id: "0a8e2b44-6666-4c1e-8d1a-1e2f3a4b5c06",
          name: "Account create: sync",
          message: "Create",
          primaryEntity: "account",
          serviceEndpointId: ENDPOINT_ID,
          stage: 40,
          mode: 0,
          rank: 1,
          filteringAttributes: [],
          asyncAutoDelete: false,
          images: [],
        },
      ];
      emu.applySolutionModel(model);
      emu.setEnvironmentVariable("w365_FunctionsBaseUrl", `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
      const boundary = "batch_c";
      const body = [
        "--batch_c",
        "Content-Type: multipart/mixed; boundary=cs_c",
        "",
        "--cs_c",
        "Content-Type: application/http",
        "",
        "POST accounts HTTP/1.1",
        "Content-Type: application/json",
        "",
        '{"name":"In flight"}',
        "--cs_c--",
        "--batch_c--",
        "",
      ].join("\r\n");
      const batch = local.call("POST", "$batch", { body, headers: { "Content-Type": `multipart/mixed; boundary=${boundary}` } });
      while (emu.stats().webhooksSent === 0) await new Promise((r) => setTimeout(r, 5));
      let writeDone = false;
      const write = local.call("POST", "w365_providerconnections", { body: { w365_name: "waits" } }).then((r) => {
        writeDone = true;
        return r;
      });
      const read = await local.call("GET", "WhoAmI");
      expect(read.status).toBe(200);
      expect(writeDone).toBe(false);
      release();
      expect((await batch).status).toBe(200);
      expect((await write).status).toBe(204);
    } finally {
      release();
      await emu.close();
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});
