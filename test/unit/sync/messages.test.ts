import { runMessage } from "../../../src/sync/messages";

const totals = { created: 30, updated: 2, unchanged: 5, failed: 0 };

describe("runMessage", () => {
  it("says what an accounts run did and what is left to map", () => {
    expect(
      runMessage({
        dryRun: false,
        totals,
        counts: { "auto-mapped": 20 },
        phases: ["accounts"],
        mapping: { autoMapped: 20, suggested: 6, unmapped: 4 },
      }),
    ).toBe("Created 30, updated 2, unchanged 5, failed 0; auto-mapped 20, suggested 6, unmapped 4 (open the mapping page).");
  });

  it("does not send the admin to the mapping page when nothing waits, and names customers gone from Ion", () => {
    expect(
      runMessage({
        dryRun: false,
        totals,
        counts: { "missing-customer": 1 },
        phases: ["accounts"],
        mapping: { autoMapped: 3, suggested: 0, unmapped: 0 },
      }),
    ).toBe("Created 30, updated 2, unchanged 5, failed 0; auto-mapped 3, suggested 0, unmapped 0; 1 customer no longer in Ion.");
  });

  it("reports skipped, externally changed and vanished subscriptions", () => {
    const counts = { "skipped-unmapped": 4, "external-change": 3, "missing-subscription": 2 };
    expect(runMessage({ dryRun: false, totals, counts, phases: ["subscriptions"] })).toBe(
      "Created 30, updated 2, unchanged 5, failed 0; subscriptions: 4 skipped (customer not mapped: map it on the mapping page), 3 changed outside Work 365, 2 no longer in Ion.",
    );
    expect(runMessage({ dryRun: false, totals, counts: {}, phases: ["subscriptions"] })).toBe(
      "Created 30, updated 2, unchanged 5, failed 0; subscriptions: 0 skipped (customer not mapped), 0 changed outside Work 365.",
    );
  });

  it("summarises outbound outcomes and points at rows needing the admin", () => {
    expect(runMessage({ dryRun: false, totals, counts: {}, phases: ["outbound"] })).toBe(
      "Created 30, updated 2, unchanged 5, failed 0; outbound: nothing requested.",
    );
    expect(
      runMessage({ dryRun: false, totals, counts: { "order-completed": 2, "order-pending": 1, conflict: 1 }, phases: ["outbound"] }),
    ).toBe(
      "Created 30, updated 2, unchanged 5, failed 0; outbound: applied 2, pending 1, conflicts 1 (see the subscriptions in Conflict or Error).",
    );
  });

  it("words a dry run as a plan", () => {
    const text = runMessage({
      dryRun: true,
      totals,
      counts: { "would-send": 2 },
      phases: ["accounts", "subscriptions", "outbound"],
      mapping: { autoMapped: 1, suggested: 1, unmapped: 0 },
    });
    expect(text).toBe(
      "Dry run: would create 30, update 2, unchanged 5, failed 0; would auto-map 1, suggested 1, unmapped 0 (open the mapping page); subscriptions: 0 skipped (customer not mapped), 0 changed outside Work 365; outbound: would send 2.",
    );
  });
});
