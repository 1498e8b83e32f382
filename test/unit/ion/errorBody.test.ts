import {
  classifyIonError,
  classifyNonIdempotent,
  IonApiError,
  IonAuthenticationError,
  ionErrorFromResponse,
  IonNetworkError,
  IonPermissionError,
  IonRateLimitError,
  IonServerError,
  IonTokenSaveError,
  IonV1AuthError,
  IonValidationError,
  parseIonErrorBody,
} from "../../../src/ion";
import { forgetSecrets, registerSecret } from "../../../src/shared/redact";

afterEach(() => forgetSecrets());

const ctx = { endpoint: "GET /customers/{id}", accountId: "10001" };

describe("parseIonErrorBody", () => {
  it("reads error, message, numeric or text code and the first request id of Ion's body", () => {
    expect(
      parseIonErrorBody({
        error: "NOT_FOUND",
        message: "gone",
        code: 5,
        details: [null, "text", { requestId: "first" }, { requestId: "second" }],
      }),
    ).toStrictEqual({ error: "NOT_FOUND", message: "gone", code: 5, requestId: "first", errors: [] });
    expect(parseIonErrorBody({ code: "E42" })).toStrictEqual({ code: "E42", errors: [] });
    expect(parseIonErrorBody({ error: 7, message: 8, code: true, details: [{ requestId: 9 }] })).toStrictEqual({ errors: [] });
  });

  it("reads a gateway's nested {error:{code,message}}, the top-level message winning", () => {
    expect(parseIonErrorBody({ error: { code: "UNAVAILABLE", message: "upstream down" } })).toStrictEqual({
      error: "UNAVAILABLE",
      message: "upstream down",
      errors: [],
    });
    expect(parseIonErrorBody({ error: { code: "X", message: "inner" }, message: "outer" }).message).toBe("outer");
    expect(parseIonErrorBody({ error: { code: 5, message: false } })).toStrictEqual({ errors: [] });
    expect(parseIonErrorBody({ error: null })).toStrictEqual({ errors: [] });
  });

  it("collects field errors from details[].errors, from a detail carrying an Ion code, and from a top-level errors list", () => {
    const parsed = parseIonErrorBody({
      details: [
        { errors: [{ code: "COMM-VL-003", detail: "d1" }, null, "x", { code: 17, message: "m2" }, {}] },
        { code: "CUS-CR-001", detail: "duplicate email" },
        { code: "not-an-ion-code", detail: "ignored" },
        { code: "lower-case-1", detail: "ignored" },
        { code: "x CUS-CR-002", detail: "ignored" },
      ],
      errors: [{ code: "A-B-1", detail: "top", message: "not used when detail is there" }, 0, { message: "only message" }],
    });
    expect(parsed.errors).toStrictEqual([
      { code: "COMM-VL-003", detail: "d1" },
      { code: "17", detail: "m2" },
      {},
      { code: "CUS-CR-001", detail: "duplicate email" },
      { code: "A-B-1", detail: "top" },
      { detail: "only message" },
    ]);
  });

  it("requires digits after an Ion code's two letter groups, and ignores a code that is not text", () => {
    expect(parseIonErrorBody({ details: [{ code: "CUS-CR-", detail: "x" }] }).errors).toStrictEqual([]);
    expect(parseIonErrorBody({ details: [{ code: 1, detail: "x" }] }).errors).toStrictEqual([]);
    expect(parseIonErrorBody({ details: [{ code: "CUS-CR-9", detail: "x" }] }).errors).toStrictEqual([{ code: "CUS-CR-9", detail: "x" }]);
  });

  it("parses JSON text, trimmed, keeps other text cut to 300 characters, and gives nothing for empty text, arrays or scalars", () => {
    expect(parseIonErrorBody('  {"error":"ABORTED"}\n')).toStrictEqual({ error: "ABORTED", errors: [] });
    expect(parseIonErrorBody("  plain text  ")).toStrictEqual({ message: "plain text", errors: [] });
    expect(parseIonErrorBody("x".repeat(500)).message).toHaveLength(300);
    expect(parseIonErrorBody("   ")).toStrictEqual({ errors: [] });
    expect(parseIonErrorBody([{ error: "X" }])).toStrictEqual({ errors: [] });
    expect(parseIonErrorBody(42)).toStrictEqual({ errors: [] });
  });
});

describe("ionErrorFromResponse messages", () => {
  it("names the endpoint and Ion's error, message and request id, the message once when it repeats the error", () => {
    const e = ionErrorFromResponse(404, { error: "NOT_FOUND", message: "no such customer", details: [{ requestId: "r-1" }] }, ctx);
    expect(e.message).toBe("StreamOne Ion GET /customers/{id}: not found: NOT_FOUND: no such customer (Ion request id r-1).");
    expect(ionErrorFromResponse(404, { error: "NOT_FOUND", message: "NOT_FOUND" }, ctx).message).toBe(
      "StreamOne Ion GET /customers/{id}: not found: NOT_FOUND.",
    );
    expect(ionErrorFromResponse(404, { details: [{ requestId: "r-2" }] }, ctx).message).toBe(
      "StreamOne Ion GET /customers/{id}: not found (Ion request id r-2).",
    );
    expect(ionErrorFromResponse(404, { message: "only a message" }, ctx).message).toBe(
      "StreamOne Ion GET /customers/{id}: not found: only a message.",
    );
  });

  it("words 429, 401, 409, 5xx and other statuses with the endpoint and status", () => {
    expect(ionErrorFromResponse(429, {}, ctx).message).toBe("StreamOne Ion GET /customers/{id} is throttling requests (429).");
    expect(ionErrorFromResponse(401, {}, ctx).message).toBe("StreamOne Ion GET /customers/{id} rejected the access token (401).");
    const conflict = ionErrorFromResponse(409, {}, ctx);
    expect([conflict.code, conflict.message]).toEqual(["ION_ALREADY_EXISTS", "StreamOne Ion GET /customers/{id}: already exists."]);
    expect(ionErrorFromResponse(500, {}, ctx).message).toBe("StreamOne Ion GET /customers/{id} failed on Ion's side (500).");
    expect(ionErrorFromResponse(418, {}, ctx).message).toBe("StreamOne Ion GET /customers/{id} failed (418).");
  });

  it("writes a validation error with its status, Ion error, message and field codes", () => {
    const e = ionErrorFromResponse(
      400,
      {
        error: "INVALID_ARGUMENT",
        message: "bad order",
        details: [{ errors: [{ code: "COMM-VL-003", detail: "need resourceId" }, { detail: "no code" }] }],
      },
      { endpoint: "POST /orders" },
    ) as IonValidationError;
    expect(e.message).toBe(
      "StreamOne Ion POST /orders: Ion rejected the request as invalid (400 INVALID_ARGUMENT): bad order [COMM-VL-003: need resourceId; no code].",
    );
    expect(ionErrorFromResponse(422, { error: "X", message: "X" }, ctx).message).toBe(
      "StreamOne Ion GET /customers/{id}: Ion rejected the request as invalid (422 X).",
    );
    expect(ionErrorFromResponse(400, {}, ctx).message).toBe(
      "StreamOne Ion GET /customers/{id}: Ion rejected the request as invalid (400).",
    );
    expect(ionErrorFromResponse(400, { errors: [{}] }, ctx).message).toBe(
      "StreamOne Ion GET /customers/{id}: Ion rejected the request as invalid (400).",
    );
  });

  it("treats Ion's code 3 as a validation error whatever the status, and 412 too", () => {
    expect(ionErrorFromResponse(500, { code: 3, message: "invalid" }, ctx)).toBeInstanceOf(IonValidationError);
    expect(ionErrorFromResponse(412, {}, ctx)).toBeInstanceOf(IonValidationError);
    expect(ionErrorFromResponse(422, {}, ctx)).toBeInstanceOf(IonValidationError);
  });

  it("reports a duplicate email only when CUS-CR-001 is among the errors, and finds a code anywhere in the list", () => {
    const body = {
      details: [
        { code: "CUS-CR-002", detail: "bad phone" },
        { code: "CUS-CR-001", detail: "email" },
      ],
    };
    const dup = ionErrorFromResponse(412, body, { endpoint: "POST /customers" }) as IonValidationError;
    expect(dup.message).toMatch(/^StreamOne Ion POST \/customers: the customer email is already in use by another Ion customer \(412\)/);
    expect(dup.hasErrorCode("CUS-CR-002")).toBe(true);
    expect(dup.hasErrorCode("CUS-CR-003")).toBe(false);
    const other = ionErrorFromResponse(412, { details: [{ code: "CUS-CR-002", detail: "bad phone" }] }, ctx) as IonValidationError;
    expect(other.message).toContain("Ion rejected the request as invalid");
    expect(other.hasErrorCode("CUS-CR-001")).toBe(false);
  });

  it("keeps the parsed text body, not the raw text, as `raw`, and an object body as given", () => {
    expect(ionErrorFromResponse(502, "  upstream timed out ", ctx).raw).toStrictEqual({ message: "upstream timed out", errors: [] });
    expect(ionErrorFromResponse(404, { error: "NOT_FOUND" }, ctx).raw).toStrictEqual({ error: "NOT_FOUND" });
  });

  it("marks only 502, 503 and 504 as retryable server errors", () => {
    const retryable = [500, 501, 502, 503, 504, 505].map((s) => ionErrorFromResponse(s, {}, ctx).retryable);
    expect(retryable).toEqual([false, false, true, true, true, false]);
  });

  it("redacts a hint too", () => {
    registerSecret("HINTSECRET12345");
    expect(new IonApiError("X", "m", { hint: "use HINTSECRET12345" }).hint).not.toContain("HINTSECRET12345");
    expect(new IonApiError("X", "m").hint).toBeUndefined();
  });
});

describe("ionErrorFromResponse by kind", () => {
  it("maps every 4xx of the token endpoint but 429 to a refused refresh token; not 5xx", () => {
    for (const status of [400, 401, 403, 404, 499]) {
      expect(ionErrorFromResponse(status, { error: "invalid_grant" }, { endpoint: "POST /oauth/token", kind: "token" }).code).toBe(
        "ION_REFRESH_TOKEN_REJECTED",
      );
    }
    expect(ionErrorFromResponse(429, {}, { endpoint: "POST /oauth/token", kind: "token" })).toBeInstanceOf(IonRateLimitError);
    expect(ionErrorFromResponse(500, {}, { endpoint: "POST /oauth/token", kind: "token" })).toBeInstanceOf(IonServerError);
    expect(ionErrorFromResponse(400, {}, ctx).code).toBe("ION_VALIDATION");
  });

  it("maps 401 and 403 of the v1 API to refused API keys, with what to do", () => {
    for (const status of [401, 403]) {
      const e = ionErrorFromResponse(status, {}, { endpoint: "GET /api/v1/x", kind: "v1" });
      expect(e).toBeInstanceOf(IonV1AuthError);
      expect(e.message).toContain("API Key / API Secret");
    }
    expect(ionErrorFromResponse(403, {}, ctx)).toBeInstanceOf(IonPermissionError);
    expect(ionErrorFromResponse(401, {}, ctx).code).toBe("ION_ACCESS_TOKEN_REJECTED");
  });

  it("maps 400 of the validate endpoint to a refused access token", () => {
    const e = ionErrorFromResponse(400, { error: "INVALID_TOKEN" }, { endpoint: "GET /oauth/validate", kind: "validate" });
    expect(e).toBeInstanceOf(IonAuthenticationError);
    expect(e.code).toBe("ION_ACCESS_TOKEN_REJECTED");
    expect(e.message).toBe("StreamOne Ion GET /oauth/validate: the access token is not valid: INVALID_TOKEN.");
    expect(ionErrorFromResponse(401, {}, { endpoint: "GET /oauth/validate", kind: "validate" }).message).toContain("(401)");
  });

  it("says which Account ID a 403 refused, and says so when a new access token did not help", () => {
    const plain = ionErrorFromResponse(403, { error: "PERMISSION_DENIED" }, ctx);
    expect(plain.message).toContain("permission denied (403 PERMISSION_DENIED): the Account ID 10001 does not match");
    const fresh = ionErrorFromResponse(403, {}, { ...ctx, afterSessionRefresh: true });
    expect(fresh.message).toContain("permission denied even with a newly issued access token (403");
    expect(ionErrorFromResponse(403, {}, { endpoint: "GET /x" }).message).toContain("the Account ID configured does not match");
    expect(ionErrorFromResponse(403, { message: "User does not have access" }, ctx).message).toContain(
      "does not have access to this resource",
    );
  });
});

describe("classifyIonError / classifyNonIdempotent", () => {
  const network = (code: string) => new IonNetworkError("no answer", code);

  it("gives the retry policy the network code, 429's and 5xx's wait, and other statuses", () => {
    expect(classifyIonError(network("ECONNRESET"))).toEqual({ networkCode: "ECONNRESET" });
    expect(classifyIonError(new IonRateLimitError("slow down", 1500))).toEqual({ status: 429, retryAfterMs: 1500 });
    expect(classifyIonError(ionErrorFromResponse(503, {}, { ...ctx, retryAfterMs: 2000 }))).toEqual({ status: 503, retryAfterMs: 2000 });
    expect(classifyIonError(ionErrorFromResponse(404, {}, ctx))).toEqual({ status: 404 });
    expect(classifyIonError(new IonTokenSaveError("store down"))).toEqual({ status: 0 });
    expect(classifyIonError(new Error("bug"))).toEqual({ status: 0 });
  });

  it("lets a non-idempotent call retry only a request that never left", () => {
    expect(classifyNonIdempotent(network("ECONNREFUSED"))).toEqual({ networkCode: "ECONNREFUSED" });
    expect(classifyNonIdempotent(network("ECONNRESET"))).toEqual({ status: 0 });
    expect(classifyNonIdempotent(ionErrorFromResponse(503, {}, ctx))).toEqual({ status: 0 });
    expect(classifyNonIdempotent(new Error("ECONNREFUSED"))).toEqual({ status: 0 });
  });

  it("gives the network and token-store errors their codes", () => {
    const n = network("ETIMEDOUT");
    expect([n.code, n.networkCode, n.name]).toEqual(["ION_NETWORK", "ETIMEDOUT", "IonNetworkError"]);
    expect(new IonTokenSaveError("x").code).toBe("ION_TOKEN_SAVE_FAILED");
  });
});
