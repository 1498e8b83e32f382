import {
  DataverseApiError,
  DataverseAuthError,
  DataverseConcurrencyError,
  DataverseDuplicateKeyError,
  dataverseErrorFrom,
  DataverseNotFoundError,
  DataversePrivilegeError,
  DataverseServerError,
  DataverseThrottledError,
  DataverseValidationError,
  networkErrorFrom,
} from "../../../src/dataverse/errors";
import { ConnectorError } from "../../../src/shared/errors";
import { forgetSecrets, registerSecret } from "../../../src/shared/redact";

const body = (code: string, message: string) => JSON.stringify({ error: { code, message } });

describe("dataverseErrorFrom", () => {
  afterEach(() => forgetSecrets());

  it("maps 404 / 0x80040217 to DataverseNotFoundError with Dataverse's code and message", () => {
    const e = dataverseErrorFrom({
      status: 404,
      bodyText: body("0x80040217", "w365_provideraccount With Id = 1 Does Not Exist"),
      operation: "GET w365_provideraccounts(1)",
    });
    expect(e).toBeInstanceOf(DataverseNotFoundError);
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.code).toBe("DATAVERSE_NOT_FOUND");
    expect(e.dataverseCode).toBe("0x80040217");
    expect(e.statusCode).toBe(404);
    expect(e.message).toBe("Dataverse GET w365_provideraccounts(1) failed (404): w365_provideraccount With Id = 1 Does Not Exist");
  });

  it("maps 0x80040217 under another status to not found too", () => {
    expect(dataverseErrorFrom({ status: 400, bodyText: body("0x80040217", "missing") })).toBeInstanceOf(DataverseNotFoundError);
  });

  it("maps 412 version mismatch and 'already exists' to DataverseConcurrencyError", () => {
    const e = dataverseErrorFrom({
      status: 412,
      bodyText: body("", "The version of the existing record doesn't match the RowVersion property provided."),
    });
    expect(e).toBeInstanceOf(DataverseConcurrencyError);
    expect(e.dataverseCode).toBeUndefined();
    expect(dataverseErrorFrom({ status: 412, bodyText: body("", "A record with matching key values already exists.") })).toBeInstanceOf(
      DataverseConcurrencyError,
    );
  });

  it("maps duplicate key codes (0x80040237, 0x80060892) to DataverseDuplicateKeyError whatever the status", () => {
    expect(dataverseErrorFrom({ status: 412, bodyText: body("0x80040237", "Cannot insert duplicate key.") })).toBeInstanceOf(
      DataverseDuplicateKeyError,
    );
    expect(
      dataverseErrorFrom({ status: 400, bodyText: body("0x80060892", "A record that has the attribute values 1 already exists.") }),
    ).toBeInstanceOf(DataverseDuplicateKeyError);
    const createOnly = dataverseErrorFrom({
      status: 412,
      bodyText: body("0x80040237", "A record with matching key values already exists."),
    });
    expect(createOnly).toBeInstanceOf(DataverseConcurrencyError); // catchable as "row exists" either way
    expect(createOnly.code).toBe("DATAVERSE_DUPLICATE_KEY");
    expect(createOnly.statusCode).toBe(412);
  });

  it("maps 403, 0x80040220 and prv* messages to DataversePrivilegeError naming the privilege", () => {
    const e = dataverseErrorFrom({
      status: 400,
      bodyText: body("0x80040220", "Principal user (Id=1) is missing prvCreatew365_ProviderAccount privilege"),
    }) as DataversePrivilegeError;
    expect(e).toBeInstanceOf(DataversePrivilegeError);
    expect(e.privilege).toBe("prvCreatew365_ProviderAccount");
    expect(e.hint).toContain("prvCreatew365_ProviderAccount");
    expect(dataverseErrorFrom({ status: 403, bodyText: body("", "Access denied") })).toBeInstanceOf(DataversePrivilegeError);
  });

  it("maps 401 to DataverseAuthError with an app-registration hint and never the token", () => {
    registerSecret("eyJ0eXAiOiJKV1QiLCJhbGciOi.secret-token-value");
    const e = dataverseErrorFrom({ status: 401, bodyText: body("", "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.secret-token-value is invalid") });
    expect(e).toBeInstanceOf(DataverseAuthError);
    expect(e.message).toMatch(/token was rejected/);
    expect(e.message).not.toContain("secret-token-value");
    expect(e.hint).toMatch(/application user/);
  });

  it("maps 429 and the three service-protection codes to DataverseThrottledError carrying Retry-After", () => {
    const e = dataverseErrorFrom({
      status: 429,
      bodyText: body("0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."),
      retryAfterMs: 5000,
    }) as DataverseThrottledError;
    expect(e).toBeInstanceOf(DataverseThrottledError);
    expect(e.retryAfterMs).toBe(5000);
    expect(e.retryable).toBe(true);
    for (const code of ["0x80072321", "0x80072326"])
      expect(dataverseErrorFrom({ status: 503, bodyText: body(code, "limit") })).toBeInstanceOf(DataverseThrottledError);
  });

  it("maps 400 to validation, 5xx to server errors (retryable only for 502/503/504)", () => {
    expect(dataverseErrorFrom({ status: 400, bodyText: body("0x80044331", "A validation error occurred.") })).toBeInstanceOf(
      DataverseValidationError,
    );
    const e500 = dataverseErrorFrom({ status: 500, bodyText: "<html>oops</html>" });
    expect(e500).toBeInstanceOf(DataverseServerError);
    expect(e500.retryable).toBe(false);
    expect(e500.message).toContain("<html>oops</html>");
    expect(dataverseErrorFrom({ status: 503 }).retryable).toBe(true);
  });

  it("falls back to a plain DataverseApiError and reads the request id headers", () => {
    const headers: Record<string, string> = { "x-ms-service-request-id": "req-123" };
    const e = dataverseErrorFrom({ status: 405, bodyText: body("", "Method not allowed"), header: (n) => headers[n] });
    expect(e.constructor).toBe(DataverseApiError);
    expect(e.requestId).toBe("req-123");
    expect(e.toJSON()).toMatchObject({ code: "DATAVERSE_API", statusCode: 405, requestId: "req-123" });
  });

  it("wraps network failures with Node's code", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const e = networkErrorFrom(new TypeError("fetch failed", { cause }), "GET WhoAmI", false);
    expect(e.networkCode).toBe("ECONNREFUSED");
    expect(e.message).toContain("ECONNREFUSED");
    expect(networkErrorFrom(new Error("aborted"), "GET x", true).networkCode).toBe("ETIMEDOUT");
  });
});

describe("redaction shared with the Ion side", () => {
  afterEach(() => forgetSecrets());

  it("redacts the hint as well as the message, as Ion errors do", () => {
    registerSecret("s3cr3t-dataverse-client-value");
    const e = new DataverseApiError("DATAVERSE_API", "failed with s3cr3t-dataverse-client-value", {
      hint: "check s3cr3t-dataverse-client-value",
    });
    expect(e.message).not.toContain("s3cr3t-dataverse-client-value");
    expect(e.hint).not.toContain("s3cr3t-dataverse-client-value");
    expect(JSON.stringify(e.toJSON())).not.toContain("s3cr3t-dataverse-client-value");
  });
});
