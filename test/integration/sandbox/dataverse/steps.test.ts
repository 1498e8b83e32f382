/* eslint-disable @typescript-eslint/no-explicit-any -- conformance tests assert on arbitrary Web API JSON bodies */
/** The sdkmessageprocessingstep rows are what the event pipeline runs, whoever wrote them (import or Web API). */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { type Api, ENDPOINT_ID, startWithFixture, STEP_VERIFY } from "../../../support/dataverseFixture";

const STEP_ID = "5e5e5e5e-1111-4222-8333-444455556666";
const received: any[] = [];
let server: http.Server;
let receiverUrl: string;
let api: Api;
let conn: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = await startWithFixture();
  api.emu.setEnvironmentVariable("w365_FunctionsBaseUrl", receiverUrl);
  const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Steps conn" } });
  conn = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
});
beforeEach(() => {
  received.length = 0;
});
afterAll(async () => {
  await api.emu.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const messageId = async (name: string): Promise<string> => {
  const r = await api.call("GET", `sdkmessages?$select=sdkmessageid,name&$filter=name eq '${name}'`);
  expect(r.status).toBe(200);
  expect(r.json.value).toHaveLength(1);
  return r.json.value[0].sdkmessageid as string;
};
const ping = () => api.call("POST", "w365_Ping", { body: { Message: "hello" } });

describe("Dataverse emulator: SDK messages and filters (reference 3)", () => {
  it("serves a message for Create, Update, Delete and each imported custom API, and filters for bound APIs", async () => {
    for (const name of ["Create", "Update", "Delete", "w365_Ping", "w365_VerifyConnectivity", "w365_SyncProviderAccounts"])
      await messageId(name);
    const verify = await messageId("w365_VerifyConnectivity");
    const f = await api.call(
      "GET",
      `sdkmessagefilters?$select=sdkmessagefilterid&$filter=_sdkmessageid_value eq ${verify} and primaryobjecttypecode eq 'w365_providerconnection'`,
    );
    expect(f.json.value).toHaveLength(1);
    const step = await api.call("GET", `sdkmessageprocessingsteps(${STEP_VERIFY})?$select=_sdkmessageid_value,_sdkmessagefilterid_value`);
    expect(step.json._sdkmessageid_value).toBe(verify);
    expect(step.json._sdkmessagefilterid_value).toBe(f.json.value[0].sdkmessagefilterid);
  });
});

describe("Dataverse emulator: steps registered through the Web API fire (reference 3)", () => {
  it("a step created on a custom API message fires; disabled or deleted, it no longer does", async () => {
    expect((await ping()).status).toBe(200);
    expect(received).toHaveLength(0); // w365_Ping ships without a step

    const created = await api.call("POST", "sdkmessageprocessingsteps", {
      body: {
        sdkmessageprocessingstepid: STEP_ID,
        name: "Ping: webhook",
        mode: 0,
        stage: 40,
        rank: 1,
        asyncautodelete: false,
        supporteddeployment: 0,
        "sdkmessageid@odata.bind": `/sdkmessages(${await messageId("w365_Ping")})`,
        "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${ENDPOINT_ID})`,
      },
    });
    expect(created.status).toBe(204);
    expect((await ping()).status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      MessageName: "w365_Ping",
      Stage: 40,
      Mode: 0,
      OwningExtension: { Id: STEP_ID, Name: "Ping: webhook" },
    });
    expect(received[0].InputParameters).toContainEqual({ key: "Message", value: "hello" });

    expect((await api.call("PATCH", `sdkmessageprocessingsteps(${STEP_ID})`, { body: { statecode: 1, statuscode: 2 } })).status).toBe(204);
    await ping();
    expect(received).toHaveLength(1);
    expect((await api.call("PATCH", `sdkmessageprocessingsteps(${STEP_ID})`, { body: { statecode: 0, statuscode: 1 } })).status).toBe(204);
    await ping();
    expect(received).toHaveLength(2);

    expect((await api.call("DELETE", `sdkmessageprocessingsteps(${STEP_ID})`)).status).toBe(204);
    await ping();
    expect(received).toHaveLength(2);
  });

  it("a step re-bound to another message fires on that message instead", async () => {
    const before = await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
    expect(before.status).toBe(204);
    expect(received.map((r) => r.MessageName)).toStrictEqual(["w365_VerifyConnectivity"]);
    const rebind = await api.call("PATCH", `sdkmessageprocessingsteps(${STEP_VERIFY})`, {
      body: { "sdkmessageid@odata.bind": `/sdkmessages(${await messageId("w365_Ping")})`, "sdkmessagefilterid@odata.bind": null },
    });
    expect(rebind.status).toBe(204);
    await api.call("POST", `w365_providerconnections(${conn})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
    await ping();
    expect(received.map((r) => r.MessageName)).toStrictEqual(["w365_VerifyConnectivity", "w365_Ping"]);
  });

  it("an Update step created through the Web API honours its table filter and filtering attributes", async () => {
    const update = await messageId("Update");
    const f = await api.call(
      "GET",
      `sdkmessagefilters?$select=sdkmessagefilterid&$filter=_sdkmessageid_value eq ${update} and primaryobjecttypecode eq 'w365_providerconnection'`,
    );
    const r = await api.call("POST", "sdkmessageprocessingsteps", {
      body: {
        name: "Connection status: webhook",
        mode: 0,
        stage: 40,
        rank: 1,
        filteringattributes: "w365_status",
        "sdkmessageid@odata.bind": `/sdkmessages(${update})`,
        "sdkmessagefilterid@odata.bind": `/sdkmessagefilters(${f.json.value[0].sdkmessagefilterid})`,
        "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${ENDPOINT_ID})`,
      },
    });
    expect(r.status).toBe(204);
    await api.call("PATCH", `w365_providerconnections(${conn})`, { body: { w365_name: "renamed" } });
    expect(received).toHaveLength(0);
    await api.call("PATCH", `w365_providerconnections(${conn})`, { body: { w365_status: 365000001 } });
    expect(received.map((x) => [x.MessageName, x.PrimaryEntityName])).toStrictEqual([["Update", "w365_providerconnection"]]);
  });

  it("refuses a step bound to a kind of handler the emulator does not have (plug-in types)", async () => {
    const r = await api.call("POST", "sdkmessageprocessingsteps", {
      body: {
        name: "bad",
        stage: 40,
        mode: 0,
        "sdkmessageid@odata.bind": `/sdkmessages(${await messageId("Create")})`,
        "eventhandler_plugintype@odata.bind": `/plugintypes(${STEP_ID})`,
      },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/eventhandler_plugintype/);
  });
});
