import { type DataverseEmulator,startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseClient } from "../../../src/dataverse";
import { loadSolutionModel, type SolutionModel,writeSolutionZip } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";

describe("the packed solution imported into the Dataverse emulator", () => {
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  let model: SolutionModel;

  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    emulator = await startDataverseEmulator();
    client = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.integrationToken } });
    await emulator.importSolution(await writeSolutionZip(model, { managed: false }));
  });
  afterAll(async () => {
    await emulator.close();
  });

  it("serves every table, column and alternate key the source declares", async () => {
    for (const table of model.tables) {
      const def = await client.retrieve<{ LogicalName: string; EntitySetName: string }>("EntityDefinitions", { LogicalName: table.logicalName }, { select: ["LogicalName", "EntitySetName"] });
      expect(def).toMatchObject({ LogicalName: table.logicalName, EntitySetName: table.entitySetName });
      const attrs = (await client.requestJson<{ value: { LogicalName: string }[] }>("GET", `EntityDefinitions(LogicalName='${table.logicalName}')/Attributes?$select=LogicalName`))!.value.map((a) => a.LogicalName);
      for (const c of table.columns) expect({ table: table.logicalName, column: c.logicalName, present: attrs.includes(c.logicalName) }).toStrictEqual({ table: table.logicalName, column: c.logicalName, present: true });
      const keys = (await client.requestJson<{ value: { LogicalName: string; KeyAttributes: string[] }[] }>("GET", `EntityDefinitions(LogicalName='${table.logicalName}')/Keys`))!.value;
      expect(keys.map((k) => ({ name: k.LogicalName, columns: k.KeyAttributes })).sort((a, b) => a.name.localeCompare(b.name))).toStrictEqual(
        table.keys.map((k) => ({ name: k.logicalName, columns: k.columns })).sort((a, b) => a.name.localeCompare(b.name)),
      );
    }
  });

  it("registers exactly the source's custom APIs with their parameters", async () => {
    const apis: { uniquename: string; customapiid: string; bindingtype: number; boundentitylogicalname: string }[] = [];
    for await (const a of client.query<{ uniquename: string; customapiid: string; bindingtype: number; boundentitylogicalname: string }>("customapis", { select: ["uniquename", "customapiid", "bindingtype", "boundentitylogicalname"] })) apis.push(a);
    expect(apis.map((a) => a.uniquename).sort()).toStrictEqual(model.customApis.map((a) => a.uniqueName).sort());
    for (const api of model.customApis) {
      const row = apis.find((a) => a.uniquename === api.uniqueName)!;
      expect({ binding: row.bindingtype, bound: row.boundentitylogicalname }).toStrictEqual({ binding: api.bindingType, bound: api.boundEntityLogicalName });
      const params: string[] = [];
      for await (const p of client.query<{ uniquename: string }>("customapirequestparameters", { select: ["uniquename"], filter: `_customapiid_value eq ${row.customapiid}` })) params.push(p.uniquename);
      expect(params.sort()).toStrictEqual(api.requestParameters.map((p) => p.uniqueName).sort());
    }
  });

  it("records the solution, its environment variables, the webhook endpoint and steps", async () => {
    const solutions: { version: string; ismanaged: boolean }[] = [];
    for await (const s of client.query<{ version: string; ismanaged: boolean }>("solutions", { select: ["version", "ismanaged"], filter: "uniquename eq 'StreamOneIonConnector'" })) solutions.push(s);
    expect(solutions).toStrictEqual([expect.objectContaining({ version: model.version, ismanaged: false })]);
    expect(emulator.getEnvironmentVariable("w365_DefaultSyncSchedule")).toBe("0 0 2 * * *");
    const steps: string[] = [];
    for await (const s of client.query<{ name: string }>("sdkmessageprocessingsteps", { select: ["name"] })) steps.push(s.name);
    expect(steps.sort()).toStrictEqual(model.steps.map((s) => s.name).sort());
  });

  it("re-importing a newer version upgrades the schema without losing rows", async () => {
    const connId = await client.create("w365_providerconnections", { w365_name: "StreamOne Ion", w365_ionaccountid: "12345" });
    const accId = await client.create("w365_provideraccounts", { w365_name: "Contoso", w365_ioncustomerid: "C-1", "w365_connection@odata.bind": `/w365_providerconnections(${connId})` });
    const next: SolutionModel = structuredClone({ ...model, webResources: [], customControls: [] });
    next.webResources = model.webResources;
    next.customControls = model.customControls;
    next.version = "1.0.1.0";
    next.tables.find((t) => t.logicalName === "w365_provideraccount")!.columns.push({ logicalName: "w365_segment", displayName: "Segment", type: "string", maxLength: 50, requiredLevel: "none" });
    await emulator.importSolution(await writeSolutionZip(next, { managed: false }));

    const acc = await client.retrieve<{ w365_name: string; _w365_connection_value: string }>("w365_provideraccounts", accId, { select: ["w365_name", "_w365_connection_value"] });
    expect(acc).toMatchObject({ w365_name: "Contoso", _w365_connection_value: connId });
    await client.update("w365_provideraccounts", accId, { w365_segment: "SMB" });
    expect((await client.retrieve<{ w365_segment: string }>("w365_provideraccounts", accId, { select: ["w365_segment"] })).w365_segment).toBe("SMB");
    const rows: { version: string }[] = [];
    for await (const s of client.query<{ version: string }>("solutions", { select: ["version"], filter: "uniquename eq 'StreamOneIonConnector'" })) rows.push(s);
    expect(rows).toStrictEqual([expect.objectContaining({ version: "1.0.1.0" })]);
  });
});

describe("an import over an installed managed solution (emulator refuses what a tenant refuses)", () => {
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  let model: SolutionModel;
  const importZip = async (m: SolutionModel, managed: boolean) =>
    client.executeAction("ImportSolution", {
      OverwriteUnmanagedCustomizations: true,
      PublishWorkflows: true,
      CustomizationFile: (await writeSolutionZip(m, { managed })).toString("base64"),
    });

  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    emulator = await startDataverseEmulator();
    client = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.adminToken } });
    await importZip({ ...model, version: "1.0.2.0" }, true);
  });
  afterAll(async () => {
    await emulator.close();
  });

  it("refuses an unmanaged package and a lower managed version; takes the same or a higher managed version", async () => {
    await expect(importZip({ ...model, version: "1.0.3.0" }, false)).rejects.toThrow(/installed on this system as a managed solution/);
    // 1.0.10.0 is above 1.0.2.0: the parts compare as numbers, not as text.
    await expect(importZip({ ...model, version: "1.0.1.9" }, true)).rejects.toThrow(/version 1\.0\.1\.9 is lower than the installed version 1\.0\.2\.0/);
    await importZip({ ...model, version: "1.0.2.0" }, true);
    await importZip({ ...model, version: "1.0.10.0" }, true);
    const installed = await client.queryFirst<{ version: string; ismanaged: boolean }>("solutions", {
      select: ["version", "ismanaged"],
      filter: "uniquename eq 'StreamOneIonConnector'",
    });
    expect(installed).toMatchObject({ version: "1.0.10.0", ismanaged: true });
  });
});
