/**
 * Verify Connectivity against an Ion that answers as its v3 reference documents: 403 PERMISSION_DENIED
 * (never 401) both for a dead session and for an Account ID the credentials do not cover. Verify refreshes
 * the session once on a 403 and says which of the two it was; it checks the API Key and Secret with v1
 * invoices and stores the refresh token's expiry Ion reports.
 */
import { ConnectionStatus, runVerify } from "../../../src/sync";
import { startWorld, type World } from "../../support/world";

const CONN = "w365_providerconnections";

describe("Verify against Ion's documented answers", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 71, customers: 2, subscriptionsPerCustomer: 1, ion: { unauthorizedStatus: 403 } });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("a dead session (403) is renewed once and reported as such; the Account ID is accepted", async () => {
    expect((await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" })).ok).toBe(true);
    // Ion drops every session right after the rotation Verify starts with.
    const original = w.ion.control.revokeAccessTokens;
    let revoked = false;
    w.deps.ionHttpHooks = {
      onRequest: (info) => {
        if (info.endpoint === "POST /oauth/token" && !revoked) {
          revoked = true;
          original();
        }
      },
    };
    const result = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    w.deps.ionHttpHooks = undefined;
    expect(result.ok).toBe(true);
    const account = result.checks.find((c) => c.name === "account id (v3)")!;
    expect(account.message).toContain("refused the first session with 403");
    expect(w.ion.control.tokenUsage().reusedRefreshTokens).toBe(0);
  });

  it("a 403 that a newly issued access token does not cure is the Account ID", async () => {
    await w.dv.update(CONN, w.connectionId, { w365_ionaccountid: "424242" });
    const result = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(result.ok).toBe(false);
    expect(result.status).toBe(ConnectionStatus.Failed);
    const account = result.checks.find((c) => c.name === "account id (v3)")!;
    expect(account.ok).toBe(false);
    expect(account.message).toContain("The Account ID 424242 does not match these credentials");
    expect(account.message).toContain("newly issued access token");
    await w.dv.update(CONN, w.connectionId, { w365_ionaccountid: w.ion.accountId });
  });

  it("stores the refresh-token expiry Ion reports (validateAccess), not the assumed one", async () => {
    const result = await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect(result.ok).toBe(true);
    const row = await w.dv.retrieve<Record<string, unknown>>(CONN, w.connectionId, { select: ["w365_refreshtokenexpireson"] });
    // The simulator's refresh tokens live 32 days from issue (the v3 reference); 30 would be the assumption.
    const days = (Date.parse(String(row.w365_refreshtokenexpireson)) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(31.9);
    expect(days).toBeLessThanOrEqual(32);
    // Dataverse keeps date-times to the second.
    expect(Math.abs(Date.parse(String(result.refreshTokenExpiresOn)) - Date.parse(String(row.w365_refreshtokenexpireson)))).toBeLessThan(
      1000,
    );
  });
});
