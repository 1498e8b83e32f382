import {
  IonApiError,
  IonAuthenticationError,
  IonConflictError,
  ionErrorFromResponse,
  IonNotFoundError,
  IonPermissionError,
  IonRateLimitError,
  IonServerError,
  IonV1AuthError,
  IonValidationError,
  parseIonErrorBody,
} from "../../../src/ion";
import { registerSecret } from "../../../src/shared/redact";
import duplicateEmail from "../../support/ion-fixtures/customer-duplicate-email.json";
import notFound from "../../support/ion-fixtures/not-found.json";
import orderValidation from "../../support/ion-fixtures/order-validation-error.json";

const ctx = { endpoint: "GET /customers/{id}", accountId: "10001" };

describe("ionErrorFromResponse", () => {
  it("maps 404 NOT_FOUND with Ion's request id", () => {
    const e = ionErrorFromResponse(404, notFound, ctx);
    expect(e).toBeInstanceOf(IonNotFoundError);
    expect(e).toMatchObject({
      code: "ION_NOT_FOUND",
      statusCode: 404,
      ionError: "NOT_FOUND",
      requestId: "176efaa5115cd4d84048",
      retryable: false,
    });
    expect(e.message).toContain("resource 'accounts/10001/customers/10054' not found");
  });

  it("maps the order-validation variant (code 3, COMM-VL-00x) with its errors list", () => {
    const e = ionErrorFromResponse(400, orderValidation, { endpoint: "POST /customers/{id}/orders" }) as IonValidationError;
    expect(e).toBeInstanceOf(IonValidationError);
    expect(e.code).toBe("ION_VALIDATION");
    expect(e.errors).toStrictEqual([{ code: "COMM-VL-003", detail: "resourceId must be present in orderItems when action is UPDATE" }]);
    expect(e.hasErrorCode("COMM-VL-003")).toBe(true);
    expect(e.requestId).toBe("9f8e7d6c5b4a");
    expect(e.message).toContain("COMM-VL-003");
  });

  it("maps 412 CUS-CR-001 to a duplicate-email validation error", () => {
    const e = ionErrorFromResponse(412, duplicateEmail, { endpoint: "POST /customers" }) as IonValidationError;
    expect(e).toBeInstanceOf(IonValidationError);
    expect(e.hasErrorCode("CUS-CR-001")).toBe(true);
    expect(e.message).toContain("email is already in use");
  });

  it("maps 400 INVALID_REQUEST", () => {
    const e = ionErrorFromResponse(400, { error: "INVALID_REQUEST", message: "must have required property 'orgName'", code: 400 }, ctx);
    expect(e).toBeInstanceOf(IonValidationError);
    expect(e.message).toContain("must have required property 'orgName'");
  });

  it("maps 403 PERMISSION_DENIED to a wrong-Account-ID message", () => {
    const e = ionErrorFromResponse(
      403,
      { error: "PERMISSION_DENIED", message: "permission denied to access accounts/10001", code: 403 },
      ctx,
    );
    expect(e).toBeInstanceOf(IonPermissionError);
    expect(e.code).toBe("ION_PERMISSION_DENIED");
    expect(e.message).toContain("the Account ID 10001 does not match these credentials");
  });

  it("maps a role-based 403 to a role message", () => {
    const e = ionErrorFromResponse(
      403,
      { error: "PERMISSION_DENIED", message: "User does not have access to this resource.", code: 403 },
      ctx,
    );
    expect(e).toBeInstanceOf(IonPermissionError);
    expect(e.message).toContain("role");
  });

  it("maps 401 to ION_ACCESS_TOKEN_REJECTED and token-endpoint 400 to ION_REFRESH_TOKEN_REJECTED", () => {
    expect(ionErrorFromResponse(401, "", ctx)).toMatchObject({ code: "ION_ACCESS_TOKEN_REJECTED" });
    const e = ionErrorFromResponse(400, { error: "cannot validate token: redis: nil" }, { endpoint: "POST /oauth/token", kind: "token" });
    expect(e).toBeInstanceOf(IonAuthenticationError);
    expect(e.code).toBe("ION_REFRESH_TOKEN_REJECTED");
    expect(e.message).toContain("Request New Credentials");
  });

  it("maps 429 with its Retry-After and 5xx as retryable server errors", () => {
    const r = ionErrorFromResponse(429, "", { ...ctx, retryAfterMs: 2000 }) as IonRateLimitError;
    expect(r).toBeInstanceOf(IonRateLimitError);
    expect(r).toMatchObject({ code: "ION_RATE_LIMITED", retryAfterMs: 2000, retryable: true });
    expect(ionErrorFromResponse(503, { error: "UNAVAILABLE", code: 503 }, ctx)).toMatchObject({
      code: "ION_SERVER_ERROR",
      retryable: true,
    });
    expect(ionErrorFromResponse(500, { error: "INTERNAL_ERROR", code: 500 }, ctx)).toBeInstanceOf(IonServerError);
    expect(ionErrorFromResponse(500, {}, ctx).retryable).toBe(false);
  });

  it("maps 409 and v1 401", () => {
    expect(ionErrorFromResponse(409, { error: "ALREADY_EXISTS" }, ctx)).toBeInstanceOf(IonConflictError);
    const v1 = ionErrorFromResponse(401, "<html>Unauthorized</html>", { endpoint: "GET /api/v1/customers", kind: "v1" });
    expect(v1).toBeInstanceOf(IonV1AuthError);
    expect(v1.code).toBe("ION_V1_UNAUTHORIZED");
  });

  it("tolerates non-JSON bodies and keeps a short text", () => {
    const e = ionErrorFromResponse(502, "<html><body>Bad gateway</body></html>", ctx);
    expect(e).toBeInstanceOf(IonServerError);
    expect(e.message).toContain("Bad gateway");
    expect(parseIonErrorBody("not json")).toStrictEqual({ message: "not json", errors: [] });
    expect(parseIonErrorBody(null)).toStrictEqual({ errors: [] });
  });

  it("never echoes a registered secret, even when Ion's message contains it", () => {
    registerSecret("SECRETREFRESHVALUE123");
    const e = ionErrorFromResponse(400, { error: "INVALID_ARGUMENT", message: "bad token SECRETREFRESHVALUE123" }, ctx);
    expect(e.message).not.toContain("SECRETREFRESHVALUE123");
    expect(JSON.stringify(e.raw)).not.toContain("SECRETREFRESHVALUE123");
  });

  it("falls back to a generic IonApiError for other statuses", () => {
    const e = ionErrorFromResponse(418, {}, ctx);
    expect(e).toBeInstanceOf(IonApiError);
    expect(e.code).toBe("ION_HTTP_ERROR");
  });
});
