import { DEFAULT_RETRY, networkCodeOf, NOT_SENT_NETWORK_CODES, shouldRetry } from "../../../src/shared/retry";

describe("networkCodeOf", () => {
  it("reads an axios/Node error's own code", () => {
    expect(networkCodeOf(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }))).toBe("ECONNREFUSED");
  });

  it("names axios' own timeout ETIMEDOUT, not ECONNABORTED", () => {
    expect(networkCodeOf(Object.assign(new Error("timeout of 50ms exceeded"), { code: "ECONNABORTED" }))).toBe("ETIMEDOUT");
    expect(networkCodeOf(Object.assign(new Error("aborted"), { code: "ECONNABORTED" }))).toBe("ECONNABORTED");
  });

  it("walks fetch's cause chain to the socket error", () => {
    const socket = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    expect(networkCodeOf(new TypeError("fetch failed", { cause: socket }))).toBe("UND_ERR_SOCKET");
  });

  it("falls back to ERR_NETWORK for anything without a code", () => {
    expect(networkCodeOf(new Error("no code"))).toBe("ERR_NETWORK");
    expect(networkCodeOf(undefined)).toBe("ERR_NETWORK");
    expect(networkCodeOf("text")).toBe("ERR_NETWORK");
  });
});

describe("NOT_SENT_NETWORK_CODES", () => {
  it("are the codes a non-idempotent call may repeat, and ambiguous ones are not among them", () => {
    for (const code of NOT_SENT_NETWORK_CODES) expect(shouldRetry({ networkCode: code }, 1, DEFAULT_RETRY, false)).toBe(true);
    expect(NOT_SENT_NETWORK_CODES.has("ECONNRESET")).toBe(false);
    expect(shouldRetry({ networkCode: "ECONNRESET" }, 1, DEFAULT_RETRY, false)).toBe(false);
  });
});

describe("500", () => {
  it("is repeated only for idempotent calls of a service that documents it as an outage (retryInternalErrors)", () => {
    expect(shouldRetry({ status: 500 }, 1, DEFAULT_RETRY, true)).toBe(false);
    const outage = { ...DEFAULT_RETRY, retryInternalErrors: true };
    expect(shouldRetry({ status: 500 }, 1, outage, true)).toBe(true);
    expect(shouldRetry({ status: 500 }, 1, outage, false)).toBe(false);
    expect(shouldRetry({ status: 500 }, outage.maxAttempts, outage, true)).toBe(false);
  });
});
