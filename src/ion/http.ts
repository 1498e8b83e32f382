/**
 * The request pipeline every Ion resource uses: bearer auth with one refresh on 401, the shared retry
 * policy (src/shared/retry.ts), a concurrency limit, typed errors, per-endpoint counters and an
 * `onRequest` hook. Resources pass a templated endpoint ("GET /customers/{id}") for counters and messages.
 */
import { AxiosInstance } from "axios";

import { Clock, systemClock } from "../shared/clock";
import { ConcurrencyLimiter } from "../shared/limiter";
import { Logger, silentLogger } from "../shared/logger";
import { DEFAULT_RETRY, parseRetryAfterMs, RetryOptions, sleep as realSleep, withRetry } from "../shared/retry";
import { classifyIonError, classifyNonIdempotent, ionErrorFromResponse } from "./errors";
import { TokenManager } from "./tokens";
import { createIonAxios, parseJsonBody, RawResponse, sendRaw } from "./transport";

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
  /** Parallel requests at most (default DEFAULT_MAX_CONCURRENCY). */
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
    return this.withPolicy(options.endpoint, options.idempotent, async (attempt) => {
      const token = await this.tokens.getAccessToken();
      let response = await this.send(options, url, token, attempt);
      if (response.status === 401) {
        // The token was refused (revoked, expired early): refresh once and retry once. 403 is never refreshed.
        this.logger.info(`Ion ${options.endpoint} answered 401; refreshing the access token once`);
        const fresh = await this.tokens.forceRefresh(token);
        response = await this.send(options, url, fresh, attempt);
      }
      return this.toResult(response, options.endpoint);
    });
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
    return this.withPolicy(options.endpoint, true, async (attempt) => {
      const response = await this.limited(options.endpoint, options.method, attempt, () =>
        sendRaw(this.http, {
          method: options.method,
          url: options.url,
          headers: options.headers,
          data: options.data,
          params: options.query,
          timeoutMs: this.timeoutMs,
          endpoint: options.endpoint,
        }),
      );
      return this.toResult(response, options.endpoint, options.kind);
    });
  }

  /**
   * The shared retry policy with this client's sleep, jitter and "attempt N of M" logging. Non-idempotent
   * calls are classified so that only failures that provably never reached Ion are repeated.
   */
  private withPolicy<T>(endpoint: string, idempotent: boolean, attemptFn: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(attemptFn, idempotent ? classifyIonError : classifyNonIdempotent, this.retry, idempotent, {
      sleep: this.doSleep,
      random: this.random,
      onRetry: ({ attempt, maxAttempts, delayMs, outcome }) =>
        this.logger.warn(
          `Ion ${endpoint} failed (${outcome.status ?? outcome.networkCode}); retrying, attempt ${attempt + 1} of ${maxAttempts} in ${delayMs} ms`,
          {
            endpoint,
            attempt: attempt + 1,
            maxAttempts,
            delayMs,
          },
        ),
    });
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
