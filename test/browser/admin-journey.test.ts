// The admin's journey from the user guide, in a real browser against the whole sandbox (Ion simulator, Dataverse
// emulator with the solution imported, functions host): create a connector by filling the form, verify it, sync
// provider accounts, map one customer, create one new account. Invalid inputs show their messages and save nothing.
import type { Browser, Page } from "playwright-core";

import { type Sandbox, startSandbox } from "../../sandbox";
import { type AdminHarness, startAdminHarness } from "../../sandbox/admin";
import { closeAll, launchChromium, openPage, screenshotter } from "./browser";

jest.setTimeout(180_000);

type Row = Record<string, unknown>;

let sandbox: Sandbox;
let harness: AdminHarness;
let browser: Browser;
let page: Page;
let pageErrors: string[];
const shot = screenshotter("admin-journey");

/** Reads Dataverse as the integration user, to check what the UI really wrote. */
async function query(pathAndQuery: string): Promise<Row[]> {
  const response = await fetch(`${sandbox.dataverseUrl}/api/data/v9.2/${pathAndQuery}`, {
    headers: { Authorization: `Bearer ${sandbox.dataverseToken}`, Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${pathAndQuery}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { value: Row[] }).value;
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  browser = await launchChromium();
  sandbox = await startSandbox({ customers: 20, subscriptionsPerCustomer: 1, seed: 7 });
  // The guide's form has no Ion host field: the page's ionBaseUrl input points new connectors at the simulator.
  harness = await startAdminHarness({ dataverseUrl: sandbox.dataverseUrl, token: sandbox.adminToken, ionBaseUrl: sandbox.ionUrl });
  ({ page, pageErrors } = await openPage(browser, { width: 1400, height: 900 }, 20_000));
});

afterAll(() => closeAll(browser, harness, sandbox));

describe("Admin Hub → Integrations (sandbox)", () => {
  let connectorId = "";

  it("opens the Integrations tab with the built control and Add New", async () => {
    // The sandbox serves the same page at its adminUrl.
    expect((await fetch(sandbox.adminUrl!)).status).toBe(200);
    await page.goto(harness.url);
    await page.getByText("No connectors yet. Click Add New to create one.").waitFor();
    await shot(page, "integrations-empty");
    await page.getByRole("button", { name: "Add New" }).click();
    await page.getByRole("heading", { name: "Add New integration" }).waitFor();
    await shot(page, "gallery");
    await page.getByRole("button", { name: "Create a StreamOne connector" }).click();
    await page.getByRole("heading", { name: "New StreamOne Ion connector" }).waitFor();
    expect(await page.getByRole("textbox", { name: "Name", exact: true }).inputValue()).toBe("StreamOne Ion");
  });

  it("shows a message per invalid field and saves nothing", async () => {
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("   ");
    await page.getByLabel("Account ID").fill("12-AB");
    await page.getByRole("combobox", { name: "Country" }).fill("Atlantis");
    await page.getByRole("combobox", { name: "Country" }).press("Tab");
    await page.getByRole("button", { name: "Save" }).click();
    await page
      .getByText("Fix 7 fields before saving: Name, Refresh Token, API Key, API Secret, Account ID, Country, Currency Code.")
      .waitFor();
    for (const message of [
      "Name is required.",
      "Refresh Token is required.",
      "API Key is required.",
      "API Secret is required.",
      "Currency Code is required.",
    ]) {
      await expect(page.getByText(message, { exact: true }).isVisible()).resolves.toBe(true);
    }
    await expect(page.getByText(/^Account ID must contain digits only/).isVisible()).resolves.toBe(true);
    await expect(page.getByText(/^Choose a country from the list/).isVisible()).resolves.toBe(true);
    // Focus moved to the first invalid field.
    await expect(page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).resolves.toBe("name");
    await shot(page, "form-invalid");
    expect(await query("w365_providerconnections?$select=w365_name")).toStrictEqual([]);
  });

  it("creates the connector from the guide's fields and returns to the list", async () => {
    const ion = sandbox.ion!;
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("StreamOne Ion");
    await page.getByLabel("Refresh Token").fill(`  ${ion.refreshToken}  `);
    await page.getByLabel("API Key").fill(ion.apiKey);
    await page.getByLabel("API Secret").fill(ion.apiSecret);
    await page.getByLabel("Account ID").fill(ion.accountId);
    const country = page.getByRole("combobox", { name: "Country" });
    await country.click();
    await country.fill("united sta");
    await page.getByRole("option", { name: "United States (US)" }).click();
    const currency = page.getByRole("combobox", { name: "Currency Code" });
    await currency.click();
    await currency.fill("usd");
    await page.getByRole("option", { name: "US Dollar (USD)" }).click();
    await shot(page, "form-filled");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Connector StreamOne Ion saved.").waitFor();
    const row = page.getByRole("row", { name: /StreamOne Ion/ });
    await row.getByText("Not verified").waitFor();
    await shot(page, "list-saved");
    // Secrets are write-only: never in the page after Save.
    const html = await page.content();
    expect(html).not.toContain(ion.refreshToken);
    expect(html).not.toContain(ion.apiSecret);
    // The page talks to Dataverse through the harness's proxy: no bearer token reaches it.
    expect(html).not.toContain(sandbox.adminToken);

    const saved = await query(
      "w365_providerconnections?$select=w365_providerconnectionid,w365_name,w365_refreshtoken,w365_apikey,w365_apisecret,w365_ionaccountid,w365_country,w365_currencycode",
    );
    expect(saved).toHaveLength(1);
    connectorId = String(saved[0]!.w365_providerconnectionid);
    // The token is single-use and the connector may already have rotated it; it was stored trimmed either way.
    expect(String(saved[0]!.w365_refreshtoken)).toMatch(/^\S+$/);
    expect(saved[0]).toMatchObject({
      w365_name: "StreamOne Ion",
      w365_apikey: ion.apiKey,
      w365_apisecret: ion.apiSecret,
      w365_ionaccountid: ion.accountId,
      w365_country: "US",
      w365_currencycode: "USD",
    });
  });

  it("⚙️ → Verify Connectivity shows Connected and when the refresh token expires", async () => {
    await page.getByRole("button", { name: "Actions for StreamOne Ion" }).click();
    await page.getByRole("menuitem", { name: "Verify Connectivity" }).click();
    const activity = page.getByTestId("activity");
    await activity.getByText("Verify Connectivity for StreamOne Ion: connected.").waitFor({ timeout: 60_000 });
    await activity.getByText(/^The refresh token expires on /).waitFor();
    await page
      .getByRole("row", { name: /StreamOne Ion/ })
      .getByText("Connected", { exact: true })
      .waitFor();
    await shot(page, "verified");
    const [row] = await query(`w365_providerconnections?$select=w365_status&$filter=w365_providerconnectionid eq ${connectorId}`);
    expect(row?.w365_status).toBe(365000001);
  });

  it("⚙️ → Sync Provider Accounts shows progress and the run's counts", async () => {
    await page.getByRole("button", { name: "Actions for StreamOne Ion" }).click();
    await page.getByRole("menuitem", { name: "Sync Provider Accounts" }).click();
    const activity = page.getByTestId("activity");
    await activity.getByText(/^Sync Provider Accounts finished/).waitFor({ timeout: 90_000 });
    const counts = await activity.getByTestId("run-counts").textContent();
    expect(counts).toMatch(/^Created \d+, updated \d+, unchanged \d+, failed 0\.$/);
    const created = Number(/Created (\d+)/.exec(counts ?? "")?.[1]);
    expect(created).toBe(20);
    // The guide's next step is offered right on the outcome.
    await activity.getByRole("button", { name: "Map provider accounts" }).waitFor();
    await shot(page, "accounts-synced");
    const runs = await query("w365_syncruns?$select=w365_kind,w365_status,w365_requestid");
    expect(runs.some((r) => r.w365_kind === "accounts" && r.w365_status === "succeeded" && typeof r.w365_requestid === "string")).toBe(
      true,
    );
  });

  it("maps one Ion customer to an existing account from the mapping page", async () => {
    await page.getByRole("button", { name: "Actions for StreamOne Ion" }).click();
    await page.getByRole("menuitem", { name: "Map provider accounts" }).click();
    await page.getByRole("heading", { name: "Provider account mapping" }).waitFor();
    await page.locator("table").waitFor();
    await shot(page, "mapping-page");

    const open = await query(
      `w365_provideraccounts?$select=w365_provideraccountid,w365_name,w365_mappingstatus&$filter=_w365_connection_value eq ${connectorId} and w365_mappingstatus ne 365000002 and w365_mappingstatus ne 365000003&$orderby=w365_name asc`,
    );
    expect(open.length).toBeGreaterThanOrEqual(2);
    const [toMap, toCreate] = open as [Row, Row];
    const [account] = await query("accounts?$select=accountid,name&$orderby=name asc&$top=1");
    expect(account).toBeDefined();

    await page.getByRole("button", { name: "All (20)" }).click();
    await page.getByRole("button", { name: `Map ${String(toMap.w365_name)} to an account` }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Search accounts by name or domain").fill(String(account!.name));
    await dialog
      .getByRole("button", { name: `Map to ${String(account!.name)}` })
      .first()
      .waitFor();
    await shot(page, "map-dialog");
    await dialog
      .getByRole("button", { name: `Map to ${String(account!.name)}` })
      .first()
      .click();
    await page.getByText(`${String(toMap.w365_name)} is mapped to ${String(account!.name)}.`).waitFor({ timeout: 30_000 });
    await shot(page, "mapped");
    const mapped = await until(
      () =>
        query(
          `w365_provideraccounts?$select=_w365_account_value,w365_mappingstatus&$filter=w365_provideraccountid eq ${String(toMap.w365_provideraccountid)}`,
        ),
      (rows) => rows[0]?.w365_mappingstatus === 365000002,
      "the mapping",
    );
    expect(String(mapped[0]?._w365_account_value).toLowerCase()).toBe(String(account!.accountid).toLowerCase());

    // Create new account for another customer: one confirm, then the engine's duplicate check; when it finds likely
    // existing accounts they are listed and Create anyway (Force) creates. Never a silent create.
    await page.getByRole("button", { name: `Create new account for ${String(toCreate.w365_name)}` }).click();
    const confirm = page.getByRole("dialog");
    await confirm.getByRole("heading", { name: `Create a new account for ${String(toCreate.w365_name)}?` }).waitFor();
    await shot(page, "create-confirm");
    await confirm.getByRole("button", { name: "Create account" }).click();
    const mappedText = page.getByText(new RegExp(`^${String(toCreate.w365_name).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is mapped to `));
    const duplicates = confirm.getByRole("heading", { name: `Possible duplicates of ${String(toCreate.w365_name)}` });
    await mappedText.or(duplicates).waitFor({ timeout: 30_000 });
    if (await duplicates.isVisible()) await confirm.getByRole("button", { name: "Create anyway" }).click();
    await mappedText.waitFor({ timeout: 30_000 });
    await shot(page, "created");
    const created = await until(
      () =>
        query(
          `w365_provideraccounts?$select=_w365_account_value,w365_mappingstatus&$filter=w365_provideraccountid eq ${String(toCreate.w365_provideraccountid)}`,
        ),
      (rows) => rows[0]?.w365_mappingstatus === 365000002 && Boolean(rows[0]?._w365_account_value),
      "the new account mapping",
    );
    const [newAccount] = await query(`accounts?$select=name&$filter=accountid eq ${String(created[0]!._w365_account_value)}`);
    expect(newAccount?.name).toBe(toCreate.w365_name);
  });

  it("Edit: invalid values show their messages on the first Save click and save nothing", async () => {
    await page.goto(harness.url);
    await page.getByRole("button", { name: "Actions for StreamOne Ion" }).click();
    await page.getByRole("menuitem", { name: "Edit" }).click();
    await page.getByRole("heading", { name: "Edit StreamOne Ion" }).waitFor();
    // Stored secrets are write-only: the date they were set, and Replace.
    await expect(page.getByTestId("refreshToken-status").textContent()).resolves.toMatch(/^Set on /);
    await expect(page.getByTestId("apiSecret-status").textContent()).resolves.toMatch(/^Set on /);
    const before = await query(
      `w365_providerconnections?$select=w365_name,w365_ionaccountid,w365_country&$filter=w365_providerconnectionid eq ${connectorId}`,
    );
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("");
    await page.getByLabel("Account ID").fill("12a");
    // One mouse click straight from the field: the field's own message appears on blur and must not swallow the click.
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Fix 2 fields before saving: Name, Account ID.").waitFor();
    await expect(page.getByText("Name is required.", { exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole("textbox", { name: "Account ID" }).getAttribute("aria-invalid")).resolves.toBe("true");
    await shot(page, "edit-invalid");
    expect(
      await query(
        `w365_providerconnections?$select=w365_name,w365_ionaccountid,w365_country&$filter=w365_providerconnectionid eq ${connectorId}`,
      ),
    ).toStrictEqual(before);
    // Typed values are not thrown away without asking.
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("alertdialog", { name: "Discard your changes?" }).waitFor();
    await page.getByRole("button", { name: "Discard changes" }).click();
    await page.getByRole("heading", { name: "Integrations" }).waitFor();
  });

  it("a wrong API Secret: Verify Connectivity names the API Secret and the row shows Failed", async () => {
    const editSecret = async (value: string): Promise<void> => {
      await page.getByRole("button", { name: "Actions for StreamOne Ion" }).click();
      await page.getByRole("menuitem", { name: "Edit" }).click();
      await page.getByRole("button", { name: "Replace the API Secret" }).click();
      await page.getByLabel("API Secret").fill(value);
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Connector StreamOne Ion saved.").waitFor();
    };
    const verify = async (state: "success" | "error") => {
      await page.getByRole("button", { name: "Actions for StreamOne Ion" }).click();
      await page.getByRole("menuitem", { name: "Verify Connectivity" }).click();
      const outcome = page.getByTestId("activity").locator(`[data-kind="verify"][data-state="${state}"]`);
      await outcome.waitFor({ timeout: 60_000 });
      return outcome;
    };
    await editSecret("not-the-api-secret");
    const failed = await verify("error");
    await failed.getByText("Verify Connectivity for StreamOne Ion: failed.").waitFor();
    await expect(failed.getByTestId("activity-detail").textContent()).resolves.toMatch(/API Secret/);
    await page
      .getByRole("row", { name: /StreamOne Ion/ })
      .getByText("Failed", { exact: true })
      .waitFor();
    await shot(page, "verify-wrong-secret");
    const html = await page.content();
    expect(html).not.toContain("not-the-api-secret");

    await failed.getByRole("button", { name: "Dismiss" }).click();
    await editSecret(sandbox.ion!.apiSecret);
    const connected = await verify("success");
    await connected.getByText(/^The refresh token expires on /).waitFor();
    await page
      .getByRole("row", { name: /StreamOne Ion/ })
      .getByText("Connected", { exact: true })
      .waitFor();
  });

  it("ran without page errors", () => {
    expect(pageErrors).toStrictEqual([]);
  });
});

describe("Mapping page with more than 5,000 Ion customers", () => {
  const TOTAL = 5_050;
  let bigConnectorId = "";

  beforeAll(async () => {
    // A second connector whose provider accounts are written straight into Dataverse: 5,050 rows is more than one
    // Web API page (5,000), which is what the page must follow.
    bigConnectorId = await sandbox.dataverse.create("w365_providerconnections", {
      w365_name: "Big Reseller",
      w365_ionaccountid: "2000456",
      w365_country: "GB",
      w365_currencycode: "GBP",
    });
    const [account] = await query("accounts?$select=accountid&$top=1");
    const ops = Array.from({ length: TOTAL }, (_, i) => ({
      method: "POST" as const,
      entitySet: "w365_provideraccounts",
      body: {
        w365_name: `Customer ${String(i + 1).padStart(5, "0")}`,
        w365_ioncustomerid: String(900_000 + i),
        w365_mappingstatus: i % 10 === 0 ? 365000001 : 365000000,
        ...(i % 10 === 0
          ? {
              w365_matchscore: 0.85,
              w365_matchreason: "name matches",
              "w365_suggestedaccount@odata.bind": `/accounts(${String(account!.accountid)})`,
            }
          : {}),
        "w365_connection@odata.bind": `/w365_providerconnections(${bigConnectorId})`,
      },
    }));
    const results = await sandbox.dataverse.batch(ops);
    expect(results.filter((r) => !r.ok)).toHaveLength(0);
  });

  it("loads every page, counts all rows and pages the table", async () => {
    await page.goto(`${harness.url}mapping?data=${bigConnectorId}`);
    await page.getByText("Connector: Big Reseller").waitFor();
    const all = page.getByRole("button", { name: `All (${TOTAL})` });
    await all.waitFor({ timeout: 30_000 });
    await expect(page.getByRole("button", { name: "Unmapped (4545)" }).getAttribute("aria-pressed")).resolves.toBe("true");
    await expect(page.getByRole("button", { name: "Suggested (505)" }).isVisible()).resolves.toBe(true);
    await all.click();
    const range = page.locator("#w365-range");
    await expect(range.textContent()).resolves.toBe(`1–100 of ${TOTAL} · page 1 of 51`);
    await expect(page.locator("tbody tr").count()).resolves.toBe(100);
    await shot(page, "mapping-5050");
    // The last rows are the ones beyond the first Web API page.
    const next = page.getByRole("button", { name: "Next" });
    await next.click();
    await expect(range.textContent()).resolves.toBe(`101–200 of ${TOTAL} · page 2 of 51`);
    await expect(page.evaluate(() => (document.activeElement as HTMLElement | null)?.textContent)).resolves.toBe("Next");
    await page.getByLabel("Search customers").fill("Customer 0505");
    await expect(range.textContent()).resolves.toMatch(/^1–\d+ of \d+ · page 1 of 1$/);
    await page.locator("tbody tr").filter({ hasText: "Customer 05050" }).waitFor();
    // Bulk accept offers the suggestions at the chosen score (85% rows: counted at 80%, not at the default 90%).
    await page.getByLabel("Search customers").fill("");
    await page.getByRole("button", { name: "Accept strong suggestions (0)" }).waitFor();
    await page.getByLabel("Strong suggestion: score").selectOption("0.8");
    await page.getByRole("button", { name: "Accept strong suggestions (505)" }).waitFor();
    await page.getByLabel("Strong suggestion: score").selectOption("0.9");
    await page.getByRole("button", { name: "Accept strong suggestions (0)" }).waitFor();
    await expect(page.getByRole("button", { name: "Accept strong suggestions (0)" }).isDisabled()).resolves.toBe(true);
  });

  it("ran without page errors", () => {
    expect(pageErrors).toStrictEqual([]);
  });
});
