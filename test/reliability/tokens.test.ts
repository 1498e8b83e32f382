/**
 * Ion refresh tokens are single-use. Concurrent runs (in one process, as the functions
 * host runs them, and across processes) never present one twice and leave a working token; a rotated
 * token that cannot be saved is retried and then reported exactly; the daily keep-alive carries a
 * connector across 90 simulated days (and without it the token dies, so the test can fail).
 */
import { memoryLogger } from "../../src/shared/logger";
import { ConnectionStatus, runKeepAlive, runSync, runVerify, type SyncDeps } from "../../src/sync";
import { shortSleep } from "../support/world";
import { runChild } from "./support/crashScenario";
import { recordArtifact, recordFigures } from "./support/figures";
import { scanForSecrets } from "./support/secrets";
import { type RelWorld, startRelWorld } from "./support/world";

type Row = Record<string, unknown>;
const DAY = 86_400_000;
const figures: Record<string, unknown> = {};

async function connector(w: RelWorld): Promise<Row> {
  return w.dv.retrieve<Row>("w365_providerconnections", w.connectionId, {
    select: ["w365_status", "w365_statusmessage", "w365_tokenleaseholder", "w365_refreshtoken"],
  });
}

afterAll(() => recordFigures("tokens", figures));

describe("concurrent runs on one connector", () => {
  let w: RelWorld;
  beforeAll(async () => {
    w = await startRelWorld({ seed: 8, customers: 8, subscriptionsPerCustomer: 1, proxies: {} });
    // Lease waits are real (short) so runs really interleave.
    w.deps.sleep = (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10)));
    const first = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(first.ok).toBe(true);
  });
  afterAll(async () => {
    await w?.close();
  });

  it("8 syncs + a verify in ONE process sharing the host's holder id never present a refresh token twice", async () => {
    w.ion.control.revokeAccessTokens(); // every run must refresh at once
    w.ion.control.resetTokenUsage();
    const shared: SyncDeps = { ...w.deps, holderId: "functions-host-worker" };
    const results = await Promise.all([
      ...Array.from({ length: 8 }, () => runSync(shared, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" })),
      runVerify(shared, { connectionId: w.connectionId, trigger: "manual" }),
    ]);
    const usage = w.ion.control.tokenUsage();
    expect(usage.reusedRefreshTokens).toBe(0);
    expect(usage.rejected).toBe(0);
    expect(usage.presented).toBeGreaterThanOrEqual(1);
    const outcome = (r: (typeof results)[number]) =>
      "ok" in r ? (r.ok ? "succeeded" : `failed: ${r.statusLabel}`) : r.status === "succeeded" ? r.status : `${r.status}: ${r.message}`;
    expect(results.map(outcome)).toStrictEqual(Array(9).fill("succeeded"));
    const row = await connector(w);
    expect(row.w365_status).toBe(ConnectionStatus.Connected);
    expect(row.w365_tokenleaseholder ?? null).toBeNull();
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    figures.oneProcess = {
      runs: 9,
      tokenExchanges: usage.presented,
      reusedRefreshTokens: usage.reusedRefreshTokens,
      rejected: usage.rejected,
    };
  });

  it("4 sync processes + 4 in-process syncs + a verify never present a refresh token twice", async () => {
    w.ion.control.revokeAccessTokens();
    w.ion.control.resetTokenUsage();
    const children = Array.from({ length: 4 }, () => runChild(w, { kind: "accounts" }));
    const local = [
      ...Array.from({ length: 4 }, (_, i) =>
        // A real (short) sleep between lease checks, as in production: with none, 400 checks pass while a child holds it.
        runSync(
          { ...w.deps, sleep: shortSleep, holderId: `local-${i}` },
          { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" },
        ),
      ),
      runVerify(w.deps, { connectionId: w.connectionId, trigger: "manual" }),
    ];
    const [outs, locals] = await Promise.all([Promise.all(children), Promise.all(local)]);
    recordArtifact("token-children.log", outs.map((o) => `${o.stdout}\n${o.stderr}`).join("\n"));
    for (const o of outs) {
      expect(o.code).toBe(0);
      expect(JSON.parse(o.stdout.trim()).status).toBe("succeeded");
    }
    const outcome = (r: (typeof locals)[number]) =>
      "ok" in r ? (r.ok ? "succeeded" : "failed") : r.status === "succeeded" ? r.status : `${r.status}: ${r.message}`;
    expect(locals.map(outcome)).toStrictEqual(Array(locals.length).fill("succeeded"));
    const usage = w.ion.control.tokenUsage();
    expect(usage.reusedRefreshTokens).toBe(0);
    expect(usage.rejected).toBe(0);
    expect((await connector(w)).w365_tokenleaseholder ?? null).toBeNull();
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    expect(scanForSecrets(w.secrets(), { children: outs.map((o) => o.stdout + o.stderr).join("\n") })).toStrictEqual([]);
    figures.processes = {
      childProcesses: 4,
      inProcessRuns: 5,
      tokenExchanges: usage.presented,
      reusedRefreshTokens: usage.reusedRefreshTokens,
      rejected: usage.rejected,
    };
  });
});

describe("a rotated token that cannot be saved", () => {
  const isTokenSave = (r: { method: string; path: string; body: string }) =>
    r.method === "PATCH" && /w365_providerconnections/.test(r.path) && r.body.includes('"w365_refreshtoken"');
  const failure = {
    status: 500,
    body: { error: { code: "0x80040216", message: "An unexpected error occurred (injected by the reliability suite)." } },
  };

  it("is retried and saved when the failure passes: nothing presented twice, the connector works", async () => {
    let failuresLeft = 2;
    let attempts = 0;
    const w = await startRelWorld({
      seed: 9,
      customers: 4,
      subscriptionsPerCustomer: 1,
      proxies: { interceptDataverse: (r) => (isTokenSave(r) ? (attempts++, failuresLeft-- > 0 ? failure : undefined) : undefined) },
    });
    try {
      const verify = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "manual" });
      expect(verify.ok).toBe(true);
      expect(attempts).toBe(3);
      expect(w.ion.control.tokenUsage()).toMatchObject({ reusedRefreshTokens: 0, rejected: 0 });
      expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" })).status).toBe("succeeded");
      figures.saveRetried = { failedSaves: 2, saveAttempts: attempts, outcome: verify.statusLabel };
    } finally {
      await w.close();
    }
  });

  it("is reported on the connector and the run exactly when it can never be saved", async () => {
    let attempts = 0;
    const logger = memoryLogger();
    const w = await startRelWorld({
      seed: 9,
      customers: 4,
      subscriptionsPerCustomer: 1,
      proxies: { interceptDataverse: (r) => (isTokenSave(r) ? (attempts++, failure) : undefined) },
    });
    try {
      const verify = await runVerify({ ...w.deps, logger }, { connectionId: w.connectionId, trigger: "manual" });
      expect(verify.ok).toBe(false);
      expect(attempts).toBeGreaterThanOrEqual(4); // the first save and 3 retries (each maybe retried by the client)
      const row = await connector(w);
      expect(row.w365_status).toBe(ConnectionStatus.Failed);
      const message = String(row.w365_statusmessage);
      expect(message).toContain("issued a new refresh token, but it could not be saved");
      // The one failed check: marked, so the run that finally saves the token sets the connector back to Connected.
      expect(message.startsWith("[ION_TOKEN_SAVE_FAILED] ")).toBe(true);
      expect(message).toContain("injected by the reliability suite");
      expect(message).toMatch(/Request New Credentials/);
      const [run] = await runs(w, "verify");
      expect(run?.w365_status).toBe("failed");
      expect(String(run?.w365_report)).toContain("could not be saved");
      // The used token was never presented again in that run, and no secret is in what the admin reads.
      expect(w.ion.control.tokenUsage().reusedRefreshTokens).toBe(0);
      expect(
        scanForSecrets(w.secrets(), { status: message, report: String(run?.w365_report), logs: logger.lines.join("\n") }),
      ).toStrictEqual([]);
      figures.saveImpossible = { saveAttempts: attempts, connectorStatus: "Failed", message: message.slice(0, 300) };
    } finally {
      await w.close();
    }
  });
});

async function runs(w: RelWorld, kind: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const r of w.dv.query<Row>("w365_syncruns", {
    filter: `w365_kind eq '${kind}'`,
    select: ["w365_status", "w365_report", "w365_startedon"],
    orderby: "w365_startedon desc",
  }))
    out.push(r);
  return out;
}

describe("keep-alive across 90 simulated days", () => {
  async function days(n: number, keepAlive: boolean) {
    const w = await startRelWorld({ seed: 12, customers: 4, subscriptionsPerCustomer: 1 });
    let now = Date.now();
    const deps: SyncDeps = { ...w.deps, clock: { now: () => now } };
    const actions: Record<string, number> = {};
    try {
      expect((await runVerify(deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
      for (let day = 1; day <= n; day++) {
        w.ion.control.advanceClock(DAY);
        now += DAY;
        if (!keepAlive) continue;
        const report = await runKeepAlive(deps);
        const action = report.connections[0]?.action ?? "none";
        actions[action] = (actions[action] ?? 0) + 1;
      }
      const sync = await runSync(deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
      return { sync, actions, usage: w.ion.control.tokenUsage(), row: await connector(w) };
    } finally {
      await w.close();
    }
  }

  it("rotates daily for 90 days and a sync then works", async () => {
    const r = await days(90, true);
    expect(r.actions).toStrictEqual({ rotated: 90 });
    expect(r.sync.status).toBe("succeeded");
    expect(r.usage.reusedRefreshTokens).toBe(0);
    expect(r.usage.rejected).toBe(0);
    expect(r.row.w365_status).toBe(ConnectionStatus.Connected);
    figures.keepAlive = { days: 90, rotations: r.actions.rotated, syncAfter: r.sync.status, reusedRefreshTokens: 0 };
  });

  it("without it the token dies after 32 days and the connector says Credentials expired", async () => {
    const r = await days(33, false);
    expect(r.sync.status).toBe("failed");
    expect(r.row.w365_status).toBe(ConnectionStatus.CredentialsExpired);
    expect(String(r.row.w365_statusmessage)).toMatch(/Request New Credentials/);
    figures.keepAliveControl = { days: 33, keepAlive: false, syncAfter: r.sync.status, connector: "Credentials expired" };
  });
});
