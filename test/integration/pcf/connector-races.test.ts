/**
 * Admin Hub's cancel and delete against other actors writing the same rows at the same time, over the Dataverse
 * emulator: a sync worker taking or finishing a queued run while an admin cancels it, another admin activating the
 * connector while its provider records are being deleted, and a provider row deleted by someone else inside a delete
 * change set (in both shapes Dataverse may answer a failed change set with). Each interleaving is forced at the exact
 * request where it hurts: the other actor runs for real between the admin's read and write.
 */
import {
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
/** Runs before a request of the admin's page is sent (`before`) or before its answer is handed back (`after`). */
type Interleave = { before?: (url: string, init: RequestInit) => Promise<void>; after?: (url: string, init: RequestInit) => Promise<void> };

/** The admin's page over the emulator: Web API calls and $batch by same-origin fetch, with a point to interleave at. */
function adminPage(w: World, interleave: Interleave = {}) {
  const send = async (url: string, init: RequestInit): Promise<Response> => {
    await interleave.before?.(url, init);
    const response = await fetch(`${w.emu.url}${url}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${w.emu.adminToken}` },
    });
    await interleave.after?.(url, init);
    return response;
  };
  return createConnectorService({
    records: recordsApiFrom(createBrowserWebApi((input, init) => send(String(input), init ?? {}))),
    executeCustomApi: () => Promise.reject(new Error("no custom API in this test")),
    sendBatch: createFetchBatchSender((url, init) => send(url, init as RequestInit)),
  });
}

const isRead = (url: string, init: RequestInit, path: string): boolean => (init.method ?? "GET") === "GET" && url.includes(path);
const bodyOf = (init: RequestInit): string => (typeof init.body === "string" ? init.body : "");

describe("Cancel on a queued run while a worker takes it", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 73, customers: 6, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => {
    await w?.close();
  });
  const queued = () =>
    createQueuedRun(
      w.dv,
      { connectionId: w.connectionId, connectionName: "StreamOne Ion", kind: "accounts", trigger: "manual", dryRun: false },
      Date.now(),
    );
  const runRow = (id: string) =>
    w.dv.retrieve<Row>("w365_syncruns", id, { select: ["w365_status", "w365_message", "w365_cancelrequestedon", "w365_created"] });

  it("a run the worker finished between the admin's read and write stays as it ended, and the admin is told it had finished", async () => {
    const runId = await queued();
    let worker: Awaited<ReturnType<typeof runSync>> | undefined;
    const page = adminPage(w, {
      // The admin's page has read the run as queued; before its write goes out, a worker takes the run and finishes it.
      after: async (url, init) => {
        if (!worker && isRead(url, init, `w365_syncruns(${runId})`)) {
          worker = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "manual", runId });
        }
      },
    });
    const result = await page.cancelRun(runId);
    expect(worker?.status).toBe("succeeded");
    expect(result).toMatchObject({ outcome: "finished", run: { status: "succeeded" } });
    // The history tells what happened: the run ran and succeeded; no cancel was written over it.
    expect(await runRow(runId)).toMatchObject({ w365_status: "succeeded", w365_cancelrequestedon: null });
    expect(Number((await runRow(runId)).w365_created)).toBeGreaterThan(0);
  });

  it("a run the worker took between the admin's read and write gets the cancel request, and the worker stops at its next check", async () => {
    const runId = await queued();
    w.deps.cancelCheckMs = 0;
    let releaseWorker!: () => void;
    const workerMayGoOn = new Promise<void>((resolve) => (releaseWorker = resolve));
    let worker: Promise<Awaited<ReturnType<typeof runSync>>> | undefined;
    const page = adminPage(w, {
      after: async (url, init) => {
        if (worker || !isRead(url, init, `w365_syncruns(${runId})`)) return;
        // The worker takes the run and writes its first page; the admin's write goes out while it is running.
        let running!: () => void;
        const isRunning = new Promise<void>((resolve) => (running = resolve));
        w.deps.hooks = {
          afterPage: async () => {
            running();
            await workerMayGoOn;
          },
        };
        worker = runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "manual", runId });
        await isRunning;
      },
    });
    w.ion.control.addCustomer({ customerOrganization: "Taken Meanwhile Ltd" });
    const result = await page.cancelRun(runId);
    releaseWorker();
    const ended = await worker!;
    w.deps.hooks = undefined;
    expect(result).toMatchObject({ outcome: "requested", run: { status: "running" } });
    expect(result.run.cancelRequestedOn).toBeInstanceOf(Date);
    // The worker, not the admin's page, ended the run: canceled with what it had written, never "before it started".
    expect(ended.status).toBe("canceled");
    const row = await runRow(runId);
    expect(row.w365_status).toBe("canceled");
    expect(String(row.w365_message)).not.toMatch(/before it started/);
  });
});

describe("Delete with provider records while another admin activates the connector", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 74, customers: 8, subscriptionsPerCustomer: 2 });
    expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "manual" })).status).toBe("succeeded");
  });
  afterAll(async () => {
    await w?.close();
  });

  it("activated between the page's last check and a delete batch: not one row of that batch is deleted, and the delete stops", async () => {
    const mine = (table: string) => all<Row>(w.dv, table, `_w365_connection_value eq ${w.connectionId}`);
    const subscriptions = (await mine("w365_providersubscriptions")).length;
    const accounts = (await mine("w365_provideraccounts")).length;
    expect(subscriptions).toBeGreaterThan(0);
    const otherTab = adminPage(w);
    let activated = false;
    const page = adminPage(w, {
      // Every check the page makes has passed (the connector read back inactive); then, just before the first batch of
      // deletes leaves, another admin activates the connector.
      before: async (url, init) => {
        if (activated || !url.endsWith("/$batch") || !/DELETE [^\n]*w365_providersubscriptions\(/.test(bodyOf(init))) return;
        activated = true;
        await otherTab.setActive(w.connectionId, true);
      },
    });
    const steps: DeleteProgress[] = [];
    await expect(page.deleteWithProviderRows(w.connectionId, (p) => void steps.push(p))).rejects.toBeInstanceOf(ConnectorReactivatedError);
    expect(activated).toBe(true);
    expect(steps).toEqual([{ step: "deactivated" }]);
    // Nothing was deleted after the activation; the connector stays as the other admin left it.
    expect(await mine("w365_providersubscriptions")).toHaveLength(subscriptions);
    expect(await mine("w365_provideraccounts")).toHaveLength(accounts);
    expect(await w.dv.retrieve<Row>("w365_providerconnections", w.connectionId, { select: ["statecode"] })).toMatchObject({ statecode: 0 });
  });
});

describe.each(["single", "wrapped"] as const)(
  "Delete with provider records when a row is deleted by someone else (failed change set answered %s)",
  (shape) => {
    let w: World;
    beforeAll(async () => {
      w = await startWorld({ seed: 75, customers: 8, subscriptionsPerCustomer: 2, emulator: { failedChangeSet: shape } });
      expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "manual" })).status).toBe("succeeded");
    });
    afterAll(async () => {
      await w?.close();
    });

    it("the row counts as gone, the change set it rolled back is sent again, and the delete finishes", async () => {
      const subscriptions = await all<Row>(w.dv, "w365_providersubscriptions", `_w365_connection_value eq ${w.connectionId}`);
      const accountsBefore = await all<Row>(w.dv, "accounts", undefined, ["accountid", "name", "modifiedon"]);
      let taken: string | undefined;
      const page = adminPage(w, {
        // The page has read the rows to delete; another admin deletes one of them (the last) before the batch leaves.
        before: async (url, init) => {
          if (taken || !url.endsWith("/$batch") || !/DELETE [^\n]*w365_providersubscriptions\(/.test(bodyOf(init))) return;
          taken = String(subscriptions.at(-1)!.w365_providersubscriptionid);
          await w.dv.delete("w365_providersubscriptions", taken);
        },
      });
      const steps: DeleteProgress[] = [];
      await page.deleteWithProviderRows(w.connectionId, (p) => void steps.push(p));
      expect(taken).toBeDefined();
      // Every other subscription was deleted by the page (the gone one is not counted as deleted by it).
      const deletedSubscriptions = steps.filter((s) => s.step === "subscriptions").at(-1);
      expect(deletedSubscriptions).toEqual({ step: "subscriptions", deleted: subscriptions.length - 1 });
      expect(steps.at(-1)).toEqual({ step: "connector" });
      expect(await w.dv.tryRetrieve("w365_providerconnections", w.connectionId)).toBeUndefined();
      expect(await all(w.dv, "w365_providersubscriptions")).toHaveLength(0);
      expect(await all(w.dv, "w365_provideraccounts")).toHaveLength(0);
      expect(await all<Row>(w.dv, "accounts", undefined, ["accountid", "name", "modifiedon"])).toEqual(accountsBefore);
    });
  },
);
