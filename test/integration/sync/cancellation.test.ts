/**
 * Canceling a running sync: the admin stamps w365_cancelrequestedon on the run row (as Admin Hub does, over the Web
 * API); the engine stops at its next check between pages, ends the run as canceled with its counts so far, and the
 * next run completes with exactly the rows an uninterrupted run writes. Deactivating the connector stops syncs too.
 */
import { runSync } from "../../../src/sync";
import { createQueuedRun } from "../../../src/sync/runs";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

const WORLD = { seed: 57, customers: 60, subscriptionsPerCustomer: 3 } as const;
const PAGES = { customerPageSize: 5, subscriptionPageLimit: 10 };

/**
 * What the sync leaves in Dataverse, independent of row ids: provider accounts by Ion customer id with their content
 * hash, subscriptions by Ion id with their values and the Ion customer of the provider account they link to (their
 * content hash covers lookups, whose ids differ between two environments).
 */
async function snapshot(w: World): Promise<{ accounts: string[]; subscriptions: string[] }> {
  const accounts = await all<Row>(w.dv, "w365_provideraccounts", undefined, [
    "w365_provideraccountid",
    "w365_ioncustomerid",
    "w365_name",
    "w365_contenthash",
    "w365_mappingstatus",
  ]);
  const customerOf = new Map(accounts.map((r) => [String(r.w365_provideraccountid), String(r.w365_ioncustomerid)]));
  const subscriptions = await all<Row>(w.dv, "w365_providersubscriptions", undefined, [
    "w365_ionsubscriptionid",
    "w365_quantity",
    "w365_status",
    "w365_autorenew",
    "_w365_provideraccount_value",
  ]);
  return {
    accounts: accounts
      .map((r) => [r.w365_ioncustomerid, r.w365_name, r.w365_contenthash, r.w365_mappingstatus].map(String).join("|"))
      .sort(),
    subscriptions: subscriptions
      .map((r) =>
        [r.w365_ionsubscriptionid, r.w365_quantity, r.w365_status, r.w365_autorenew, customerOf.get(String(r._w365_provideraccount_value))]
          .map(String)
          .join("|"),
      )
      .sort(),
  };
}

async function runRow(w: World, runId: string): Promise<Row> {
  const [row] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${runId}`, [
    "w365_status",
    "w365_message",
    "w365_created",
    "w365_progress",
    "w365_finishedon",
  ]);
  return row!;
}

describe("canceling a running sync", () => {
  let canceled: World;
  let reference: World;
  beforeAll(async () => {
    [canceled, reference] = await Promise.all([startWorld(WORLD), startWorld(WORLD)]);
    for (const w of [canceled, reference]) {
      w.deps.ion = PAGES;
      w.deps.cancelCheckMs = 0; // check at every page: the test needs no clock
    }
  });
  afterAll(async () => {
    await Promise.all([canceled?.close(), reference?.close()]);
  });

  it("stops at the next page, ends canceled with its counts so far, and the next run ends with the uninterrupted rows", async () => {
    let pagesAfterCancel = 0;
    let cancelAt: string | undefined;
    canceled.deps.hooks = {
      afterPage: async ({ phase, page }) => {
        if (cancelAt) {
          pagesAfterCancel += 1;
          return;
        }
        if (phase === "accounts" && page === 2) {
          // The admin's Cancel in another process: a PATCH of the run row through the Web API.
          const [running] = await all<Row>(canceled.dv, "w365_syncruns", "w365_status eq 'running'", ["w365_syncrunid"]);
          cancelAt = new Date().toISOString();
          await canceled.dv.update("w365_syncruns", String(running!.w365_syncrunid), { w365_cancelrequestedon: cancelAt });
        }
      },
    };
    const stopped = await runSync(canceled.deps, { connectionId: canceled.connectionId, kind: "all", trigger: "manual" });
    canceled.deps.hooks = undefined;

    expect(stopped.status).toBe("canceled");
    expect(stopped.message).toMatch(/Canceled by an admin/);
    // The page that saw the request was the last one: in the concurrent accounts + subscriptions phase the other
    // reader may finish the page it holds, nothing more.
    expect(pagesAfterCancel).toBeLessThanOrEqual(1);
    const row = await runRow(canceled, stopped.runId);
    expect(row).toMatchObject({ w365_status: "canceled", w365_progress: "canceled", w365_created: stopped.created });
    expect(row.w365_finishedon).toBeTruthy();
    const whole = await runSync(reference.deps, { connectionId: reference.connectionId, kind: "all", trigger: "manual" });
    expect(whole.status).toBe("succeeded");
    const complete = await snapshot(reference);
    const partial = await snapshot(canceled);
    expect(partial.subscriptions.length).toBeLessThan(complete.subscriptions.length);
    // A canceled run is not a sync the connector can count on: its last successful sync stays unset.
    const connector = await canceled.dv.retrieve<Row>("w365_providerconnections", canceled.connectionId, {
      select: ["w365_lastsyncon", "w365_lastsyncstatus"],
    });
    expect(connector).toMatchObject({ w365_lastsyncon: null, w365_lastsyncstatus: "canceled" });

    const next = await runSync(canceled.deps, { connectionId: canceled.connectionId, kind: "all", trigger: "manual" });
    expect(next.status).toBe("succeeded");

    expect(await snapshot(canceled)).toEqual(complete);
    // Together the two runs created each row once: nothing written twice, nothing left out.
    expect(stopped.created + next.created).toBe(whole.created);
  });

  it("a queued run canceled before a worker takes it does no work", async () => {
    const before = canceled.ion.control.counters();
    const runId = await createQueuedRun(
      canceled.dv,
      { connectionId: canceled.connectionId, connectionName: "StreamOne Ion", kind: "all", trigger: "manual", dryRun: false },
      Date.now(),
    );
    await canceled.dv.update("w365_syncruns", runId, { w365_cancelrequestedon: new Date().toISOString() });
    const s = await runSync(canceled.deps, { connectionId: canceled.connectionId, kind: "all", trigger: "manual", runId });
    expect(s).toMatchObject({ status: "canceled", created: 0, updated: 0, unchanged: 0 });
    expect(canceled.ion.control.counters()).toEqual(before);
    expect((await runRow(canceled, runId)).w365_status).toBe("canceled");
  });
});

describe("a deactivated connector does not sync", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 58, customers: 30, subscriptionsPerCustomer: 2 });
    w.deps.ion = PAGES;
    w.deps.cancelCheckMs = 0;
  });
  afterAll(async () => {
    await w?.close();
  });

  it("a run stops at the next page once the connector is deactivated", async () => {
    let pagesAfter = 0;
    let deactivated = false;
    w.deps.hooks = {
      afterPage: async ({ page }) => {
        if (deactivated) pagesAfter += 1;
        else if (page === 2) {
          await w.dv.update("w365_providerconnections", w.connectionId, { statecode: 1, statuscode: 2 });
          deactivated = true;
        }
      },
    };
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    w.deps.hooks = undefined;
    expect(s.status).toBe("canceled");
    expect(s.message).toMatch(/is deactivated\. Activate it to sync again/);
    expect(pagesAfter).toBeLessThanOrEqual(1);
  });

  it("a run on a deactivated connector (queued before, or from the CLI) reads nothing from Ion and writes no rows", async () => {
    const accountsBefore = (await all<Row>(w.dv, "w365_provideraccounts")).length;
    const before = w.ion.control.counters();
    // Refused at the start, not at the first throttled check between pages.
    const s = await runSync({ ...w.deps, cancelCheckMs: 3_600_000 }, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
    expect(s).toMatchObject({ status: "canceled", created: 0, updated: 0 });
    expect(w.ion.control.counters()).toEqual(before);
    expect(await all<Row>(w.dv, "w365_provideraccounts")).toHaveLength(accountsBefore);

    await w.dv.update("w365_providerconnections", w.connectionId, { statecode: 0, statuscode: 1 });
    const again = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
    expect(again.status).toBe("succeeded");
  });
});
