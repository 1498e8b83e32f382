/** The single-flight token manager over the Ion transport, against an HTTP stub of Ion's token endpoint. */
import { IonAuthenticationError, IonNetworkError, IonTokenSaveError, IonTransport } from "../../../src/ion";
import { Clock } from "../../../src/shared/clock";
import { MemoryTokenStore, RotationJournal, TokenManager, TokenState, TokenStore } from "../../../src/tokens";
import { fakeClock, FakeIon, startFakeIon } from "../../support/httpStubs";

const noSleep = async () => undefined;

describe("TokenManager", () => {
  let ion: FakeIon;
  beforeEach(async () => {
    ion = await startFakeIon({ initialRefreshToken: "PORTALREFRESHTOKEN0001" });
  });
  afterEach(async () => {
    await ion.close();
  });

  const journal = new RotationJournal();
  function manager(store: TokenStore, clock: Clock = fakeClock(), extra: Partial<ConstructorParameters<typeof TokenManager>[0]> = {}) {
    return new TokenManager({ baseUrl: ion.url, store, clock, transport: new IonTransport({ sleep: noSleep, clock }), journal, ...extra });
  }

  /** The same store, with its own load and save replaced. */
  function wrap(store: MemoryTokenStore, o: { load?: () => Promise<TokenState>; save?: TokenStore["save"] }): TokenStore {
    return {
      key: store.key,
      load: o.load ?? (() => store.load()),
      withRefreshLease: (work) => store.withRefreshLease(work),
      save: o.save ?? ((from, next) => store.save(from, next)),
    };
  }

  it("exchanges the refresh token form-encoded and saves the rotated one before returning the access token", async () => {
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    let savedBeforeReturn: TokenState | undefined;
    const tm = manager(store);
    const token = await tm.getAccessToken().then((t) => {
      savedBeforeReturn = store.current();
      return t;
    });
    expect(token).toBe("ACCESSTOKEN0001ISSUED");
    expect(savedBeforeReturn?.refreshToken).toBe("REFRESHTOKEN0001ROTATED");
    expect(savedBeforeReturn?.accessToken).toBe("ACCESSTOKEN0001ISSUED");
    const tokenRequest = ion.requests.find((r) => r.path === "/oauth/token");
    expect(tokenRequest?.method).toBe("POST");
    expect(tokenRequest?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(tokenRequest?.body);
    expect(form.get("grant_type")).toBe("refresh_token");
    expect(form.get("refresh_token")).toBe("PORTALREFRESHTOKEN0001");
  });

  it("reads the stored state once for callers that start together (a run's phases start at once)", async () => {
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    await manager(store).getAccessToken(); // a stored, valid access token now
    let loads = 0;
    const counting = wrap(store, { load: () => (loads++, store.load()) });
    const tm = manager(counting);
    const tokens = await Promise.all([tm.getAccessToken(), tm.getAccessToken(), tm.getAccessToken()]);
    expect(tokens).toStrictEqual(["ACCESSTOKEN0001ISSUED", "ACCESSTOKEN0001ISSUED", "ACCESSTOKEN0001ISSUED"]);
    expect(loads).toBe(1);
    expect(ion.presented).toHaveLength(1);
  });

  it("tries a failed read of the stored state again on the next call", async () => {
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    let loads = 0;
    const flaky = wrap(store, { load: () => (++loads === 1 ? Promise.reject(new Error("Dataverse unavailable")) : store.load()) });
    const tm = manager(flaky);
    await expect(tm.getAccessToken()).rejects.toThrow("Dataverse unavailable");
    expect(await tm.getAccessToken()).toBe("ACCESSTOKEN0001ISSUED");
    expect(loads).toBe(2);
  });

  it("reuses the access token until shortly before it expires, then rotates again", async () => {
    const clock = fakeClock();
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    const tm = manager(store, clock, { refreshSkewMs: 5 * 60_000 });
    expect(await tm.getAccessToken()).toBe("ACCESSTOKEN0001ISSUED");
    clock.advance(7200_000 - 5 * 60_000 - 1);
    expect(await tm.getAccessToken()).toBe("ACCESSTOKEN0001ISSUED");
    expect(ion.presented).toHaveLength(1);
    clock.advance(2);
    expect(await tm.getAccessToken()).toBe("ACCESSTOKEN0002ISSUED");
    expect(ion.presented).toStrictEqual(["PORTALREFRESHTOKEN0001", "REFRESHTOKEN0001ROTATED"]);
    expect(store.current().refreshToken).toBe("REFRESHTOKEN0002ROTATED");
  });

  it("uses a still-valid access token found in the store without exchanging", async () => {
    const clock = fakeClock();
    const store = new MemoryTokenStore({
      refreshToken: "STOREDREFRESH00001",
      accessToken: "STOREDACCESS00001",
      accessTokenExpiresAt: clock.now() + 3600_000,
    });
    const tm = manager(store, clock);
    expect(await tm.getAccessToken()).toBe("STOREDACCESS00001");
    expect(ion.presented).toHaveLength(0);
  });

  it("shares one exchange among many concurrent callers and never presents a refresh token twice", async () => {
    ion.tokenDelayMs = 30;
    const clock = fakeClock();
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    // Several managers over one store stand in for several processes sharing the connector row.
    const managers = [manager(store, clock), manager(store, clock), manager(store, clock)];
    const tokens = await Promise.all(Array.from({ length: 60 }, (_, i) => managers[i % 3]!.getAccessToken()));
    expect(new Set(tokens)).toStrictEqual(new Set(["ACCESSTOKEN0001ISSUED"]));
    expect(ion.presented).toStrictEqual(["PORTALREFRESHTOKEN0001"]);

    // Expiry, then a burst of forced refreshes after a 401 and rotations from all of them.
    clock.advance(7200_000);
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => managers[i % 3]!.getAccessToken()),
      ...Array.from({ length: 10 }, (_, i) => managers[i % 3]!.forceRefresh("ACCESSTOKEN0001ISSUED")),
      managers[0]!.rotate(),
      managers[1]!.rotate(),
    ]);
    expect(new Set(ion.presented).size).toBe(ion.presented.length);
    expect(store.current().refreshToken).toBe(ion.validRefreshToken());
  });

  it("forceRefresh after a 401 exchanges once; a second caller with the same rejected token reuses the new one", async () => {
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    const tm = manager(store);
    const first = await tm.getAccessToken();
    const [a, b] = await Promise.all([tm.forceRefresh(first), tm.forceRefresh(first)]);
    expect(a).toBe("ACCESSTOKEN0002ISSUED");
    expect(b).toBe("ACCESSTOKEN0002ISSUED");
    expect(await tm.forceRefresh(first)).toBe("ACCESSTOKEN0002ISSUED");
    expect(ion.presented).toHaveLength(2);
  });

  it("rotate() always exchanges and returns the saved state with both expiries", async () => {
    const clock = fakeClock();
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    const tm = manager(store, clock);
    await tm.getAccessToken();
    const state = await tm.rotate();
    expect(state).toStrictEqual({
      refreshToken: "REFRESHTOKEN0002ROTATED",
      accessToken: "ACCESSTOKEN0002ISSUED",
      accessTokenExpiresAt: clock.now() + 7200_000,
      // This stub's token answer carries no refresh lifetime: the shorter published figure is assumed.
      refreshTokenExpiresAt: clock.now() + 30 * 86_400_000,
    });
    expect(store.current()).toStrictEqual(state);
  });

  it("a rejected refresh token gives ION_REFRESH_TOKEN_REJECTED with the portal instruction and no token", async () => {
    const store = new MemoryTokenStore({ refreshToken: "SOMEUSEDREFRESHTOKEN99" });
    const tm = manager(store);
    const error = await tm.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IonAuthenticationError);
    const e = error as IonAuthenticationError;
    expect(e.code).toBe("ION_REFRESH_TOKEN_REJECTED");
    expect(e.message).toMatch(/expired or was already used/);
    expect(e.message).toContain("Settings → Users → the integration user → Request New Credentials");
    expect(e.message).toContain("paste the new Refresh Token");
    expect(e.message).not.toContain("SOMEUSEDREFRESHTOKEN99");
    expect(JSON.stringify(e.toJSON())).not.toContain("SOMEUSEDREFRESHTOKEN99");
  });

  describe("crash between exchange and save", () => {
    it("leaves the old token in the store, and the next attempt says exactly what to do", async () => {
      const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
      // The process "dies" right after Ion answered: the commit never happens.
      const crashing = wrap(store, {
        save: async () => {
          throw new Error("process killed");
        },
      });
      await expect(manager(crashing, fakeClock(), { journal: new RotationJournal() }).getAccessToken()).rejects.toBeInstanceOf(
        IonTokenSaveError,
      );
      expect(store.current().refreshToken).toBe("PORTALREFRESHTOKEN0001");

      // A new process (new manager and journal, same store) presents the stored, already-used token.
      const error = (await manager(store, fakeClock(), { journal: new RotationJournal() })
        .getAccessToken()
        .catch((e: unknown) => e)) as IonAuthenticationError;
      expect(error).toBeInstanceOf(IonAuthenticationError);
      expect(error.code).toBe("ION_REFRESH_TOKEN_REJECTED");
      expect(error.message).toContain("Ion portal → Settings → Users → the integration user → Request New Credentials");
      expect(ion.presented).toStrictEqual(["PORTALREFRESHTOKEN0001", "PORTALREFRESHTOKEN0001"]);
    });
  });

  describe("saving the rotated token", () => {
    it("throws IonTokenSaveError when saving keeps failing, withholds the access token, and saves the kept token on the next call", async () => {
      const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
      let broken = true;
      const flaky = wrap(store, {
        save: async (from, next) => {
          if (broken) throw new Error("Dataverse unavailable");
          await store.save(from, next);
        },
      });
      const tm = manager(flaky);
      const error = (await tm.getAccessToken().catch((e: unknown) => e)) as IonTokenSaveError;
      expect(error).toBeInstanceOf(IonTokenSaveError);
      expect(error.code).toBe("ION_TOKEN_SAVE_FAILED");
      expect(error.message).toContain("could not be saved");
      expect(error.message).toContain("Request New Credentials");
      expect(error.message).not.toMatch(/REFRESHTOKEN0001ROTATED|ACCESSTOKEN0001ISSUED/);
      expect(tm.snapshot()).toBeUndefined();
      expect(tm.hasUnsavedRotation()).toBe(true);

      broken = false;
      // The used portal token is not presented again: the kept rotated state is saved instead.
      expect(await tm.getAccessToken()).toBe("ACCESSTOKEN0001ISSUED");
      expect(store.current().refreshToken).toBe("REFRESHTOKEN0001ROTATED");
      expect(ion.presented).toStrictEqual(["PORTALREFRESHTOKEN0001"]);
    });
  });

  it("does not retry a token request that may have reached Ion (dropped connection)", async () => {
    ion.routes.push((req) => (req.path === "/oauth/token" ? (ion.presented.push("dropped"), { status: 0, drop: true }) : undefined));
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    const error = (await manager(store)
      .getAccessToken()
      .catch((e: unknown) => e)) as IonNetworkError;
    expect(error).toBeInstanceOf(IonNetworkError);
    expect(error.message).toContain("may have used up the refresh token");
    expect(ion.presented).toHaveLength(1);
  });

  it("retries the token request when the connection is refused (it never reached Ion)", async () => {
    const closed = await startFakeIon();
    const deadUrl = closed.url;
    await closed.close();
    const store = new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" });
    const delays: number[] = [];
    const clock = fakeClock();
    const transport = new IonTransport({ clock, sleep: async (ms) => void delays.push(ms) });
    const tm = new TokenManager({ baseUrl: deadUrl, store, clock, transport, journal });
    const error = (await tm.getAccessToken().catch((e: unknown) => e)) as IonNetworkError;
    expect(error).toBeInstanceOf(IonNetworkError);
    expect(error.networkCode).toBe("ECONNREFUSED");
    // The one retry policy repeats a refused connection (never sent) up to its attempts.
    expect(delays).toHaveLength(5);
    expect(tm.exchanges).toBe(1);
  });
});
