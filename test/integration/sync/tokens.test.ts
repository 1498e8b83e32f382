/**
 * Tokens across runs of one process: a rotated token that could not be saved is saved
 * by the next run; a refused refresh token clears its expiry; the Ion timeout reaches the client.
 */
import { DataverseClient, DataverseServerError } from "../../../src/dataverse";
import { ConnectionStatus, runKeepAlive, runSync, runVerify, type SyncDeps } from "../../../src/sync";
import { connectorKey, RotationJournal } from "../../../src/tokens";
import { startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

/** The journal of unsaved rotations the runs of these tests share, as one process's runs do. */
const journal = new RotationJournal();
const hasUnsavedRotation = (dv: DataverseClient, connectionId: string): boolean => journal.has(connectorKey(dv, connectionId));
const CONN = "w365_providerconnections";

/** The same client, except that saving a refresh token to the connector fails (a Dataverse outage on that row). */
function failingTokenSaves(dv: DataverseClient): { dv: DataverseClient; attempts: () => number } {
  let attempts = 0;
  const proxy = new Proxy(dv, {
    get(target, prop, receiver) {
      if (prop === "update") {
        return async (set: string, key: unknown, body: Record<string, unknown>, o?: unknown) => {
          if (set === CONN && "w365_refreshtoken" in body) {
            attempts++;
            throw new DataverseServerError("An unexpected error occurred (injected by the test).", { statusCode: 500 });
          }
          return target.update(set, key as string, body, o as never);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { dv: proxy, attempts: () => attempts };
}

async function connector(w: World): Promise<Row> {
  return w.dv.retrieve<Row>(CONN, w.connectionId, {
    select: ["w365_status", "w365_statusmessage", "w365_refreshtoken", "w365_refreshtokenexpireson", "w365_tokenleaseholder"],
  });
}

describe("a rotated token that one run could not save", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 21, customers: 6, subscriptionsPerCustomer: 1 });
    w.deps.rotations = journal;
  });
  afterAll(async () => {
    await w?.close();
  });

  it("is saved by the next run of the same process: nothing presented twice, the connector works again", async () => {
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    // The next run must exchange: no stored access token.
    await w.dv.update(CONN, w.connectionId, { w365_accesstoken: null, w365_accesstokenexpireson: null });
    const usedToken = (await connector(w)).w365_refreshtoken;
    w.ion.control.resetTokenUsage();

    const failing = failingTokenSaves(w.dv);
    const first = await runSync(
      { ...w.deps, dataverse: failing.dv },
      { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" },
    );
    expect(first.status).toBe("failed");
    expect(first.message).toContain("could not be saved");
    expect(failing.attempts()).toBe(4); // the compare-and-save repeated on 500, then journaled
    expect(hasUnsavedRotation(w.dv, w.connectionId)).toBe(true);
    const flagged = await connector(w);
    expect(flagged.w365_status).toBe(ConnectionStatus.Failed);
    expect(String(flagged.w365_statusmessage)).toMatch(/^\[ION_TOKEN_SAVE_FAILED\] StreamOne Ion issued a new refresh token/);
    expect(flagged.w365_refreshtoken).toBe(usedToken); // the row still holds the used-up token
    expect(flagged.w365_tokenleaseholder).toBeTruthy(); // kept for the save: other processes wait, this one takes it over

    const second = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    expect(second.status).toBe("succeeded");
    expect(second.created).toBe(6);
    expect(hasUnsavedRotation(w.dv, w.connectionId)).toBe(false);
    const usage = w.ion.control.tokenUsage();
    expect(usage.reusedRefreshTokens).toBe(0);
    expect(usage.rejected).toBe(0);
    expect(usage.presented).toBe(1); // the second run used the first run's unsaved token, no new exchange
    const healed = await connector(w);
    expect(healed.w365_refreshtoken).not.toBe(usedToken);
    expect(healed.w365_status).toBe(ConnectionStatus.Connected);
    expect(String(healed.w365_statusmessage)).toContain("has now been saved");
    expect(healed.w365_tokenleaseholder ?? null).toBeNull();
    // The saved token is the live one: a verify rotates it again without a refusal.
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    expect(w.ion.control.tokenUsage()).toMatchObject({ reusedRefreshTokens: 0, rejected: 0, presented: 2 });
  });

  it("is forgotten when the row has moved on (new credentials were pasted meanwhile)", async () => {
    await w.dv.update(CONN, w.connectionId, { w365_accesstoken: null, w365_accesstokenexpireson: null });
    const failing = failingTokenSaves(w.dv);
    const verify = await runVerify({ ...w.deps, dataverse: failing.dv }, { connectionId: w.connectionId, trigger: "cli" });
    expect(verify.ok).toBe(false);
    expect(hasUnsavedRotation(w.dv, w.connectionId)).toBe(true);
    const portal = w.ion.control.issuePortalCredentials();
    await w.dv.update(CONN, w.connectionId, { w365_refreshtoken: portal.refreshToken });
    w.ion.control.resetTokenUsage();
    const again = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(again.ok).toBe(true);
    expect(hasUnsavedRotation(w.dv, w.connectionId)).toBe(false);
    expect(w.ion.control.tokenUsage()).toMatchObject({ reusedRefreshTokens: 0, rejected: 0, presented: 1 });
  });
});

describe("the connector flag left by a token that could not be saved", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 24, customers: 3, subscriptionsPerCustomer: 1 });
    w.deps.rotations = journal;
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
  });
  afterAll(async () => {
    await w?.close();
  });

  /** One run that rotates the token and cannot save it: the connector is flagged Failed with the marker. */
  async function failOneRun(): Promise<string> {
    await w.dv.update(CONN, w.connectionId, { w365_accesstoken: null, w365_accesstokenexpireson: null });
    const run = await runSync(
      { ...w.deps, dataverse: failingTokenSaves(w.dv).dv },
      { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" },
    );
    expect(run.status).toBe("failed");
    expect(hasUnsavedRotation(w.dv, w.connectionId)).toBe(true);
    const flagged = await connector(w);
    expect(flagged.w365_status).toBe(ConnectionStatus.Failed);
    return String(flagged.w365_statusmessage);
  }

  it("written by the version before the marker (the bare error text) still clears once the token is saved", async () => {
    const marked = await failOneRun();
    const legacy = marked.replace(/^\[ION_TOKEN_SAVE_FAILED\] /, "");
    expect(legacy).not.toBe(marked);
    await w.dv.update(CONN, w.connectionId, { w365_statusmessage: legacy });
    expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" })).status).toBe("succeeded");
    const healed = await connector(w);
    expect(healed.w365_status).toBe(ConnectionStatus.Connected);
    expect(String(healed.w365_statusmessage)).toContain("has now been saved");
  });

  it("is recognised by the marker only: a Failed status with other text about the token is left for the admin", async () => {
    await failOneRun();
    const other = "The refresh token could not be saved (set by hand).";
    await w.dv.update(CONN, w.connectionId, { w365_statusmessage: other });
    expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" })).status).toBe("succeeded");
    expect(hasUnsavedRotation(w.dv, w.connectionId)).toBe(false);
    expect(await connector(w)).toMatchObject({ w365_status: ConnectionStatus.Failed, w365_statusmessage: other });
  });
});

describe("a refresh token Ion refuses", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 22, customers: 3, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("clears the stored expiry along with Credentials expired (sync, verify and keep-alive)", async () => {
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    expect((await connector(w)).w365_refreshtokenexpireson).toBeTruthy();
    w.ion.control.revokeRefreshTokens();
    await w.dv.update(CONN, w.connectionId, { w365_accesstoken: null, w365_accesstokenexpireson: null });
    const run = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    expect(run.status).toBe("failed");
    let row = await connector(w);
    expect(row.w365_status).toBe(ConnectionStatus.CredentialsExpired);
    expect(row.w365_refreshtokenexpireson ?? null).toBeNull();
    expect(String(row.w365_statusmessage)).toContain("Request New Credentials");

    // Verify: the same on its own path.
    await w.dv.update(CONN, w.connectionId, { w365_refreshtokenexpireson: new Date(Date.now() + 20 * 86_400_000).toISOString() });
    const verify = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(verify.status).toBe(ConnectionStatus.CredentialsExpired);
    row = await connector(w);
    expect(row.w365_refreshtokenexpireson ?? null).toBeNull();

    // Keep-alive: a refused daily rotation also clears it (and warns of no expiry date that no longer exists).
    await w.dv.update(CONN, w.connectionId, {
      w365_status: ConnectionStatus.Connected,
      w365_refreshtokenexpireson: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    });
    const report = await runKeepAlive(w.deps, { now: Date.now() + 86_400_000 });
    expect(report.connections[0]).toMatchObject({ action: "expired", status: ConnectionStatus.CredentialsExpired, warnings: [] });
    row = await connector(w);
    expect(row.w365_status).toBe(ConnectionStatus.CredentialsExpired);
    expect(row.w365_refreshtokenexpireson ?? null).toBeNull();
  });
});

describe("Ion request timeout", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 23, customers: 3, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("SyncDeps.ion.timeoutMs reaches the Ion client: a hanging Ion fails the run with a timeout", async () => {
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    w.ion.control.setFaults({ rules: [{ path: "/customers$", kind: "latency", latencyMs: 1_500, requests: [1] }] });
    const deps: SyncDeps = { ...w.deps, ion: { timeoutMs: 100, retry: { maxAttempts: 1 } } };
    const run = await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    w.ion.control.setFaults(undefined);
    expect(run.status).toBe("failed");
    expect(run.message).toMatch(/tim(e|ed) ?out|ETIMEDOUT/i);
    // Without the fault the same deps work (the timeout is per request, not per run).
    expect((await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" })).status).toBe("succeeded");
  });
});
