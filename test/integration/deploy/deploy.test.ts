import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { type DataverseEmulator, startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseClient } from "../../../src/dataverse";
import {
  type CommandRunner,
  compareVersions,
  DeployError,
  deploySolution,
  findOnPath,
  inspectSolutionZip,
  PacCliDeployer,
} from "../../../src/deploy";
import { memoryLogger } from "../../../src/shared/logger";
import { loadSolutionModel, type SolutionModel, solutionZipFiles, writeSolutionZip, zipFiles } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";

const WEBHOOK_KEY = "fk-0123456789abcdef-secret";

describe("deploySolution through the Web API (against the Dataverse emulator)", () => {
  let model: SolutionModel;
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  const zipOf = (version: string, managed = false) => writeSolutionZip({ ...model, version }, { managed });
  const auth = () => ({ kind: "static" as const, token: emulator.integrationToken });

  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
  });
  beforeEach(async () => {
    emulator = await startDataverseEmulator();
    client = new DataverseClient({ url: emulator.url, auth: auth() });
  });
  afterEach(async () => {
    await emulator.close();
  });

  it("imports, publishes, sets the environment variables and points the webhook at the functions app", async () => {
    const logger = memoryLogger();
    const result = await deploySolution({
      environmentUrl: emulator.url,
      auth: auth(),
      zip: await zipOf("1.0.0.0"),
      settings: { functionsBaseUrl: "https://ion-fn.example.net/", webhookKey: WEBHOOK_KEY, syncSchedule: "0 30 3 * * *" },
      logger,
    });
    expect(result).toMatchObject({
      solution: "StreamOneIonConnector",
      version: "1.0.0.0",
      upgraded: false,
      published: true,
      deployer: "webapi",
    });
    expect(result.environmentVariables.sort()).toStrictEqual(["w365_DefaultSyncSchedule", "w365_FunctionsBaseUrl"]);
    expect(emulator.getEnvironmentVariable("w365_FunctionsBaseUrl")).toBe("https://ion-fn.example.net");
    // The key is only in the endpoint's write-only authvalue, never in a variable other users may read.
    expect(emulator.getEnvironmentVariable("w365_FunctionsWebhookKey") ?? "").toBe("");
    expect(emulator.getEnvironmentVariable("w365_DefaultSyncSchedule")).toBe("0 30 3 * * *");
    const endpoint = await client.retrieve<{ url: string; authtype: number }>("serviceendpoints", result.serviceEndpointId!, {
      select: ["url", "authtype"],
    });
    expect(endpoint).toMatchObject({ url: "https://ion-fn.example.net/api/dataverse/webhook", authtype: 4 });
    expect(result.user.userId).toMatch(/^[0-9a-f-]{36}$/);
    // The key is a secret: it never reaches the result or the log.
    expect(JSON.stringify(result)).not.toContain(WEBHOOK_KEY);
    expect(logger.lines.join("\n")).not.toContain(WEBHOOK_KEY);
  });

  it("updates an existing environment variable value instead of adding a second one", async () => {
    await deploySolution({
      environmentUrl: emulator.url,
      auth: auth(),
      zip: await zipOf("1.0.0.0"),
      settings: { functionsBaseUrl: "https://a.example.net" },
    });
    const r = await deploySolution({
      environmentUrl: emulator.url,
      auth: auth(),
      zip: await zipOf("1.0.0.1"),
      settings: { functionsBaseUrl: "https://b.example.net" },
    });
    expect(r).toMatchObject({ upgraded: true, previousVersion: "1.0.0.0", version: "1.0.0.1" });
    const values: { value: string }[] = [];
    for await (const v of client.query<{ value: string }>("environmentvariablevalues", {
      select: ["value"],
      filter: "schemaname eq 'w365_FunctionsBaseUrl'",
    }))
      values.push(v);
    expect(values).toStrictEqual([expect.objectContaining({ value: "https://b.example.net" })]);
  });

  it("refuses to import an older version than the installed one", async () => {
    await deploySolution({ environmentUrl: emulator.url, auth: auth(), zip: await zipOf("1.2.0.0") });
    const err = await deploySolution({ environmentUrl: emulator.url, auth: auth(), zip: await zipOf("1.1.9.9") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err).toMatchObject({ code: "DEPLOY_DOWNGRADE" });
    expect((err as DeployError).message).toBe("StreamOneIonConnector 1.2.0.0 is installed; refusing to import the older 1.1.9.9.");
  });

  it("refuses an unmanaged package over a managed installation", async () => {
    await deploySolution({ environmentUrl: emulator.url, auth: auth(), zip: await zipOf("1.0.0.0", true), managed: true });
    await expect(deploySolution({ environmentUrl: emulator.url, auth: auth(), zip: await zipOf("1.0.0.1") })).rejects.toMatchObject({
      code: "DEPLOY_MANAGED_MISMATCH",
    });
  });

  it("names a missing dependency before uploading", async () => {
    const files = solutionZipFiles(model, { managed: false });
    const manifest = files
      .get("solution.xml")!
      .toString()
      .replace(
        "<MissingDependencies />",
        '<MissingDependencies><MissingDependency><Required type="1" schemaName="w365_billingcontract" displayName="Billing Contract" solution="Work365Core (1.0.0.0)" /><Dependent type="1" schemaName="w365_providersubscription" /></MissingDependency></MissingDependencies>',
      );
    files.set("solution.xml", Buffer.from(manifest));
    const zip = await zipFiles(files);
    expect((await inspectSolutionZip(zip)).missingDependencies).toStrictEqual([
      { type: 1, schemaName: "w365_billingcontract", solution: "Work365Core", display: "Billing Contract" },
    ]);
    const err = (await deploySolution({ environmentUrl: emulator.url, auth: auth(), zip }).catch((e: unknown) => e)) as DeployError;
    expect(err.code).toBe("DEPLOY_MISSING_DEPENDENCY");
    expect(err.message).toContain("solution Work365Core (Billing Contract)");
    // Nothing was imported.
    const solutions: unknown[] = [];
    for await (const s of client.query("solutions", { select: ["version"], filter: "uniquename eq 'StreamOneIonConnector'" }))
      solutions.push(s);
    expect(solutions).toStrictEqual([]);
  });

  it("reports a broken package as an import failure", async () => {
    const zip = await zipFiles(new Map([["solution.xml", solutionZipFiles(model, { managed: false }).get("solution.xml")!]]));
    await expect(deploySolution({ environmentUrl: emulator.url, auth: auth(), zip })).rejects.toMatchObject({
      code: "DEPLOY_IMPORT_FAILED",
    });
  });

  it("fails on bad credentials before importing", async () => {
    await expect(
      deploySolution({ environmentUrl: emulator.url, auth: { kind: "static", token: "not-a-token" }, zip: await zipOf("1.0.0.0") }),
    ).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe("PacCliDeployer", () => {
  const msal = { kind: "msal" as const, tenantId: "t-1", clientId: "c-1", clientSecret: "pac-client-secret-value" };

  function fakePac(stdoutFor: (args: string[]) => string = () => ""): { run: CommandRunner; calls: string[][] } {
    const calls: string[][] = [];
    return { calls, run: async (_cmd, args) => (calls.push(args), { code: 0, stdout: stdoutFor(args), stderr: "" }) };
  }

  it("authenticates with client credentials, then imports the zip with publish and overwrite", async () => {
    const { run, calls } = fakePac();
    const logger = memoryLogger();
    const pac = new PacCliDeployer({
      environmentUrl: "https://contoso.crm.dynamics.com",
      auth: msal,
      pacPath: "/usr/bin/pac",
      run,
      logger,
    });
    const zip = await writeSolutionZip(await loadSolutionModel({ uiDir: await makeUiBuild() }), { managed: false });
    const r = await pac.import(await inspectSolutionZip(zip));
    expect(r).toMatchObject({ solution: "StreamOneIonConnector", version: "1.0.0.0", published: true });
    expect(calls[0]!.slice(0, 2)).toStrictEqual(["auth", "create"]);
    expect(calls[1]!.slice(0, 3)).toStrictEqual(["solution", "import", "--path"]);
    expect(calls[1]).toEqual(
      expect.arrayContaining(["--environment", "https://contoso.crm.dynamics.com", "--async", "--force-overwrite", "--publish-changes"]),
    );
    expect(logger.lines.join("\n")).not.toContain("pac-client-secret-value");
    // The zip pac was given was a temporary copy: it does not outlive the import.
    expect(existsSync(calls[1]![3]!)).toBe(false);
  });

  // docs/operator.md ("With pac") tells operators exactly this: pac can take the secret only as an argument.
  it("puts the client secret on the command line of pac auth create only, once per deployer", async () => {
    const { run, calls } = fakePac((args) => (args[0] === "org" ? "User Id: 3f2b1c4d-0000-4000-8000-000000000001\n" : ""));
    const pac = new PacCliDeployer({ environmentUrl: "https://contoso.crm.dynamics.com", auth: msal, pacPath: "pac", run });
    await pac.whoAmI();
    await pac.import({ zip: Buffer.from("x"), uniqueName: "S", version: "1.0.0.0", managed: false, missingDependencies: [] });
    const carrying = calls.filter((args) => args.includes("pac-client-secret-value"));
    expect(carrying).toHaveLength(1);
    expect(carrying[0]!.slice(0, 2)).toStrictEqual(["auth", "create"]);
    expect(carrying[0]!.indexOf("pac-client-secret-value")).toBe(carrying[0]!.indexOf("--clientSecret") + 1);
    expect(calls.map((args) => args.slice(0, 2).join(" "))).toStrictEqual(["auth create", "org who", "solution import"]);
    // Closing deletes the profile it created (and only once); nothing to delete when never signed in.
    await pac.close();
    await pac.close();
    expect(calls.slice(3)).toStrictEqual([["auth", "delete", "--name", "streamone-ion-deploy"]]);
    const unused = fakePac();
    await new PacCliDeployer({ environmentUrl: "https://contoso.crm.dynamics.com", auth: msal, pacPath: "pac", run: unused.run }).close();
    expect(unused.calls).toStrictEqual([]);
  });

  it("only logs a profile it could not delete (the import is done)", async () => {
    const logger = memoryLogger();
    const run: CommandRunner = async (_c, args) =>
      args[1] === "delete" ? { code: 1, stdout: "", stderr: "profile locked" } : { code: 0, stdout: "", stderr: "" };
    const pac = new PacCliDeployer({ environmentUrl: "https://contoso.crm.dynamics.com", auth: msal, pacPath: "pac", run, logger });
    await pac.import({ zip: Buffer.from("x"), uniqueName: "S", version: "1.0.0.0", managed: false, missingDependencies: [] });
    await expect(pac.close()).resolves.toBeUndefined();
    expect(logger.lines.join("\n")).toContain("could not delete the pac auth profile");
  });

  it("parses pac org who", async () => {
    const { run } = fakePac((args) =>
      args[0] === "org"
        ? "Organization Information\n  User Id:            3f2b1c4d-0000-4000-8000-000000000001\n  Business Unit Id:   3f2b1c4d-0000-4000-8000-000000000002\n"
        : "",
    );
    const pac = new PacCliDeployer({ environmentUrl: "https://contoso.crm.dynamics.com", auth: msal, pacPath: "pac", run });
    expect(await pac.whoAmI()).toStrictEqual({
      userId: "3f2b1c4d-0000-4000-8000-000000000001",
      businessUnitId: "3f2b1c4d-0000-4000-8000-000000000002",
    });
  });

  it("explains that pac cannot use a bearer token", async () => {
    const pac = new PacCliDeployer({
      environmentUrl: "https://contoso.crm.dynamics.com",
      auth: { kind: "static", token: "x" },
      pacPath: "pac",
      run: fakePac().run,
    });
    await expect(pac.whoAmI()).rejects.toMatchObject({ code: "DEPLOY_PAC_AUTH" });
  });

  it("turns a failing pac run into a DeployError with the secret redacted", async () => {
    const run: CommandRunner = async (_c, args) =>
      args[0] === "auth"
        ? { code: 0, stdout: "", stderr: "" }
        : { code: 1, stdout: "", stderr: "Error: import failed for client pac-client-secret-value" };
    const pac = new PacCliDeployer({ environmentUrl: "https://contoso.crm.dynamics.com", auth: msal, pacPath: "pac", run });
    const err = (await pac
      .import({ zip: Buffer.from("x"), uniqueName: "S", version: "1.0.0.0", managed: false, missingDependencies: [] })
      .catch((e: unknown) => e)) as DeployError;
    expect(err.code).toBe("DEPLOY_PAC_FAILED");
    expect(err.message).not.toContain("pac-client-secret-value");
  });

  it("finds pac on PATH only when it is there", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "w365-path-"));
    expect(await findOnPath("pac", { PATH: dir })).toBeUndefined();
    await fs.writeFile(path.join(dir, "pac"), "#!/bin/sh\n", { mode: 0o755 });
    expect(await findOnPath("pac", { PATH: dir })).toBe(path.join(dir, "pac"));
  });
});

describe("compareVersions", () => {
  it.each([
    ["1.0.0.0", "1.0.0.0", 0],
    ["1.10.0.0", "1.9.0.0", 1],
    ["1.0.0.9", "1.0.1.0", -1],
    ["2.0", "1.99.99.99", 1],
  ])("%s vs %s → %d", (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });
});
