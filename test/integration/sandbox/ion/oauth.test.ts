/** Pins docs/platform/ion-api.md §2 (authentication) and the §9 "Auth" checklist. */
import { INVALID_REFRESH_TOKEN_ERROR, type IonSimulator, startIonSimulator } from "../../../../sandbox/ion";
import { call, exchange, v3 } from "../../../support/ionSimulator";

const DAY = 86_400_000;

describe("Ion simulator OAuth (§2)", () => {
  let sim: IonSimulator;
  beforeEach(async () => {
    sim = await startIonSimulator({ customers: 3, subscriptionsPerCustomer: 1 });
  });
  afterEach(async () => {
    await sim.close();
  });

  it("§2.2 exchanges a form-urlencoded refresh token for a 7200 s bearer token and a new refresh token", async () => {
    const r = await exchange(sim, sim.credentials.refreshToken);
    expect(r.status).toBe(200);
    expect(r.body).toStrictEqual({
      access_token: expect.stringMatching(/^[A-Z0-9]{48}$/),
      expires_in: 7200,
      refresh_token: expect.stringMatching(/^[A-Z0-9]{48}$/),
      token_type: "Bearer",
    });
    expect(r.body.refresh_token).not.toBe(sim.credentials.refreshToken);
  });

  it("§2.2 accepts multipart/form-data with extra fields (redirect_uri) as Postman sends it", async () => {
    const form = new FormData();
    form.append("grant_type", "refresh_token");
    form.append("refresh_token", sim.credentials.refreshToken);
    form.append("redirect_uri", "http://localhost/");
    const res = await fetch(`${sim.url}/oauth/token`, { method: "POST", body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token_type: string };
    expect(body.token_type).toBe("Bearer");
  });

  it("§2.2 rejects JSON bodies and other grant types with 400 {error}", async () => {
    const json = await call(sim, "POST", "/oauth/token", {
      body: { grant_type: "refresh_token", refresh_token: sim.credentials.refreshToken },
    });
    expect(json.status).toBe(400);
    expect(Object.keys(json.body)).toStrictEqual(["error"]);
    const grant = await call(sim, "POST", "/oauth/token", {
      body: "grant_type=client_credentials&client_id=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toMatch(/grant_type/);
    // The JSON attempt did not consume the token.
    expect((await exchange(sim, sim.credentials.refreshToken)).status).toBe(200);
  });

  it("§2.3 refresh tokens are single-use: a reuse gets 400 'cannot validate token: redis: nil' and is counted", async () => {
    const first = await exchange(sim, sim.credentials.refreshToken);
    expect(first.status).toBe(200);
    const reuse = await exchange(sim, sim.credentials.refreshToken);
    expect(reuse.status).toBe(400);
    expect(reuse.body).toStrictEqual({ error: INVALID_REFRESH_TOKEN_ERROR });
    expect(reuse.body.error).toBe("cannot validate token: redis: nil");
    // The rotated token still works, and the chain continues.
    const second = await exchange(sim, first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(sim.control.tokenUsage()).toStrictEqual({ presented: 3, reusedRefreshTokens: 1, rejected: 1 });
  });

  it("§2.3 unknown tokens are rejected without counting as reuse", async () => {
    const r = await exchange(sim, "NOTAREALTOKEN0000000000000000000000000000000000");
    expect(r.status).toBe(400);
    expect(sim.control.tokenUsage().reusedRefreshTokens).toBe(0);
  });

  it("§2.3 access tokens expire after 7200 s on the simulated clock", async () => {
    const t = (await exchange(sim, sim.credentials.refreshToken)).body.access_token as string;
    sim.control.advanceClock(7199_000);
    expect((await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { token: t })).status).toBe(200);
    sim.control.advanceClock(1_000);
    const expired = await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { token: t });
    expect(expired.status).toBe(401);
    expect(expired.body.error).toBe("UNAUTHENTICATED");
  });

  it("§2.3 sliding lifetime: each rotation gets 32 fresh days, so daily rotation keeps the chain alive", async () => {
    let refresh = sim.credentials.refreshToken;
    for (let day = 0; day < 40; day++) {
      sim.control.advanceClock(DAY);
      const r = await exchange(sim, refresh);
      expect(r.status).toBe(200);
      refresh = r.body.refresh_token;
    }
    sim.control.advanceClock(32 * DAY);
    expect((await exchange(sim, refresh)).status).toBe(400);
  });

  it("§2.3 a refresh token unused for 32 days expires", async () => {
    sim.control.advanceClock(32 * DAY - 1000);
    const almost = await exchange(sim, sim.credentials.refreshToken);
    expect(almost.status).toBe(200);
    sim.control.advanceClock(32 * DAY);
    expect((await exchange(sim, almost.body.refresh_token)).status).toBe(400);
  });

  it("§2.3 absolute lifetime: the chain dies 32 days after the portal issue however often it rotates", async () => {
    const abs = await startIonSimulator({ customers: 1, refreshTokenLifetime: "absolute" });
    try {
      let refresh = abs.credentials.refreshToken;
      for (let day = 0; day < 31; day++) {
        abs.control.advanceClock(DAY);
        const r = await exchange(abs, refresh);
        expect(r.status).toBe(200);
        refresh = r.body.refresh_token;
      }
      abs.control.advanceClock(DAY);
      expect((await exchange(abs, refresh)).status).toBe(400);
      // "Request New Credentials" starts a new 32-day chain.
      expect((await exchange(abs, abs.control.issuePortalCredentials().refreshToken)).status).toBe(200);
    } finally {
      await abs.close();
    }
  });

  it("§2.4 validateAccess reports seconds left on the access token and the chain's refresh token", async () => {
    const r = await exchange(sim, sim.credentials.refreshToken);
    sim.control.advanceClock(527_000);
    const v = await call(sim, "POST", "/oauth/validateAccess", {
      body: `access_token=${r.body.access_token}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(v.status).toBe(200);
    expect(v.body).toStrictEqual({ access_expires_in: 6673, refresh_expires_in: 2764273 });
    const bad = await call(sim, "POST", "/oauth/validateAccess", {
      body: "access_token=NOPE",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(bad.status).toBe(400);
    expect(typeof bad.body.error).toBe("string");
  });

  it("§9 revoking refresh tokens makes the held token fail; new portal credentials work again", async () => {
    sim.control.revokeRefreshTokens();
    const r = await exchange(sim, sim.credentials.refreshToken);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(INVALID_REFRESH_TOKEN_ERROR);
    const fresh = sim.control.issuePortalCredentials().refreshToken;
    expect((await exchange(sim, fresh)).status).toBe(200);
  });

  it("§9 the OAuth endpoints live at the host root, not under /api/v3", async () => {
    const r = await call(sim, "POST", "/api/v3/oauth/token", {
      body: "grant_type=refresh_token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(r.status).toBe(404);
  });
});
