/**
 * The shape of Ion's subscription list (page step and total) kept in the connector's checkpoint: the next
 * run asks for the pages after the first beside it (src/sync/ionPages.ts). A hint that no longer holds (the
 * list shrank, grew, or another page size) never costs a subscription or reads one twice.
 */
import { runSync } from "../../../src/sync";
import { openingOffsets } from "../../../src/sync/ionPages";
import { ION_PAGE_CONCURRENCY_SPARED } from "../../../src/sync/subscriptions";
import { startWorld, type World } from "../../support/world";

const CONN = "w365_providerconnections";

describe("the subscription list's shape kept for the next run", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 71, customers: 6, subscriptionsPerCustomer: 5 });
    w.deps.ion = { customerPageSize: 4, subscriptionPageLimit: 10 };
  });
  afterAll(async () => {
    await w?.close();
  });

  const stored = async () =>
    JSON.parse(
      String((await w.dv.retrieve<Record<string, unknown>>(CONN, w.connectionId, { select: ["w365_checkpoint"] })).w365_checkpoint),
    ) as {
      ionSubscriptions?: { step: number; total: number };
    };
  const listCalls = () => w.ion.control.requestLog().filter((e) => e.endpoint.endsWith("/subscriptions") && e.method === "GET").length;
  /** A run of kind "all": its counts of subscriptions read and rows written, and the list pages it asked for. */
  const run = async () => {
    const before = listCalls();
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    expect(s.status).toBe("succeeded");
    const phases = (s.report as { phases: { subscriptions?: { ionSubscriptions?: number } } }).phases;
    return { read: phases.subscriptions?.ionSubscriptions, counts: s.counts, listCalls: listCalls() - before };
  };
  const setHint = async (shape: { step: number; total: number }) => {
    const now = await stored();
    await w.dv.update(CONN, w.connectionId, { w365_checkpoint: JSON.stringify({ ...now, ionSubscriptions: shape }) });
  };

  it("is stored by a full read and used by the next one: every page asked for once", async () => {
    expect((await run()).read).toBe(30);
    expect((await stored()).ionSubscriptions).toStrictEqual({ step: 10, total: 30 });
    const second = await run();
    expect(second).toMatchObject({ read: 30, listCalls: 3 });
    expect(second.counts.created ?? 0).toBe(0);
    expect(second.counts.updated ?? 0).toBe(0);
  });

  it("a hint past the list's end costs only the guesses past it, and is corrected", async () => {
    await setHint({ step: 10, total: 80 });
    const before = listCalls();
    const r = await run();
    expect(r.read).toBe(30);
    expect(r.counts.updated ?? 0).toBe(0);
    // The first page and the guesses beside it, as many pages at once as a run whose digests spare the stored rows
    // reads (offsets 0-70): those from 30 on are past the end, dropped, and nothing else is asked for. A dropped
    // guess may still be out when the run ends: it is counted once Ion has logged it.
    const asked = openingOffsets(10, { step: 10, total: 80 }, ION_PAGE_CONCURRENCY_SPARED).length;
    expect(asked).toBe(8);
    for (let waited = 0; listCalls() - before < asked && waited < 5_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listCalls() - before).toBe(asked);
    expect((await stored()).ionSubscriptions).toStrictEqual({ step: 10, total: 30 });
  });

  it("a hint of another page size guesses nothing", async () => {
    await setHint({ step: 7, total: 30 });
    const r = await run();
    expect(r).toMatchObject({ read: 30, listCalls: 3 });
    expect((await stored()).ionSubscriptions).toStrictEqual({ step: 10, total: 30 });
  });

  it("a hint short of the list (it grew) reads the rest as before", async () => {
    await setHint({ step: 10, total: 12 });
    const r = await run();
    expect(r).toMatchObject({ read: 30, listCalls: 3 });
  });
});
