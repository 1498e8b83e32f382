// The provider account mapping view of the built PCF control, in Chromium against the sandbox, reached as a bookmark
// or site map entry reaches it: through the mapping web resource (mapping.html + mapping.js, no React or Fluent),
// which hands over to the control. Every change goes through w365_MapProviderAccount to the local Functions host and
// the engine, as in production. Sort, selection, bulk actions with a reviewed list and kept per-row results, a stop
// that lets the call in flight finish, the engine's duplicate check with Create anyway (Force), back to the connector
// list, keyboard use, and an axe-core scan of the view and of its dialogs.
import * as fs from "node:fs";
import * as path from "node:path";

import type { Browser, Page } from "playwright-core";

import { type Sandbox, startSandbox } from "../../sandbox";
import { type AdminHarness, startAdminHarness } from "../../sandbox/admin";
import { w365_provideraccount_w365_mappingstatus as MappingStatus } from "../../src/schema";
import { AUTO_MAP_THRESHOLD } from "../../src/sync/matching/thresholds";
import { accessibilityProblems, closeAll, dataverseApi, launchChromium, openPage, screenshotter } from "./browser";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the build's own budget script, plain CommonJS
const { pageScripts } = require("../../scripts/bundle-budget.js") as { pageScripts(html: string): string[] };

jest.setTimeout(300_000);

type Row = Record<string, unknown>;

let sandbox: Sandbox;
let harness: AdminHarness;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let connectorId = "";
const shot = screenshotter("mapping-page");
/** Screenshots the admin guide shows (docs/images/mapping/), refreshed by this suite. */
const DOC_IMAGES = path.join(__dirname, "..", "..", "docs", "images", "mapping");

const FILLERS = 120;
const accounts: Record<string, string> = {};
const providers: Record<string, string> = {};

const { query } = dataverseApi(() => sandbox, 'return=representation,odata.include-annotations="*"');

async function providerRow(name: string): Promise<Row> {
  const [row] = await query(
    `w365_provideraccounts?$select=w365_mappingstatus,_w365_account_value&$filter=w365_provideraccountid eq ${providers[name]}`,
  );
  return row as Row;
}

async function docShot(name: string): Promise<void> {
  fs.mkdirSync(DOC_IMAGES, { recursive: true });
  await page.screenshot({ path: path.join(DOC_IMAGES, `${name}.png`) });
}

const rowOf = (name: string) => page.locator("tbody tr").filter({ hasText: name });

beforeAll(async () => {
  browser = await launchChromium();
  sandbox = await startSandbox({ customers: 3, subscriptionsPerCustomer: 1, seed: 5, seedAccounts: false, admin: false });
  harness = await startAdminHarness({ dataverseUrl: sandbox.dataverseUrl, token: sandbox.adminToken, ionBaseUrl: sandbox.ionUrl });
  connectorId = await sandbox.dataverse.create("w365_providerconnections", {
    w365_name: "Mapping Reseller",
    w365_ionaccountid: "3000789",
    w365_country: "US",
    w365_currencycode: "USD",
  });
  for (const [name, domain] of [
    ["Northwind Traders", "northwind.example"],
    ["Fabrikam Inc", "fabrikam.example"],
    ["Tailspin Toys", "tailspin.example"],
    ["Contoso Pharma", "contoso.example"],
    ["Adatum Corporation", "adatum.example"],
  ] as const) {
    accounts[name] = await sandbox.dataverse.create("accounts", { name, w365_primarydomain: domain });
  }
  // Suggested rows with the engine's kind of reasons: three at or above the strong bar, one below it.
  const suggested: Array<[string, string, number, string]> = [
    ["Northwind Traders Ltd", "Northwind Traders", 0.95, "name matches, country matches; runner-up close"],
    ["Fabrikam", "Fabrikam Inc", 0.92, "name shortened, domain matches (fabrikam.example); runner-up close"],
    ["Tailspin Toys LLC", "Tailspin Toys", 0.91, "name matches; runner-up close"],
    ["Contoso Pharma Group", "Contoso Pharma", 0.85, "name similar (0.91)"],
  ];
  const bind = { "w365_connection@odata.bind": `/w365_providerconnections(${connectorId})` };
  let ion = 500_000;
  for (const [name, account, score, reason] of suggested) {
    providers[name] = await sandbox.dataverse.create("w365_provideraccounts", {
      ...bind,
      w365_name: name,
      w365_ioncustomerid: String(ion++),
      w365_mappingstatus: MappingStatus.Suggested,
      w365_matchscore: score,
      w365_matchreason: reason,
      "w365_suggestedaccount@odata.bind": `/accounts(${accounts[account]})`,
    });
  }
  for (const name of ["Adatum Corporation", "Quokka Kite Works", "Contoso Pharma Inc"]) {
    providers[name] = await sandbox.dataverse.create("w365_provideraccounts", {
      ...bind,
      w365_name: name,
      w365_ioncustomerid: String(ion++),
      w365_mappingstatus: MappingStatus.Unmapped,
    });
  }
  const fillers = await sandbox.dataverse.batch(
    Array.from({ length: FILLERS }, (_, i) => ({
      method: "POST" as const,
      entitySet: "w365_provideraccounts",
      body: {
        ...bind,
        w365_name: `Zz Filler ${String(i + 1).padStart(3, "0")}`,
        w365_ioncustomerid: String(600_000 + i),
        w365_mappingstatus: MappingStatus.Unmapped,
      },
    })),
  );
  expect(fillers.filter((r) => !r.ok)).toHaveLength(0);
  ({ page, pageErrors } = await openPage(browser, { width: 1366, height: 900 }, 30_000));
});

afterAll(() => closeAll(browser, harness, sandbox));

describe("Provider account mapping view of the control (in Chromium against the sandbox)", () => {
  it("the mapping web resource is a light page: no React or Fluent, only its small script, and it hands over", async () => {
    const html = await (await fetch(`${harness.url}webresources/w365_/streamone/mapping.html`)).text();
    expect(pageScripts(html)).toStrictEqual(["/harness/xrm.js", "mapping.js"]); // the harness's Xrm, then the page's own
    expect(html).not.toMatch(/uiplatform/i);
    const script = await (await fetch(`${harness.url}webresources/w365_/streamone/mapping.js`)).text();
    expect(script.length).toBeLessThan(10 * 1024);
    expect(script).not.toMatch(/createElement|FluentProvider|__SECRET_INTERNALS/);
    // A bookmark of the page lands on the control's mapping view for that connector (the connector form hosts it).
    await page.goto(`${harness.url}mapping?data=${connectorId}`);
    await page.waitForURL(/\/main\.aspx\?pagetype=entityrecord&etn=w365_providerconnection&id=/);
    await page.getByTestId("mapping-view").waitFor();
    await page.getByText("Connector: Mapping Reseller").waitFor();
    // The hand-over is taken once: reloading the form shows the connector list again.
    await page.reload();
    await page.getByRole("button", { name: "Actions for Mapping Reseller" }).waitFor();
  });

  it("lists the connector's customers with filters, search, paging and column sort", async () => {
    // Opened from the Integrations tab: ⚙️ → Map provider accounts.
    await page.goto(harness.url);
    await page.getByRole("button", { name: "Actions for Mapping Reseller" }).click();
    await page.getByRole("menuitem", { name: "Map provider accounts" }).click();
    await page.getByRole("heading", { name: "Provider account mapping" }).waitFor();
    // The view's heading takes focus, so keyboard and screen-reader users start there.
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe("w365-mapping-title");
    await page.getByText("Connector: Mapping Reseller").waitFor();
    const unmapped = page.getByRole("button", { name: `Unmapped (${FILLERS + 3})` });
    await unmapped.waitFor();
    await expect(unmapped.getAttribute("aria-pressed")).resolves.toBe("true");
    const range = page.locator("#w365-range");
    await expect(range.textContent()).resolves.toBe(`1–100 of ${FILLERS + 3} · page 1 of 2`);
    await page.getByRole("button", { name: "Next" }).click();
    await expect(range.textContent()).resolves.toBe(`101–${FILLERS + 3} of ${FILLERS + 3} · page 2 of 2`);
    // Next is now disabled: focus moved to Previous, not lost.
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Previous");

    await page.getByRole("button", { name: "Suggested (4)" }).click();
    await expect(page.locator("tbody tr").count()).resolves.toBe(4);
    // Sort by Match: the header says its direction (aria-sort), and Enter on the focused header sorts too.
    const match = page.getByRole("columnheader", { name: "Match" });
    await match.getByRole("button").click();
    await expect(match.getAttribute("aria-sort")).resolves.toBe("ascending");
    await expect(page.locator("tbody tr").first().textContent()).resolves.toContain("Contoso Pharma Group");
    await match.getByRole("button").focus();
    await page.keyboard.press("Enter");
    await expect(match.getAttribute("aria-sort")).resolves.toBe("descending");
    await expect(page.locator("tbody tr").first().textContent()).resolves.toContain("Northwind Traders Ltd");
    await rowOf("Fabrikam").getByText("domain matches (fabrikam.example); runner-up close").waitFor();

    await page.getByLabel("Search customers").fill("tailspin");
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);
    await page.getByLabel("Search customers").fill("");
    await shot(page, "suggested-sorted");
    await docShot("mapping-page");
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
  });

  it("Accept strong suggestions: default bar is the engine's, rows can be unticked, per-row results stay", async () => {
    // The default is the engine's auto-map score (0.90, as docs/admin.md says): three of the four suggestions.
    expect(AUTO_MAP_THRESHOLD).toBe(0.9);
    await expect(page.getByLabel("Strong suggestion: score").inputValue()).resolves.toBe(String(AUTO_MAP_THRESHOLD));
    await page.getByRole("button", { name: "Accept strong suggestions (3)" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("heading", { name: "Accept strong suggestions (score 90% or more)" }).waitFor();
    await dialog.getByText("name shortened, domain matches (fabrikam.example); runner-up close").waitFor();
    await dialog.getByText("95%").waitFor();
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
    await dialog.getByRole("checkbox", { name: "Include Fabrikam" }).click();
    await docShot("accept-strong-review");
    await dialog.getByRole("button", { name: "Accept 2" }).click();
    await dialog.getByText("Finished: 2 of 2 mapped, 0 failed.").waitFor();
    await dialog.getByText("Mapped to Northwind Traders").waitFor();
    await dialog.getByText("Mapped to Tailspin Toys").waitFor();
    await expect(rowResult(dialog, "Fabrikam")).resolves.toBe("Left out");
    await shot(page, "accept-strong-done");
    await dialog.getByRole("button", { name: "Close" }).click();
    expect((await providerRow("Northwind Traders Ltd")).w365_mappingstatus).toBe(MappingStatus.Mapped);
    expect(String((await providerRow("Northwind Traders Ltd"))._w365_account_value)).toBe(accounts["Northwind Traders"]);
    expect((await providerRow("Tailspin Toys LLC")).w365_mappingstatus).toBe(MappingStatus.Mapped);
    expect((await providerRow("Fabrikam")).w365_mappingstatus).toBe(MappingStatus.Suggested);
    await page.getByRole("button", { name: "Accept strong suggestions (1)" }).waitFor();
  });

  it("Create new account: the engine's duplicate check lists likely accounts with scores; Create anyway (Force) creates", async () => {
    await page.getByRole("button", { name: /^Unmapped/ }).click();
    await page.getByLabel("Search customers").fill("Adatum");
    // Map…: search accounts by name or domain (scanned with its results), Escape leaves the row as it was.
    await page.getByRole("button", { name: "Map Adatum Corporation to an account" }).click();
    const mapDialog = page.getByRole("dialog");
    await mapDialog.getByLabel("Search accounts by name or domain").fill("adatum");
    await mapDialog.getByRole("button", { name: "Map to Adatum Corporation" }).waitFor();
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
    await page.keyboard.press("Escape");
    await mapDialog.waitFor({ state: "detached" });
    const opener = page.getByRole("button", { name: "Create new account for Adatum Corporation" });
    await opener.click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("heading", { name: "Create a new account for Adatum Corporation?" }).waitFor();
    // Escape closes the dialog and gives focus back to the button that opened it.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await expect(opener.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await page.keyboard.press("Enter");
    await dialog.getByRole("button", { name: "Create account" }).waitFor();
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
    await dialog.getByRole("button", { name: "Create account" }).click();
    await dialog.getByRole("heading", { name: "Possible duplicates of Adatum Corporation" }).waitFor();
    const duplicate = dialog.getByRole("listitem").filter({ hasText: "Adatum Corporation" });
    await duplicate.getByText(/^score \d+%$/).waitFor();
    await duplicate.getByText(/name matches/).waitFor();
    await expect(duplicate.getAttribute("data-account")).resolves.toBe(accounts["Adatum Corporation"]);
    expect((await providerRow("Adatum Corporation")).w365_mappingstatus).toBe(MappingStatus.Unmapped);
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
    await shot(page, "duplicates");
    await docShot("create-duplicates");
    await dialog.getByRole("button", { name: "Create anyway" }).click();
    await page.getByText(/^Adatum Corporation is mapped to Adatum Corporation\.$/).waitFor();
    const created = await providerRow("Adatum Corporation");
    expect(created.w365_mappingstatus).toBe(MappingStatus.Mapped);
    expect(String(created._w365_account_value)).not.toBe(accounts["Adatum Corporation"]);
    const twins = await query(`accounts?$select=accountid&$filter=name eq 'Adatum Corporation'`);
    expect(twins).toHaveLength(2);
  });

  it("bulk actions on a selection: map to suggested, create new (per-row duplicate results), then a stopped ignore", async () => {
    await page.getByLabel("Search customers").fill("");
    await page.getByRole("button", { name: /^All/ }).click();
    // Select rows with the keyboard: Space on a row's checkbox.
    await page.getByRole("checkbox", { name: "Select Fabrikam" }).focus();
    await page.keyboard.press("Space");
    await page.getByRole("checkbox", { name: "Select Contoso Pharma Group" }).click();
    await page.getByRole("checkbox", { name: "Select Quokka Kite Works" }).click();
    const selection = page.getByRole("region", { name: "Selected customers" });
    await selection.getByText("3 selected").waitFor();
    await selection.getByRole("button", { name: "Map to suggested account (2)" }).click();
    let dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Map 2" }).click();
    await dialog.getByText("Finished: 2 of 2 mapped, 0 failed.").waitFor();
    await dialog.getByRole("button", { name: "Close" }).click();
    expect((await providerRow("Fabrikam")).w365_mappingstatus).toBe(MappingStatus.Mapped);
    expect((await providerRow("Contoso Pharma Group")).w365_mappingstatus).toBe(MappingStatus.Mapped);

    // Create new for one customer with a likely duplicate and one without: one created, one left with its reason.
    await page.getByRole("button", { name: /^Unmapped/ }).click();
    await page.getByRole("checkbox", { name: "Select Quokka Kite Works" }).click();
    await page.getByRole("checkbox", { name: "Select Contoso Pharma Inc" }).click();
    await page.getByRole("region", { name: "Selected customers" }).getByRole("button", { name: "Create new account (2)" }).click();
    dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Create 2" }).click();
    await dialog.getByText("Finished: 1 of 2 created, 1 failed.").waitFor();
    await expect(rowResult(dialog, "Contoso Pharma Inc")).resolves.toMatch(/^Not created: likely duplicates Contoso Pharma \(\d+%\)/);
    await expect(rowResult(dialog, "Quokka Kite Works")).resolves.toBe("Mapped to Quokka Kite Works");
    await docShot("bulk-create-results");
    await dialog.getByRole("button", { name: "Close" }).click();
    expect((await providerRow("Contoso Pharma Inc")).w365_mappingstatus).toBe(MappingStatus.Unmapped);
    expect((await providerRow("Quokka Kite Works")).w365_mappingstatus).toBe(MappingStatus.Mapped);

    // Ignore every customer on the page, stopped while the third call is in flight: that call finishes, no other
    // starts. The third request is held at the network until Stop has been pressed, so the point is exact.
    let calls = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const api = "**/Microsoft.Dynamics.CRM.w365_MapProviderAccount";
    await page.route(api, async (route) => {
      calls += 1;
      if (calls === 3) await held;
      await route.continue();
    });
    await page.getByRole("checkbox", { name: "Select all customers on this page" }).click();
    await page.getByRole("region", { name: "Selected customers" }).getByText("100 selected").waitFor();
    await page.getByRole("region", { name: "Selected customers" }).getByRole("button", { name: "Ignore (100)" }).click();
    dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Ignore 100" }).waitFor();
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
    await dialog.getByRole("button", { name: "Ignore 100" }).click();
    await dialog.getByText("2 of 100 ignored, 0 failed…").waitFor();
    await dialog.getByRole("button", { name: "Stop" }).click();
    await dialog.getByRole("button", { name: "Stopping after the current row…" }).waitFor();
    release();
    await dialog.getByText("Stopped: 3 of 100 ignored, 0 failed; 97 not started.").waitFor();
    await page.unroute(api);
    expect(calls).toBe(3);
    const done = 3;
    await expect(dialog.getByText(/^Ignored$/).count()).resolves.toBe(done);
    await expect(dialog.getByText(/^Not started$/).count()).resolves.toBe(97);
    await shot(page, "ignore-stopped");
    await docShot("bulk-stopped");
    await dialog.getByRole("button", { name: "Close" }).click();
    const ignored = await query(
      `w365_provideraccounts?$select=w365_name&$filter=_w365_connection_value eq ${connectorId} and w365_mappingstatus eq ${MappingStatus.Ignored}`,
    );
    expect(ignored).toHaveLength(done);
    await page.getByRole("button", { name: `Ignored (${done})` }).waitFor();
  });

  it("← Integrations returns to the connector list, focus on the connector's ⚙️ button", async () => {
    await page.getByRole("button", { name: "← Integrations" }).click();
    await page.getByRole("button", { name: "Add New" }).waitFor();
    const gear = page.getByRole("button", { name: "Actions for Mapping Reseller" });
    await gear.waitFor();
    await expect(gear.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await expect(accessibilityProblems(page)).resolves.toStrictEqual([]);
  });

  it("ran without page errors; the only failed requests are the engine's two duplicate refusals", () => {
    // A refused create is the custom API failing (HTTP 400 from Dataverse, the step's message), which Chromium logs.
    const refusal = "Failed to load resource: the server responded with a status of 400 (Bad Request)";
    expect(pageErrors.filter((e) => e !== refusal)).toStrictEqual([]);
    expect(pageErrors.filter((e) => e === refusal)).toHaveLength(2);
  });
});

/** The Result cell of a row in the bulk dialog's review list. */
async function rowResult(dialog: ReturnType<Page["getByRole"]>, name: string): Promise<string> {
  const row = dialog.getByRole("row").filter({ has: page.getByRole("checkbox", { name: `Include ${name}` }) });
  return ((await row.getByRole("cell").last().textContent()) ?? "").trim();
}
