// What an admin does after the guide's first steps, in Chromium at 1366×768 against the whole sandbox: every result
// visible in the app (sync history with per-record detail, provider accounts and subscriptions with filters), honest
// progress (a run started elsewhere shows as running after a reload), one connector per Ion account, a command bar
// with Save in view, no typed value discarded without asking, transport failures worded for admins, keyboard focus
// back on the row, the list usable at 800 px, and an axe-core scan of each view.

import type { Browser, Page } from "playwright-core";

import { type Sandbox, startSandbox } from "../../sandbox";
import { type AdminHarness, startAdminHarness } from "../../sandbox/admin";
import { accessibilityProblems, closeAll, dataverseApi, launchChromium, openPage, screenshotter } from "./browser";

jest.setTimeout(240_000);

let sandbox: Sandbox;
let harness: AdminHarness;
let browser: Browser;
let page: Page;
let pageErrors: string[];
const shot = screenshotter("admin-hub");

const { dataverse, query } = dataverseApi(() => sandbox);

async function fillConnector(values: {
  name: string;
  accountId: string;
  refreshToken: string;
  apiKey: string;
  apiSecret: string;
}): Promise<void> {
  await page.getByRole("textbox", { name: "Name", exact: true }).fill(values.name);
  await page.getByLabel("Refresh Token").fill(values.refreshToken);
  await page.getByLabel("API Key").fill(values.apiKey);
  await page.getByLabel("API Secret").fill(values.apiSecret);
  await page.getByLabel("Account ID").fill(values.accountId);
  const country = page.getByRole("combobox", { name: "Country" });
  await country.click();
  await country.fill("united sta");
  await page.getByRole("option", { name: "United States (US)" }).click();
  const currency = page.getByRole("combobox", { name: "Currency Code" });
  await currency.click();
  await currency.fill("usd");
  await page.getByRole("option", { name: "US Dollar (USD)" }).click();
}

async function gear(name: string, item: string): Promise<void> {
  await page.getByRole("button", { name: `Actions for ${name}` }).click();
  await page.getByRole("menuitem", { name: item, exact: true }).click();
}

beforeAll(async () => {
  browser = await launchChromium();
  sandbox = await startSandbox({ customers: 12, subscriptionsPerCustomer: 2, seed: 11 });
  harness = await startAdminHarness({
    dataverseUrl: sandbox.dataverseUrl,
    token: sandbox.adminToken,
    ionBaseUrl: sandbox.ionUrl,
    pollIntervalSeconds: 1,
  });
  ({ page, pageErrors } = await openPage(browser, { width: 1366, height: 768 }, 30_000));
});

afterAll(() => closeAll(browser, harness, sandbox));

describe("Admin Hub beyond the first steps (1366×768)", () => {
  let connectorId = "";

  it("keeps Save in view at 1366×768 and asks before discarding typed values", async () => {
    await page.goto(harness.url);
    await page.getByRole("button", { name: "Add New" }).click();
    await page.getByRole("button", { name: "Create a StreamOne connector" }).click();
    await page.getByRole("heading", { name: "New StreamOne Ion connector" }).waitFor();
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    const save = page.getByRole("toolbar", { name: "Connector commands" }).getByRole("button", { name: "Save" });
    const inView = async (): Promise<boolean> => {
      const box = await save.boundingBox();
      return box !== null && box.y >= 0 && box.y + box.height <= 768;
    };
    expect(await inView()).toBe(true);
    await page.mouse.wheel(0, 2000);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    expect(await inView()).toBe(true);

    await page.getByLabel("API Key").fill("typed-by-the-admin");
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("alertdialog", { name: "Discard your changes?" }).waitFor();
    await shot(page, "discard-dialog");
    await page.getByRole("button", { name: "Keep editing" }).click();
    expect(await page.getByLabel("API Key").inputValue()).toBe("typed-by-the-admin");

    const ion = sandbox.ion!;
    await fillConnector({
      name: "StreamOne Ion",
      accountId: ion.accountId,
      refreshToken: ion.refreshToken,
      apiKey: ion.apiKey,
      apiSecret: ion.apiSecret,
    });
    await save.click();
    await page.getByText("Connector StreamOne Ion saved.").waitFor();
    const [saved] = await query("w365_providerconnections?$select=w365_providerconnectionid");
    connectorId = String(saved!.w365_providerconnectionid);
  });

  it("refuses a second connector for the same Ion Account ID and names the one that has it", async () => {
    await page.getByRole("button", { name: "Add New" }).click();
    await page.getByRole("button", { name: "Create a StreamOne connector" }).click();
    await fillConnector({ name: "Second try", accountId: sandbox.ion!.accountId, refreshToken: "rt-other", apiKey: "k", apiSecret: "s" });
    await page.getByRole("button", { name: "Save" }).click();
    await page
      .getByText(`Connector "StreamOne Ion" already connects Ion account ${sandbox.ion!.accountId}.`, { exact: false })
      .first()
      .waitFor();
    await expect(page.getByLabel("Account ID").getAttribute("aria-invalid")).resolves.toBe("true");
    await shot(page, "duplicate-account");
    expect(await query("w365_providerconnections?$select=w365_name")).toHaveLength(1);
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("button", { name: "Discard changes" }).click();
    await page.getByRole("heading", { name: "Integrations" }).waitFor();
  });

  it("shows the sync history with counts, trigger and duration, and each run's per-record detail", async () => {
    await gear("StreamOne Ion", "Verify Connectivity");
    await page.getByTestId("activity").locator('[data-kind="verify"][data-state="success"]').waitFor({ timeout: 90_000 });
    await gear("StreamOne Ion", "Sync Provider Accounts");
    const outcome = page.getByTestId("activity").locator('[data-kind="syncAccounts"][data-state="success"]');
    await outcome.waitFor({ timeout: 120_000 });
    await outcome.getByRole("button", { name: "See the sync history" }).click();
    const history = page.getByTestId("run-history");
    await history.getByRole("heading", { name: "Sync history: StreamOne Ion" }).waitFor();
    const run = history.locator('[data-run-status="succeeded"]').first();
    await run.waitFor();
    await expect(run.textContent()).resolves.toMatch(/accounts.*manual.*succeeded.*Created 12, updated 0, unchanged 0, failed 0\./s);
    await run.getByRole("button", { name: "Details" }).click();
    const detail = history.getByTestId("run-detail");
    await detail.waitFor();
    // Each provider account the run created is listed by name with its outcome.
    const [first] = await query("w365_provideraccounts?$select=w365_name&$top=1&$orderby=w365_name asc");
    await detail.getByText(String(first!.w365_name), { exact: true }).first().waitFor();
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    await shot(page, "sync-history");
    // Back to the list: keyboard focus returns to the connector's ⚙️ button.
    await history.getByRole("button", { name: "← Integrations" }).click();
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Actions for StreamOne Ion");
  });

  it("lists the connector's provider accounts and subscriptions, filtered by mapping and by sync state", async () => {
    await gear("StreamOne Ion", "Sync Subscriptions");
    await page.getByTestId("activity").locator('[data-kind="syncSubscriptions"]:not([data-state="running"])').waitFor({ timeout: 120_000 });
    await gear("StreamOne Ion", "Provider accounts");
    const records = page.getByTestId("provider-records");
    await records.getByTestId("provider-accounts").waitFor();
    const all = await records.getByTestId("provider-accounts").locator("tbody tr").count();
    expect(all).toBe(12);
    const mapped = (await query(`w365_provideraccounts?$select=w365_name&$filter=w365_mappingstatus eq 365000002`)).length;
    await records.getByRole("combobox", { name: "Show" }).selectOption({ label: "Mapped" });
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll('[data-testid="provider-accounts"] tbody tr').length === n ||
        (n === 0 && !!document.body.textContent?.includes("Nothing to show")),
      mapped,
    );
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    await shot(page, "provider-accounts");

    // A subscription in conflict, as the engine marks one (written as the integration user, so no order follows).
    const [subscription] = await query("w365_providersubscriptions?$select=w365_providersubscriptionid,w365_name&$top=1");
    const subscriptionId = String(subscription!.w365_providersubscriptionid);
    await dataverse("PATCH", `w365_providersubscriptions(${subscriptionId})`, {
      w365_syncstate: 365000003,
      w365_syncmessage: "Ion changed the quantity to 9 while your request for 7 was pending.",
    });
    await records.getByRole("tab", { name: "Provider subscriptions" }).click();
    await records.getByTestId("provider-subscriptions").waitFor();
    await records.getByRole("combobox", { name: "Show" }).selectOption({ label: "Conflict" });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="provider-subscriptions"] tbody tr').length === 1);
    await records.getByText(String(subscription!.w365_name), { exact: true }).waitFor();
    await records.getByText("Ion changed the quantity to 9 while your request for 7 was pending.").waitFor();
    await shot(page, "provider-subscriptions-conflict");
    await records.getByRole("button", { name: "← Integrations" }).click();
    await page.getByRole("heading", { name: "Integrations" }).waitFor();
  });

  it("after a reload, a run started elsewhere shows as running with live counts, then its outcome", async () => {
    // A run the schedule started (its row as the engine writes it), still running when the admin opens the page.
    const run = await dataverse("POST", "w365_syncruns", {
      w365_name: "scheduled run",
      "w365_connection@odata.bind": `/w365_providerconnections(${connectorId})`,
      w365_kind: "subscriptions",
      w365_trigger: "schedule",
      w365_status: "running",
      w365_dryrun: false,
      w365_startedon: new Date().toISOString(),
      w365_progress: "subscriptions: 40 of 100 subscriptions",
      w365_created: 0,
      w365_updated: 7,
      w365_unchanged: 33,
      w365_failed: 0,
    });
    const runId = String(run.w365_syncrunid);
    await page.reload();
    const activity = page.getByTestId("activity").locator('[data-kind="syncSubscriptions"][data-state="running"]');
    await activity.waitFor();
    await activity.getByText("40 of 100", { exact: false }).waitFor();
    await activity.getByText("Created 0, updated 7, unchanged 33, failed 0.").waitFor();
    await shot(page, "running-after-reload");
    await dataverse("PATCH", `w365_syncruns(${runId})`, {
      w365_status: "succeeded",
      w365_finishedon: new Date().toISOString(),
      w365_updated: 9,
      w365_unchanged: 91,
      w365_progress: "finished",
      w365_message: "Subscriptions synced.",
    });
    await page
      .getByTestId("activity")
      .locator('[data-kind="syncSubscriptions"][data-state="success"]')
      .getByText("Created 0, updated 9, unchanged 91, failed 0.")
      .waitFor();
  });

  it("words an unreachable Ion for the admin, with the technical detail behind a disclosure", async () => {
    // A second Ion account whose host does not answer (a closed port on this machine).
    await dataverse("POST", "w365_providerconnections", {
      w365_name: "Unreachable Ion",
      w365_ionaccountid: "7777777",
      w365_ionbaseurl: "http://127.0.0.1:9",
      w365_refreshtoken: "rt-unreachable",
      w365_apikey: "k",
      w365_apisecret: "s",
      w365_country: "US",
      w365_currencycode: "USD",
    });
    await page.reload();
    await gear("Unreachable Ion", "Verify Connectivity");
    const failed = page.getByTestId("activity").locator('[data-kind="verify"][data-state="error"]');
    await failed.waitFor({ timeout: 120_000 });
    const detail = failed.getByTestId("activity-detail");
    await detail.getByText("StreamOne Ion could not be reached: check the network or try again later.", { exact: false }).waitFor();
    // The address is technical detail, not something the form lets the admin change.
    expect(await detail.locator("details").evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await detail.getByText("Technical details").click();
    await detail.getByText("http://127.0.0.1:9", { exact: false }).waitFor();
    await shot(page, "unreachable-ion");
  });

  it("works at 800 px wide: the list scrolls inside itself, the page does not", async () => {
    await page.setViewportSize({ width: 800, height: 768 });
    await page.reload();
    await page.getByRole("row", { name: /^StreamOne Ion/ }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await gear("StreamOne Ion", "Sync history");
    await page.getByTestId("run-history").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot(page, "history-800px");
    await page.setViewportSize({ width: 1366, height: 768 });
  });

  it("the Integrations tab passes an axe-core scan", async () => {
    await page.goto(harness.url);
    await page.getByRole("row", { name: /^StreamOne Ion/ }).waitFor();
    expect(await accessibilityProblems(page)).toStrictEqual([]);
  });

  it("ran without page errors", () => {
    expect(pageErrors).toStrictEqual([]);
  });
});
