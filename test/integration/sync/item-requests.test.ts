/**
 * What the run row costs a sync split into work items: every request the items send for their run row is
 * counted at the client (GETs and PATCHes of `w365_syncruns(<run>)`). A fenced write goes out under the ETag
 * of the item's previous read or write (no read before it), and the cancel check's read (the cancel stamp and the
 * connector's state) is the only read of the row a page costs.
 */
import { randomUUID } from "node:crypto";

import { startQueuedRun } from "../../../src/sync";
import type { SyncDeps } from "../../../src/sync/context";
import { runSyncWorkItem, type SyncWorkItem, type WorkItemOutcome } from "../../../src/sync/workItems";
import { fakeClock } from "../../support/httpStubs";
import { integrationClient, startWorld, type World } from "../../support/world";

const PAGES = { customerPageSize: 5, subscriptionPageLimit: 10 };

/** Requests of the run row by method, counted at the client's transport. */
function countingFetch(runId: () => string | undefined) {
  const counts = { GET: 0, PATCH: 0, batch: 0 };
  const f: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const id = runId();
    const method = (init?.method ?? "GET").toUpperCase();
    if (id && decodeURIComponent(url).includes(`w365_syncruns(${id})`) && (method === "GET" || method === "PATCH")) counts[method]++;
    if (id && url.endsWith("$batch") && typeof init?.body === "string" && init.body.includes(`w365_syncruns(${id})`)) counts.batch++;
    return fetch(input, init);
  };
  return { counts, fetch: f };
}

describe("run-row requests of a sync split into work items", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 30, subscriptionsPerCustomer: 2, crmAccounts: false });
  }, 60_000);
  afterAll(async () => w?.close());

  /** Runs one sync of accounts as a chain of work items of one page each; returns the run-row requests. */
  async function chain(o: { cancelCheckMs?: number }) {
    const run: { id?: string } = {};
    const counting = countingFetch(() => run.id);
    // Time stands still (no throttled progress write, no cancel check falls due by itself): the counts are exact.
    const clock = fakeClock(Date.now());
    let pages = 0;
    const deps: SyncDeps = {
      ...w.deps,
      dataverse: integrationClient(w.emu, { fetch: counting.fetch }),
      clock,
      ion: PAGES,
      hooks: { afterPage: async () => void pages++ },
      ...(o.cancelCheckMs !== undefined ? { cancelCheckMs: o.cancelCheckMs } : {}),
    };
    const { runId } = await startQueuedRun(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    run.id = runId;
    let item: SyncWorkItem | undefined = { runId, connectionId: w.connectionId, kind: "accounts", trigger: "schedule" };
    let items = 0;
    while (item) {
      const outcome: WorkItemOutcome = await runSyncWorkItem(
        deps,
        item,
        { messageId: randomUUID(), dequeueCount: 1 },
        { ms: 3_600_000, pages: 1 },
      );
      expect(outcome.outcome).toBe("ran");
      items++;
      item = outcome.next;
    }
    process.stdout.write(
      `run-row requests (cancelCheckMs ${o.cancelCheckMs ?? "default"}): ${JSON.stringify({ items, pages, ...counting.counts })}\n`,
    );
    return { items, pages, ...counting.counts };
  }

  it("writes under the ETag of the item's previous read or write: two reads per item, none before a write", async () => {
    const c = await chain({});
    expect(c.items).toBeGreaterThan(3);
    // Per item: the delivery's read before its claim, and the recorder's start (whose columns also answer the
    // first cancel check). The start's write, the hand-off and the finish go under the ETags already known.
    expect(c.GET).toBe(2 * c.items);
    // The claim, the start and the hand-off; the last item finishes in a $batch with the connector's stamp.
    expect(c.PATCH).toBe(3 * c.items - 1);
    expect(c.batch).toBe(1);
  }, 120_000);

  it("reads the run row once per cancel check, the fence writing under that read's ETag", async () => {
    // A check at every page and at each phase's start: each costs one read, and nothing else reads more.
    const c = await chain({ cancelCheckMs: 0 });
    expect(c.GET).toBeLessThanOrEqual(2 * c.items + c.items + c.pages);
    expect(c.PATCH).toBe(3 * c.items - 1);
  }, 120_000);
});
