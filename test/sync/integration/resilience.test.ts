import { ConnectionStatus, runKeepAlive, runSync, runVerify } from "../../../src/sync";
import { all, startWorld, type World } from "./world";

type Row = Record<string, unknown>;

describe("crash and resume", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 9, customers: 20, subscriptionsPerCustomer: 2 });
    w.deps.ion = { customerPageSize: 5, subscriptionPageLimit: 10 };
  });
  afterAll(async () => {
    await w?.close();
  });

  it("an interrupted run resumes from its checkpoint and ends in the same state without duplicates", async () => {
    let crash = true;
    w.deps.hooks = {
      afterPage: ({ phase, page }) => {
        if (crash && phase === "subscriptions" && page === 2) throw new Error("simulated crash");
      },
    };
    const first = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
    expect(first.status).toBe("failed");
    expect(first.message).toBe("simulated crash");
    const [row] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${first.runId}`, ["w365_checkpoint", "w365_status"]);
    const checkpoint = JSON.parse(String(row!.w365_checkpoint));
    expect(checkpoint.done).toStrictEqual(["accounts"]);
    expect(checkpoint.current).toBe("subscriptions");

    crash = false;
    const resumed = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli", runId: first.runId });
    expect(resumed.resumed).toBe(true);
    expect(resumed.status).toBe("succeeded");
    expect(resumed.runId).toBe(first.runId);

    const accounts = await all<Row>(w.dv, "w365_provideraccounts", undefined, ["w365_ioncustomerid"]);
    expect(new Set(accounts.map((a) => a.w365_ioncustomerid)).size).toBe(20);
    expect(accounts).toHaveLength(20);
    const subs = await all<Row>(w.dv, "w365_providersubscriptions", undefined, ["w365_ionsubscriptionid", "w365_quantity"]);
    expect(new Set(subs.map((s) => s.w365_ionsubscriptionid)).size).toBe(subs.length);
    // Same final state as an uninterrupted run: a fresh full run finds nothing to change.
    const check = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
    expect(check.created + check.updated).toBe(0);
    const mappedIon = new Set((await all<Row>(w.dv, "w365_provideraccounts", "w365_mappingstatus eq 365000002", ["w365_ioncustomerid"])).map((r) => String(r.w365_ioncustomerid)));
    expect(subs).toHaveLength(w.ion.control.subscriptions().filter((s) => mappedIon.has(s.customerId)).length);
  });
});

describe("tokens across processes", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 4, customers: 10, subscriptionsPerCustomer: 1 });
    w.deps.sleep = (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 15)));
  });
  afterAll(async () => {
    await w?.close();
  });

  it("8 concurrent syncs and a verify never present a refresh token twice", async () => {
    await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    // Force every process to need a new access token at the same moment.
    await w.dv.update("w365_providerconnections", w.connectionId, { w365_accesstoken: null, w365_accesstokenexpireson: null });
    w.ion.control.resetTokenUsage();
    const results = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => runSync({ ...w.deps, holderId: `proc-${i}` }, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" })),
      runVerify({ ...w.deps, holderId: "proc-verify" }, { connectionId: w.connectionId, trigger: "manual" }),
    ]);
    const usage = w.ion.control.tokenUsage();
    expect(usage.reusedRefreshTokens).toBe(0);
    expect(usage.rejected).toBe(0);
    expect(usage.presented).toBeGreaterThanOrEqual(1);
    for (const r of results) expect("status" in r ? r.status : undefined).not.toBe("failed");
    const row = await w.dv.retrieve<Row>("w365_providerconnections", w.connectionId, { select: ["w365_status", "w365_tokenleaseholder"] });
    expect(row.w365_status).toBe(ConnectionStatus.Connected);
    expect(row.w365_tokenleaseholder ?? null).toBeNull();
    // The connector still works afterwards: the saved token is the newest one.
    const again = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(again.ok).toBe(true);
  });

  it("keep-alive rotates a day-old token and marks a refused one Credentials expired", async () => {
    const day = 86_400_000;
    const report = await runKeepAlive(w.deps, { now: Date.now() + day });
    expect(report.connections.map((c) => c.action)).toStrictEqual(["rotated"]);
    w.ion.control.revokeRefreshTokens();
    const refused = await runKeepAlive(w.deps, { now: Date.now() + 2 * day });
    expect(refused.connections[0]!.action).toBe("expired");
    const row = await w.dv.retrieve<Row>("w365_providerconnections", w.connectionId, { select: ["w365_status", "w365_statusmessage"] });
    expect(row.w365_status).toBe(ConnectionStatus.CredentialsExpired);
    expect(String(row.w365_statusmessage)).toContain("Request New Credentials");
  });
});
