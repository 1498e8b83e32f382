import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";

import { main } from "../../../cli/main";
import { memoryOutput } from "../../../cli/output";
import { type DataverseEmulator, startDataverseEmulator } from "../../../sandbox/dataverse";

const ROOT = path.join(__dirname, "..", "..", "..");

describe("streamone-ion pack and deploy", () => {
  let outDir: string;
  beforeAll(() => {
    outDir = mkdtempSync(path.join(tmpdir(), "streamone-pack-"));
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("pack --managed writes the unmanaged and managed zips", async () => {
    const out = memoryOutput();
    await expect(main(["pack", "--managed", "--out", outDir, "--json"], out)).resolves.toBe(0);
    const result = JSON.parse(out.stdout.join(""));
    expect(path.basename(result.unmanaged)).toMatch(/^StreamOneIonConnector_\d+_\d+_\d+_\d+\.zip$/);
    expect(path.basename(result.managed)).toMatch(/_managed\.zip$/);
    expect(readdirSync(outDir).sort()).toEqual([path.basename(result.unmanaged), path.basename(result.managed)].sort());
  });

  describe("deploy", () => {
    let emulator: DataverseEmulator;
    const env = { ...process.env };
    beforeAll(async () => {
      emulator = await startDataverseEmulator();
      process.env.DATAVERSE_TOKEN = emulator.integrationToken;
      delete process.env.AZURE_TENANT_ID;
      delete process.env.AZURE_CLIENT_ID;
      delete process.env.AZURE_CLIENT_SECRET;
    });
    afterAll(async () => {
      process.env = env;
      await emulator.close();
    });

    it("imports the packed solution into an environment and sets the functions URL", async () => {
      const packed = readdirSync(outDir).find((f) => !f.endsWith("_managed.zip"))!;
      process.env.FUNCTIONS_WEBHOOK_KEY = "cli-deploy-webhook-key-0123456789";
      const out = memoryOutput();
      const code = await main(
        [
          "deploy",
          "--environment",
          emulator.url,
          "--zip",
          path.join(outDir, packed),
          "--functions-url",
          "https://contoso-streamone.azurewebsites.net",
        ],
        out,
      );
      expect(out.text()).toMatch(/Imported StreamOneIonConnector/);
      expect(out.text()).toMatch(/Importing… 100%/);
      expect(out.text()).toMatch(/Webhook endpoint created; steps: 8 created, 0 updated, 0 unchanged\./);
      expect(out.text()).not.toContain("cli-deploy-webhook-key-0123456789");
      expect(code).toBe(0);
      const tables = await (
        await fetch(`${emulator.url}/api/data/v9.2/EntityDefinitions(LogicalName='w365_providersubscription')?$select=EntitySetName`, {
          headers: { Authorization: `Bearer ${emulator.integrationToken}` },
        })
      ).json();
      expect(tables.EntitySetName).toBe("w365_providersubscriptions");
    });

    it("refuses a bad token with exit code 1 and no secret in the message", async () => {
      process.env.DATAVERSE_TOKEN = "not-a-valid-token-123456";
      const out = memoryOutput();
      await expect(main(["deploy", "--environment", emulator.url], out)).resolves.toBe(1);
      expect(out.text()).not.toContain("not-a-valid-token-123456");
      process.env.DATAVERSE_TOKEN = emulator.integrationToken;
    });
  });
});

describe("streamone-ion sandbox (the built command, as a developer runs it)", () => {
  it("prints one JSON line with every contract field, serves each URL, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "streamone-ion.js"), "sandbox", "--customers", "3"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.once("line", resolve);
        child.once("exit", (code) => reject(new Error(`sandbox exited early with ${code}`)));
      });
      const info = JSON.parse(line);
      expect(Object.keys(info).sort()).toEqual([
        "adminUrl",
        "dataverseToken",
        "dataverseUrl",
        "functionsKey",
        "functionsUrl",
        "ion",
        "ionUrl",
      ]);
      expect(Object.keys(info.ion).sort()).toEqual(["accountId", "apiKey", "apiSecret", "refreshToken"]);
      const who = await fetch(`${info.dataverseUrl}/api/data/v9.2/WhoAmI`, { headers: { Authorization: `Bearer ${info.dataverseToken}` } });
      expect(who.status).toBe(200);
      expect((await fetch(info.adminUrl)).status).toBe(200);
      const noKey = await fetch(`${info.functionsUrl}/api/dataverse/webhook`, { method: "POST", body: "{}" });
      expect(noKey.status).toBe(401);
      const token = await fetch(`${info.ionUrl}/oauth/validateAccess`, {
        method: "POST",
        body: new URLSearchParams({ access_token: "nope" }),
      });
      expect(token.status).toBe(400);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await expect(exited).resolves.toBe(0);
    }
  });

  it("with --no-ion leaves ionUrl and ion out of the line, and --data keeps the emulator's database in that folder", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "streamone-sandbox-data-"));
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "streamone-ion.js"), "sandbox", "--no-ion", "--data", dataDir], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.once("line", resolve);
        child.once("exit", (code) => reject(new Error(`sandbox exited early with ${code}`)));
      });
      const info = JSON.parse(line);
      expect(Object.keys(info).sort()).toEqual(["adminUrl", "dataverseToken", "dataverseUrl", "functionsKey", "functionsUrl"]);
      expect(readdirSync(dataDir)).toContain("dataverse.sqlite");
      const who = await fetch(`${info.dataverseUrl}/api/data/v9.2/WhoAmI`, { headers: { Authorization: `Bearer ${info.dataverseToken}` } });
      expect(who.status).toBe(200);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await expect(exited).resolves.toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
