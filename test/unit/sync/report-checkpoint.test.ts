import { registerSecret } from "../../../src/shared/redact";
import { initialState, isStale, nextState, pagesToSkip, parseCheckpoint, remainingPhases } from "../../../src/sync/checkpoint";
import { RunReport } from "../../../src/sync/report";

describe("RunReport", () => {
  it("counts every outcome but keeps only the interesting entries", () => {
    const r = new RunReport("accounts", false);
    r.add({ entity: "provideraccount", key: "1", action: "unchanged" });
    r.add({ entity: "provideraccount", key: "2", action: "updated", before: { w365_name: "A" }, after: { w365_name: "B" } });
    expect(r.counts).toStrictEqual({ unchanged: 1, updated: 1 });
    expect(r.toJson().entries).toStrictEqual([
      { entity: "provideraccount", key: "2", action: "updated", before: { w365_name: "A" }, after: { w365_name: "B" } },
    ]);
  });

  it("caps entries in memory and the serialised size, keeping the counts", () => {
    const r = new RunReport("subscriptions", false, 100);
    for (let i = 0; i < 150; i++) r.add({ entity: "providersubscription", key: String(i), action: "updated", message: "x".repeat(200) });
    const text = r.serialize(5_000);
    expect(text.length).toBeLessThanOrEqual(5_000);
    const parsed = JSON.parse(text);
    expect(parsed.counts.updated).toBe(150);
    expect(parsed.entries.length + parsed.omittedEntries).toBe(150);
    expect(parsed.truncated).toBe(true);
  });

  it("redacts secrets in messages", () => {
    registerSecret("SUPERSECRETTOKEN123");
    const r = new RunReport("verify", false);
    r.add({ entity: "connection", key: "c", action: "failed", message: "token SUPERSECRETTOKEN123 rejected" });
    expect(r.serialize()).not.toContain("SUPERSECRETTOKEN123");
  });
});

describe("checkpoint", () => {
  it("advances through phases and pages", () => {
    let s = initialState("all", 1);
    expect(remainingPhases(s)).toStrictEqual(["accounts", "subscriptions", "outbound"]);
    s = nextState(s, { type: "phase-start", phase: "accounts", at: 2 });
    s = nextState(s, { type: "page-done", phase: "accounts", counts: { created: 5 }, at: 3 });
    s = nextState(s, { type: "page-done", phase: "accounts", counts: { created: 9 }, at: 4 });
    expect(pagesToSkip(s, "accounts")).toBe(2);
    expect(pagesToSkip(s, "subscriptions")).toBe(0);
    s = nextState(s, { type: "phase-done", phase: "accounts", counts: { created: 9 }, at: 5 });
    expect(remainingPhases(s)).toStrictEqual(["subscriptions", "outbound"]);
    expect(s.counts).toStrictEqual({ created: 9 });
    const round = parseCheckpoint(JSON.stringify(s));
    expect(round).toEqual(s);
  });

  it("ignores a page event of another phase and a damaged checkpoint", () => {
    const s = nextState(initialState("accounts", 1), { type: "phase-start", phase: "accounts", at: 1 });
    expect(nextState(s, { type: "page-done", phase: "subscriptions", counts: {}, at: 2 })).toBe(s);
    expect(parseCheckpoint("{not json")).toBeUndefined();
  });

  it("presumes a run dead after the stale limit", () => {
    const s = initialState("accounts", 1_000);
    expect(isStale(s, undefined, 1_000 + 60_000, 120_000)).toBe(false);
    expect(isStale(s, undefined, 1_000 + 180_000, 120_000)).toBe(true);
  });
});
