import { registerSecret } from "../../../src/shared/redact";
import {
  initialState,
  isStale,
  nextState,
  pagesToSkip,
  parseCheckpoint,
  positionText,
  remainingPhases,
} from "../../../src/sync/checkpoint";
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

  it("counts outbound rows as rows, never as pages, and carries them across a hand-off", () => {
    let s = initialState("all", 1);
    s = nextState(s, { type: "phase-done", phase: "accounts", counts: { created: 2 }, at: 2 });
    s = nextState(s, { type: "phase-done", phase: "subscriptions", counts: { created: 7 }, at: 3 });
    s = nextState(s, { type: "phase-start", phase: "outbound", at: 4 });
    for (let i = 1; i <= 3; i++) s = nextState(s, { type: "row-done", phase: "outbound", counts: { created: 7, updated: i }, at: 4 + i });
    expect(s).toMatchObject({ current: "outbound", pagesDone: 0, rowsDone: 3, counts: { created: 7, updated: 3 }, updatedAt: 7 });
    expect(pagesToSkip(s, "outbound")).toBe(0);
    expect(positionText(s)).toBe("outbound, 3 request(s) handled");
    // The next work item reads the checkpoint back and starts the same phase again: the rows go on from 3.
    let resumed = parseCheckpoint(JSON.stringify(s))!;
    expect(resumed).toEqual(s);
    resumed = nextState(resumed, { type: "phase-start", phase: "outbound", at: 8 });
    resumed = nextState(resumed, { type: "row-done", phase: "outbound", counts: { created: 7, updated: 4 }, at: 9 });
    expect(positionText(resumed)).toBe("outbound, 4 request(s) handled");
    const done = nextState(resumed, { type: "phase-done", phase: "outbound", counts: { created: 7, updated: 4 }, at: 10 });
    expect(done.rowsDone).toBeUndefined();
    expect(positionText(done)).toBe("3 phase(s) done");
  });

  it("ignores a row event outside the outbound phase, and a new phase starts with no rows", () => {
    const accounts = nextState(initialState("all", 1), { type: "phase-start", phase: "accounts", at: 1 });
    expect(nextState(accounts, { type: "row-done", phase: "outbound", counts: { updated: 1 }, at: 2 })).toBe(accounts);
    const paged = nextState(accounts, { type: "page-done", phase: "accounts", counts: { created: 5 }, at: 3 });
    expect(positionText(paged)).toBe("accounts, 1 page(s) done");
    const stale = { ...paged, current: "outbound" as const, rowsDone: 5 };
    expect(nextState(stale, { type: "phase-start", phase: "subscriptions", at: 4 }).rowsDone).toBeUndefined();
  });

  it("presumes a run dead after the stale limit", () => {
    const s = initialState("accounts", 1_000);
    expect(isStale(s, undefined, 1_000 + 60_000, 120_000)).toBe(false);
    expect(isStale(s, undefined, 1_000 + 180_000, 120_000)).toBe(true);
  });
});
