import { memoryLogger } from "../../../src/shared/logger";
import { ConnectionStatus, runKeepAlive, runSync, runVerify, startQueuedRun } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

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
    const mappedIon = new Set(
      (await all<Row>(w.dv, "w365_provideraccounts", "w365_mappingstatus eq 365000002", ["w365_ioncustomerid"])).map((r) =>
        String(r.w365_ioncustomerid),
      ),
    );
    expect(subs).toHaveLength(w.ion.control.subscriptions().filter((s) => mappedIon.has(s.customerId)).length);
  });
});

describe("queued and abandoned runs", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 6, customers: 6, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("a queued run (webhook answered fast) is carried out by the worker on the same row", async () => {
    const { runId } = await startQueuedRun(w.deps, {
      connectionId: w.connectionId,
      kind: "accounts",
      trigger: "workflow",
      requestId: "rq-9",
    });
    const [queued] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${runId}`, ["w365_status", "w365_requestid"]);
    expect(queued).toMatchObject({ w365_status: "queued", w365_requestid: "rq-9" });
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "workflow", runId });
    expect(s.runId).toBe(runId);
    const [done] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${runId}`, ["w365_status", "w365_created", "w365_finishedon"]);
    expect(done).toMatchObject({ w365_status: "succeeded", w365_created: 6 });
    expect(done!.w365_finishedon).toBeTruthy();
  });

  it("a run left running by a dead process is taken over by the next run of that kind", async () => {
    const old = new Date(Date.now() - 60 * 60_000).toISOString();
    const deadRun = await w.dv.create("w365_syncruns", {
      w365_name: "dead",
      "w365_connection@odata.bind": `/w365_providerconnections(${w.connectionId})`,
      w365_kind: "subscriptions",
      w365_trigger: "schedule",
      w365_status: "running",
      w365_dryrun: false,
      w365_startedon: old,
      w365_checkpoint: JSON.stringify({
        version: 1,
        phases: ["subscriptions"],
        done: [],
        current: "subscriptions",
        pagesDone: 0,
        counts: {},
        updatedAt: Date.parse(old),
      }),
    });
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(s.runId).toBe(deadRun);
    expect(s.status).toBe("succeeded");
    const running = await all<Row>(w.dv, "w365_syncruns", "w365_status eq 'running'", ["w365_syncrunid"]);
    expect(running).toStrictEqual([]);
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
      ...Array.from({ length: 8 }, (_, i) =>
        runSync({ ...w.deps, holderId: `proc-${i}` }, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" }),
      ),
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
    const logger = memoryLogger();
    const again = await runVerify({ ...w.deps, logger }, { connectionId: w.connectionId, trigger: "cli" });
    expect(again.ok).toBe(true);
    // No secret in logs, results or run reports.
    const tokens = await w.dv.retrieve<Row>("w365_providerconnections", w.connectionId, {
      select: ["w365_refreshtoken", "w365_accesstoken", "w365_apisecret"],
    });
    const reports = (await all<Row>(w.dv, "w365_syncruns", undefined, ["w365_report", "w365_message", "w365_progress"]))
      .map((r) => JSON.stringify(r))
      .join("\n");
    const haystack = [logger.lines.join("\n"), JSON.stringify(results), JSON.stringify(again), reports].join("\n");
    for (const secret of [tokens.w365_refreshtoken, tokens.w365_accesstoken, tokens.w365_apisecret, w.ion.credentials.refreshToken]) {
      expect(typeof secret === "string" && secret.length > 8).toBe(true);
      expect(haystack.includes(String(secret))).toBe(false);
    }
  });

  it("takes over a lease whose holder wrote nothing for a whole lease by Dataverse's clock, and waits for a live one", async () => {
    const conn = "w365_providerconnections";
    // A 2 s lease (1 s token timeout + 0.5 s save cap + 0.5 s margin) and real waits, so Dataverse's clock moves.
    const short = {
      ...w.deps,
      ion: { ...w.deps.ion, timeoutMs: 1_000 },
      tokenLease: { saveRetryAfterCapMs: 500, leaseMarginMs: 500 },
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 100))),
    };
    // A holder whose lease "until" (its own clock) is long past, but which wrote the row just now: by
    // Dataverse's clock the lease is fresh, so it is waited out, not taken at once.
    await w.dv.update(conn, w.connectionId, {
      w365_tokenleaseholder: "dead-process",
      w365_tokenleaseuntil: new Date(Date.now() - 3_600_000).toISOString(),
      w365_accesstoken: null,
    });
    let waits = 0;
    const counting = { ...short, sleep: (ms: number) => (waits++, short.sleep(ms)) };
    const taken = await runVerify(counting, { connectionId: w.connectionId, trigger: "cli" });
    expect(taken.ok).toBe(true);
    expect(waits).toBeGreaterThan(3);
    await w.dv.update(conn, w.connectionId, { w365_tokenleaseholder: "busy-process", w365_accesstoken: null });
    waits = 0;
    const deps = {
      ...short,
      sleep: async () => {
        // The other process finishes its refresh after a few of our backoffs.
        if (++waits === 3) await w.dv.update(conn, w.connectionId, { w365_tokenleaseholder: null, w365_tokenleaseuntil: null });
      },
    };
    const waited = await runVerify(deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(waited.ok).toBe(true);
    expect(waits).toBeGreaterThanOrEqual(3);
    const row = await w.dv.retrieve<Row>(conn, w.connectionId, { select: ["w365_tokenleaseholder"] });
    expect(row.w365_tokenleaseholder ?? null).toBeNull();
    expect(w.ion.control.tokenUsage().reusedRefreshTokens).toBe(0);
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
