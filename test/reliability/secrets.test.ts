/**
 * The whole product in the sandbox (emulator, solution, functions host, simulator) goes
 * through verify, syncs, an outbound order and failures (revoked token, wrong secret), driven by the CLI
 * and by custom API calls that fire real webhooks. Then every log line, error, run report, status and
 * sync message, CLI output and test artifact is searched for every secret issued: refresh and access
 * tokens (recorded off the wire by a proxy in front of Ion), the API secret, the webhook key and the
 * Dataverse bearer tokens. Fingerprints (SHA-256, never the secrets) are written for scripts/secret-scan.js.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { main } from "../../cli/main";
import { memoryOutput } from "../../cli/output";
import { type Sandbox, startSandbox } from "../../sandbox";
import { DataverseClient } from "../../src/dataverse";
import { memoryLogger } from "../../src/shared/logger";
import { connectionRow } from "../support/world";
import { ARTIFACTS_DIR, recordArtifact, recordFigures } from "./support/figures";
import { type RecordingProxy, startRecordingProxy } from "./support/proxy";
import { describeSecret, scanForSecrets } from "./support/secrets";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { scanFiles, listFiles } = require("../../scripts/secret-scan.js") as {
  scanFiles(
    files: string[],
    fp: { sha256: string; length: number; label: string }[],
  ): { files: number; bytes: number; findings: unknown[] };
  listFiles(target: string, out: string[]): string[];
};

type Row = Record<string, unknown>;

describe("secrets never leave", () => {
  let sb: Sandbox;
  let ionProxy: RecordingProxy;
  const logger = memoryLogger();
  const saved = { ...process.env };

  beforeAll(async () => {
    sb = await startSandbox({ admin: false, customers: 6, subscriptionsPerCustomer: 2, logger, orderProcessing: "auto" });
    ionProxy = await startRecordingProxy({ target: sb.ionUrl!, name: "ion" });
  });
  afterAll(async () => {
    process.env = saved;
    await ionProxy?.close();
    await sb?.close();
  });

  it("finds none of them in logs, errors, run reports, CLI output or artifacts", async () => {
    const admin = new DataverseClient({ url: sb.dataverseUrl, auth: { kind: "static", token: sb.adminToken } });
    const connectionId = await admin.create(
      "w365_providerconnections",
      connectionRow(sb.ion!, { ionUrl: ionProxy.url, name: "Secrets Test" }),
    );
    await sb.whenIdle();
    process.env.DATAVERSE_TOKEN = sb.dataverseToken;
    const cli: string[] = [];
    const run = async (argv: string[]) => {
      const out = memoryOutput();
      const code = await main([...argv, "--dataverse", sb.dataverseUrl], out);
      cli.push(`$ streamone-ion ${argv.join(" ")} (exit ${code})\n${out.text()}`);
      return code;
    };
    expect(await run(["verify", "--connection", connectionId])).toBe(0);
    expect(await run(["sync", "all", "--connection", connectionId, "--json"])).toBe(0);
    // Webhook paths: custom APIs as the admin, through the functions host.
    await admin.executeAction("w365_VerifyConnectivity", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await admin.executeAction(
      "w365_SyncSubscriptions",
      { RequestId: "secrets-test" },
      { entitySet: "w365_providerconnections", id: connectionId },
    );
    await sb.whenIdle();
    // An admin change on an active subscription (the outbound webhook path): the sync above must have brought one.
    const sub = await sb.dataverse.queryFirst<Row>("w365_providersubscriptions", { filter: "w365_status eq 'active'" });
    expect(sub).toBeDefined();
    await admin.update("w365_providersubscriptions", String(sub?.w365_providersubscriptionid), {
      w365_requestedquantity: Number(sub?.w365_quantity) + 1,
    });
    await sb.whenIdle();
    // Failures: a wrong API secret, then a revoked refresh token (errors carry the most context).
    await sb.dataverse.update("w365_providerconnections", connectionId, { w365_apisecret: "wrong-secret-0123456789abcdef" });
    expect(await run(["verify", "--connection", connectionId, "--json"])).toBe(1);
    await sb.dataverse.update("w365_providerconnections", connectionId, { w365_apisecret: sb.ion!.apiSecret });
    sb.simulator!.control.revokeRefreshTokens();
    sb.simulator!.control.revokeAccessTokens();
    expect(await run(["sync", "all", "--connection", connectionId])).toBe(1);
    expect(await run(["verify", "--connection", connectionId])).toBe(1);
    await sb.whenIdle();

    // Everything the product wrote for admins to read.
    const stored: string[] = [];
    for await (const r of sb.dataverse.query<Row>("w365_syncruns", { select: ["w365_report", "w365_name", "w365_status"] }))
      stored.push(JSON.stringify(r));
    for await (const r of sb.dataverse.query<Row>("w365_providerconnections", { select: ["w365_statusmessage"] }))
      stored.push(JSON.stringify(r));
    for await (const r of sb.dataverse.query<Row>("w365_providersubscriptions", { select: ["w365_syncmessage"] }))
      stored.push(JSON.stringify(r));
    for await (const r of sb.dataverse.query<Row>("asyncoperations", { select: ["message", "friendlymessage"] }))
      stored.push(JSON.stringify(r));
    const tokenRow = await sb.dataverse.retrieve<Row>("w365_providerconnections", connectionId, {
      select: ["w365_refreshtoken", "w365_accesstoken"],
    });

    const secrets = new Set<string>([
      sb.ion!.refreshToken,
      sb.ion!.apiSecret,
      sb.functionsKey,
      sb.dataverseToken,
      sb.adminToken,
      ...ionProxy.issuedSecrets,
    ]);
    for (const v of [tokenRow.w365_refreshtoken, tokenRow.w365_accesstoken]) if (typeof v === "string" && v) secrets.add(v);
    expect(ionProxy.issuedSecrets.size).toBeGreaterThanOrEqual(4); // tokens really were issued and recorded

    const texts = { logs: logger.lines.join("\n"), cli: cli.join("\n"), stored: stored.join("\n") };
    recordArtifact("secrets-sandbox.log", texts.logs);
    recordArtifact("secrets-cli.txt", texts.cli);
    recordArtifact("secrets-stored.txt", texts.stored);
    const findings = scanForSecrets(secrets, texts);

    // Fingerprints for scripts/secret-scan.js, then the file scan over every artifact of the suite.
    const fingerprints = [...secrets].map((s) => ({
      sha256: createHash("sha256").update(s).digest("hex"),
      length: s.length,
      label: describeSecret(s),
    }));
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    writeFileSync(path.join(ARTIFACTS_DIR, "secret-fingerprints.json"), JSON.stringify(fingerprints));
    const files = listFiles(path.resolve(ARTIFACTS_DIR, ".."), []);
    const fileScan = scanFiles(files, fingerprints);
    // The positive control: the scanner does find a planted secret (so zero findings means something).
    const planted = path.join(ARTIFACTS_DIR, "logs", "planted.tmp");
    writeFileSync(planted, `x ${encodeURIComponent(sb.functionsKey)} y`);
    expect(scanFiles([planted], fingerprints).findings).toHaveLength(1);
    writeFileSync(planted, "");

    recordFigures("secrets", {
      secretsKnown: secrets.size,
      tokensIssuedOnTheWire: ionProxy.issuedSecrets.size,
      logLines: logger.lines.length,
      cliCommands: cli.length,
      storedTexts: stored.length,
      artifactFiles: fileScan.files,
      artifactBytes: fileScan.bytes,
      found: findings.length + fileScan.findings.length,
    });
    expect(findings).toStrictEqual([]);
    expect(fileScan.findings).toStrictEqual([]);
  });
});
