/**
 * The one retry policy of the product; the Ion and Dataverse clients both call it, nothing else retries HTTP.
 *
 * - `shouldRetry` decides whether a failed attempt is tried again: network errors, 429, and 502/503/504;
 *   500 only where the caller says the service documents it as transient (`retryInternalErrors`: Ion calls 500
 *   "services down"; Dataverse answers it for faults a retry does not cure) and only for idempotent calls; never
 *   another 4xx; never past `maxAttempts`. A call that is not idempotent (Ion order and customer POSTs) passes
 *   `idempotent: false` and is retried only where the server provably did no work:
 *   a connection never made, a 429, or a 503 that carries Retry-After.
 * - `delayBeforeRetryMs` picks the wait: the server's Retry-After (`parseRetryAfterMs`: delta-seconds or an
 *   HTTP date), capped at `maxRetryAfterMs`; otherwise `backoffMs`, exponential with full jitter, uniform
 *   in [base, min(maxDelayMs, base * 2^(attempt-1))].
 * - `withRetry` runs an attempt function under these rules and rethrows the last error unchanged.
 * Rules and sources: src/shared/README.md (Retry policy).
 */
export interface RetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound for a server-provided Retry-After; longer waits fail instead of hanging a run. */
  maxRetryAfterMs: number;
  /** Retry 500 on idempotent calls (a service that documents 500 as an outage). Default false. */
  retryInternalErrors?: boolean;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 5 * 60_000,
};

export interface AttemptOutcome {
  /** HTTP status when a response arrived. */
  status?: number;
  /** Node/axios error code when no response arrived (ECONNRESET, ETIMEDOUT, ECONNREFUSED...). */
  networkCode?: string;
  /** Parsed Retry-After, in ms, when the response carried one. */
  retryAfterMs?: number;
}

/** Network failures where the request certainly never reached the server application. */
export const NOT_SENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
/** Network failures where the request may or may not have been processed. */
const AMBIGUOUS_CODES = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EPIPE",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "UND_ERR_SOCKET",
  "ERR_NETWORK",
  "ERR_BAD_RESPONSE",
]);

/**
 * A failed request's Node/axios/fetch error → a stable network code (ECONNREFUSED, ECONNRESET,
 * ETIMEDOUT...). fetch puts the code on `cause`, so the cause chain is walked a few levels.
 */
export function networkCodeOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === "object"; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string" && code) {
      // axios reports its own timeout as ECONNABORTED; name it for what it is.
      if (code === "ECONNABORTED" && typeof message === "string" && /timeout/i.test(message)) return "ETIMEDOUT";
      return code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return "ERR_NETWORK";
}

export function shouldRetry(outcome: AttemptOutcome, attempt: number, options: RetryOptions, idempotent: boolean): boolean {
  if (attempt >= options.maxAttempts) return false;
  if (outcome.status === undefined) {
    const code = outcome.networkCode ?? "";
    if (NOT_SENT_NETWORK_CODES.has(code)) return true;
    if (AMBIGUOUS_CODES.has(code) || code === "") return idempotent;
    return idempotent;
  }
  const s = outcome.status;
  if (s === 429) return true; // throttled: the server did not do the work
  if (s === 503) return idempotent || outcome.retryAfterMs !== undefined;
  if (s === 502 || s === 504) return idempotent;
  if (s === 500) return idempotent && options.retryInternalErrors === true;
  return false;
}

/** Exponential backoff with full jitter: uniform in [base, min(cap, base*2^(attempt-1))]. */
export function backoffMs(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = options.baseDelayMs + random() * Math.max(0, exp - options.baseDelayMs);
  return Math.round(Math.min(options.maxDelayMs, Math.max(options.baseDelayMs, jittered)));
}

/** Retry-After is either delta-seconds or an HTTP date. Returns undefined when absent or unparsable. */
export function parseRetryAfterMs(header: string | number | undefined | null, now: number = Date.now()): number | undefined {
  if (header === undefined || header === null || header === "") return undefined;
  const text = String(header).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(parseFloat(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before the next attempt: Retry-After when given (capped), else backoff. */
export function delayBeforeRetryMs(outcome: AttemptOutcome, attempt: number, options: RetryOptions, random?: () => number): number {
  if (outcome.retryAfterMs !== undefined) return Math.min(outcome.retryAfterMs, options.maxRetryAfterMs);
  return backoffMs(attempt, options, random);
}

export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each retry; for logging "attempt N of M". */
  onRetry?: (info: { attempt: number; maxAttempts: number; delayMs: number; outcome: AttemptOutcome }) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attemptFn` until it succeeds or the policy says stop. `classify` turns a thrown error into an
 * AttemptOutcome (status / network code / Retry-After). The last error is rethrown unchanged.
 */
export async function withRetry<T>(
  attemptFn: (attempt: number) => Promise<T>,
  classify: (error: unknown) => AttemptOutcome,
  options: RetryOptions,
  idempotent: boolean,
  hooks: RetryHooks = {},
): Promise<T> {
  const doSleep = hooks.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptFn(attempt);
    } catch (error) {
      const outcome = classify(error);
      if (!shouldRetry(outcome, attempt, options, idempotent)) throw error;
      const delayMs = delayBeforeRetryMs(outcome, attempt, options, hooks.random);
      hooks.onRetry?.({ attempt, maxAttempts: options.maxAttempts, delayMs, outcome });
      await doSleep(delayMs);
    }
  }
}
