import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startDataverseEmulator } from "../../../../sandbox/dataverse";
import { readSolutionSource, writeSolutionZip } from "../../../../src/solution/io";
import type { SolutionModel } from "../../../../src/solution/model";
import { apiFor, fixtureModel } from "../../../support/dataverseFixture";

/** The fixture as a zip can carry it: steps on custom API messages are registered after import, not shipped. */
function portable(m: SolutionModel): SolutionModel {
  return { ...m, steps: m.steps.filter((st) => ["Create", "Update"].includes(st.message)) };
}

describe("Dataverse emulator: applying solutions (reference 4, 5)", () => {
  it("records solution, publisher, environment variables, service endpoints, steps and custom APIs as rows", async () => {
    const emu = await startDataverseEmulator();
    const api = apiFor(emu);
    try {
      emu.applySolutionModel(fixtureModel());
      const sol = await api.call(
        "GET",
        "solutions?$filter=uniquename eq 'StreamOneIonConnector'&$select=uniquename,version,ismanaged&$expand=publisherid($select=uniquename,customizationprefix)",
      );
      expect(sol.json.value).toHaveLength(1);
      expect(sol.json.value[0]).toMatchObject({
        version: "1.0.0.0",
        ismanaged: false,
        publisherid: { uniquename: "work365", customizationprefix: "w365" },
      });
      const defs = await api.call("GET", "environmentvariabledefinitions?$select=schemaname,type&$orderby=schemaname");
      expect(defs.json.value.map((d: { schemaname: string }) => d.schemaname)).toEqual(["w365_FunctionsBaseUrl", "w365_FunctionsKey"]);
      const endpoints = await api.call("GET", "serviceendpoints?$select=name,contract,authtype,url");
      expect(endpoints.json.value[0]).toMatchObject({ contract: 8, authtype: 4, url: "https://placeholder.invalid/api/dataverse/webhook" });
      const steps = await api.call(
        "GET",
        "sdkmessageprocessingsteps?$select=name,mode,stage,filteringattributes&$expand=sdkmessageid($select=name)&$orderby=name",
      );
      expect(steps.json.value).toHaveLength(3);
      expect(steps.json.value.find((s: { name: string }) => s.name.startsWith("Subscription"))).toMatchObject({
        mode: 1,
        stage: 40,
        filteringattributes: "w365_requestedquantity",
        sdkmessageid: { name: "Update" },
      });
      const apis = await api.call("GET", "customapis?$select=uniquename,bindingtype&$orderby=uniquename");
      expect(apis.json.value.map((a: { uniquename: string }) => a.uniquename)).toEqual([
        "w365_Ping",
        "w365_SyncProviderAccounts",
        "w365_VerifyConnectivity",
      ]);
      const params = await api.call("GET", "customapirequestparameters?$select=uniquename,type,isoptional&$filter=uniquename eq 'DryRun'");
      expect(params.json.value[0]).toMatchObject({ type: 0, isoptional: true });
      emu.setEnvironmentVariable("w365_FunctionsBaseUrl", "http://127.0.0.1:7071");
      expect(emu.getEnvironmentVariable("w365_FunctionsBaseUrl")).toBe("http://127.0.0.1:7071");
      const values = await api.call("GET", "environmentvariablevalues?$select=value,schemaname,_environmentvariabledefinitionid_value");
      expect(values.json.value[0]).toMatchObject({ schemaname: "w365_FunctionsBaseUrl", value: "http://127.0.0.1:7071" });
    } finally {
      await emu.close();
    }
  });

  it("re-applying a newer version upgrades the schema (new columns and tables) without losing rows", async () => {
    const emu = await startDataverseEmulator();
    const api = apiFor(emu);
    try {
      emu.applySolutionModel(fixtureModel("1.0.0.0"));
      const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Keep me" } });
      const id = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
      const v2 = fixtureModel("1.1.0.0");
      const conn = v2.tables.find((t) => t.logicalName === "w365_providerconnection")!;
      conn.columns.push({
        logicalName: "w365_statusmessage",
        displayName: "Status message",
        type: "string",
        requiredLevel: "none",
        maxLength: 2000,
      });
      v2.tables.push({
        ...v2.tables[0]!,
        logicalName: "w365_syncrun",
        entitySetName: "w365_syncruns",
        primaryIdAttribute: "w365_syncrunid",
        columns: [{ logicalName: "w365_name", displayName: "Name", type: "string", requiredLevel: "none", maxLength: 200 }],
        keys: [],
      });
      emu.applySolutionModel(v2);
      const kept = await api.call("GET", `w365_providerconnections(${id})?$select=w365_name,w365_statusmessage`);
      expect(kept.json).toMatchObject({ w365_name: "Keep me", w365_statusmessage: null });
      expect((await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_statusmessage: "x".repeat(1500) } })).status).toBe(
        204,
      );
      expect((await api.call("POST", "w365_syncruns", { body: { w365_name: "run 1" } })).status).toBe(204);
      const sol = await api.call("GET", "solutions?$filter=uniquename eq 'StreamOneIonConnector'&$select=version");
      expect(sol.json.value).toEqual([expect.objectContaining({ version: "1.1.0.0" })]);
      // System tables keep their own columns when a solution adds one.
      expect(
        (await api.call("POST", "accounts", { body: { name: "A", websiteurl: "https://a.example", w365_microsofttenantid: "t" } })).status,
      ).toBe(204);
    } finally {
      await emu.close();
    }
  });

  it("a file database persists rows and schema across restarts (WAL) and ETags keep increasing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dvemu-"));
    const dbPath = join(dir, "dataverse.db");
    try {
      const first = await startDataverseEmulator({ dbPath });
      first.applySolutionModel(fixtureModel());
      const a = apiFor(first);
      const created = await a.call("POST", "w365_providerconnections?$select=w365_name", {
        body: { w365_name: "Persisted" },
        headers: { Prefer: "return=representation" },
      });
      const etag1 = Number(/"(\d+)"/.exec(created.json["@odata.etag"])![1]);
      await first.close();

      const second = await startDataverseEmulator({ dbPath });
      const b = apiFor(second);
      try {
        const rows = await b.call("GET", "w365_providerconnections?$select=w365_name");
        expect(rows.json.value.map((r: { w365_name: string }) => r.w365_name)).toEqual(["Persisted"]);
        const upd = await b.call("PATCH", `w365_providerconnections(${created.json.w365_providerconnectionid})?$select=w365_name`, {
          body: { w365_name: "Again" },
          headers: { Prefer: "return=representation" },
        });
        expect(Number(/"(\d+)"/.exec(upd.json["@odata.etag"])![1])).toBeGreaterThan(etag1);
        // The custom APIs came back with the catalog.
        expect((await b.call("POST", "w365_Ping", { body: { Message: "x" } })).status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Dataverse emulator: ImportSolution actions (reference 5)", () => {
  it("ImportSolution with a base64 CustomizationFile imports tables that are then served; PublishAllXml succeeds", async () => {
    const emu = await startDataverseEmulator();
    const api = apiFor(emu);
    try {
      const zip = await writeSolutionZip(portable(fixtureModel("2.0.0.0")), { managed: false });
      const r = await api.call("POST", "ImportSolution", {
        body: {
          CustomizationFile: zip.toString("base64"),
          OverwriteUnmanagedCustomizations: true,
          PublishWorkflows: true,
          ImportJobId: "8a9b0000-0000-4000-8000-000000000001",
        },
      });
      expect(r.status).toBe(204);
      expect((await api.call("POST", "PublishAllXml", { body: {} })).status).toBe(204);
      const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Imported" } });
      expect(c.status).toBe(204);
      const sol = await api.call("GET", "solutions?$filter=uniquename eq 'StreamOneIonConnector'&$select=version");
      expect(sol.json.value[0].version).toBe("2.0.0.0");
    } finally {
      await emu.close();
    }
  });

  it("ImportSolutionAsync returns an AsyncOperationId whose job reaches statecode 3 / statuscode 30; a bad file fails the job", async () => {
    const emu = await startDataverseEmulator();
    const api = apiFor(emu);
    try {
      const zip = await writeSolutionZip(portable(fixtureModel()), { managed: true });
      const r = await api.call("POST", "ImportSolutionAsync", {
        body: { CustomizationFile: zip.toString("base64"), OverwriteUnmanagedCustomizations: true, PublishWorkflows: true },
      });
      expect(r.status).toBe(200);
      expect(r.json.AsyncOperationId).toMatch(/^[0-9a-f-]{36}$/);
      const poll = async (id: string) => {
        for (;;) {
          const job = await api.call("GET", `asyncoperations(${id})?$select=statecode,statuscode,message`);
          if (job.json.statecode === 3) return job.json;
          await new Promise((res) => setTimeout(res, 10));
        }
      };
      expect(await poll(r.json.AsyncOperationId)).toMatchObject({ statecode: 3, statuscode: 30 });
      expect((await api.call("GET", "w365_providerconnections")).status).toBe(200);
      const bad = await api.call("POST", "ImportSolutionAsync", {
        body: { CustomizationFile: Buffer.from("not a zip").toString("base64") },
      });
      const failed = await poll(bad.json.AsyncOperationId);
      expect(failed.statuscode).toBe(31);
      expect(failed.message).toBeTruthy();
      const sync = await api.call("POST", "ImportSolution", { body: { CustomizationFile: Buffer.from("not a zip").toString("base64") } });
      expect(sync.status).toBe(400);
      expect((await api.call("POST", "ImportSolution", { body: {} })).status).toBe(400);
    } finally {
      await emu.close();
    }
  });
});

describe("Dataverse emulator: the product's own solution (solution/)", () => {
  it("imports the packed product solution and serves its contract tables, keys and custom APIs", async () => {
    const model = await readSolutionSource();
    const emu = await startDataverseEmulator();
    const api = apiFor(emu);
    try {
      await emu.importSolution(await writeSolutionZip(model, { managed: false }));
      const c = await api.call("POST", "w365_providerconnections?$select=w365_name", {
        body: { w365_name: "StreamOne Ion", w365_refreshtoken: "rt" },
        headers: { Prefer: "return=representation" },
      });
      expect(c.status).toBe(201);
      const conn = c.json.w365_providerconnectionid as string;
      const up = await api.call("PATCH", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='1001')`, {
        body: { w365_name: "Customer 1001" },
      });
      expect(up.status).toBe(204);
      const sub = await api.call("PATCH", `w365_providersubscriptions(w365_connection=${conn},w365_ionsubscriptionid='s-1')`, {
        body: { w365_name: "Sub" },
      });
      expect(sub.status).toBe(204);
      expect(
        (await api.call("GET", `w365_providerconnections(${conn})?$select=w365_refreshtoken`, { token: emu.adminToken })).json
          .w365_refreshtoken,
      ).toBeNull();
      const md = await api.call("GET", "$metadata");
      for (const name of ["w365_VerifyConnectivity", "w365_SyncProviderAccounts", "w365_SyncSubscriptions", "w365_MapProviderAccount"])
        expect(md.text).toContain(`<Action Name="${name}" IsBound="true">`);
    } finally {
      await emu.close();
    }
  }, 30_000);
});
