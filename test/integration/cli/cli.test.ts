import { main } from "../../../cli/main";
import { memoryOutput } from "../../../cli/output";
import { type Sandbox, startSandbox } from "../../../sandbox";
import { connectionRow } from "../../support/world";

describe("streamone-ion CLI", () => {
  describe("usage", () => {
    it("prints help for every command and exits 0", async () => {
      for (const argv of [
        ["--help"],
        ["demo", "--help"],
        ["sandbox", "--help"],
        ["verify", "--help"],
        ["sync", "--help"],
        ["pack", "--help"],
        ["deploy", "--help"],
      ]) {
        const out = memoryOutput();
        await expect(main(argv, out)).resolves.toBe(0);
        expect(out.text()).toContain("Usage: streamone-ion");
      }
    });

    it.each([
      [["sync", "everything", "--connection", "x"], /"everything" is not a sync kind/],
      [["verify"], /required option '--connection <id-or-name>' not specified/],
      [["sandbox", "--ion-port", "70000"], /"70000" is not a port number/],
      [["demo", "--customers", "abc"], /"abc" is not a whole number/],
      [["sandbox", "--latency", "slow"], /argument 'slow' is invalid\. Allowed choices are off, cloud/],
      [["demo", "--latency", "fast"], /argument 'fast' is invalid\. Allowed choices are off, cloud/],
      [["frobnicate"], /unknown command 'frobnicate'/],
    ])("refuses %j with exit code 2 and says what is wrong", async (argv, message) => {
      const out = memoryOutput();
      await expect(main(argv as string[], out)).resolves.toBe(2);
      expect(out.text()).toMatch(message);
    });

    it("exits 2 with the missing setting named when no Dataverse target is configured", async () => {
      const saved = { url: process.env.DATAVERSE_URL, token: process.env.DATAVERSE_TOKEN };
      delete process.env.DATAVERSE_URL;
      delete process.env.DATAVERSE_TOKEN;
      try {
        const out = memoryOutput();
        await expect(main(["verify", "--connection", "StreamOne Ion"], out)).resolves.toBe(2);
        expect(out.text()).toMatch(/DATAVERSE_URL is not set/);
      } finally {
        if (saved.url !== undefined) process.env.DATAVERSE_URL = saved.url;
        if (saved.token !== undefined) process.env.DATAVERSE_TOKEN = saved.token;
      }
    });
  });

  describe("against the sandbox", () => {
    let sandbox: Sandbox;
    let connectionId: string;
    const env = { ...process.env };

    beforeAll(async () => {
      sandbox = await startSandbox({ customers: 8, subscriptionsPerCustomer: 2, seed: 3, admin: false });
      const ion = sandbox.ion!;
      connectionId = await sandbox.dataverse.create(
        "w365_providerconnections",
        connectionRow(ion, { ionUrl: sandbox.ionUrl, name: "CLI Connector" }),
      );
      process.env.DATAVERSE_URL = sandbox.dataverseUrl;
      process.env.DATAVERSE_TOKEN = sandbox.dataverseToken;
    });

    afterAll(async () => {
      process.env = env;
      await sandbox?.close();
    });

    it("verify --json reports Connected for a good connector, by name", async () => {
      const out = memoryOutput();
      await expect(main(["verify", "--connection", "CLI Connector", "--json"], out)).resolves.toBe(0);
      const result = JSON.parse(out.stdout.join(""));
      expect(result.ok).toBe(true);
      expect(out.text()).not.toContain(sandbox.ion!.refreshToken);
      expect(out.text()).not.toContain(sandbox.ion!.apiSecret);
    });

    it("verify exits 1 and names the cause for an unknown connector", async () => {
      const out = memoryOutput();
      await expect(main(["verify", "--connection", "No Such Connector"], out)).resolves.toBe(1);
      expect(out.stderr.join("")).toMatch(/No Such Connector/);
    });

    it("sync accounts --dry-run writes only its run row, then a real sync creates the provider accounts", async () => {
      const countAccounts = async () => {
        let n = 0;
        for await (const _ of sandbox.dataverse.query("w365_provideraccounts", {
          select: ["w365_provideraccountid"],
          filter: `_w365_connection_value eq ${connectionId}`,
        }))
          n++;
        return n;
      };
      const dry = memoryOutput();
      await expect(main(["sync", "accounts", "--connection", connectionId, "--dry-run", "--json"], dry)).resolves.toBe(0);
      const drySummary = JSON.parse(dry.stdout.join(""));
      expect(drySummary.dryRun).toBe(true);
      expect(await countAccounts()).toBe(0);

      const real = memoryOutput();
      await expect(main(["sync", "accounts", "--connection", connectionId], real)).resolves.toBe(0);
      expect(real.text()).toMatch(/Sync accounts: succeeded — created 8/);
      expect(await countAccounts()).toBe(8);

      const again = memoryOutput();
      await expect(main(["sync", "accounts", "--connection", connectionId, "--json"], again)).resolves.toBe(0);
      const second = JSON.parse(again.stdout.join(""));
      expect(second).toMatchObject({ created: 0, updated: 0, failed: 0 });
    });
  });
});
