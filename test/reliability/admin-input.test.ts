/**
 * Bad admin input. Every connector form field (the shared validation module behind the
 * PCF control and the classic form script) with invalid values gets a clear message and the save is
 * blocked; every CLI flag with an invalid value exits 2 with a message and writes nothing to Dataverse;
 * Verify Connectivity names a wrong Account ID, a used refresh token and a wrong API secret as such.
 */
import { XrmMockGenerator } from "xrm-mock";

import { main } from "../../cli/main";
import { memoryOutput } from "../../cli/output";
import { ConnectionStatus, runVerify } from "../../src/sync";
import {
  CONNECTOR_COLUMNS,
  CONNECTOR_FIELDS,
  type ConnectorField,
  type ConnectorInput,
  describeFieldError,
  FIELD_LABELS,
  validateConnectorInput,
} from "../../ui-shared/validation";
import { onSave } from "../../webresources/connectorform";
import { recordArtifact, recordFigures } from "./support/figures";
import { scanForSecrets } from "./support/secrets";
import { type RelWorld, startRelWorld } from "./support/world";

const figures: Record<string, unknown> = {};
afterAll(() => recordFigures("admin-input", figures));

const VALID: Required<{ [K in ConnectorField]: string }> = {
  name: "StreamOne Ion",
  refreshToken: "RT0123456789ABCDEFGHIJ",
  apiKey: "ak_0123456789abcdef",
  apiSecret: "0123456789abcdef0123456789abcdef",
  accountId: "1000123",
  country: "US",
  currencyCode: "USD",
};

const INVALID: Record<ConnectorField, string[]> = {
  name: ["", "   ", "x".repeat(101)],
  refreshToken: ["", "  ", "abc def", "line\nbreak", "tab\there", "x".repeat(4001)],
  apiKey: ["", "ak 123", "ak_1\r\n2", "x".repeat(4001)],
  apiSecret: ["", "se cret", "x".repeat(4001)],
  accountId: ["", "abc", "1000-123", "12.5", "-1", "１２３", "1".repeat(101), "1000123 OR 1=1"],
  country: ["", "USA", "XX", "1", "U", "united states"],
  currencyCode: ["", "US", "EURO", "XXX1", "$", "usd dollar"],
};

describe("connector form fields", () => {
  it("every invalid value of every field is refused with a clear message naming the field, and the form save is blocked", () => {
    let tried = 0;
    for (const field of CONNECTOR_FIELDS) {
      for (const bad of INVALID[field]) {
        tried++;
        const input: ConnectorInput = { ...VALID, [field]: bad };
        const result = validateConnectorInput(input, { requireRefreshToken: true, requireApiSecret: true });
        expect({ field, bad, ok: result.ok }).toStrictEqual({ field, bad, ok: false });
        if (result.ok) continue;
        expect(result.errors.map((e) => e.field)).toStrictEqual([field]);
        const message = describeFieldError(result.errors[0]!);
        expect(message.length).toBeGreaterThan(10);
        if (field !== "country" && field !== "currencyCode") expect(message).toContain(FIELD_LABELS[field]);
        expect(formSaveBlocked({ ...input })).toBe(true);
      }
    }
    // And the valid form saves (so "blocked" above means something).
    expect(formSaveBlocked({ ...VALID })).toBe(false);
    figures.formValuesTried = tried;
  });
});

/** The classic form script's onSave on a new connector with these values: true when it prevented the save. */
function formSaveBlocked(values: ConnectorInput): boolean {
  XrmMockGenerator.initialise();
  for (const field of CONNECTOR_FIELDS) {
    const name = CONNECTOR_COLUMNS[field];
    XrmMockGenerator.Attribute.createString({ name, value: (values[field] as string | undefined) ?? "" }, [{ name }]);
  }
  XrmMockGenerator.Attribute.createDate({ name: "w365_refreshtokensavedon" }, [{ name: "w365_refreshtokensavedon" }]);
  XrmMockGenerator.Attribute.createDate({ name: "w365_apisecretsavedon" }, [{ name: "w365_apisecretsavedon" }]);
  const form = XrmMockGenerator.getFormContext();
  const spy = jest.spyOn(form.ui, "getFormType").mockReturnValue(1);
  let prevented = false;
  onSave({
    getFormContext: () => form,
    getEventArgs: () => ({ preventDefault: () => (prevented = true), isDefaultPrevented: () => prevented }),
  } as unknown as Xrm.Events.SaveEventContext);
  spy.mockRestore();
  return prevented;
}

describe("CLI flags", () => {
  let w: RelWorld;
  const saved = { ...process.env };
  beforeAll(async () => {
    w = await startRelWorld({ seed: 2, customers: 3, subscriptionsPerCustomer: 1 });
    process.env.DATAVERSE_TOKEN = w.emu.integrationToken;
    delete process.env.DATAVERSE_URL;
  });
  afterAll(async () => {
    process.env = saved;
    await w?.close();
  });

  const cases = (): [string, string[]][] => {
    const dv = ["--dataverse", w.emu.url];
    const conn = ["--connection", w.connectionId];
    return [
      ["unknown command", ["launch"]],
      ["sync: unknown kind", ["sync", "everything", ...conn, ...dv]],
      ["sync: missing --connection", ["sync", "all", ...dv]],
      ["sync: unknown flag", ["sync", "all", ...conn, ...dv, "--force"]],
      ["sync: --dataverse not a URL", ["sync", "all", ...conn, "--dataverse", "not a url"]],
      ["sync: --dataverse not http(s)", ["sync", "all", ...conn, "--dataverse", "ftp://example.com"]],
      ["sync: --provider-account not a GUID", ["sync", "subscriptions", ...conn, ...dv, "--provider-account", "acme"]],
      [
        "sync: --provider-account with another kind",
        ["sync", "accounts", ...conn, ...dv, "--provider-account", "16fd2706-8baf-433b-82eb-8c7fada847da"],
      ],
      ["sync: --connection empty", ["sync", "all", "--connection", "", ...dv]],
      ["verify: missing --connection", ["verify", ...dv]],
      ["verify: --dataverse not a URL", ["verify", ...conn, "--dataverse", "::"]],
      ["demo: --customers 0", ["demo", "--customers", "0"]],
      ["demo: --customers abc", ["demo", "--customers", "abc"]],
      ["demo: --customers too many", ["demo", "--customers", "999999"]],
      ["demo: --subscriptions-per-customer 51", ["demo", "--subscriptions-per-customer", "51"]],
      ["demo: --seed -1", ["demo", "--seed", "-1"]],
      ["sandbox: --ion-port 70000", ["sandbox", "--ion-port", "70000"]],
      ["sandbox: --dataverse-port abc", ["sandbox", "--dataverse-port", "abc"]],
      ["sandbox: --functions-port -1", ["sandbox", "--functions-port", "-1"]],
      ["sandbox: --customers 1.5", ["sandbox", "--customers", "1.5"]],
      ["deploy: missing --environment", ["deploy"]],
      ["deploy: --environment not a URL", ["deploy", "--environment", "contoso"]],
      ["deploy: --functions-url not a URL", ["deploy", "--environment", w.emu.url, "--functions-url", "functions"]],
      ["deploy: --sync-schedule not NCRONTAB", ["deploy", "--environment", w.emu.url, "--sync-schedule", "every day"]],
      ["pack: unknown flag", ["pack", "--compress"]],
    ];
  };

  it("every invalid flag exits 2 with a message and writes nothing to Dataverse", async () => {
    const results: { name: string; exit: number; message: string; writes: number }[] = [];
    const transcripts: string[] = [];
    for (const [name, argv] of cases()) {
      const writesBefore = w.emu.stats().writes;
      const out = memoryOutput();
      const exit = await main(argv, out);
      const message = out.stderr.join("").trim().split("\n")[0] ?? "";
      transcripts.push(`$ streamone-ion ${argv.join(" ")}\n${out.text()}`);
      results.push({ name, exit, message: message.slice(0, 200), writes: w.emu.stats().writes - writesBefore });
    }
    recordArtifact("cli-bad-flags.txt", transcripts.join("\n"));
    figures.cliFlags = results;
    expect(scanForSecrets(w.secrets(), { cli: transcripts.join("\n") })).toStrictEqual([]);
    const wrong = results.filter((r) => r.exit !== 2 || r.message.length < 10 || r.writes !== 0);
    expect(wrong).toStrictEqual([]);
  });

  it("missing Dataverse credentials is a usage error that writes nothing", async () => {
    delete process.env.DATAVERSE_TOKEN;
    const writesBefore = w.emu.stats().writes;
    const out = memoryOutput();
    expect(await main(["verify", "--connection", w.connectionId, "--dataverse", w.emu.url], out)).toBe(2);
    expect(out.stderr.join("")).toMatch(/DATAVERSE_TOKEN|AZURE_CLIENT_ID/);
    expect(w.emu.stats().writes).toBe(writesBefore);
    process.env.DATAVERSE_TOKEN = w.emu.integrationToken;
  });
});

describe("Verify Connectivity names what is wrong", () => {
  async function verifyWith(patch: (w: RelWorld) => Promise<Record<string, unknown>>) {
    const w = await startRelWorld({ seed: 6, customers: 2, subscriptionsPerCustomer: 1 });
    try {
      await w.dv.update("w365_providerconnections", w.connectionId, await patch(w));
      const result = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "manual" });
      const row = await w.dv.retrieve<Record<string, unknown>>("w365_providerconnections", w.connectionId, {
        select: ["w365_status", "w365_statusmessage"],
      });
      expect(scanForSecrets(w.secrets(), { message: String(row.w365_statusmessage) })).toStrictEqual([]);
      return { result, status: row.w365_status, message: String(row.w365_statusmessage) };
    } finally {
      await w.close();
    }
  }

  it("a wrong Account ID", async () => {
    const r = await verifyWith(async () => ({ w365_ionaccountid: "1000999" }));
    expect(r.result.ok).toBe(false);
    expect(r.status).toBe(ConnectionStatus.Failed);
    expect(r.message).toContain("The Account ID 1000999 does not match these credentials");
    expect(r.result.checks.find((c) => c.name === "refresh token")?.ok).toBe(true);
    expect(r.result.checks.find((c) => c.name === "api key and secret (v1)")?.ok).toBe(true);
    figures.verifyWrongAccountId = r.message;
  });

  it("a used refresh token", async () => {
    const r = await verifyWith(async (w) => {
      // Someone already exchanged the portal token (another tool, a copy of the connector): it is used up.
      const res = await fetch(`${w.ion.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: w.ion.credentials.refreshToken }).toString(),
      });
      expect(res.status).toBe(200);
      return {};
    });
    expect(r.result.ok).toBe(false);
    expect(r.status).toBe(ConnectionStatus.CredentialsExpired);
    expect(r.message).toContain("The Refresh Token was rejected by StreamOne Ion (expired or already used)");
    expect(r.message).toMatch(/Request New Credentials/);
    figures.verifyUsedToken = r.message;
  });

  it("a wrong API secret", async () => {
    const r = await verifyWith(async () => ({ w365_apisecret: "0000000000000000000000000000000000000000" }));
    expect(r.result.ok).toBe(false);
    expect(r.status).toBe(ConnectionStatus.Failed);
    expect(r.message).toContain("The API Key or API Secret is wrong");
    expect(r.result.checks.find((c) => c.name === "refresh token")?.ok).toBe(true);
    expect(r.result.checks.find((c) => c.name === "account id (v3)")?.ok).toBe(true);
    figures.verifyWrongSecret = r.message;
  });
});
