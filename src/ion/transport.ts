/**
 * The Ion HTTP transport: one request's axios config (`ionAxiosConfig`) sent on the process's Ion I/O thread
 * (ioThread.ts) or inline (`sendRaw`), answered with status, headers and body text, or IonNetworkError when no
 * response arrived; `IonTransport` puts every Ion request (v3, v1, OAuth validate and the token exchange)
 * through the one retry policy, a concurrency cap, counters and the typed-error factory. Tests inject an axios
 * instance (which sends inline).
 */
import * as http from "node:http";
import * as https from "node:https";

import axios, { AxiosInstance, AxiosRequestConfig } from "axios";

import { Clock, systemClock } from "../shared/clock";
import { ConcurrencyLimiter } from "../shared/limiter";
import { Logger, silentLogger } from "../shared/logger";
import {
  DEFAULT_RETRY,
  delayBeforeRetryMs,
  networkCodeOf,
  parseRetryAfterMs,
  RetryOptions,
  sleep as realSleep,
  withRetry,
} from "../shared/retry";
import { classifyIonError, classifyNonIdempotent, ionErrorFromResponse, IonNetworkError } from "./errors";
import { IO_THREAD_STOPPED, IonIoThread, type ThreadAnswer, type ThreadRequestConfig } from "./ioThread";

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface RawResponse {
  status: number;
  headers: Record<string, string | undefined>;
  /** Body text; parse with parseJsonBody. */
  body: string;
}

export interface RawRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  params?: Record<string, string | number | boolean | undefined>;
  /** A string (sent as is) or an object (sent as JSON). */
  data?: unknown;
  timeoutMs?: number;
  /** Templated endpoint for messages. */
  endpoint: string;
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "127.0.0.1" || host === "localhost" || host === "::1" || host === "[::1]";
  } catch {
    return false;
  }
}

/** isLoopback by scheme and authority (all a hostname depends on): a client talks to one or two hosts. */
const loopbackByOrigin = new Map<string, boolean>();
const MAX_REMEMBERED_ORIGINS = 64;

function isLoopbackCached(url: string): boolean {
  const schemeEnd = url.indexOf("//");
  const pathStart = schemeEnd < 0 ? -1 : url.indexOf("/", schemeEnd + 2);
  if (pathStart < 0) return isLoopback(url);
  const origin = url.slice(0, pathStart);
  let known = loopbackByOrigin.get(origin);
  if (known === undefined) {
    if (loopbackByOrigin.size >= MAX_REMEMBERED_ORIGINS) loopbackByOrigin.clear();
    known = isLoopback(origin);
    loopbackByOrigin.set(origin, known);
  }
  return known;
}

/**
 * Bodies are parsed by us (tolerating non-JSON answers from gateways), every status is an answer, and
 * redirects are not followed. Set on the instance, and again per request on an injected instance.
 */
const RAW_TEXT_CONFIG = {
  responseType: "text",
  transformResponse: [(data: unknown) => data],
  validateStatus: () => true,
  maxRedirects: 0,
} as const satisfies AxiosRequestConfig;

/**
 * axios turns TCP keep-alive on with a 60 s delay on every request's socket, and Node's agent sets its
 * own delay (1 s by default) back when the socket returns to the pool: eight setsockopt calls per
 * request. Agents whose delay matches axios's make both calls no-ops. The other options are those of
 * Node's global agents, which these replace.
 */
const AXIOS_SOCKET_KEEPALIVE_MS = 60_000;
const AGENT_OPTIONS = {
  keepAlive: true,
  keepAliveMsecs: AXIOS_SOCKET_KEEPALIVE_MS,
  scheduling: "lifo",
  timeout: 5_000,
} as const satisfies http.AgentOptions;

/** Instances made by createIonAxios: RAW_TEXT_CONFIG is already their default, so requests need not repeat it. */
const preparedInstances = new WeakSet<AxiosInstance>();

export function createIonAxios(): AxiosInstance {
  const instance = axios.create({
    ...RAW_TEXT_CONFIG,
    httpAgent: new http.Agent(AGENT_OPTIONS),
    httpsAgent: new https.Agent(AGENT_OPTIONS),
  });
  preparedInstances.add(instance);
  return instance;
}

/** The axios config of a request (plain data: the I/O thread sends the same one). */
export function ionAxiosConfig(request: RawRequest): ThreadRequestConfig {
  const config: ThreadRequestConfig = {
    method: request.method,
    url: request.url,
    headers: request.headers,
    params: request.params ? dropUndefined(request.params) : undefined,
    data: request.data,
    timeout: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  // The local simulator must never be reached through a proxy.
  if (isLoopbackCached(request.url)) config.proxy = false;
  return config;
}

/** Status, headers (lower-case names, string values) and body text of an answer as axios gives them. */
function rawResponseOf(status: number, received: Record<string, unknown>, data: unknown): RawResponse {
  const headers: Record<string, string | undefined> = {};
  for (const k in received) {
    if (!Object.prototype.hasOwnProperty.call(received, k)) continue;
    const v = received[k];
    headers[k.toLowerCase()] = v === undefined || v === null ? undefined : String(v);
  }
  const body = typeof data === "string" ? data : data === undefined || data === null ? "" : JSON.stringify(data);
  return { status, headers, body };
}

function noResponse(request: RawRequest, error: unknown): IonNetworkError {
  const code = networkCodeOf(error);
  // A stopped I/O thread says why (a module that failed to load, memory): that is what an operator must fix.
  const why = code === IO_THREAD_STOPPED && error instanceof Error ? `: ${error.message}` : "";
  return new IonNetworkError(`StreamOne Ion ${request.endpoint}: no response (${code}${why}).`, code, {
    endpoint: request.endpoint,
    cause: undefined,
  });
}

export async function sendRaw(client: AxiosInstance, request: RawRequest): Promise<RawResponse> {
  const config: AxiosRequestConfig = ionAxiosConfig(request);
  if (!preparedInstances.has(client)) Object.assign(config, RAW_TEXT_CONFIG);
  try {
    const response = await client.request(config);
    return rawResponseOf(response.status, (response.headers ?? {}) as Record<string, unknown>, response.data);
  } catch (error) {
    throw noResponse(request, error);
  }
}

/**
 * Starts the process's Ion I/O thread now rather than on the first request (a long-lived app at its start, so
 * that a run's first Ion calls do not wait for a thread to boot).
 */
export function startIonIoThread(): void {
  IonIoThread.shared(AGENT_OPTIONS);
}

/** One request on the process's Ion I/O thread (ioThread.ts), in `lane` under its cap `max`. */
async function sendOnThread(
  lane: number,
  max: number,
  urgent: boolean,
  request: RawRequest,
): Promise<RawResponse & { ms: number; peak: number }> {
  let answer: ThreadAnswer;
  try {
    answer = await IonIoThread.shared(AGENT_OPTIONS).send(lane, max, urgent, ionAxiosConfig(request));
  } catch (error) {
    throw noResponse(request, error);
  }
  return { ...rawResponseOf(answer.status, answer.headers, decodeBody(answer.body)), ms: answer.ms, peak: answer.peak };
}

/** A body's bytes as axios makes them text for `responseType: "text"`: UTF-8, a leading byte-order mark dropped. */
function decodeBody(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function dropUndefined(params: Record<string, string | number | boolean | undefined>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k in params) {
    if (!Object.prototype.hasOwnProperty.call(params, k)) continue;
    const v = params[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Parses a JSON body; undefined for empty or non-JSON text. */
export function parseJsonBody(body: string): unknown {
  const t = body.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

export type IonCallKind = "v3" | "token" | "validate" | "v1";

export interface IonRequestInfo {
  method: string;
  /** Templated, e.g. "GET /customers/{id}/cloudProfiles". */
  endpoint: string;
  status?: number;
  attempt: number;
  durationMs: number;
}

export interface IonTransportOptions {
  retry?: Partial<RetryOptions>;
  logger?: Logger;
  /** Per-request timeout (default DEFAULT_TIMEOUT_MS); token exchanges included. */
  timeoutMs?: number;
  /** Parallel requests at most. */
  maxConcurrency?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  clock?: Clock;
  /** An axios instance to send with (tests inject faults this way); implies `io: "inline"`. */
  http?: AxiosInstance;
  /**
   * Where the HTTP exchanges run: "thread" (the default without `http`) on the process's Ion I/O thread
   * (ioThread.ts: the cap and the queue there, so a slot passes on the moment an answer arrives), "inline"
   * on the caller's thread through axios and this transport's limiter.
   */
  io?: "thread" | "inline";
  onRequest?: (info: IonRequestInfo) => void;
  /** Called when a request waits before it is sent because this transport was answered 429 (its Retry-After). */
  onThrottleWait?: (info: { delayMs: number }) => void;
}

export interface IonSendOptions {
  method: RawRequest["method"];
  url: string;
  /** Templated label, e.g. "GET /customers/{id}" or "POST /oauth/token". */
  endpoint: string;
  headers: Record<string, string>;
  query?: RawRequest["params"];
  data?: string;
  kind: IonCallKind;
  accountId?: string;
  /** Takes the next free slot before the calls already waiting (a page of a cursor chain). */
  urgent?: boolean;
}

/** Default parallel requests of one transport. */
export const DEFAULT_MAX_CONCURRENCY = 6;

/**
 * Every request to Ion, the token exchange included, goes out here: axios through `sendRaw`, the one
 * retry policy (src/shared/retry.ts), a concurrency limit, per-endpoint counters and the typed-error
 * factory. GETs are repeated on 500 too, which Ion documents as "services down"; calls that are not
 * idempotent are repeated only when the request provably never reached Ion.
 */
export class IonTransport {
  readonly retry: RetryOptions;
  readonly logger: Logger;
  private readonly limiter: ConcurrencyLimiter;
  /** This transport's lane on the Ion I/O thread; undefined when it sends inline. */
  private readonly lane: number | undefined;
  private threadPeak = 0;
  readonly timeoutMs: number;
  private readonly doSleep: (ms: number) => Promise<void>;
  private readonly random?: () => number;
  private readonly clock: Clock;
  /** The axios instance of the inline path (none when the exchanges run on the I/O thread). */
  private readonly http: AxiosInstance | undefined;
  private readonly onRequest?: (info: IonRequestInfo) => void;
  private readonly counts = new Map<string, number>();
  private readonly onThrottleWait?: (info: { delayMs: number }) => void;
  private throttledUntil = 0;
  private throttledCount = 0;

  constructor(options: IonTransportOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...(options.retry ?? {}) };
    this.logger = options.logger ?? silentLogger;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.doSleep = options.sleep ?? realSleep;
    this.random = options.random;
    this.clock = options.clock ?? systemClock;
    this.lane = (options.io ?? (options.http ? "inline" : "thread")) === "thread" ? IonIoThread.newLane() : undefined;
    this.http = this.lane === undefined ? (options.http ?? createIonAxios()) : undefined;
    this.onRequest = options.onRequest;
    this.onThrottleWait = options.onThrottleWait;
  }

  /** The most requests this transport had in flight at once (tests assert the cap holds). */
  get peakInFlight(): number {
    return this.lane === undefined ? this.limiter.peakInFlight : this.threadPeak;
  }

  /** 429s this transport received. */
  get throttled(): number {
    return this.throttledCount;
  }

  /** Requests sent, by templated endpoint (every HTTP attempt counts). */
  counters(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** One request under the retry policy; the parsed JSON body of a 2xx, else the typed error. */
  request(options: IonSendOptions & { idempotent: boolean }): Promise<unknown> {
    return this.withPolicy(options.method, options.endpoint, options.idempotent, async (attempt) =>
      this.toResult(await this.send(options, attempt), options),
    );
  }

  /**
   * The retry policy around `attemptFn` (which sends with `send` and types with `toResult`), for callers
   * that do more than one send per attempt (a bearer call refreshed once after a refused session).
   */
  withPolicy<T>(method: string, endpoint: string, idempotent: boolean, attemptFn: (attempt: number) => Promise<T>): Promise<T> {
    const options: RetryOptions = method === "GET" ? { ...this.retry, retryInternalErrors: true } : this.retry;
    // A first attempt waits out a Retry-After this transport (this Ion account) was given, instead of adding to
    // the load Ion just refused; retries wait their own delay inside withRetry.
    const gated = async (attempt: number): Promise<T> => {
      if (attempt === 1) await this.waitForThrottleGate();
      return attemptFn(attempt);
    };
    return withRetry(gated, idempotent ? classifyIonError : classifyNonIdempotent, options, idempotent, {
      sleep: this.doSleep,
      random: this.random,
      onRetry: ({ attempt, maxAttempts, delayMs, outcome }) =>
        this.logger.warn(
          `Ion ${endpoint} failed (${outcome.status ?? outcome.networkCode}); retrying, attempt ${attempt + 1} of ${maxAttempts} in ${delayMs} ms`,
          { endpoint, attempt: attempt + 1, maxAttempts, delayMs },
        ),
    });
  }

  /** One HTTP exchange under this transport's cap (counted, reported to onRequest); every status is an answer. */
  send(options: IonSendOptions, attempt: number): Promise<RawResponse> {
    // On the thread the cap is the thread's (its lane); inline, this transport's limiter holds it.
    if (this.lane !== undefined) return this.exchange(options, attempt);
    return this.limiter.run(() => this.exchange(options, attempt), options.urgent);
  }

  private async exchange(options: IonSendOptions, attempt: number): Promise<RawResponse> {
    this.counts.set(options.endpoint, (this.counts.get(options.endpoint) ?? 0) + 1);
    const started = this.clock.now();
    let status: number | undefined;
    let durationMs: number | undefined;
    try {
      const request: RawRequest = {
        method: options.method,
        url: options.url,
        headers: options.headers,
        params: options.query,
        data: options.data,
        timeoutMs: this.timeoutMs,
        endpoint: options.endpoint,
      };
      let response: RawResponse;
      if (this.lane === undefined) response = await sendRaw(this.http!, request);
      else {
        const answer = await sendOnThread(this.lane, this.limiter.max, options.urgent ?? false, request);
        this.threadPeak = Math.max(this.threadPeak, answer.peak);
        // In flight from when the thread sent it (time queued for a slot is not the call's).
        durationMs = answer.ms;
        response = { status: answer.status, headers: answer.headers, body: answer.body };
      }
      status = response.status;
      if (response.status === 429) {
        this.throttledCount++;
        const retryAfterMs = parseRetryAfterMs(response.headers["retry-after"], this.clock.now());
        const delayMs = delayBeforeRetryMs({ status: 429, retryAfterMs }, attempt, this.retry, this.random);
        this.throttledUntil = Math.max(this.throttledUntil, this.clock.now() + delayMs);
      }
      return response;
    } finally {
      this.onRequest?.({
        method: options.method,
        endpoint: options.endpoint,
        status,
        attempt,
        durationMs: durationMs ?? Math.max(0, this.clock.now() - started),
      });
    }
  }

  private async waitForThrottleGate(): Promise<void> {
    const wait = this.throttledUntil - this.clock.now();
    if (wait > 0) {
      this.onThrottleWait?.({ delayMs: wait });
      await this.doSleep(wait);
    }
  }

  /** A 2xx's parsed body, or the typed error for the status. */
  toResult(
    response: RawResponse,
    options: Pick<IonSendOptions, "endpoint" | "kind" | "accountId"> & { afterSessionRefresh?: boolean },
  ): unknown {
    const body = parseJsonBody(response.body);
    if (response.status >= 200 && response.status < 300) return body;
    const retryAfterMs = parseRetryAfterMs(response.headers["retry-after"], this.clock.now());
    throw ionErrorFromResponse(response.status, body ?? response.body, {
      endpoint: options.endpoint,
      accountId: options.accountId,
      kind: options.kind,
      retryAfterMs,
      afterSessionRefresh: options.afterSessionRefresh,
    });
  }
}
