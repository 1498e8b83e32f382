/**
 * What the emulator's ImportSolution refuses or skips as a tenant does (sandbox/dataverse/importChecks.ts),
 * and the connector's one-per-Ion-account key and the custom API parameters, through the Web API.
 */
import { type DataverseEmulator, startDataverseEmulator } from "../../../../sandbox/dataverse";
import { DataverseClient } from "../../../../src/dataverse";
import { loadSolutionModel, type SolutionModel, writeSolutionZip } from "../../../../src/solution";
import { makeUiBuild } from "../../../support/uiFixture";
import { registeredSolutionModel, startImportedSolutionEmulator } from "../../../support/world";

describe("the emulator's ImportSolution refuses what a tenant refuses", () => {
  let model: SolutionModel;
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  const importZip = async (m: SolutionModel) =>
    client.executeAction("ImportSolution", { CustomizationFile: (await writeSolutionZip(m, { managed: false })).toString("base64") });
  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
  });
  beforeEach(async () => {
    emulator = await startDataverseEmulator();
    client = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.integrationToken } });
  });
  afterEach(() => emulator.close());

  it("refuses a step whose message id does not exist (a custom API message id invented from its name)", async () => {
    const registered = await registeredSolutionModel();
    const step = registered.steps.find((s) => s.message === "w365_VerifyConnectivity")!;
    const withStep: SolutionModel = {
      ...model,
      serviceEndpoints: registered.serviceEndpoints,
      steps: [{ ...step, sdkMessageId: "63fc1edc-a83b-5509-8d3d-b5f38f4db171" }],
    };
    await expect(importZip(withStep)).rejects.toThrow(/sdkmessage With Id = 63fc1edc-a83b-5509-8d3d-b5f38f4db171 Does Not Exist/);
    // Nothing was applied.
    expect(await client.queryFirst("solutions", { select: ["version"], filter: "uniquename eq 'StreamOneIonConnector'" })).toBeUndefined();
  });

  it("accepts a step on a platform message (its id is the same everywhere)", async () => {
    const registered = await registeredSolutionModel();
    const create = registered.steps.find((s) => s.message === "Create")!;
    await importZip({ ...model, serviceEndpoints: registered.serviceEndpoints, steps: [create] });
    expect(
      await client.queryFirst("sdkmessageprocessingsteps", { select: ["name"], filter: `sdkmessageprocessingstepid eq ${create.id}` }),
    ).toMatchObject({ name: create.name });
  });

  it("skips a table marked unmodified: account's columns do not arrive", async () => {
    await importZip(model);
    await expect(client.create("accounts", { name: "Contoso", w365_primarydomain: "contoso.com" })).resolves.toBeTruthy();

    const other = await startDataverseEmulator();
    try {
      const zip = (await writeSolutionZip(model, { managed: false })).toString("base64");
      const { unzipFiles, zipFiles } = await import("../../../../src/solution");
      const files = await unzipFiles(Buffer.from(zip, "base64"));
      files.set(
        "customizations.xml",
        Buffer.from(
          files.get("customizations.xml")!.toString("utf8").replace('<entity Name="Account">', '<entity Name="Account" unmodified="1">'),
        ),
      );
      await other.importSolution(await zipFiles(files));
      const otherClient = new DataverseClient({ url: other.url, auth: { kind: "static", token: other.integrationToken } });
      await expect(otherClient.create("accounts", { name: "Contoso", w365_primarydomain: "contoso.com" })).rejects.toThrow(
        /w365_primarydomain/,
      );
    } finally {
      await other.close();
    }
  });

  it("refuses a form giving the PCF control a parameter its manifest does not declare", async () => {
    const broken: SolutionModel = {
      ...model,
      tables: model.tables.map((t) => ({
        ...t,
        forms: t.forms.map((f) => ({
          ...f,
          formXml: f.formXml.split("<hostField ").join("<value ").split("</hostField>").join("</value>"),
        })),
      })),
    };
    await expect(importZip(broken)).rejects.toThrow(
      /gives the control w365_Work365\.StreamOneConnector the parameter\(s\) value, which its manifest does not declare \(declared: hostField\)/,
    );
  });
});

describe("one connector per Ion account, and the custom API parameters", () => {
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  beforeAll(async () => {
    ({ emulator, client } = await startImportedSolutionEmulator());
  });
  afterAll(() => emulator.close());

  it("refuses a second connector for the same Ion Account ID with Dataverse's duplicate-key error", async () => {
    await client.create("w365_providerconnections", { w365_name: "Ion EU", w365_ionaccountid: "ACC-1001" });
    const err = await client
      .create("w365_providerconnections", { w365_name: "Ion EU again", w365_ionaccountid: "ACC-1001" })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      statusCode: 412,
      dataverseCode: "0x80040237",
      message: expect.stringMatching(
        /A record that has the attribute values ACC-1001 already exists\. The entity key w365_providerconnection_ionaccountid requires that this set of attributes contains unique values/,
      ),
    });
    // Another account is fine.
    await expect(client.create("w365_providerconnections", { w365_name: "Ion US", w365_ionaccountid: "ACC-2002" })).resolves.toBeTruthy();
  });

  it("w365_MapProviderAccount accepts Force and still refuses a parameter it does not declare", async () => {
    const connection = await client.create("w365_providerconnections", { w365_name: "Ion APAC", w365_ionaccountid: "ACC-3003" });
    const account = await client.create("w365_provideraccounts", {
      w365_name: "Fabrikam",
      w365_ioncustomerid: "C-1",
      "w365_connection@odata.bind": `/w365_providerconnections(${connection})`,
    });
    // No webhook is registered here, so a declared call simply succeeds with nothing to run.
    await expect(
      client.executeAction(
        "w365_MapProviderAccount",
        { CreateNew: true, Force: true },
        { entitySet: "w365_provideraccounts", id: account },
      ),
    ).resolves.toBeDefined();
    await expect(
      client.executeAction(
        "w365_MapProviderAccount",
        { CreateNew: true, Forced: true },
        { entitySet: "w365_provideraccounts", id: account },
      ),
    ).rejects.toThrow(/The parameter 'Forced' in the request payload is not a valid parameter for the operation 'w365_MapProviderAccount'/);
  });
});
