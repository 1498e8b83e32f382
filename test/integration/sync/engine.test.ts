import { DataverseClient } from "../../../src/dataverse";
import { ConnectionStatus, MappingStatus, mapProviderAccount, resolveConnection, runSync, runVerify } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

describe("sync engine against the emulator and the simulator", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 40, subscriptionsPerCustomer: 2 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("resolves a connector by name and lists the available ones otherwise", async () => {
    const c = await resolveConnection(w.deps, "streamone ion");
    expect(c.id).toBe(w.connectionId);
    await expect(resolveConnection(w.deps, "nope")).rejects.toThrow(/Available connectors: "StreamOne Ion"/);
  });

  it("verifies connectivity: rotates and saves the token, checks v3 and v1", async () => {
    const r = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli", requestId: "req-1" });
    expect(r.checks.map((c) => [c.name, c.ok])).toStrictEqual([
      ["refresh token", true],
      ["account id (v3)", true],
      ["api key and secret (v1)", true],
    ]);
    expect(r.status).toBe(ConnectionStatus.Connected);
    const row = await w.dv.retrieve<Record<string, unknown>>("w365_providerconnections", w.connectionId, {
      select: ["w365_status", "w365_refreshtoken", "w365_refreshtokenexpireson", "w365_lastverifiedon"],
    });
    expect(row.w365_status).toBe(ConnectionStatus.Connected);
    expect(row.w365_refreshtoken).not.toBe(w.ion.credentials.refreshToken);
    expect(row.w365_refreshtokenexpireson).toBeTruthy();
    const runs = await all(w.dv, "w365_syncruns", `w365_requestid eq 'req-1'`, ["w365_kind", "w365_status"]);
    expect(runs).toMatchObject([{ w365_kind: "verify", w365_status: "succeeded" }]);
  });

  it("first accounts sync creates every provider account, auto-maps strong matches and suggests the rest", async () => {
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    expect(s.status).toBe("succeeded");
    expect(s.created).toBe(40);
    const rows = await all<Record<string, unknown>>(w.dv, "w365_provideraccounts", undefined, [
      "w365_ioncustomerid",
      "w365_mappingstatus",
      "_w365_account_value",
      "_w365_suggestedaccount_value",
      "w365_matchreason",
      "w365_tenantid",
    ]);
    expect(rows).toHaveLength(40);
    const mapped = rows.filter((r) => r.w365_mappingstatus === MappingStatus.Mapped);
    const suggested = rows.filter((r) => r.w365_mappingstatus === MappingStatus.Suggested);
    expect(mapped.length).toBeGreaterThanOrEqual(15);
    expect(suggested.length).toBeGreaterThanOrEqual(2);
    for (const r of mapped) expect(r._w365_account_value).toBeTruthy();
    for (const r of suggested) {
      expect(r._w365_account_value ?? null).toBeNull();
      expect(r._w365_suggestedaccount_value).toBeTruthy();
    }
    expect(s.counts["auto-mapped"]).toBe(mapped.length);
  });

  it("a second sync with nothing changed writes no provider rows", async () => {
    w.emu.resetStats();
    const ionBefore = w.ion.control.counters();
    const requests: string[] = [];
    const counted = new DataverseClient({
      url: w.emu.url,
      auth: { kind: "static", token: w.emu.integrationToken },
      onRequest: (i) => requests.push(`${i.method} ${i.path.split("?")[0]}`),
    });
    const s = await runSync({ ...w.deps, dataverse: counted }, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    expect(s.status).toBe("succeeded");
    // The floor: first reads in one $batch, run row, one page of provider accounts, run finish + connector stamp in one $batch.
    expect(requests).toStrictEqual(["POST $batch", "POST w365_syncruns", "GET w365_provideraccounts", "POST $batch"]);
    expect(s.unchanged).toBe(40);
    expect(s.created + s.updated).toBe(0);
    // Only the run row (create + finish) and the connector's last-sync stamp are written.
    expect(w.emu.stats().writes).toBe(3);
    const ionAfter = w.ion.control.counters();
    const profileCalls = Object.entries(ionAfter)
      .filter(([k]) => /cloudProfiles/i.test(k))
      .reduce((a, [k, v]) => a + v - (ionBefore[k] ?? 0), 0);
    expect(profileCalls).toBe(0);
  });

  it("after a customer changes in Ion, rewrites only that row and reads only its cloud profile", async () => {
    const target = w.ion.control.customers()[3]!;
    w.ion.control.updateCustomer(target.id, { customerName: "Renamed Contact" });
    const before = w.ion.control.counters();
    w.emu.resetStats();
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    expect(s.updated).toBe(1);
    expect(s.unchanged).toBe(39);
    expect(w.emu.stats().writes).toBe(4);
    const after = w.ion.control.counters();
    const profileCalls = Object.entries(after)
      .filter(([k]) => /cloudProfiles/i.test(k))
      .reduce((a, [k, v]) => a + v - (before[k] ?? 0), 0);
    expect(profileCalls).toBe(1);
    const [row] = await all<Record<string, unknown>>(w.dv, "w365_provideraccounts", `w365_ioncustomerid eq '${target.id}'`, [
      "w365_contactname",
    ]);
    expect(row!.w365_contactname).toBe("Renamed Contact");
  });

  it("never overrides an admin's mapping or an Ignored row", async () => {
    const rows = await all<Record<string, unknown>>(w.dv, "w365_provideraccounts", undefined, [
      "w365_provideraccountid",
      "w365_mappingstatus",
    ]);
    const suggested = rows.find((r) => r.w365_mappingstatus === MappingStatus.Suggested)!;
    const mapped = rows.find((r) => r.w365_mappingstatus === MappingStatus.Mapped)!;
    const accounts = await all<Record<string, unknown>>(w.dv, "accounts", undefined, ["accountid"]);
    await mapProviderAccount(w.deps, {
      providerAccountId: String(suggested.w365_provideraccountid),
      action: "map",
      accountId: String(accounts[0]!.accountid),
    });
    await mapProviderAccount(w.deps, { providerAccountId: String(mapped.w365_provideraccountid), action: "ignore" });
    await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    const a = await w.dv.retrieve<Record<string, unknown>>("w365_provideraccounts", String(suggested.w365_provideraccountid), {
      select: ["w365_mappingstatus", "_w365_account_value"],
    });
    expect(a).toMatchObject({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: accounts[0]!.accountid });
    const b = await w.dv.retrieve<Record<string, unknown>>("w365_provideraccounts", String(mapped.w365_provideraccountid), {
      select: ["w365_mappingstatus", "_w365_account_value"],
    });
    expect(b.w365_mappingstatus).toBe(MappingStatus.Ignored);
  });
});
