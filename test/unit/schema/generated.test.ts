import { readFileSync } from "node:fs";
import * as path from "node:path";

import * as ts from "typescript";

import { choiceLabel } from "../../../src/schema";
import {
  choiceMemberName,
  GENERATED_HEADER,
  GENERATED_MODULE,
  renderSchemaModule,
  SchemaGenerationError,
} from "../../../src/schema/generate";
import { readSolutionSource, type SolutionModel } from "../../../src/solution";

const ROOT = path.resolve(__dirname, "../../..");

/** Runs a rendered module (transpiled to CommonJS) and returns its exports; syntax errors fail the test. */
function evaluate(source: string): Record<string, unknown> {
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    reportDiagnostics: true,
  });
  expect(out.diagnostics ?? []).toStrictEqual([]);
  const exports: Record<string, unknown> = {};
  new Function("exports", out.outputText)(exports);
  return exports;
}

/** Type errors of a rendered module, checked on its own (it has no imports). */
function typeErrors(source: string): string[] {
  const file = "/generated.ts";
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    types: [],
    noUncheckedIndexedAccess: true,
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version) => (name === file ? ts.createSourceFile(file, source, version) : read(name, version));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("the generated schema module", () => {
  let model: SolutionModel;
  beforeAll(async () => {
    model = await readSolutionSource(path.join(ROOT, "solution"));
  });

  it("is what npm run gen:schema writes from solution/ (run it after changing solution/)", () => {
    const committed = readFileSync(path.join(ROOT, GENERATED_MODULE), "utf8");
    expect(committed.split("\n")[0]).toBe(GENERATED_HEADER);
    expect(committed).toBe(renderSchemaModule(model));
  });

  it("type-checks on its own and carries the solution's entity sets, choices and custom APIs", () => {
    const text = renderSchemaModule(model);
    expect(typeErrors(text)).toStrictEqual([]);
    const mod = evaluate(text);
    expect(mod.w365_providerconnection_w365_status).toMatchObject({
      NotVerified: expect.any(Number),
      CredentialsExpired: expect.any(Number),
    });
    const tables = mod.tables as Record<string, { collectionName: string; keys: Record<string, string[]> }>;
    for (const t of model.tables) expect(tables[t.logicalName]?.collectionName).toBe(t.entitySetName);
    const apis = mod.customApis as Record<string, { parameterTypes: Record<string, { typeName: string }> }>;
    for (const a of model.customApis) {
      expect(Object.keys(apis[a.uniqueName]?.parameterTypes ?? {}).sort()).toStrictEqual(
        a.requestParameters.map((p) => p.uniqueName).sort(),
      );
    }
  });

  it("follows additions to solution/: a new alternate key, custom API parameter, response, global API and choice", () => {
    const changed = structuredClone({ ...model, webResources: [], customControls: [] });
    const sub = changed.tables.find((t) => t.logicalName === "w365_providersubscription")!;
    sub.keys.push({
      logicalName: "w365_vendorsubscriptionid_key",
      displayName: "Vendor subscription",
      columns: ["w365_vendorsubscriptionid"],
    });
    sub.columns.push({
      logicalName: "w365_billingstate",
      displayName: "Billing State */ closed",
      type: "picklist",
      requiredLevel: "none",
      options: [
        { value: 365000001, label: "2 weeks" },
        { value: 365000000, label: "" },
        { value: 365000002, label: "On hold" },
        { value: 365000003, label: "On-hold" },
      ],
    });
    const sync = changed.customApis.find((a) => a.uniqueName === "w365_SyncSubscriptions")!;
    sync.requestParameters.push({
      uniqueName: "Since",
      name: "w365_SyncSubscriptions.Since",
      displayName: "Since",
      description: "",
      type: "DateTime",
      isOptional: false,
    });
    sync.responseProperties.push({
      uniqueName: "RunId",
      name: "w365_SyncSubscriptions.RunId",
      displayName: "Run",
      description: "",
      type: "Guid",
    });
    changed.customApis.push({
      ...sync,
      uniqueName: "w365_Ping",
      bindingType: 0,
      boundEntityLogicalName: undefined,
      isFunction: true,
      requestParameters: [],
      responseProperties: [],
    });
    changed.relationships = [
      ...(changed.relationships ?? []),
      { ...changed.relationships![0]!, name: "w365_extra", referencingAttribute: "w365_account" },
    ];

    const text = renderSchemaModule(changed as SolutionModel);
    expect(typeErrors(text)).toStrictEqual([]);
    const mod = evaluate(text);
    expect((mod.w365_providersubscriptionMetadata as { keys: unknown }).keys).toMatchObject({
      w365_vendorsubscriptionid_key: ["w365_vendorsubscriptionid"],
    });
    expect(mod.w365_providersubscription_w365_billingstate).toStrictEqual({
      _365000000: 365000000,
      _2Weeks: 365000001,
      OnHold: 365000002,
      OnHold_365000003: 365000003,
    });
    expect(mod.w365_providersubscription_w365_billingstateLabels).toMatchObject({ 365000001: "2 weeks", 365000003: "On-hold" });
    expect((mod.w365_SyncSubscriptionsMetadata as { parameterTypes: unknown }).parameterTypes).toMatchObject({
      Since: { typeName: "DateTime", isOptional: false },
    });
    expect(mod.w365_PingMetadata).toMatchObject({ operationType: "Function", bindingType: "Global" });
    expect(mod.w365_PingMetadata).not.toHaveProperty("boundEntityLogicalName");
    expect(text).toContain("  Since: string;\n");
    expect(text).toContain("  RunId?: string;\n");
  });

  it("refuses solution names that cannot be TypeScript names, saying which", () => {
    const bad = structuredClone({ ...model, webResources: [], customControls: [] });
    bad.customApis[0]!.uniqueName = "w365_Sync-Now";
    expect(() => renderSchemaModule(bad as SolutionModel)).toThrow(SchemaGenerationError);
    expect(() => renderSchemaModule(bad as SolutionModel)).toThrow(/custom API "w365_Sync-Now" is not a valid TypeScript name/);
  });

  it("names choice members after their labels in PascalCase", () => {
    expect(choiceMemberName("Not verified", 1)).toBe("NotVerified");
    expect(choiceMemberName("Sent to Ion", 1)).toBe("SentToIon");
    expect(choiceMemberName("3-month term", 7)).toBe("_3MonthTerm");
    expect(choiceMemberName("  ", 9)).toBe("_9");
  });

  it("looks labels up by value, as numbers or the strings a form gives", () => {
    const labels = { 1: "One", 2: "Two" } as const;
    expect(choiceLabel(labels, 2)).toBe("Two");
    expect(choiceLabel(labels, "1")).toBe("One");
    expect(choiceLabel(labels, 3)).toBeUndefined();
    expect(choiceLabel(labels, null)).toBeUndefined();
    expect(choiceLabel(labels, "toString")).toBeUndefined();
  });
});
