/**
 * The packed zip against shapes taken from real exports (solution/README.md, "Verified against real exports").
 * Each expectation names the public file it was checked against.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { loadSolutionModel, repoRoot, type SolutionModel,solutionZipFiles } from "../../../src/solution";
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
    // Environment variable definitions are not root components (coe-starter-kit Solution.xml lists none).
    expect(ofType(380)).toStrictEqual([]);
    // GUID-identified components carry id only: roles 20, field security profiles 70.
    for (const t of [20, 70]) {
      expect(ofType(t).length).toBeGreaterThan(0);
      for (const r of ofType(t)) expect(r).toMatch(new RegExp(`^type="${t}" id="\\{[0-9a-f-]{36}\\}" behavior="0"$`));
    }
    // No steps (92) or service endpoint (95): deploy registers them after import.
    expect(ofType(92)).toStrictEqual([]);
    expect(ofType(95)).toStrictEqual([]);
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

  it("the connector form binds the PCF control through the manifest's bound property (form XML as exports write it: TALXIS/base-controls formXml.ts)", () => {
    const customizations = text("customizations.xml");
    const control = model.customControls[0]!;
    const manifest = control.files.find((f) => f.path === "ControlManifest.xml")!.content.toString("utf8");
    const bound = /<property\s[^>]*name="([^"]+)"[^>]*usage="bound"/.exec(manifest)![1]!;
    const description = /<controlDescription forControl="([^"]+)">(.*?)<\/controlDescription>/.exec(customizations)!;
    // The cell's control carries the same uniqueid the description names.
    expect(customizations).toContain(`datafieldname="w365_name" disabled="false" uniqueid="${description[1]}"`);
    const entries = [...description[2]!.matchAll(/<customControl ([^>]*)><parameters>(.*?)<\/parameters><\/customControl>/g)].map((m) => [m[1], m[2]]);
    // First the default (text box) control with the column, then the PCF control for web (0), phone (1) and tablet (2).
    expect(entries).toStrictEqual([
      ['id="{4273EDBD-AC1D-40d3-9FB2-095C621B552D}"', "<datafieldname>w365_name</datafieldname>"],
      ...[0, 1, 2].map((n) => [`formFactor="${n}" name="${control.name}"`, `<${bound} type="SingleLine.Text">w365_name</${bound}>`]),
    ]);
    // The control's real manifest (not only the test build's) has that bound property.
    const real = readFileSync(path.join(repoRoot(), "pcf-controls/StreamOneConnector/ControlManifest.Input.xml"), "utf8");
    expect(real).toMatch(new RegExp(`<property name="${bound}"[^>]*of-type="SingleLine.Text"[^>]*usage="bound"`));
  });

  it("the extended system table is not marked unmodified (import would skip it, columns included)", () => {
    const customizations = text("customizations.xml");
    expect(customizations).toContain('<entity Name="Account">');
    expect(customizations).not.toMatch(/unmodified=/);
    expect(customizations).toMatch(/<entity Name="Account">[\s\S]*?<LogicalName>w365_microsofttenantid<\/LogicalName>/);
  });

  it("1:N relationships carry CascadeArchive and the roles naming the navigation properties the code binds (coe-starter-kit Other/Relationships/admin_Connector.xml)", () => {
    const customizations = text("customizations.xml");
    const relationships = [...customizations.matchAll(/<EntityRelationship Name="([^"]+)">([\s\S]*?)<\/EntityRelationship>/g)];
    expect(relationships).toHaveLength(model.relationships!.length);
    for (const [, name, body] of relationships) {
      const rel = model.relationships!.find((r) => r.name === name)!;
      expect(body).toMatch(/<CascadeDelete>\w+<\/CascadeDelete>\s*<CascadeArchive>NoCascade<\/CascadeArchive>/);
      expect(body).toMatch(new RegExp(`<NavigationPropertyName>${rel.referencingAttribute}</NavigationPropertyName>\\s*<RelationshipRoleType>1</RelationshipRoleType>`));
      expect(body).toMatch(new RegExp(`<NavigationPropertyName>${name}</NavigationPropertyName>\\s*<RelationshipRoleType>0</RelationshipRoleType>`));
    }
    // The code binds lookups by these names (w365_connection@odata.bind), so each must be a role-1 navigation property.
    for (const lookup of ["w365_connection", "w365_account", "w365_provideraccount", "w365_suggestedaccount"]) {
      expect(customizations).toContain(`<NavigationPropertyName>${lookup}</NavigationPropertyName>`);
    }
  });

  it("lookups carry an empty <LookupTypes /> and platform columns use systemrequired (coe-starter-kit Entities/admin_ConnectionReferenceIdentity/Entity.xml)", () => {
    const customizations = text("customizations.xml");
    const lookups = [...customizations.matchAll(/<Type>lookup<\/Type>[\s\S]*?<\/attribute>/g)].map((m) => m[0]);
    expect(lookups.length).toBeGreaterThanOrEqual(7);
    for (const l of lookups) {
      expect(l).toContain("<LookupTypes />");
      expect(l).not.toContain("<LookupType ");
    }
    for (const type of ["primarykey", "owner", "state"]) {
      const levels = [...customizations.matchAll(new RegExp(`<Type>${type}</Type>\\s*<Name>[^<]+</Name>\\s*<LogicalName>[^<]+</LogicalName>\\s*<RequiredLevel>(\\w+)</RequiredLevel>`, "g"))].map((m) => m[1]);
      expect(levels.length).toBeGreaterThan(0);
      expect(new Set(levels)).toStrictEqual(new Set(["systemrequired"]));
    }
  });

  it("no SdkMessageProcessingStep or webhook endpoint (with or without a key) travels in the zip", () => {
    const customizations = text("customizations.xml");
    expect(customizations).toContain("<SdkMessageProcessingSteps />");
    expect(customizations).toContain("<ServiceEndpoints />");
    expect(customizations).not.toMatch(/SdkMessageId|authvalue|AuthValue/);
  });

  it("secret columns are not audited (IsAuditEnabled 0), every other column is", () => {
    const customizations = text("customizations.xml");
    const attributes = [...customizations.matchAll(/<attribute PhysicalName="([^"]+)">([\s\S]*?)<\/attribute>/g)];
    const audit = new Map(attributes.map(([, name, body]) => [name!, /<IsAuditEnabled>(\d)<\/IsAuditEnabled>/.exec(body!)![1]]));
    for (const secret of ["w365_refreshtoken", "w365_apisecret", "w365_accesstoken"]) expect(audit.get(secret)).toBe("0");
    expect(audit.get("w365_ionaccountid")).toBe("1");
  });

  it("one connector per Ion account: an alternate key on w365_ionaccountid", () => {
    const connector = model.tables.find((t) => t.logicalName === "w365_providerconnection")!;
    expect(connector.keys).toContainEqual(expect.objectContaining({ columns: ["w365_ionaccountid"] }));
    expect(text("customizations.xml")).toMatch(/<EntityKey>\s*<Name>w365_providerconnection_ionaccountid<\/Name>[\s\S]*?<AttributeName>w365_ionaccountid<\/AttributeName>/);
  });

  it("w365_MapProviderAccount declares Force, the Boolean its handler reads", () => {
    const force = text("customapis/w365_MapProviderAccount/customapirequestparameters/Force/customapirequestparameter.xml");
    expect(force).toContain("<name>w365_MapProviderAccount.Force</name>");
    expect(force).toContain("<type>0</type>");
    expect(force).toContain("<isoptional>1</isoptional>");
  });
});
