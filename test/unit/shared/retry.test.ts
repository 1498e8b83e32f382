import {
  type AttemptOutcome,
  backoffMs,
  DEFAULT_RETRY,
  delayBeforeRetryMs,
  networkCodeOf,
  NOT_SENT_NETWORK_CODES,
  parseRetryAfterMs,
  type RetryOptions,
  shouldRetry,
  sleep,
  withRetry,
} from "../../../src/shared/retry";

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

  it("passes over an empty code to the cause's, and reads a timeout message whatever its case", () => {
    const socket = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(networkCodeOf(Object.assign(new Error("wrapped", { cause: socket }), { code: "" }))).toBe("ECONNRESET");
    expect(networkCodeOf(Object.assign(new Error("Request Timeout"), { code: "ECONNABORTED" }))).toBe("ETIMEDOUT");
  });

  it("takes only a text code, and renames only axios' ECONNABORTED timeout", () => {
    // A DOMException (fetch's AbortError) carries a numeric legacy code.
    expect(networkCodeOf(Object.assign(new Error("This operation was aborted"), { code: 20 }))).toBe("ERR_NETWORK");
    expect(networkCodeOf(Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" }))).toBe(
      "UND_ERR_CONNECT_TIMEOUT",
    );
  });

  it("looks five levels down the cause chain and no further, so a chain that loops ends", () => {
    const chain = (depth: number): unknown => {
      let e: unknown = Object.assign(new Error("root"), { code: "ECONNREFUSED" });
      for (let i = 0; i < depth; i++) e = new Error(`level ${i}`, { cause: e });
      return e;
    };
    expect(networkCodeOf(chain(4))).toBe("ECONNREFUSED");
    expect(networkCodeOf(chain(5))).toBe("ERR_NETWORK");
    const loop: { message: string; cause?: unknown } = { message: "loop" };
    loop.cause = loop;
    expect(networkCodeOf(loop)).toBe("ERR_NETWORK");
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

const POLICY: RetryOptions = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };

describe("shouldRetry", () => {
  it.each([
    [429, true, true],
    [429, false, true],
    [502, true, true],
    [502, false, false],
    [503, true, true],
    [503, false, false],
    [504, true, true],
    [504, false, false],
    [500, true, false],
    [400, true, false],
    [401, true, false],
    [404, true, false],
    [409, true, false],
  ])("status %i (idempotent %s) retries: %s", (status, idempotent, expected) => {
    expect(shouldRetry({ status }, 1, POLICY, idempotent)).toBe(expected);
  });

  it("retries a non-idempotent 503 only when the server said when to come back (Retry-After)", () => {
    expect(shouldRetry({ status: 503, retryAfterMs: 0 }, 1, POLICY, false)).toBe(true);
    expect(shouldRetry({ status: 503 }, 1, POLICY, false)).toBe(false);
    expect(shouldRetry({ status: 502, retryAfterMs: 1000 }, 1, POLICY, false)).toBe(false);
  });

  it("retries ambiguous network failures only for idempotent calls, and an unknown code like an ambiguous one", () => {
    for (const networkCode of ["ECONNRESET", "ETIMEDOUT", "EPIPE", "UND_ERR_SOCKET", "", "ESOMETHINGNEW"]) {
      expect(shouldRetry({ networkCode }, 1, POLICY, true)).toBe(true);
      expect(shouldRetry({ networkCode }, 1, POLICY, false)).toBe(false);
    }
    expect(shouldRetry({}, 1, POLICY, true)).toBe(true);
    expect(shouldRetry({}, 1, POLICY, false)).toBe(false);
  });

  it("stops at the last attempt whatever the outcome", () => {
    expect(shouldRetry({ status: 503 }, POLICY.maxAttempts - 1, POLICY, true)).toBe(true);
    expect(shouldRetry({ status: 503 }, POLICY.maxAttempts, POLICY, true)).toBe(false);
    expect(shouldRetry({ status: 429 }, POLICY.maxAttempts, POLICY, true)).toBe(false);
    expect(shouldRetry({ networkCode: "ECONNREFUSED" }, POLICY.maxAttempts, POLICY, false)).toBe(false);
  });
});

describe("backoffMs", () => {
  const top = () => 1 - Number.EPSILON;
  it("doubles its ceiling with each attempt (full jitter at the top of the range)", () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffMs(attempt, POLICY, top))).toStrictEqual([100, 200, 400, 800, 1600, 3200]);
  });

  it("never waits less than the base, whatever the jitter", () => {
    for (const attempt of [1, 2, 5, 10]) expect(backoffMs(attempt, POLICY, () => 0)).toBe(POLICY.baseDelayMs);
  });

  it("spreads uniformly between the base and the ceiling", () => {
    expect(backoffMs(3, POLICY, () => 0.5)).toBe(250);
    expect(backoffMs(4, POLICY, () => 0.25)).toBe(275);
  });

  it("is capped at maxDelayMs, even for attempt numbers far past the cap", () => {
    expect(backoffMs(8, POLICY, top)).toBe(10_000);
    expect(backoffMs(60, POLICY, top)).toBe(10_000);
    expect(backoffMs(1100, POLICY, () => 0.5)).toBe(POLICY.baseDelayMs + Math.round(0.5 * (POLICY.maxDelayMs - POLICY.baseDelayMs)));
  });

  it("treats attempt 0 like the first attempt", () => {
    expect(backoffMs(0, POLICY, top)).toBe(100);
  });
});

describe("parseRetryAfterMs", () => {
  const now = Date.parse("2026-11-27T10:00:00Z");

  it("reads delta-seconds, whole or fractional, as milliseconds", () => {
    expect(parseRetryAfterMs("120", now)).toBe(120_000);
    expect(parseRetryAfterMs(" 2 ", now)).toBe(2000);
    expect(parseRetryAfterMs("1.5", now)).toBe(1500);
    expect(parseRetryAfterMs(0, now)).toBe(0);
    expect(parseRetryAfterMs(3, now)).toBe(3000);
  });

  it("reads an HTTP date as the time left until it", () => {
    expect(parseRetryAfterMs("Fri, 27 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfterMs("Fri, 27 Nov 2026 10:02:00 GMT", now)).toBe(120_000);
  });

  it("waits zero, not a negative time, for an HTTP date already past", () => {
    expect(parseRetryAfterMs("Fri, 27 Nov 2026 09:59:00 GMT", now)).toBe(0);
  });

  it("reads every fractional digit", () => {
    expect(parseRetryAfterMs("1.25", now)).toBe(1250);
  });

  it("rounds fractional seconds to whole milliseconds", () => {
    expect(parseRetryAfterMs("0.0025", now)).toBe(3);
  });

  it("gives undefined for an absent or unreadable header", () => {
    for (const header of [undefined, null, "", "soon", "1e3"]) expect(parseRetryAfterMs(header, now)).toBeUndefined();
  });
});

describe("delayBeforeRetryMs", () => {
  it("follows Retry-After over backoff, capped at maxRetryAfterMs", () => {
    expect(delayBeforeRetryMs({ status: 429, retryAfterMs: 7000 }, 1, POLICY, () => 0)).toBe(7000);
    expect(delayBeforeRetryMs({ status: 429, retryAfterMs: 0 }, 3, POLICY, () => 0.9)).toBe(0);
    expect(delayBeforeRetryMs({ status: 429, retryAfterMs: 10 * 60_000 }, 1, POLICY)).toBe(POLICY.maxRetryAfterMs);
  });

  it("backs off when the server gave no Retry-After", () => {
    expect(delayBeforeRetryMs({ status: 503 }, 3, POLICY, () => 0.5)).toBe(250);
  });
});

describe("withRetry", () => {
  const httpError = (status: number, retryAfterMs?: number) => Object.assign(new Error(`HTTP ${status}`), { status, retryAfterMs });
  const classify = (error: unknown): AttemptOutcome => {
    const e = error as { status?: number; retryAfterMs?: number; code?: string };
    if (e.status === undefined) return { networkCode: e.code ?? "" };
    return e.retryAfterMs === undefined ? { status: e.status } : { status: e.status, retryAfterMs: e.retryAfterMs };
  };

  it("retries a 503 until it succeeds, sleeping the backoff between attempts and reporting each retry", async () => {
    const sleeps: number[] = [];
    const retries: string[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw httpError(503);
        return `ok on ${attempt}`;
      },
      classify,
      POLICY,
      true,
      {
        sleep: async (ms) => void sleeps.push(ms),
        random: () => 1 - Number.EPSILON,
        onRetry: (info) => retries.push(`${info.attempt}/${info.maxAttempts} after ${info.delayMs}ms (${info.outcome.status})`),
      },
    );
    expect(result).toBe("ok on 3");
    expect(calls).toBe(3);
    expect(sleeps).toStrictEqual([100, 200]);
    expect(retries).toStrictEqual(["1/6 after 100ms (503)", "2/6 after 200ms (503)"]);
  });

  it("waits what Retry-After says", async () => {
    const sleeps: number[] = [];
    await withRetry(
      async (attempt) => {
        if (attempt === 1) throw httpError(429, 4000);
        return "ok";
      },
      classify,
      POLICY,
      false,
      { sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(sleeps).toStrictEqual([4000]);
  });

  it("rethrows the last error unchanged after maxAttempts, and a 500 at once", async () => {
    let calls = 0;
    const last = httpError(503);
    await expect(
      withRetry(
        async () => {
          calls++;
          throw calls === POLICY.maxAttempts ? last : httpError(503);
        },
        classify,
        POLICY,
        true,
        { sleep: async () => undefined },
      ),
    ).rejects.toBe(last);
    expect(calls).toBe(POLICY.maxAttempts);

    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw httpError(500);
        },
        classify,
        POLICY,
        true,
        { sleep: async () => undefined },
      ),
    ).rejects.toThrow("HTTP 500");
    expect(calls).toBe(1);
  });
});

describe("500", () => {
  it("is repeated only for idempotent calls of a service that documents it as an outage (retryInternalErrors)", () => {
    expect(shouldRetry({ status: 500 }, 1, DEFAULT_RETRY, true)).toBe(false);
    const outage = { ...DEFAULT_RETRY, retryInternalErrors: true };
    expect(shouldRetry({ status: 500 }, 1, outage, true)).toBe(true);
    expect(shouldRetry({ status: 500 }, 1, outage, false)).toBe(false);
    expect(shouldRetry({ status: 500 }, outage.maxAttempts, outage, true)).toBe(false);
    for (const status of [400, 404, 409, 501]) expect(shouldRetry({ status }, 1, outage, true)).toBe(false);
  });
});

describe("sleep (the default wait of withRetry)", () => {
  afterEach(() => jest.useRealTimers());

  it("resolves once the given time has passed, not before", async () => {
    jest.useFakeTimers();
    let done = false;
    const waiting = sleep(100).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await waiting;
    expect(done).toBe(true);
  });

  it("is what withRetry waits with when no sleep is given", async () => {
    jest.useFakeTimers();
    let attempts = 0;
    const run = withRetry(
      async () => {
        if (++attempts === 1) throw Object.assign(new Error("HTTP 429"), { status: 429 });
        return "ok";
      },
      () => ({ status: 429, retryAfterMs: 1000 }),
      POLICY,
      true,
    );
    await jest.advanceTimersByTimeAsync(999);
    expect(attempts).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(run).resolves.toBe("ok");
    expect(attempts).toBe(2);
  });
});
