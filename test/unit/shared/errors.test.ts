import { ConfigError, ConnectorError, ensureError, errorCode, ValidationError } from "../../../src/shared/errors";

describe("ConnectorError", () => {
  it("keeps its code, options and subclass name, and is not retryable unless told", () => {
    const e = new ConnectorError("SOME_CODE", "went wrong", { statusCode: 503, requestId: "req-1", hint: "Try again." });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("ConnectorError");
    expect(e.code).toBe("SOME_CODE");
    expect(e.statusCode).toBe(503);
    expect(e.requestId).toBe("req-1");
    expect(e.retryable).toBe(false);
    expect(new ConnectorError("X", "m", { retryable: true }).retryable).toBe(true);
  });

  it("carries a cause only when one is given", () => {
    const root = new Error("socket hang up");
    expect(new ConnectorError("X", "m", { cause: root }).cause).toBe(root);
    const without = new ConnectorError("X", "m");
    expect("cause" in without).toBe(false);
    expect(without.cause).toBeUndefined();
  });

  it("shows the hint after the message to an admin, or the message alone", () => {
    expect(new ConnectorError("X", "Sign-in failed.", { hint: "Check the secret." }).userMessage).toBe("Sign-in failed. Check the secret.");
    expect(new ConnectorError("X", "Sign-in failed.").userMessage).toBe("Sign-in failed.");
  });

  it("serialises name, code and message, plus hint, status and request id only when present; never raw", () => {
    const full = new ConnectorError("X", "m", { hint: "h", statusCode: 0, requestId: "r", raw: { token: "abc" } });
    expect(full.toJSON()).toStrictEqual({ name: "ConnectorError", code: "X", message: "m", hint: "h", statusCode: 0, requestId: "r" });
    // toStrictEqual: a key present with the value undefined is a difference too.
    expect(new ConnectorError("X", "m").toJSON()).toStrictEqual({ name: "ConnectorError", code: "X", message: "m" });
    expect(JSON.parse(JSON.stringify(new ConnectorError("X", "m")))).toEqual({ name: "ConnectorError", code: "X", message: "m" });
  });
});

describe("ValidationError and ConfigError", () => {
  it("have the codes VALIDATION and CONFIG and their own names", () => {
    const v = new ValidationError("bad email", { field: "email" });
    expect(v.code).toBe("VALIDATION");
    expect(v.name).toBe("ValidationError");
    expect(v.field).toBe("email");
    expect(v).toBeInstanceOf(ConnectorError);
    const c = new ConfigError("ION_BASE_URL missing", { hint: "Set it." });
    expect(c.code).toBe("CONFIG");
    expect(c.name).toBe("ConfigError");
    expect(c.userMessage).toBe("ION_BASE_URL missing Set it.");
  });
});

describe("ensureError", () => {
  it("returns an Error as it is", () => {
    const e = new TypeError("x");
    expect(ensureError(e)).toBe(e);
  });

  it("wraps a string as the message", () => {
    const e = ensureError("plain text");
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe("plain text");
  });

  it("wraps other values as their JSON", () => {
    expect(ensureError({ code: 7 }).message).toBe('{"code":7}');
    expect(ensureError(42).message).toBe("42");
  });

  it("falls back to String() for values JSON cannot write", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(ensureError(cyclic).message).toBe("[object Object]");
    expect(ensureError(10n).message).toBe("10");
  });
});

describe("errorCode", () => {
  it("reads the code of a typed error and names anything else UNEXPECTED", () => {
    expect(errorCode(new ConfigError("x"))).toBe("CONFIG");
    expect(errorCode(new Error("x"))).toBe("UNEXPECTED");
    expect(errorCode("x")).toBe("UNEXPECTED");
  });
});
