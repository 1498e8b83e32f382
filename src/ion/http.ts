/**
 * The request pipeline every Ion resource uses: bearer auth with one refresh on 401, the shared retry
 * policy (src/shared/retry.ts), a concurrency limit, typed errors, per-endpoint counters and an
 * `onRequest` hook. Resources pass a templated endpoint ("GET /customers/{id}") for counters and messages.
 */
import { AxiosInstance } from "axios";
import { Clock, systemClock } from "../shared/clock";
import { Logger, silentLogger } from "../shared/logger";
import { AttemptOutcome, DEFAULT_RETRY, parseRetryAfterMs, RetryOptions, sleep as realSleep, withRetry } from "../shared/retry";
import { ionErrorFromResponse, IonApiError, IonAuthenticationError, IonNetworkError, IonRateLimitError, IonServerError } from "./errors";
import { ConcurrencyLimiter } from "../shared/limiter";
import { TokenManager } from "./tokens";
import { createIonAxios, NOT_SENT_NETWORK_CODES, parseJsonBody, RawResponse, sendRaw } from "./transport";

export const DEFAULT_MAX_CONCURRENCY = 6;

export interface RequestInfo {
  method: string;
  /** Templated, e.g. "GET /customers/{id}/cloudProfiles". */
  endpoint: string;
  status?: number;
  attempt: number;
  durationMs: number;
}

export interface IonHttpOptions {
  baseUrl: string;
  accountId: string;
  tokens: TokenManager;
  retry?: Partial<RetryOptions>;
  logger?: Logger;
  timeoutMs?: number;
  maxConcurrency?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  clock?: Clock;
  http?: AxiosInstance;
  onRequest?: (info: RequestInfo) => void;
}

export type QueryParams = Record<string, string | number | boolean | undefined>;

export interface CallOptions {
  method: "GET" | "POST" | "PUT";
  /** Path under /api/v3/accounts/{A}, e.g. `/customers/${id}`. */
  path: string;
  /** Templated label, e.g. "GET /customers/{id}". */
  endpoint: string;
  query?: QueryParams;
  body?: unknown;
  /**
   * Safe to repeat (GET, full-replacement PUT). Non-idempotent calls (order and customer POSTs) are
   * retried only when the connection was refused, i.e. the request provably never reached Ion.
   */
  idempotent: boolean;
}

/** Classifies a thrown error for the shared retry policy. */
export function classifyIonError(error: unknown): AttemptOutcome {
  if (error instanceof IonNetworkError) return { networkCode: error.networkCode };
  if (error instanceof IonRateLimitError) return { status: 429, retryAfterMs: error.retryAfterMs };
  if (error instanceof IonServerError) return { status: error.statusCode, retryAfterMs: error.retryAfterMs };
  if (error instanceof IonApiError) return { status: error.statusCode ?? 0 };
  // Not an HTTP outcome (a bug or a parse failure): status 0 is never retried.
  return { status: 0 };
}

/** For calls that must never be blindly repeated: only "connection refused"-type failures stay retryable. */
export function classifyNonIdempotent(error: unknown): AttemptOutcome {
  if (error instanceof IonNetworkError && NOT_SENT_NETWORK_CODES.has(error.networkCode)) return { networkCode: error.networkCode };
  return { status: 0 };
}

export class IonHttp {
  readonly baseUrl: string;
  readonly accountId: string;
  readonly tokens: TokenManager;
  readonly retry: RetryOptions;
  readonly logger: Logger;
  readonly limiter: ConcurrencyLimiter;
  private readonly timeoutMs?: number;
  private readonly doSleep: (ms: number) => Promise<void>;
  private readonly random?: () => number;
  private readonly clock: Clock;
  private readonly http: AxiosInstance;
  private readonly onRequest?: (info: RequestInfo) => void;
  private readonly counts = new Map<string, number>();

  constructor(options: IonHttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.accountId = String(options.accountId).trim();
    this.tokens = options.tokens;
    this.retry = { ...DEFAULT_RETRY, ...(options.retry ?? {}) };
    this.logger = options.logger ?? silentLogger;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
    this.timeoutMs = options.timeoutMs;
    this.doSleep = options.sleep ?? realSleep;
    this.random = options.random;
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? createIonAxios();
    this.onRequest = options.onRequest;
  }

  /** Requests sent, by templated endpoint (every HTTP attempt counts). */
  counters(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** A v3 call under /api/v3/accounts/{A}; returns the parsed JSON body. */
  async call(options: CallOptions): Promise<unknown> {
    const url = `${this.baseUrl}/api/v3/accounts/${encodeURIComponent(this.accountId)}${options.path}`;
    return withRetry(
      async (attempt) => {
        const token = await this.tokens.getAccessToken();
        let response = await this.send(options, url, token, attempt);
        if (response.status === 401) {
          // The token was refused (revoked, expired early): refresh once and retry once. 403 is never refreshed.
          this.logger.info(`Ion ${options.endpoint} answered 401; refreshing the access token once`);
          const fresh = await this.tokens.forceRefresh(token);
          response = await this.send(options, url, fresh, attempt);
        }
        return this.toResult(response, options.endpoint);
      },
      options.idempotent ? classifyIonError : classifyNonIdempotent,
      this.retry,
      options.idempotent,
      {
        sleep: this.doSleep,
        random: this.random,
        onRetry: ({ attempt, maxAttempts, delayMs, outcome }) =>
          this.logger.warn(`Ion ${options.endpoint} failed (${outcome.status ?? outcome.networkCode}); retrying, attempt ${attempt + 1} of ${maxAttempts} in ${delayMs} ms`, {
            endpoint: options.endpoint,
            attempt: attempt + 1,
            maxAttempts,
            delayMs,
          }),
      },
    );
  }

  /** An unauthenticated-by-bearer call to an absolute path (OAuth validate, v1), with the same retries. */
  async callRaw(options: {
    method: "GET" | "POST";
    url: string;
    endpoint: string;
    headers: Record<string, string>;
    data?: string;
    query?: QueryParams;
    kind: "validate" | "v1";
  }): Promise<unknown> {
    return withRetry(
      async (attempt) => {
        const response = await this.limited(options.endpoint, options.method, attempt, () =>
          sendRaw(this.http, { method: options.method, url: options.url, headers: options.headers, data: options.data, params: options.query, timeoutMs: this.timeoutMs, endpoint: options.endpoint }),
        );
        return this.toResult(response, options.endpoint, options.kind);
      },
      classifyIonError,
      this.retry,
      true,
      { sleep: this.doSleep, random: this.random },
    );
  }

  private send(options: CallOptions, url: string, token: string, attempt: number): Promise<RawResponse> {
    return this.limited(options.endpoint, options.method, attempt, () =>
      sendRaw(this.http, {
        method: options.method,
        url,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: "application/json",
          ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
        },
        params: options.query,
        data: options.body === undefined ? undefined : JSON.stringify(options.body),
        timeoutMs: this.timeoutMs,
        endpoint: options.endpoint,
      }),
    );
  }

  private async limited(endpoint: string, method: string, attempt: number, work: () => Promise<RawResponse>): Promise<RawResponse> {
    return this.limiter.run(async () => {
      this.counts.set(endpoint, (this.counts.get(endpoint) ?? 0) + 1);
      const started = this.clock.now();
      let status: number | undefined;
      try {
        const response = await work();
        status = response.status;
        return response;
      } finally {
        this.onRequest?.({ method, endpoint, status, attempt, durationMs: Math.max(0, this.clock.now() - started) });
      }
    });
  }

  private toResult(response: RawResponse, endpoint: string, kind: "v3" | "validate" | "v1" = "v3"): unknown {
    const body = parseJsonBody(response.body);
    if (response.status >= 200 && response.status < 300) return body;
    const retryAfterMs = parseRetryAfterMs(response.headers["retry-after"], this.clock.now());
    throw ionErrorFromResponse(response.status, body ?? response.body, { endpoint, accountId: this.accountId, kind, retryAfterMs });
  }
}

export function isAuthError(error: unknown): error is IonAuthenticationError {
  return error instanceof IonAuthenticationError;
}
