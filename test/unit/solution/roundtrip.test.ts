import type { SolutionModel } from "../../../src/solution";
import { readSolutionSource, readSolutionZip, solutionZipFiles,writeSolutionZip } from "../../../src/solution";

/** Models compare by value; webresource/control contents are Buffers, compared as base64. */
function plain(model: SolutionModel): unknown {
  return JSON.parse(JSON.stringify({ ...model, managed: false }, (_k, v: unknown) => (v && typeof v === "object" && (v as { type?: string }).type === "Buffer" ? Buffer.from((v as { data: number[] }).data).toString("base64") : v)));
}

describe("solution source → zip → model", () => {
  let source: SolutionModel;
  beforeAll(async () => {
    source = await readSolutionSource("solution");
  });

  it("reads the contract names from the source folder", () => {
    expect(source.uniqueName).toBe("StreamOneIonConnector");
    expect(source.publisher).toStrictEqual({ uniqueName: "work365", displayName: "Work 365", customizationPrefix: "w365", optionValuePrefix: 36500 });
    expect(source.tables.map((t) => t.logicalName).sort()).toStrictEqual(["account", "w365_provideraccount", "w365_providerconnection", "w365_providersubscription", "w365_syncrun"]);
    expect(source.customApis.map((a) => a.uniqueName).sort()).toStrictEqual(["w365_MapProviderAccount", "w365_SyncProviderAccounts", "w365_SyncSubscriptions", "w365_VerifyConnectivity"]);
  });

  it("packs and reads back the same model (unmanaged and managed)", async () => {
    const unmanaged = await readSolutionZip(await writeSolutionZip(source, { managed: false }));
    expect(unmanaged.managed).toBe(false);
    expect(plain(unmanaged)).toStrictEqual(plain(source));
    const managed = await readSolutionZip(await writeSolutionZip(source, { managed: true }));
    expect(managed.managed).toBe(true);
    expect(plain(managed)).toStrictEqual(plain(source));
  });

  it("writes the files a real export has", () => {
    const files = [...solutionZipFiles(source, { managed: false }).keys()];
    expect(files.slice(0, 3)).toStrictEqual(["[Content_Types].xml", "customizations.xml", "solution.xml"]);
    expect(files).toContain("customapis/w365_SyncSubscriptions/customapirequestparameters/ProviderAccountId/customapirequestparameter.xml");
    expect(files).toContain("environmentvariabledefinitions/w365_FunctionsBaseUrl/environmentvariabledefinition.xml");
  });
});

describe("readSolutionZip on bad input", () => {
  it("rejects bytes that are not a zip", async () => {
    const { SolutionFormatError } = await import("../../../src/solution");
    await expect(readSolutionZip(Buffer.from("not a zip at all"))).rejects.toBeInstanceOf(SolutionFormatError);
  });

  it("rejects a zip without solution.xml, saying so", async () => {
    const { zipFiles } = await import("../../../src/solution");
    await expect(readSolutionZip(await zipFiles(new Map([["readme.txt", Buffer.from("hi")]])))).rejects.toThrow(/no solution.xml/);
  });

  it("rejects a custom API parameter with an unknown type code", async () => {
    const { zipFiles } = await import("../../../src/solution");
    const source = await readSolutionSource("solution");
    const files = solutionZipFiles(source, { managed: false });
    const p = "customapis/w365_SyncProviderAccounts/customapirequestparameters/DryRun/customapirequestparameter.xml";
    files.set(p, Buffer.from(files.get(p)!.toString().replace("<type>0</type>", "<type>42</type>")));
    await expect(readSolutionZip(await zipFiles(files))).rejects.toThrow(/invalid custom API type "42"/);
  });
});
