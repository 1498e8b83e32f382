/**
 * The narrow HTTP seam of the Ion client: one function that sends a request and returns status,
 * headers and the body text, or throws IonNetworkError when no response arrived. Everything above it
 * (auth, retries, error typing, parsing) is transport-independent; tests inject an axios instance.
 */
import axios, { AxiosInstance, AxiosRequestConfig } from "axios";
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

export function createIonAxios(): AxiosInstance {
  return axios.create({
    // Bodies are parsed by us, tolerating non-JSON answers from gateways.
    responseType: "text",
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
  });
}

export async function sendRaw(http: AxiosInstance, request: RawRequest): Promise<RawResponse> {
  const config: AxiosRequestConfig = {
    method: request.method,
    url: request.url,
    headers: request.headers,
    params: request.params ? dropUndefined(request.params) : undefined,
    data: request.data,
    timeout: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    responseType: "text",
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
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

/** axios/Node error → a stable code (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...). */
export function networkCodeOf(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown }; message?: unknown };
  if (typeof e?.code === "string" && e.code) {
    // axios reports its own timeout as ECONNABORTED; name it for what it is.
    if (e.code === "ECONNABORTED" && typeof e.message === "string" && /timeout/i.test(e.message)) return "ETIMEDOUT";
    return e.code;
  }
  if (typeof e?.cause?.code === "string") return e.cause.code;
  return "ERR_NETWORK";
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

/** Network codes where the request provably never reached the server application. */
export const NOT_SENT_NETWORK_CODES: ReadonlySet<string> = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
