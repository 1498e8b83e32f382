/**
 * The narrow HTTP seam of the Ion client: one function that sends a request and returns status,
 * headers and the body text, or throws IonNetworkError when no response arrived. Everything above it
 * (auth, retries, error typing, parsing) is transport-independent; tests inject an axios instance.
 */
import * as http from "node:http";
import * as https from "node:https";

import axios, { AxiosInstance, AxiosRequestConfig } from "axios";

import { networkCodeOf } from "../shared/retry";
import { IonNetworkError } from "./errors";

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

export async function sendRaw(client: AxiosInstance, request: RawRequest): Promise<RawResponse> {
  const config: AxiosRequestConfig = {
    method: request.method,
    url: request.url,
    headers: request.headers,
    params: request.params ? dropUndefined(request.params) : undefined,
    data: request.data,
    timeout: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  if (!preparedInstances.has(client)) Object.assign(config, RAW_TEXT_CONFIG);
  // The local simulator must never be reached through a proxy.
  if (isLoopbackCached(request.url)) config.proxy = false;
  try {
    const response = await client.request(config);
    const headers: Record<string, string | undefined> = {};
    const received = (response.headers ?? {}) as Record<string, unknown>;
    for (const k in received) {
      if (!Object.prototype.hasOwnProperty.call(received, k)) continue;
      const v = received[k];
      headers[k.toLowerCase()] = v === undefined || v === null ? undefined : String(v);
    }
    const body =
      typeof response.data === "string"
        ? response.data
        : response.data === undefined || response.data === null
          ? ""
          : JSON.stringify(response.data);
    return { status: response.status, headers, body };
  } catch (error) {
    const code = networkCodeOf(error);
    throw new IonNetworkError(`StreamOne Ion ${request.endpoint}: no response (${code}).`, code, {
      endpoint: request.endpoint,
      cause: undefined,
    });
  }
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
