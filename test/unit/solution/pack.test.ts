import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { packSolution, readSolutionSource, readSolutionZip, SolutionPackError, unzipFiles,writeSolutionSource } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";

async function tmp(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "w365-pack-"));
}

describe("packSolution", () => {
  let uiDir: string;
  beforeAll(async () => {
    uiDir = await makeUiBuild();
  });

  it("writes unmanaged and managed zips named after the solution version", async () => {
    const outDir = await tmp();
    const r = await packSolution({ managed: true, outDir, uiDir });
    expect(path.basename(r.unmanaged)).toBe("StreamOneIonConnector_1_0_0_0.zip");
    expect(path.basename(r.managed!)).toBe("StreamOneIonConnector_1_0_0_0_managed.zip");
    const managed = await readSolutionZip(await fs.readFile(r.managed!));
    expect(managed.managed).toBe(true);
    const unmanaged = await readSolutionZip(await fs.readFile(r.unmanaged));
    expect(unmanaged.managed).toBe(false);
  });

  it("is deterministic: two packs give the same bytes", async () => {
    const [a, b] = [await tmp(), await tmp()];
    const ra = await packSolution({ managed: true, outDir: a, uiDir });
    const rb = await packSolution({ managed: true, outDir: b, uiDir });
    expect((await fs.readFile(ra.unmanaged)).equals(await fs.readFile(rb.unmanaged))).toBe(true);
    expect((await fs.readFile(ra.managed!)).equals(await fs.readFile(rb.managed!))).toBe(true);
  });

  it("carries the PCF control and every UI web resource, generating descriptors for undeclared ones", async () => {
    const r = await packSolution({ outDir: await tmp(), uiDir });
    const files = await unzipFiles(await fs.readFile(r.unmanaged));
    expect([...files.keys()].filter((k) => k.startsWith("Controls/")).sort()).toStrictEqual([
      "Controls/w365_Work365.StreamOneConnector/ControlManifest.xml",
      "Controls/w365_Work365.StreamOneConnector/bundle.js",
      "Controls/w365_Work365.StreamOneConnector/css/StreamOneConnector.css",
      "Controls/w365_Work365.StreamOneConnector/strings/StreamOneConnector.1033.resx",
    ]);
    const model = await readSolutionZip(await fs.readFile(r.unmanaged));
    expect(model.webResources.map((w) => [w.name, w.type])).toStrictEqual([
      ["w365_/streamone/commands.js", 3],
      ["w365_/streamone/connectorform.js", 3],
      ["w365_/streamone/mapping.html", 1],
      ["w365_/streamone/mapping.js", 3],
    ]);
    expect(model.webResources[2]!.content.toString()).toContain('<div id="root">');
    const customizations = files.get("customizations.xml")!.toString();
    expect(customizations).toContain("<FileName>/Controls/w365_Work365.StreamOneConnector/ControlManifest.xml</FileName>");
  });

  it("stamps an explicit version and rejects a malformed one", async () => {
    const r = await packSolution({ outDir: await tmp(), uiDir, version: "1.2.3.4" });
    expect(path.basename(r.unmanaged)).toBe("StreamOneIonConnector_1_2_3_4.zip");
    expect((await readSolutionZip(await fs.readFile(r.unmanaged))).version).toBe("1.2.3.4");
    await expect(packSolution({ outDir: await tmp(), uiDir, version: "1.2" })).rejects.toThrow(/four numeric parts/);
  });

  it("asks for the UI build when it is missing", async () => {
    const err = await packSolution({ outDir: await tmp(), uiDir: path.join(os.tmpdir(), "w365-no-such-ui") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SolutionPackError);
    expect((err as SolutionPackError).userMessage).toMatch(/run npm run build:ui first/);
  });

  it("runs the UI build first when asked", async () => {
    const target = path.join(await tmp(), "ui");
    let built = 0;
    const runUiBuild = async (): Promise<void> => {
      built++;
      await fs.cp(uiDir, target, { recursive: true });
    };
    const r = await packSolution({ outDir: await tmp(), uiDir: target, buildUi: true, runUiBuild });
    expect(built).toBe(1);
    expect((await readSolutionZip(await fs.readFile(r.unmanaged))).customControls[0]!.files.length).toBe(4);
  });

  it("refuses a PCF build whose namespace does not match the solution", async () => {
    await expect(packSolution({ outDir: await tmp(), uiDir: await makeUiBuild({ namespace: "Other" }) })).rejects.toThrow(/w365_Other.StreamOneConnector but the solution declares w365_Work365.StreamOneConnector/);
  });
});

describe("solution source folder", () => {
  it("reads and rewrites byte-identical files (the reader loses nothing)", async () => {
    const model = await readSolutionSource("solution");
    const out = await tmp();
    const written = await writeSolutionSource(model, out);
    for (const rel of written) {
      const original = await fs.readFile(path.join("solution", ...rel.split("/")), "utf8");
      expect({ rel, text: await fs.readFile(path.join(out, ...rel.split("/")), "utf8") }).toStrictEqual({ rel, text: original });
    }
  });
});
