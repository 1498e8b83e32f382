/**
 * The bearer pipeline every v3 resource uses, on the shared IonTransport: an access token from the
 * token source, and one refresh-and-retry when Ion refuses the session. Ion documents 403
 * PERMISSION_DENIED (and no 401) for a missing or invalid session, so a 403 is first treated as a dead
 * session; only a 403 to a newly issued access token is an Account ID or rights problem.
 */
import { AxiosInstance } from "axios";

import { Clock } from "../shared/clock";
import { ValidationError } from "../shared/errors";
import { Logger } from "../shared/logger";
import { RetryOptions } from "../shared/retry";
import { DEFAULT_MAX_CONCURRENCY, IonCallKind, IonRequestInfo, IonTransport, RawRequest } from "./transport";

export { DEFAULT_MAX_CONCURRENCY };
export type RequestInfo = IonRequestInfo;

/** Where v3 calls get their bearer token (src/tokens' TokenManager in the product). */
export interface AccessTokenSource {
  getAccessToken(): Promise<string>;
  /** A new access token after Ion refused `rejectedAccessToken` (or another one, if someone already replaced it). */
  forceRefresh(rejectedAccessToken?: string): Promise<string>;
}

export interface IonHttpOptions {
  baseUrl: string;
  accountId: string;
  tokens: AccessTokenSource;
  /** The transport to share with the token exchange; built from the options below when absent. */
  transport?: IonTransport;
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
  /** A page of a cursor chain: it takes the next free slot before the calls already waiting (paging.ts). */
  urgent?: boolean;
}

export class IonHttp {
  readonly baseUrl: string;
  readonly accountId: string;
  readonly tokens: AccessTokenSource;
  readonly transport: IonTransport;

  constructor(options: IonHttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.accountId = String(options.accountId).trim();
    this.tokens = options.tokens;
    this.transport = options.transport ?? new IonTransport(options);
  }

  get retry(): RetryOptions {
    return this.transport.retry;
  }

  get logger(): Logger {
    return this.transport.logger;
  }

  /** The most requests the transport had in flight at once. */
  get peakInFlight(): number {
    return this.transport.peakInFlight;
  }

  /** Requests sent, by templated endpoint (every HTTP attempt counts). */
  counters(): Record<string, number> {
    return this.transport.counters();
  }

  /** GETs sent ahead of their caller (`speculate`), by request: each is taken by the first identical call. */
  private readonly ahead = new Map<string, Promise<unknown>>();

  /**
   * Sends a GET now whose answer the first identical `call` takes (once) instead of sending its own: a run
   * starts its first Ion reads while its own bookkeeping is still being written. A GET changes nothing on
   * Ion's side, so one never taken costs only the call. Anything but a GET is refused.
   */
  speculate(options: CallOptions): void {
    if (options.method !== "GET")
      throw new ValidationError(`Only a GET can be sent ahead of its caller, not ${options.method} ${options.endpoint}.`);
    const key = aheadKey(options);
    if (this.ahead.has(key)) return;
    const answer = this.send(options);
    // Taken (and its failure handled) by the call that asks for it; none may ever ask.
    answer.catch(() => undefined);
    this.ahead.set(key, answer);
  }

  /** GETs sent ahead and not taken yet (what a run that did not ask for them wasted). */
  get speculativeLeft(): number {
    return this.ahead.size;
  }

  /** A v3 call under /api/v3/accounts/{A}; returns the parsed JSON body. */
  async call(options: CallOptions): Promise<unknown> {
    if (options.method === "GET" && this.ahead.size > 0) {
      const key = aheadKey(options);
      const answer = this.ahead.get(key);
      if (answer) {
        this.ahead.delete(key);
        return answer;
      }
    }
    return this.send(options);
  }

  private async send(options: CallOptions): Promise<unknown> {
    const send = {
      method: options.method,
      url: `${this.baseUrl}/api/v3/accounts/${encodeURIComponent(this.accountId)}${options.path}`,
      endpoint: options.endpoint,
      query: options.query,
      data: options.body === undefined ? undefined : JSON.stringify(options.body),
      kind: "v3" as const,
      accountId: this.accountId,
      urgent: options.urgent,
    };
    const headers = (token: string): Record<string, string> => ({
      Authorization: `Bearer ${token}`,
      Accept: "application/json",
      ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
    });
    return this.transport.withPolicy(options.method, options.endpoint, options.idempotent, async (attempt) => {
      const token = await this.tokens.getAccessToken();
      const response = await this.transport.send({ ...send, headers: headers(token) }, attempt);
      if (response.status !== 401 && response.status !== 403) return this.transport.toResult(response, send);
      // A refused session (Ion documents 403 for it; 401 kept for gateways): refresh once and retry once.
      this.transport.logger.info(`Ion ${options.endpoint} answered ${response.status}; refreshing the access token once`);
      const fresh = await this.tokens.forceRefresh(token);
      const again = await this.transport.send({ ...send, headers: headers(fresh) }, attempt);
      return this.transport.toResult(again, { ...send, afterSessionRefresh: true });
    });
  }

  /** A call authenticated otherwise than by the v3 bearer (OAuth validate, v1 Basic), with the same retries. */
  async callRaw(options: {
    method: "GET" | "POST";
    url: string;
    endpoint: string;
    headers: Record<string, string>;
    data?: string;
    query?: RawRequest["params"];
    kind: Exclude<IonCallKind, "v3" | "token">;
  }): Promise<unknown> {
    return this.transport.request({ ...options, idempotent: true });
  }
}

/** The identity of a GET: its path and its query's defined values, in key order. */
function aheadKey(options: CallOptions): string {
  const query = Object.entries(options.query ?? {})
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${options.path}?${JSON.stringify(query)}`;
}
