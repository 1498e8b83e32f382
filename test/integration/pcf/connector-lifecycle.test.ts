/**
 * The Admin Hub's connector lifecycle over the Dataverse emulator, through the same browser Web API client the admin
 * page uses (logical names, OData strings, errors as Xrm.WebApi gives them): deactivate and activate, what a delete
 * does to each kind of row (the solution's cascade rules: Restrict for provider accounts and subscriptions, RemoveLink
 * for sync runs, accounts untouched), and Cancel on queued, running and finished runs, with the engine taking over.
 */
import {
  ConnectorHasRowsError,
  ConnectorReactivatedError,
  createConnectorService,
  type DeleteProgress,
} from "../../../pcf-controls/StreamOneConnector/services/connectorService";
import { createBrowserWebApi } from "../../../sandbox/admin/client/webApi";
import { runSync } from "../../../src/sync";
import { createQueuedRun } from "../../../src/sync/runs";
import { createFetchBatchSender } from "../../../ui-shared/batchDelete";
import { recordsApiFrom } from "../../../ui-shared/records";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

let w: World;
let service: ReturnType<typeof createConnectorService>;

beforeAll(async () => {
  w = await startWorld({ seed: 71, customers: 12, subscriptionsPerCustomer: 2 });
  const webApi = createBrowserWebApi((input, init) =>
    fetch(`${w.emu.url}${String(input)}`, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${w.emu.adminToken}` },
    }),
  );
  service = createConnectorService({
    records: recordsApiFrom(webApi),
    executeCustomApi: () => Promise.reject(new Error("no custom API in this test")),
    // $batch as the control sends it: same-origin fetch to /api/data/v9.2/$batch (here with the test's token).
    sendBatch: createFetchBatchSender((url, init) =>
      fetch(`${w.emu.url}${url}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${w.emu.adminToken}` } }),
    ),
  });
});
afterAll(async () => {
  await w?.close();
});

const connector = (id: string): Promise<Row> => w.dv.retrieve<Row>("w365_providerconnections", id, { select: ["statecode", "statuscode"] });

describe("deactivate and activate", () => {
  it("sets statecode and statuscode as the solution defines them, and the list reads the state back", async () => {
    await service.setActive(w.connectionId, false);
    expect(await connector(w.connectionId)).toMatchObject({ statecode: 1, statuscode: 2 });
    expect((await service.getConnector(w.connectionId)).active).toBe(false);
    await service.setActive(w.connectionId, true);
    expect(await connector(w.connectionId)).toMatchObject({ statecode: 0, statuscode: 1 });
    expect((await service.getConnector(w.connectionId)).active).toBe(true);
  });
});

describe("delete", () => {
  it("counts the rows before the admin confirms, and Dataverse refuses while provider accounts and subscriptions exist", async () => {
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "manual" });
    expect(s.status).toBe("succeeded");
    const accounts = await all<Row>(w.dv, "w365_provideraccounts", undefined, ["_w365_account_value"]);
    const subscriptions = await all<Row>(w.dv, "w365_providersubscriptions");
    const mapped = new Set(accounts.map((a) => a._w365_account_value).filter(Boolean));
    expect(mapped.size).toBeGreaterThan(0);

    const impact = await service.deleteImpact(w.connectionId);
    expect(impact).toEqual({
      providerAccounts: { count: accounts.length, more: false },
      providerSubscriptions: { count: subscriptions.length, more: false },
      mappedAccounts: { count: mapped.size, more: false },
      syncRuns: { count: 1, more: false },
      sentToIon: { count: 0, more: false },
      deletable: false,
    });
    await expect(service.deleteConnector(w.connectionId)).rejects.toBeInstanceOf(ConnectorHasRowsError);
    // Nothing went: the connector, its rows and the Work 365 accounts are all still there, and its run still links to it
    // (the refusal rolls back the whole delete, RemoveLink included).
    expect(await connector(w.connectionId)).toMatchObject({ statecode: 0 });
    expect(await all<Row>(w.dv, "w365_syncruns", `_w365_connection_value eq ${w.connectionId}`)).toHaveLength(1);
    expect(await all(w.dv, "w365_provideraccounts")).toHaveLength(accounts.length);
    expect(await all(w.dv, "w365_providersubscriptions")).toHaveLength(subscriptions.length);
  });

  it("deletes a connector without provider rows; its sync runs stay, unlinked (RemoveLink), and no account changes", async () => {
    const spareId = await w.dv.create("w365_providerconnections", {
      w365_name: "Spare connector",
      w365_ionaccountid: "9999001",
      w365_ionbaseurl: w.ion.url,
    });
    const runId = await createQueuedRun(
      w.dv,
      { connectionId: spareId, connectionName: "Spare connector", kind: "accounts", trigger: "manual", dryRun: false },
      Date.now(),
      "failed",
    );
    const accountsBefore = await all<Row>(w.dv, "accounts", undefined, ["accountid", "name", "modifiedon"]);
    const impact = await service.deleteImpact(spareId);
    expect(impact).toMatchObject({ deletable: true, syncRuns: { count: 1 }, mappedAccounts: { count: 0 } });

    await service.deleteConnector(spareId);
    expect(await w.dv.tryRetrieve("w365_providerconnections", spareId)).toBeUndefined();
    const run = await w.dv.retrieve<Row>("w365_syncruns", runId, { select: ["_w365_connection_value", "w365_status"] });
    expect(run).toMatchObject({ _w365_connection_value: null, w365_status: "failed" });
    expect(await all<Row>(w.dv, "accounts", undefined, ["accountid", "name", "modifiedon"])).toEqual(accountsBefore);
  });
});

describe("cancel", () => {
  it("a queued run is canceled at once, and a worker that takes it anyway does no work", async () => {
    const runId = await createQueuedRun(
      w.dv,
      { connectionId: w.connectionId, connectionName: "StreamOne Ion", kind: "subscriptions", trigger: "manual", dryRun: false },
      Date.now(),
    );
    const result = await service.cancelRun(runId);
    expect(result.outcome).toBe("canceled");
    expect(result.run).toMatchObject({ status: "canceled" });
    expect(result.run.cancelRequestedOn).toBeInstanceOf(Date);
    const before = w.ion.control.counters();
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "manual", runId });
    expect(s).toMatchObject({ status: "canceled", created: 0, updated: 0 });
    expect(w.ion.control.counters()).toEqual(before);
  });

  it("a running run gets the request (the engine stops at its next check); a finished one says it had finished", async () => {
    w.deps.cancelCheckMs = 0;
    let outcome: Awaited<ReturnType<typeof service.cancelRun>> | undefined;
    w.deps.hooks = {
      afterPage: async () => {
        if (outcome) return;
        const [running] = await all<Row>(w.dv, "w365_syncruns", "w365_status eq 'running'", ["w365_syncrunid"]);
        outcome = await service.cancelRun(String(running!.w365_syncrunid));
      },
    };
    w.ion.control.addCustomer({ customerOrganization: "Late Arrival Ltd" });
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "manual" });
    w.deps.hooks = undefined;
    expect(outcome?.outcome).toBe("requested");
    expect(outcome?.run.status).toBe("running");
    expect(s.status).toBe("canceled");

    const again = await service.cancelRun(s.runId);
    expect(again).toMatchObject({ outcome: "finished", run: { status: "canceled" } });
    const done = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "manual" });
    expect(await service.cancelRun(done.runId)).toMatchObject({ outcome: "finished", run: { status: "succeeded" } });
    // Nothing was stamped on the finished run.
    const row = await w.dv.retrieve<Row>("w365_syncruns", done.runId, { select: ["w365_cancelrequestedon", "w365_status"] });
    expect(row).toMatchObject({ w365_cancelrequestedon: null, w365_status: "succeeded" });
  });
});

describe("delete the connector and its provider records", () => {
  const mine = (table: string) => all<Row>(w.dv, table, `_w365_connection_value eq ${w.connectionId}`);
  const work365 = () => all<Row>(w.dv, "accounts", undefined, ["accountid", "name", "modifiedon"]);

  it("stops when another tab activates the connector mid-delete; opened again it shows what is left and finishes", async () => {
    await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "manual" });
    const [sent] = await mine("w365_providersubscriptions");
    await w.dv.update("w365_providersubscriptions", String(sent!.w365_providersubscriptionid), { w365_syncstate: 365000002 });
    const before = await service.deleteImpact(w.connectionId);
    expect(before.sentToIon).toEqual({ count: 1, more: false });
    expect(before.providerAccounts.count).toBeGreaterThan(0);
    const accountsBefore = await work365();

    // Another admin, in another tab, activates the connector as soon as the subscriptions are gone.
    const otherTab = createConnectorService({
      records: recordsApiFrom(
        createBrowserWebApi((input, init) =>
          fetch(`${w.emu.url}${String(input)}`, {
            ...init,
            headers: { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${w.emu.adminToken}` },
          }),
        ),
      ),
      executeCustomApi: () => Promise.reject(new Error("no custom API in this test")),
    });
    const steps: DeleteProgress[] = [];
    await expect(
      service.deleteWithProviderRows(w.connectionId, async (p) => {
        steps.push(p);
        if (p.step === "subscriptions") await otherTab.setActive(w.connectionId, true);
      }),
    ).rejects.toBeInstanceOf(ConnectorReactivatedError);
    expect(steps).toEqual([{ step: "deactivated" }, { step: "subscriptions", deleted: before.providerSubscriptions.count }]);
    // Stopped before the accounts: they, the connector (active, as the other admin left it) and its runs are all there.
    expect(await connector(w.connectionId)).toMatchObject({ statecode: 0 });
    const left = await service.deleteImpact(w.connectionId);
    expect(left).toMatchObject({ providerSubscriptions: { count: 0 }, providerAccounts: before.providerAccounts, sentToIon: { count: 0 } });

    // Re-opened and confirmed again: it finishes from there.
    const again: DeleteProgress[] = [];
    await service.deleteWithProviderRows(w.connectionId, (p) => void again.push(p));
    expect(again).toEqual([{ step: "deactivated" }, { step: "accounts", deleted: before.providerAccounts.count }, { step: "connector" }]);
    expect(await w.dv.tryRetrieve("w365_providerconnections", w.connectionId)).toBeUndefined();
    expect(await all(w.dv, "w365_provideraccounts")).toHaveLength(0);
    expect(await all(w.dv, "w365_providersubscriptions")).toHaveLength(0);
    // Runs stay, unlinked; Work 365 accounts are exactly as they were.
    expect(
      (await all<Row>(w.dv, "w365_syncruns", undefined, ["_w365_connection_value"])).every((r) => r._w365_connection_value === null),
    ).toBe(true);
    expect(await work365()).toEqual(accountsBefore);
  });
});

describe("a sync running while the connector and its provider records are deleted", () => {
  let v: World;
  let svc: ReturnType<typeof createConnectorService>;
  beforeAll(async () => {
    v = await startWorld({ seed: 72, customers: 12, subscriptionsPerCustomer: 2 });
    const auth = (init?: RequestInit) => ({ ...(init?.headers as Record<string, string>), Authorization: `Bearer ${v.emu.adminToken}` });
    svc = createConnectorService({
      records: recordsApiFrom(
        createBrowserWebApi((input, init) => fetch(`${v.emu.url}${String(input)}`, { ...init, headers: auth(init) })),
      ),
      executeCustomApi: () => Promise.reject(new Error("no custom API in this test")),
      sendBatch: createFetchBatchSender((url, init) => fetch(`${v.emu.url}${url}`, { ...init, headers: auth(init) })),
    });
  });
  afterAll(async () => {
    await v?.close();
  });

  it("the running sync stops, a scheduled sync meanwhile writes nothing, and a page written after a check is deleted too", async () => {
    const first = await runSync(v.deps, { connectionId: v.connectionId, kind: "all", trigger: "manual" });
    expect(first.status).toBe("succeeded");
    const accountsBefore = await all<Row>(v.dv, "accounts", undefined, ["accountid", "name", "modifiedon"]);
    v.ion.control.addCustomer({ customerOrganization: "Arrives During The Delete Ltd" });
    v.deps.cancelCheckMs = 0;

    const steps: DeleteProgress[] = [];
    let deactivated!: () => void;
    const deactivatedSeen = new Promise<void>((resolve) => (deactivated = resolve));
    let purge: Promise<void> | undefined;
    let scheduled: Awaited<ReturnType<typeof runSync>> | undefined;
    let ionBeforeScheduled: Record<string, number> = {};
    let wrotePage = false;
    const onProgress = async (p: DeleteProgress): Promise<void> => {
      steps.push(p);
      if (p.step === "deactivated") deactivated();
      if (p.step === "accounts" && !wrotePage) {
        wrotePage = true;
        // The schedule fires for this connector mid-delete: the deactivation keeps it from writing anything.
        ionBeforeScheduled = v.ion.control.counters();
        scheduled = await runSync(v.deps, { connectionId: v.connectionId, kind: "all", trigger: "schedule" });
        // A sync that had passed its check just before the deactivation writes its page now: a fresh row appears.
        // Subscriptions were all deleted before the accounts: this one makes Dataverse refuse the connector delete
        // (Restrict), and the next round deletes it.
        await v.dv.create("w365_providersubscriptions", {
          w365_name: "Written after its check",
          "w365_connection@odata.bind": `/w365_providerconnections(${v.connectionId})`,
        });
      }
    };
    // The manual sync starts; after its first page the admin confirms the delete, and the sync carries on alongside it.
    v.deps.hooks = {
      afterPage: async () => {
        if (purge) return;
        purge = svc.deleteWithProviderRows(v.connectionId, onProgress);
        await deactivatedSeen;
      },
    };
    const running = await runSync(v.deps, { connectionId: v.connectionId, kind: "all", trigger: "manual" });
    v.deps.hooks = undefined;
    await purge;

    expect(running.status).toBe("canceled");
    expect(scheduled).toMatchObject({ status: "canceled", created: 0, updated: 0 });
    expect(v.ion.control.counters()).toEqual(ionBeforeScheduled);
    // Two rounds: the row written after the check was found when the connector delete was refused, and deleted.
    expect(steps.filter((s) => s.step === "subscriptions").length).toBeGreaterThanOrEqual(2);
    expect(steps.at(-1)).toEqual({ step: "connector" });
    expect(await v.dv.tryRetrieve("w365_providerconnections", v.connectionId)).toBeUndefined();
    expect(await all(v.dv, "w365_provideraccounts")).toHaveLength(0);
    expect(await all(v.dv, "w365_providersubscriptions")).toHaveLength(0);
    expect(await all<Row>(v.dv, "accounts", undefined, ["accountid", "name", "modifiedon"])).toEqual(accountsBefore);
  });
});
