/**
 * The packed zip against shapes taken from real exports (solution/README.md, "Verified against real exports").
 * Each expectation names the public file it was checked against.
 */
import { loadSolutionModel, type SolutionModel,solutionZipFiles } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";

const tagsOf = (xml: string): string[] => [...xml.matchAll(/^ {2}<([a-z]+)[\s>/]/gm)].map((m) => m[1]!);

describe("the packed solution has the shapes real exports have", () => {
  let model: SolutionModel;
  let files: Map<string, Buffer>;
  const text = (p: string): string => files.get(p)!.toString("utf8");
  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    files = solutionZipFiles(model, { managed: false });
  });

  it("[Content_Types].xml: xml is text/xml, the PCF manifest is overridden, the manifests are not (pac-built QuillRichTextField.zip)", () => {
    const types = text("[Content_Types].xml");
    expect(types).toContain('<Default Extension="xml" ContentType="text/xml" />');
    expect(types).toContain('<Default Extension="js" ContentType="application/octet-stream" />');
    expect(types).toContain(`<Override PartName="/Controls/${model.customControls[0]!.name}/ControlManifest.xml" ContentType="application/octet-stream" />`);
    expect(types).not.toContain('PartName="/customizations.xml"');
    expect(types).not.toContain('PartName="/solution.xml"');
  });

  it("solution.xml root components: types and keys as exports write them (coe-starter-kit Solution.xml, pac clone of a step)", () => {
    const roots = [...text("solution.xml").matchAll(/<RootComponent ([^>]*)\/>/g)].map((m) => m[1]!.trim());
    const ofType = (t: number): string[] => roots.filter((r) => r.startsWith(`type="${t}" `));
    // Tables by schema name; a system table that only gains columns is behavior 2 (no table metadata).
    expect(ofType(1)).toContain('type="1" schemaName="account" behavior="2"');
    expect(ofType(1)).toContain('type="1" schemaName="w365_providerconnection" behavior="0"');
    // Environment variable definitions: type 380 by schema name, one per definition.
    expect(ofType(380)).toStrictEqual(model.environmentVariables.map((v) => v.schemaName).sort().map((n) => `type="380" schemaName="${n}" behavior="0"`));
    // GUID-identified components carry id only: roles 20, field security profiles 70, steps 92, service endpoints 95.
    for (const t of [20, 70, 92, 95]) {
      expect(ofType(t).length).toBeGreaterThan(0);
      for (const r of ofType(t)) expect(r).toMatch(new RegExp(`^type="${t}" id="\\{[0-9a-f-]{36}\\}" behavior="0"$`));
    }
    expect(ofType(92)).toHaveLength(model.steps.length);
    // Web resources 61 and the PCF control 66 by name.
    expect(ofType(61).length).toBeGreaterThan(0);
    expect(ofType(66)).toStrictEqual([`type="66" schemaName="${model.customControls[0]!.name}" behavior="0"`]);
    // Custom APIs have no root component type: the customapis/ folder carries them (create-custom-api-solution.md).
    expect(roots.filter((r) => model.customApis.some((a) => r.includes(a.uniqueName)))).toStrictEqual([]);
  });

  it("environment variable definitions: element order and type codes (coe-starter-kit environmentvariabledefinition.xml)", () => {
    const withDefault = text("environmentvariabledefinitions/w365_DefaultSyncSchedule/environmentvariabledefinition.xml");
    expect(tagsOf(withDefault)).toStrictEqual(["defaultvalue", "description", "displayname", "introducedversion", "iscustomizable", "isrequired", "secretstore", "type"]);
    expect(withDefault).toContain("<type>100000000</type>");
    const key = text("environmentvariabledefinitions/w365_FunctionsWebhookKey/environmentvariabledefinition.xml");
    expect(tagsOf(key)).toStrictEqual(["description", "displayname", "introducedversion", "iscustomizable", "isrequired", "secretstore", "type"]);
    // No values are shipped: deploy sets them per environment.
    expect([...files.keys()].filter((p) => /environmentvariablevalues/i.test(p))).toStrictEqual([]);
  });

  it("custom APIs: element order of the docs' sample, no <isoptional> outside request parameters", () => {
    const api = text("customapis/w365_SyncSubscriptions/customapi.xml");
    expect(api.startsWith('<customapi uniquename="w365_SyncSubscriptions">')).toBe(true);
    expect(tagsOf(api)).toStrictEqual(["allowedcustomprocessingsteptype", "bindingtype", "boundentitylogicalname", "description", "displayname", "executeprivilegename", "iscustomizable", "isfunction", "isprivate", "name", "workflowsdkstepenabled"]);
    const param = text("customapis/w365_SyncSubscriptions/customapirequestparameters/DryRun/customapirequestparameter.xml");
    expect(tagsOf(param)).toStrictEqual(["description", "displayname", "iscustomizable", "isoptional", "logicalentityname", "name", "type"]);
    expect(param).toContain("<name>w365_SyncSubscriptions.DryRun</name>");
  });

  it("roles: privilege names are prv<Verb><table schema name> with the standard depths (coe-starter-kit Roles/*.xml)", () => {
    const customizations = text("customizations.xml");
    const privileges = [...customizations.matchAll(/<RolePrivilege name="([^"]+)" level="([^"]+)" \/>/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(privileges.length).toBeGreaterThan(20);
    const tables = new Set(model.tables.map((t) => (t.isCustomEntity ? t.logicalName : "Account")));
    for (const [name, level] of privileges) {
      expect(["Basic", "Local", "Deep", "Global"]).toContain(level);
      const m = /^prv(Create|Read|Write|Delete|AppendTo|Append|Assign|Share)(.+)$/.exec(name);
      expect(m).not.toBeNull();
      const target = m![2]!;
      expect(tables.has(target) || ["EnvironmentVariableDefinition", "EnvironmentVariableValue"].includes(target)).toBe(true);
    }
  });
});
