import { main } from "../../cli/main";
import { memoryOutput } from "../../cli/output";

/** The main job (`npm start`) end to end on the embedded sandbox, through the CLI entry point. */
describe("streamone-ion demo", () => {
  it("creates a connector, verifies, syncs accounts and subscriptions, and round-trips one outbound change", async () => {
    const out = memoryOutput();
    await expect(main(["demo", "--customers", "12", "--seed", "11", "--json"], out)).resolves.toBe(0);
    const report = JSON.parse(out.stdout.join(""));
    expect(report.ok).toBe(true);
    expect(report.verify.status).toBe("Connected");
    expect(report.matching.total).toBe(12);
    expect(report.matching.autoMapped + report.matching.suggested + report.matching.unmapped).toBe(12);
    expect(report.mapping.notMapped).toBe(0);
    // The outbound change reached Ion exactly once and came back into Work 365.
    expect(report.outbound.ordersPlaced).toBe(1);
    expect(report.outbound.inIon).toBe(report.outbound.requested);
    expect(report.outbound.inWork365).toBe(report.outbound.requested);
    const kinds = report.runs.map((r: { kind: string }) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(["verify", "accounts", "subscriptions", "outbound"]));
    for (const run of report.runs) expect(run.status).toBe("succeeded");
  });

  it("prints a human report with the run table when not in JSON mode", async () => {
    const out = memoryOutput();
    await expect(main(["demo", "--customers", "5", "--seed", "2"], out)).resolves.toBe(0);
    const text = out.text();
    expect(text).toContain("✔ Verify Connectivity");
    expect(text).toContain("Sync runs (w365_syncrun):");
    expect(text).toMatch(/Outbound: .+ → \d+ seats; Ion now has \d+; orders placed: 1/);
  });
});
