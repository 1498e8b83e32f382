/** The run row as the admin UI reads it: a message saying what is left to do, and counts while running. */
import { MappingStatus, runSync } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

describe("run messages and live counts", () => {
  let w: World;
  let now = Date.parse("2026-11-01T00:00:00Z");
  beforeAll(async () => {
    w = await startWorld({ seed: 31, customers: 20, subscriptionsPerCustomer: 2 });
    w.deps.ion = { customerPageSize: 5, subscriptionPageLimit: 10 };
    w.deps.clock = { now: () => now };
  });
  afterAll(async () => {
    await w?.close();
  });

  it("writes the counts on the run row with its progress updates, not only at the end", async () => {
    const seen: Row[] = [];
    w.deps.hooks = {
      afterPage: async ({ phase, page }) => {
        now += 6_000; // past the progress throttle: every checkpoint event is written
        if (phase === "subscriptions") {
          const [run] = await all<Row>(w.dv, "w365_syncruns", "w365_status eq 'running'", [
            "w365_created",
            "w365_updated",
            "w365_unchanged",
            "w365_failed",
            "w365_progress",
          ]);
          seen.push({ ...run!, page });
        }
      },
    };
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
    w.deps.hooks = undefined;
    expect(s.status).toBe("succeeded");
    // Mid-run (while subscription pages are done) the row already shows counts: at least the 20 provider
    // accounts the accounts phase created (the subscriptions phase runs beside it, so which page first
    // sees them depends on when the accounts' batch is written).
    expect(seen.length).toBeGreaterThan(1);
    const withCounts = seen.filter((r) => typeof r.w365_created === "number");
    expect(withCounts.length).toBeGreaterThan(0);
    expect(withCounts[0]).toMatchObject({ w365_updated: 0, w365_failed: 0 });
    expect(withCounts[0]!.w365_created).toBeGreaterThanOrEqual(20);
    expect(s.created).toBeGreaterThan(20);
  });

  it("an accounts run's message matches what is left on the mapping page", async () => {
    w.ion.control.addCustomer({ customerOrganization: "Zyxwv Quorble Unmatchable Ltd" });
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    const rows = await all<Row>(w.dv, "w365_provideraccounts", undefined, ["w365_mappingstatus"]);
    const count = (st: number) => rows.filter((r) => r.w365_mappingstatus === st).length;
    expect(count(MappingStatus.Unmapped)).toBeGreaterThan(0);
    const expected = `Created 1, updated 0, unchanged 20, failed 0; auto-mapped ${s.counts["auto-mapped"] ?? 0}, suggested ${count(MappingStatus.Suggested)}, unmapped ${count(MappingStatus.Unmapped)} (open the mapping page).`;
    expect(s.message).toBe(expected);
    const [run] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${s.runId}`, ["w365_message"]);
    expect(run!.w365_message).toBe(expected);
  });

  it("a subscriptions run's message counts skipped and externally changed subscriptions", async () => {
    const mapped = new Set(
      (await all<Row>(w.dv, "w365_provideraccounts", `w365_mappingstatus eq ${MappingStatus.Mapped}`, ["w365_ioncustomerid"])).map((r) =>
        String(r.w365_ioncustomerid),
      ),
    );
    const sub = w.ion.control.subscriptions().find((x) => mapped.has(x.customerId) && x.status.toLowerCase() === "active")!;
    w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + 1 });
    const skipped = w.ion.control.subscriptions().filter((x) => !mapped.has(x.customerId)).length;
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "cli" });
    expect(s.message).toContain(`; subscriptions: ${skipped} skipped (customer not mapped`);
    expect(s.message).toContain(", 1 changed outside Work 365");
  });
});
