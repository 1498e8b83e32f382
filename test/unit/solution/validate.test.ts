import type { SolutionModel } from "../../../src/solution";
import { checkModel, readSolutionSource, solutionZipFiles, validateCustomizationsXsd, validateSolution, validateSolutionZip, writeSolutionZip, zipFiles } from "../../../src/solution";
import { loadSolutionModel } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";
import { registeredSolutionModel } from "../../support/world";

function clone(m: SolutionModel): SolutionModel {
  return { ...structuredClone({ ...m, webResources: [], customControls: [] }), webResources: m.webResources, customControls: m.customControls };
}

describe("solution validation", () => {
  let source: SolutionModel;
  let customizations: string;
  beforeAll(async () => {
    source = await readSolutionSource("solution");
    customizations = solutionZipFiles(source, { managed: false }).get("customizations.xml")!.toString("utf8");
  });

  it("customizations.xml validates against the Dataverse XSD; the only advisories are CascadeArchive, which exports write and the 9.0 schema predates", async () => {
    const r = await validateCustomizationsXsd(customizations);
    expect(r.errors).toStrictEqual([]);
    expect(r.advisories.filter((a) => !/CascadeArchive/.test(a.message))).toStrictEqual([]);
    expect(r.valid).toBe(true);
  });

  it("the XSD catches a bad column type, a bad flag and an unknown section", async () => {
    const broken = customizations
      .replace("<Type>nvarchar</Type>", "<Type>varchar2</Type>")
      .replace("<Languages>", "<Bogus /><Languages>");
    const r = await validateCustomizationsXsd(broken);
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => e.message).join("\n")).toMatch(/varchar2/);
    expect(r.errors.map((e) => e.message).join("\n")).toMatch(/Bogus/);
  });

  it("treats modern elements the 9.0 schema predates as advisories, not errors", async () => {
    const modern = customizations.replace("<EntitySetName>w365_syncruns</EntitySetName>", "<IsSolutionAware>1</IsSolutionAware><EntitySetName>w365_syncruns</EntitySetName>");
    const r = await validateCustomizationsXsd(modern);
    expect(r.valid).toBe(true);
    const others = r.advisories.filter((a) => !/CascadeArchive/.test(a.message));
    expect(others).toHaveLength(1);
    expect(others[0]!.message).toMatch(/IsSolutionAware/);
  });

  it("the source passes every structural and contract check", async () => {
    const r = await validateSolution(source);
    expect(r.errors).toStrictEqual([]);
  });

  it("the webhook steps registered after import name columns and environment variables the solution has", async () => {
    expect(checkModel(await registeredSolutionModel()).errors).toStrictEqual([]);
  });

  it.each<[string, (m: SolutionModel) => void, RegExp]>([
    ["a column without the prefix", (m) => m.tables.find((t) => t.logicalName === "w365_syncrun")!.columns.push({ logicalName: "kind2", displayName: "x", type: "string", maxLength: 10, requiredLevel: "none" }), /kind2: name lacks the w365_ prefix/],
    ["a key naming a missing column", (m) => { m.tables.find((t) => t.logicalName === "w365_provideraccount")!.keys[0]!.columns[1] = "w365_nope"; }, /column w365_nope does not exist/],
    ["an option outside the 36500 prefix", (m) => { m.tables.find((t) => t.logicalName === "w365_providerconnection")!.columns.find((c) => c.logicalName === "w365_status")!.options!.push({ value: 100000000, label: "Other" }); }, /option value 100000000 does not use/],
    ["an invalid custom API type", (m) => { (m.customApis[0]!.requestParameters as unknown[]).push({ uniqueName: "X", name: "x.X", displayName: "X", description: "X", type: "Blob", isOptional: true }); }, /invalid type Blob/],
    ["a renamed contract column", (m) => { m.tables.find((t) => t.logicalName === "w365_providersubscription")!.columns.find((c) => c.logicalName === "w365_requestedquantity")!.logicalName = "w365_requestedqty"; }, /column w365_providersubscription.w365_requestedquantity missing/],
    ["a cascade delete on run history", (m) => { m.relationships!.find((r) => r.referencingEntity === "w365_syncrun")!.cascadeDelete = "Cascade"; }, /silently remove history/],
    ["a step filtering on a missing column", (m) => { m.steps.find((s) => s.filteringAttributes.length > 0)!.filteringAttributes.push("w365_nothing"); }, /filtering attribute w365_nothing does not exist/],
    ["a secret readable by the admin profile", (m) => { m.fieldSecurityProfiles.find((p) => p.name.includes("Admin"))!.permissions[0]!.canRead = true; }, /only the integration profile may read/],
    ["an endpoint pointing at a missing environment variable", (m) => { m.serviceEndpoints[0]!.keyEnvironmentVariable = "w365_Nope"; }, /key environment variable w365_Nope is not defined/],
    ["a command bar calling a missing web resource", (m) => { m.webResources = m.webResources.filter((w) => w.name !== "w365_/streamone/commands.js"); }, /library w365_\/streamone\/commands.js is not a web resource/],
    ["a form script that is not a web resource", (m) => { m.webResources = m.webResources.filter((w) => w.name !== "w365_/streamone/connectorform.js"); }, /form w365_providerconnection\/StreamOne Connector: library w365_\/streamone\/connectorform.js/],
    ["a contract lookup retargeted", (m) => { m.tables.find((t) => t.logicalName === "w365_providersubscription")!.columns.find((c) => c.logicalName === "w365_account")!.targets = ["contact"]; }, /lookup w365_providersubscription.w365_account targets contact, expected account/],
    ["a contract choice relabelled", (m) => { m.tables.find((t) => t.logicalName === "w365_providersubscription")!.columns.find((c) => c.logicalName === "w365_syncstate")!.options!.find((o) => o.value === 365000002)!.label = "Sent"; }, /w365_syncstate option 365000002 is "Sent", expected "Sent to Ion"/],
    ["a contract parameter retyped", (m) => { m.customApis.find((a) => a.uniqueName === "w365_SyncSubscriptions")!.requestParameters.find((p) => p.uniqueName === "ProviderAccountId")!.type = "String"; }, /w365_SyncSubscriptions.ProviderAccountId is String, expected Guid/],
    ["a three-part version", (m) => { m.version = "1.0.0"; }, /major.minor.build.revision/],
  ])("rejects %s", async (_name, mutate, expected) => {
    // With the webhook endpoint and steps deploy registers, so their filters and images are checked too.
    const m = clone(await registeredSolutionModel());
    mutate(m);
    expect(checkModel(m).errors.join("\n")).toMatch(expected);
  });

  it("text columns hold what the sync engine writes (solution/REQUESTS.md lengths)", () => {
    const minimums: [string, string, number][] = [
      ["w365_provideraccount", "w365_matchreason", 1000],
      ["w365_providersubscription", "w365_syncmessage", 2000],
      ["w365_providerconnection", "w365_statusmessage", 2000],
      ["w365_providersubscription", "w365_orderreference", 100],
      ["w365_providersubscription", "w365_lastorderid", 100],
      ["w365_providersubscription", "w365_orderedchange", 200],
      ["w365_syncrun", "w365_progress", 400],
      ["w365_syncrun", "w365_checkpoint", 100000],
      ["w365_providerconnection", "w365_checkpoint", 100000],
      ["w365_syncrun", "w365_message", 2000],
      ["w365_syncrun", "w365_report", 1048576],
    ];
    const short = minimums.filter(([t, c, min]) => (source.tables.find((x) => x.logicalName === t)?.columns.find((x) => x.logicalName === c)?.maxLength ?? 0) < min);
    expect(short).toStrictEqual([]);
  });

  it("requires the UI build content when packing", () => {
    const r = checkModel(source, { requireContent: true });
    expect(r.errors.join("\n")).toMatch(/ControlManifest.xml missing from the UI build/);
    expect(r.errors.join("\n")).toMatch(/w365_\/streamone\/connectorform.js: no content/);
  });

  it("a zip missing a referenced file fails validation", async () => {
    const full = await loadSolutionModel({ uiDir: await makeUiBuild() });
    const files = solutionZipFiles(full, { managed: false });
    files.delete("WebResources/w365_/streamone/mapping.html");
    const r = await validateSolutionZip(await zipFiles(files));
    expect(r.errors).toStrictEqual(["zip: WebResources/w365_/streamone/mapping.html is referenced by customizations.xml but not in the zip"]);
  });

  it("a complete zip validates, UI content included", async () => {
    const full = await loadSolutionModel({ uiDir: await makeUiBuild() });
    const r = await validateSolutionZip(await writeSolutionZip(full, { managed: true }), { requireContent: true });
    expect(r.errors).toStrictEqual([]);
  });
});

describe("solution.xml root components", () => {
  it("flag a component missing from the manifest and a manifest entry without a component", async () => {
    const { checkRootComponents } = await import("../../../src/solution/validate");
    const model = await readSolutionSource("solution");
    const roots = [
      { type: 1, schemaName: "w365_providerconnection" },
      { type: 1, schemaName: "w365_ghost" },
    ];
    const errors = checkRootComponents(roots, model);
    expect(errors).toContain("solution.xml: table w365_syncrun is not a root component");
    expect(errors).toContain("solution.xml: root component type 1 w365_ghost is not in the package");
    expect(errors).not.toContain("solution.xml: table w365_providerconnection is not a root component");
  });
});
