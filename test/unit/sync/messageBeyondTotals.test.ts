import { messageBeyondTotals, runMessage } from "../../../src/sync/messages";

// A UI that prints the totals on their own line shows only the rest of the run's message.
describe("messageBeyondTotals", () => {
  const totals = { created: 12, updated: 0, unchanged: 3, failed: 1 };

  it("drops the totals the message opens with and capitalises what follows", () => {
    const message = runMessage({
      dryRun: false,
      totals,
      counts: {},
      phases: ["accounts"],
      mapping: { autoMapped: 10, suggested: 2, unmapped: 0 },
    });
    expect(message.startsWith("Created 12, updated 0, unchanged 3, failed 1;")).toBe(true);
    expect(messageBeyondTotals(message, totals)).toBe("Auto-mapped 10, suggested 2, unmapped 0 (open the mapping page).");
  });

  it("is empty when the message says nothing beyond the totals", () => {
    expect(messageBeyondTotals(runMessage({ dryRun: false, totals, counts: {}, phases: [] }), totals)).toBe("");
  });

  it("keeps a message that does not open with these totals whole", () => {
    expect(messageBeyondTotals("Subscriptions synced.", totals)).toBe("Subscriptions synced.");
    expect(messageBeyondTotals("Created 1, updated 0, unchanged 3, failed 1.", totals)).toBe(
      "Created 1, updated 0, unchanged 3, failed 1.",
    );
    const dry = runMessage({ dryRun: true, totals, counts: {}, phases: [] });
    expect(messageBeyondTotals(dry, totals)).toBe(dry);
  });
});
