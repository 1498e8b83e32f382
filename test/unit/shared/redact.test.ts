import { memoryLogger } from "../../../src/shared/logger";
import { forgetSecrets, isSensitiveKey, redact, REDACTED, redactValue, registerSecret } from "../../../src/shared/redact";

afterEach(() => forgetSecrets());

// Token-shaped values that were never registered: only the header patterns can catch them.
const JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl-_x";
const BASIC = Buffer.from("client-id:client-secret").toString("base64");

describe("redact: credentials in stray header dumps", () => {
  it("masks a Bearer token, keeping the scheme so the reader sees what was there", () => {
    expect(redact(`Authorization: Bearer ${JWT}`)).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redact(`{"authorization":"Bearer ${JWT}"}`)).toBe(`{"authorization":"Bearer ${REDACTED}"}`);
  });

  it("masks Basic credentials", () => {
    expect(redact(`Authorization: Basic ${BASIC}`)).toBe(`Authorization: Basic ${REDACTED}`);
  });

  it("masks every occurrence, across lines", () => {
    expect(redact(`a Bearer ${JWT}\nb Basic ${BASIC} c Bearer ${JWT}`)).toBe(
      `a Bearer ${REDACTED}\nb Basic ${REDACTED} c Bearer ${REDACTED}`,
    );
  });

  it("masks the whole token including the token68 characters . _ ~ + / = -", () => {
    const token = "Ab.Cd_Ef~Gh+Ij/Kl=Mn-Op";
    expect(redact(`Bearer ${token}`)).toBe(`Bearer ${REDACTED}`);
  });

  it("masks a token of eight characters or more, after any run of white space", () => {
    expect(redact("Bearer abcdefgh")).toBe(`Bearer ${REDACTED}`);
    expect(redact("Bearer abcdefg")).toBe("Bearer abcdefg");
    expect(redact("Bearer \t abcdefgh")).toBe(`Bearer ${REDACTED}`);
  });

  it("leaves prose that merely contains the words alone", () => {
    expect(redact("Basic plan upgraded; Bearer of good news")).toBe("Basic plan upgraded; Bearer of good news");
    expect(redact("Bearer short")).toBe("Bearer short");
  });
});

describe("redact: function keys in URLs", () => {
  it("masks code= as the first or a later query parameter and keeps the rest of the URL", () => {
    expect(redact("POST https://fn.azurewebsites.net/api/dataverse/webhook?code=abc123XYZ&x=1")).toBe(
      `POST https://fn.azurewebsites.net/api/dataverse/webhook?code=${REDACTED}&x=1`,
    );
    expect(redact(`GET /api/x?a=1&code=k3y"`)).toBe(`GET /api/x?a=1&code=${REDACTED}"`);
  });

  it("ends the key at white space or a quote, as in a logged command line or JSON", () => {
    expect(redact("curl https://fn/api/x?code=k3y -d {}")).toBe(`curl https://fn/api/x?code=${REDACTED} -d {}`);
    expect(redact("url='https://fn/api/x?code=k3y'")).toBe(`url='https://fn/api/x?code=${REDACTED}'`);
  });

  it("does not touch a parameter that only ends in code", () => {
    expect(redact("/api/x?zipcode=12345")).toBe("/api/x?zipcode=12345");
  });
});

describe("redact: registered secrets", () => {
  it("removes every occurrence of a registered secret, whatever surrounds it", () => {
    registerSecret("refresh-token-value-42");
    expect(redact("token=refresh-token-value-42;again:refresh-token-value-42")).toBe(`token=${REDACTED};again:${REDACTED}`);
  });

  it("ignores values too short to be secrets (they would mask ordinary words) and non-strings", () => {
    registerSecret("abcde");
    registerSecret(undefined);
    registerSecret(null);
    expect(redact("abcde")).toBe("abcde");
    registerSecret("abcdef");
    expect(redact("abcdef")).toBe(REDACTED);
  });

  it("forgets registered secrets on request", () => {
    registerSecret("api-secret-xyz");
    forgetSecrets();
    expect(redact("api-secret-xyz")).toBe("api-secret-xyz");
  });
});

describe("redactValue", () => {
  it("masks always-secret fields whatever their value, recursively, and keeps the rest", () => {
    const out = redactValue({
      refresh_token: "r-value",
      accessToken: "a-value",
      w365_apisecret: 12345,
      nested: { Authorization: "anything", list: [{ client_secret: "c" }, `Bearer ${JWT}`] },
      name: "Contoso",
      count: 3,
      flag: true,
      nothing: null,
    });
    expect(out).toStrictEqual({
      refresh_token: REDACTED,
      accessToken: REDACTED,
      w365_apisecret: REDACTED,
      nested: { Authorization: REDACTED, list: [{ client_secret: REDACTED }, `Bearer ${REDACTED}`] },
      name: "Contoso",
      count: 3,
      flag: true,
      nothing: null,
    });
  });

  it.each([
    "refreshToken",
    "refresh_token",
    "accessToken",
    "access_token",
    "w365_refreshtoken",
    "W365_APISECRET",
    "apiSecret",
    "api_secret",
    "password",
    "authorization",
    "authvalue",
    "clientSecret",
    "client_secret",
    "x-functions-key",
    "X-Functions-Key",
  ])("always masks the field %s", (key) => {
    expect(redactValue({ [key]: "plain-looking" })).toStrictEqual({ [key]: REDACTED });
  });

  it("masks only the exact field names, not names that start or end with them", () => {
    const fields = { passwordPolicy: "strong", myauthorization: "granted", accessTokenExpiresOn: "2026-12-01", tokenCount: 3 };
    expect(redactValue(fields)).toStrictEqual(fields);
  });

  it("keeps empty secret fields as they are, so a report still shows that none was set", () => {
    expect(redactValue({ password: "", refresh_token: null, api_secret: undefined })).toStrictEqual({
      password: "",
      refresh_token: null,
      api_secret: undefined,
    });
  });

  it("does not alter its input", () => {
    const input = { password: "p4ssword!", inner: { x: `Bearer ${JWT}` } };
    redactValue(input);
    expect(input).toStrictEqual({ password: "p4ssword!", inner: { x: `Bearer ${JWT}` } });
  });

  it("masks a secret field on the twentieth level below the top, not on the twenty-first", () => {
    const nested = (levels: number): Record<string, unknown> => {
      let v: Record<string, unknown> = { password: "p4ssword!" };
      for (let i = 0; i < levels; i++) v = { next: v };
      return v;
    };
    const bottom = (v: unknown, levels: number): Record<string, unknown> => {
      let c = v as Record<string, unknown>;
      for (let i = 0; i < levels; i++) c = c.next as Record<string, unknown>;
      return c;
    };
    expect(bottom(redactValue(nested(20)), 20).password).toBe(REDACTED);
    expect(bottom(redactValue(nested(21)), 21).password).toBe("p4ssword!");
  });

  it("redacts within 20 levels, stops descending past them, and never overflows the stack", () => {
    let shallow: Record<string, unknown> = { password: "within-reach" };
    for (let i = 0; i < 15; i++) shallow = { next: shallow };
    let reached = redactValue(shallow) as Record<string, unknown>;
    expect(reached).not.toBe(shallow);
    for (let i = 0; i < 15; i++) reached = reached.next as Record<string, unknown>;
    expect(reached.password).toBe("[REDACTED]");

    let deep: Record<string, unknown> = { password: "deepest" };
    for (let i = 0; i < 25; i++) deep = { next: deep };
    const out = redactValue(deep);
    let cursor = out as Record<string, unknown>;
    for (let i = 0; i < 21; i++) cursor = cursor.next as Record<string, unknown>;
    expect(cursor).toBe(
      (() => {
        let c = deep;
        for (let i = 0; i < 21; i++) c = c.next as Record<string, unknown>;
        return c;
      })(),
    );

    let hostile: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) hostile = { next: hostile };
    expect(() => redactValue(hostile)).not.toThrow();
  });
});

describe("isSensitiveKey", () => {
  it.each(["refreshToken", "w365_refreshtoken", "apiSecret", "Authorization", "x-functions-key", "authCode", "password", "api_key"])(
    "%s is sensitive",
    (key) => expect(isSensitiveKey(key)).toBe(true),
  );
  it.each(["name", "tokenCount", "keyword", "status"])("%s is not", (key) => expect(isSensitiveKey(key)).toBe(false));
});

describe("logger", () => {
  it("never writes a Bearer token, a Basic credential or a registered secret, in the message or in fields", () => {
    registerSecret("webhook-key-0123456789");
    const log = memoryLogger();
    log.error(`call failed with Authorization: Bearer ${JWT}`, {
      header: `Basic ${BASIC}`,
      url: "https://x/api?code=webhook-key-0123456789",
      refreshToken: "any",
    });
    const text = log.lines.join("\n");
    expect(text).not.toContain(JWT);
    expect(text).not.toContain(BASIC);
    expect(text).not.toContain("webhook-key-0123456789");
    expect(JSON.parse(log.lines[0] ?? "{}")).toMatchObject({
      message: `call failed with Authorization: Bearer ${REDACTED}`,
      header: `Basic ${REDACTED}`,
      refreshToken: REDACTED,
    });
  });
});
