// Connector lifecycle in Admin Hub, in Chromium at 1366×768 against the whole sandbox: deactivate and activate from
// the row and from the form (the dialog says what stops and what stays), delete with its consequences counted first
// (the solution's delete rules: provider rows keep the connector, sync runs stay unlinked, accounts untouched), and
// Cancel on a running sync, seen as canceled in a second tab, after which the next sync completes without duplicates;
// then the connector deleted with its provider records, once its name is typed, finished from a second tab after the
// first closed midway.
// Keyboard focus returns to the row after each dialog; each dialog passes an axe-core scan.

import type { Browser, Page } from "playwright-core";

import { type Sandbox, startSandbox } from "../../sandbox";
import { type AdminHarness, startAdminHarness } from "../../sandbox/admin";
import { connectionRow } from "../support/world";
import { accessibilityProblems, closeAll, dataverseApi, launchChromium, openPage, screenshotter, watchErrors } from "./browser";

jest.setTimeout(300_000);

type Row = Record<string, unknown>;

// Enough customers that the accounts phase writes several $batches of 1,000 (counts show as each is written), read in
// pages of 100 that Ion answers slowly, so the sync is still running when the admin cancels it.
const CUSTOMERS = 2000;

let sandbox: Sandbox;
let harness: AdminHarness;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let mainId = "";
let spareId = "";
const shot = screenshotter("connector-lifecycle");

const { dataverse, query } = dataverseApi(() => sandbox);

async function gear(name: string, item: string, p: Page = page): Promise<void> {
  await p.getByRole("button", { name: `Actions for ${name}` }).click();
  await p.getByRole("menuitem", { name: item, exact: true }).click();
}

/** Counts as the page shows them (the browser's locale: en-US in this Chromium). */
const n = (value: number): string => value.toLocaleString("en-US");

const row = (name: string) => page.getByRole("row", { name: new RegExp(`^${name}`) });

async function focusIsOnRow(name: string): Promise<void> {
  await page.waitForFunction((label) => document.activeElement?.getAttribute("aria-label") === label, `Actions for ${name}`);
}

async function connectorState(id: string): Promise<Row> {
  return dataverse("GET", `w365_providerconnections(${id})?$select=statecode,statuscode`);
}

beforeAll(async () => {
  browser = await launchChromium();
  sandbox = await startSandbox({ customers: CUSTOMERS, subscriptionsPerCustomer: 1, seed: 23, ionMaxPageSize: 100 });
  harness = await startAdminHarness({
    dataverseUrl: sandbox.dataverseUrl,
    token: sandbox.adminToken,
    ionBaseUrl: sandbox.ionUrl,
    pollIntervalSeconds: 1,
  });
  const ion = sandbox.ion!;
  const main = await dataverse("POST", "w365_providerconnections", connectionRow(ion, { ionUrl: sandbox.ionUrl }));
  mainId = String(main.w365_providerconnectionid);
  const spare = await dataverse("POST", "w365_providerconnections", {
    w365_name: "Spare connector",
    w365_ionaccountid: "9999001",
    w365_ionbaseurl: "http://127.0.0.1:9",
    w365_country: "US",
    w365_currencycode: "USD",
  });
  spareId = String(spare.w365_providerconnectionid);
  // One finished run in its history: a delete keeps it, unlinked.
  await dataverse("POST", "w365_syncruns", {
    w365_name: "accounts · Spare connector",
    "w365_connection@odata.bind": `/w365_providerconnections(${spareId})`,
    w365_kind: "accounts",
    w365_trigger: "manual",
    w365_status: "failed",
    w365_dryrun: false,
    w365_startedon: new Date().toISOString(),
    w365_finishedon: new Date().toISOString(),
    w365_message: "StreamOne Ion could not be reached.",
  });
  ({ page, pageErrors } = await openPage(browser, { width: 1366, height: 768 }, 30_000));
});

afterAll(() => closeAll(browser, harness, sandbox));

describe("connector lifecycle in Admin Hub (1366×768)", () => {
  it("deactivates from the row after saying what stops and what stays, and activates again", async () => {
    await page.goto(harness.url);
    await row("Spare connector").waitFor();
    await gear("Spare connector", "Deactivate");
    const dialog = page.getByRole("alertdialog", { name: "Deactivate Spare connector?" });
    await dialog.getByText("Syncs and orders stop", { exact: false }).waitFor();
    await dialog.getByText("You can activate it again at any time.", { exact: false }).waitFor();
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    await shot(page, "deactivate-dialog");
    await dialog.getByRole("button", { name: "Deactivate" }).click();
    await row("Spare connector").getByText("Deactivated", { exact: true }).waitFor();
    await page.getByText("Spare connector is deactivated.", { exact: false }).waitFor();
    expect(await connectorState(spareId)).toMatchObject({ statecode: 1, statuscode: 2 });
    await focusIsOnRow("Spare connector");

    // A deactivated connector neither verifies nor syncs.
    await page.getByRole("button", { name: "Actions for Spare connector" }).click();
    for (const item of ["Verify Connectivity", "Sync Provider Accounts", "Sync Subscriptions"]) {
      await expect(page.getByRole("menuitem", { name: item, exact: true }).getAttribute("aria-disabled")).resolves.toBe("true");
    }
    await page.getByRole("menuitem", { name: "Activate", exact: true }).click();
    await page.getByText("Spare connector is active again.", { exact: false }).waitFor();
    await row("Spare connector").getByText("Not verified", { exact: true }).waitFor();
    expect(await connectorState(spareId)).toMatchObject({ statecode: 0, statuscode: 1 });
    await focusIsOnRow("Spare connector");
  });

  it("deactivates from the connector form's command bar", async () => {
    await gear("Spare connector", "Edit");
    const commands = page.getByRole("toolbar", { name: "Connector commands" });
    await commands.getByRole("button", { name: "Deactivate" }).click();
    const dialog = page.getByRole("alertdialog", { name: "Deactivate Spare connector?" });
    await dialog.getByRole("button", { name: "Deactivate" }).click();
    await row("Spare connector").getByText("Deactivated", { exact: true }).waitFor();
    expect(await connectorState(spareId)).toMatchObject({ statecode: 1, statuscode: 2 });
    await focusIsOnRow("Spare connector");
  });

  it("cancels a running sync: another tab sees it canceled, and the next sync ends with every row once", async () => {
    sandbox.simulator!.control.setFaults({ rules: [{ method: "GET", path: "/customers$", kind: "latency", latencyMs: 1500, rate: 1 }] });
    await gear("StreamOne Ion", "Sync Provider Accounts");
    const running = page.getByTestId("activity").locator('[data-kind="syncAccounts"][data-state="running"]');
    // Live counts are on screen before the admin cancels.
    await running.getByTestId("run-counts").waitFor({ timeout: 60_000 });

    const other = await page.context().newPage();
    const otherErrors = watchErrors(other);
    await other.goto(harness.url);
    await other.getByTestId("activity").locator('[data-kind="syncAccounts"][data-state="running"]').waitFor();

    await running.getByRole("button", { name: "Cancel sync of StreamOne Ion" }).click();
    await running.getByText("Sync Provider Accounts: canceling.", { exact: false }).waitFor();
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    await shot(page, "cancel-in-progress");

    const canceled = '[data-kind="syncAccounts"][data-state="warning"]';
    await page.getByTestId("activity").locator(canceled).getByText("Sync Provider Accounts canceled.").waitFor({ timeout: 90_000 });
    await other.getByTestId("activity").locator(canceled).getByText("Sync Provider Accounts canceled.").waitFor({ timeout: 30_000 });
    const [run] = await query(
      `w365_syncruns?$select=w365_status,w365_cancelrequestedon,w365_created,w365_message&$filter=_w365_connection_value eq ${mainId}`,
    );
    expect(run).toMatchObject({ w365_status: "canceled" });
    expect(run!.w365_cancelrequestedon).toBeTruthy();
    const written = await query(`w365_provideraccounts?$select=w365_ioncustomerid&$filter=_w365_connection_value eq ${mainId}`);
    expect(written.length).toBeLessThan(CUSTOMERS);
    expect(run!.w365_created).toBe(written.length);
    await page.getByTestId("activity").locator(canceled).getByText(`Created ${written.length}, updated 0`, { exact: false }).waitFor();
    expect(otherErrors).toStrictEqual([]);
    await other.close();

    sandbox.simulator!.control.setFaults({ rules: [] });
    await gear("StreamOne Ion", "Sync Provider Accounts");
    await page.getByTestId("activity").locator('[data-kind="syncAccounts"][data-state="success"]').waitFor({ timeout: 120_000 });
    const after = await query(`w365_provideraccounts?$select=w365_ioncustomerid&$filter=_w365_connection_value eq ${mainId}`);
    expect(after).toHaveLength(CUSTOMERS);
    expect(new Set(after.map((r) => r.w365_ioncustomerid)).size).toBe(CUSTOMERS);
  });

  it("before a delete, counts the provider rows, says Dataverse keeps them, and offers Deactivate instead", async () => {
    await gear("StreamOne Ion", "Sync Subscriptions");
    await page.getByTestId("activity").locator('[data-kind="syncSubscriptions"]:not([data-state="running"])').waitFor({ timeout: 120_000 });
    const accounts = await query(`w365_provideraccounts?$select=_w365_account_value&$filter=_w365_connection_value eq ${mainId}`);
    const subscriptions = await query(`w365_providersubscriptions?$select=w365_name&$filter=_w365_connection_value eq ${mainId}`);
    const mapped = new Set(accounts.map((a) => a._w365_account_value).filter(Boolean)).size;
    expect(subscriptions.length).toBeGreaterThan(0);

    await gear("StreamOne Ion", "Delete");
    const dialog = page.getByRole("alertdialog", { name: "Delete StreamOne Ion?" });
    await dialog
      .getByText(`It has ${n(accounts.length)} provider accounts and ${n(subscriptions.length)} provider subscriptions.`, { exact: false })
      .waitFor();
    await dialog.getByText("cannot be deleted now", { exact: false }).waitFor();
    await dialog.getByText(`the ${n(mapped)} accounts its provider accounts are mapped to stay as they are`, { exact: false }).waitFor();
    expect(await dialog.getByRole("button", { name: "Delete", exact: true }).count()).toBe(0);
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    await shot(page, "delete-dialog-with-rows");
    await dialog.getByRole("button", { name: "Deactivate instead" }).click();
    const deactivate = page.getByRole("alertdialog", { name: "Deactivate StreamOne Ion?" });
    await deactivate.getByRole("button", { name: "Keep it active" }).click();
    await focusIsOnRow("StreamOne Ion");
    expect(await connectorState(mainId)).toMatchObject({ statecode: 0 });
  });

  it("deletes a connector without provider rows; its sync run stays in the history, unlinked", async () => {
    await gear("Spare connector", "Delete");
    const dialog = page.getByRole("alertdialog", { name: "Delete Spare connector?" });
    await dialog.getByText("It has no provider accounts and no provider subscriptions.").waitFor();
    await dialog.getByText("Its 1 sync runs stay in the sync history", { exact: false }).waitFor();
    await dialog.getByText("No Work 365 account is changed.").waitFor();
    expect(await accessibilityProblems(page)).toStrictEqual([]);
    await shot(page, "delete-dialog");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.getByText("Spare connector was deleted.").waitFor();
    await row("Spare connector").waitFor({ state: "detached" });
    expect(await query(`w365_providerconnections?$select=w365_name&$filter=w365_providerconnectionid eq ${spareId}`)).toHaveLength(0);
    const runs = await query(`w365_syncruns?$select=_w365_connection_value&$filter=w365_name eq 'accounts · Spare connector'`);
    expect(runs).toEqual([expect.objectContaining({ _w365_connection_value: null })]);
    // The row is gone: focus goes to the list's heading.
    await page.waitForFunction(() => document.activeElement?.id === "w365-list-title");
  });

  it("deletes a connector with its provider records after its name is typed; a tab closed midway is finished from another", async () => {
    const subscriptions = await query(
      `w365_providersubscriptions?$select=w365_providersubscriptionid&$filter=_w365_connection_value eq ${mainId}`,
    );
    const accounts = await query(`w365_provideraccounts?$select=w365_provideraccountid&$filter=_w365_connection_value eq ${mainId}`);
    const work365Before = await query("accounts?$select=accountid,name,modifiedon&$orderby=accountid");
    const runIds = (await query(`w365_syncruns?$select=w365_syncrunid&$filter=_w365_connection_value eq ${mainId}`)).map(
      (r) => r.w365_syncrunid,
    );
    expect(runIds.length).toBeGreaterThan(0);
    // One order still with Ion: the dialog warns that Ion completes it and nothing here will record it.
    await dataverse("PATCH", `w365_providersubscriptions(${String(subscriptions[0]!.w365_providersubscriptionid)})`, {
      w365_syncstate: 365000002,
    });

    const first = await page.context().newPage();
    const firstErrors = watchErrors(first);
    await first.goto(harness.url);
    await gear("StreamOne Ion", "Delete", first);
    const dialog = first.getByRole("alertdialog", { name: "Delete StreamOne Ion?" });
    await dialog.getByRole("button", { name: "Delete connector and its provider records…" }).click();
    const part = dialog.getByTestId("delete-with-rows");
    await part.getByText(`${n(subscriptions.length)} provider subscriptions`, { exact: true }).waitFor();
    await part.getByText(`${n(accounts.length)} provider accounts`, { exact: true }).waitFor();
    await part.getByText("the connector StreamOne Ion", { exact: true }).waitFor();
    await part.getByText("Work 365 accounts and their Work 365 subscriptions are not changed.", { exact: false }).waitFor();
    await part.getByText("Warning: provider subscriptions with an order still “Sent to Ion”: 1.", { exact: false }).waitFor();
    await part.getByText("Nothing is changed in Ion.", { exact: false }).waitFor();
    const confirm = dialog.getByRole("button", { name: "Delete connector and its provider records", exact: true });
    const typeName = dialog.getByRole("textbox", { name: "Type the connector’s name, StreamOne Ion, to confirm" });
    expect(await confirm.isDisabled()).toBe(true);
    await typeName.fill("StreamOne");
    expect(await confirm.isDisabled()).toBe(true);
    await typeName.fill("StreamOne Ion");
    expect(await confirm.isEnabled()).toBe(true);
    expect(await accessibilityProblems(first)).toStrictEqual([]);
    await shot(first, "delete-dialog-delete-rows");

    // The tab closes after the first $batch of subscriptions is deleted.
    await confirm.click();
    const progress = dialog.getByTestId("delete-progress");
    await progress.getByText("Connector deactivated.").waitFor();
    await progress.getByText("provider subscriptions deleted.", { exact: false }).first().waitFor({ timeout: 60_000 });
    expect(firstErrors).toStrictEqual([]);
    await first.close();

    // Opened again elsewhere: the dialog counts what is left, and deleting again finishes.
    await page.reload();
    await row("StreamOne Ion").getByText("Deactivated", { exact: true }).waitFor();
    await gear("StreamOne Ion", "Delete");
    const again = page.getByRole("alertdialog", { name: "Delete StreamOne Ion?" });
    const leftSubscriptions = await query(`w365_providersubscriptions?$select=w365_name&$filter=_w365_connection_value eq ${mainId}`);
    const leftAccounts = await query(`w365_provideraccounts?$select=w365_name&$filter=_w365_connection_value eq ${mainId}`);
    expect(leftSubscriptions.length).toBeLessThan(subscriptions.length);
    await again
      .getByText(`It has ${n(leftAccounts.length)} provider accounts and ${n(leftSubscriptions.length)} provider subscriptions.`, {
        exact: false,
      })
      .waitFor();
    // A deactivated connector is not offered "Deactivate instead".
    expect(await again.getByRole("button", { name: "Deactivate instead" }).count()).toBe(0);
    await again.getByRole("button", { name: "Delete connector and its provider records…" }).click();
    await again.getByRole("textbox", { name: "Type the connector’s name, StreamOne Ion, to confirm" }).fill("StreamOne Ion");
    await again.getByRole("button", { name: "Delete connector and its provider records", exact: true }).click();
    await page.getByText("StreamOne Ion was deleted.").waitFor({ timeout: 120_000 });
    await row("StreamOne Ion").waitFor({ state: "detached" });

    expect(await query(`w365_providerconnections?$select=w365_name&$filter=w365_providerconnectionid eq ${mainId}`)).toHaveLength(0);
    expect(await query("w365_provideraccounts?$select=w365_name")).toHaveLength(0);
    expect(await query("w365_providersubscriptions?$select=w365_name")).toHaveLength(0);
    // Its sync runs stay, unlinked.
    for (const id of runIds)
      expect(await dataverse("GET", `w365_syncruns(${String(id)})?$select=_w365_connection_value`)).toMatchObject({
        _w365_connection_value: null,
      });
    expect(await query("accounts?$select=accountid,name,modifiedon&$orderby=accountid")).toEqual(work365Before);
  });

  it("ran without page errors", () => {
    expect(pageErrors).toStrictEqual([]);
  });
});
