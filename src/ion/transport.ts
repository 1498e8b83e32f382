/**
 * The narrow HTTP seam of the Ion client: one function that sends a request and returns status,
 * headers and the body text, or throws IonNetworkError when no response arrived. Everything above it
 * (auth, retries, error typing, parsing) is transport-independent; tests inject an axios instance.
 */
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

/**
 * Bodies are parsed by us (tolerating non-JSON answers from gateways), every status is an answer, and
 * redirects are not followed. Set on the instance and again per request, since tests inject their own.
 */
const RAW_TEXT_CONFIG = {
  responseType: "text",
  transformResponse: [(data: unknown) => data],
  validateStatus: () => true,
  maxRedirects: 0,
} as const satisfies AxiosRequestConfig;

export function createIonAxios(): AxiosInstance {
  return axios.create(RAW_TEXT_CONFIG);
}

export async function sendRaw(http: AxiosInstance, request: RawRequest): Promise<RawResponse> {
  const config: AxiosRequestConfig = {
    method: request.method,
    url: request.url,
    headers: request.headers,
    params: request.params ? dropUndefined(request.params) : undefined,
    data: request.data,
    timeout: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...RAW_TEXT_CONFIG,
    // The local simulator must never be reached through a proxy.
    ...(isLoopback(request.url) ? { proxy: false as const } : {}),
  };
  try {
    const response = await http.request(config);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(response.headers ?? {})) headers[k.toLowerCase()] = v === undefined || v === null ? undefined : String(v);
    const body = typeof response.data === "string" ? response.data : response.data === undefined || response.data === null ? "" : JSON.stringify(response.data);
    return { status: response.status, headers, body };
  } catch (error) {
    const code = networkCodeOf(error);
    throw new IonNetworkError(`StreamOne Ion ${request.endpoint}: no response (${code}).`, code, { endpoint: request.endpoint, cause: undefined });
  }
}

function dropUndefined(params: Record<string, string | number | boolean | undefined>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
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
