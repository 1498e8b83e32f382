// Sorts a failed Web API or custom API call into what the admin can act on. Transport failures (the browser could not
// reach the service, a gateway answered 502/503/504, the call timed out) and throttling say "try again"; a missing
// privilege says who can help; anything else keeps the service's own message, which names the record or value.

export type FailureKind = "network" | "busy" | "permission" | "other";

export interface Failure {
  readonly kind: FailureKind;
  /** The message to show when the kind has no better wording of its own. */
  readonly message: string;
  /** The technical text (status, code, original message) for the disclosure; never a secret (the UI never holds one). */
  readonly detail: string;
}

const NETWORK_PATTERNS = [
  /failed to fetch/i,
  /networkerror/i,
  /network request failed/i,
  /load failed/i,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT/,
  /timed? ?out/i,
];

export function classifyFailure(error: unknown): Failure {
  const e = (error ?? {}) as { message?: unknown; status?: unknown; code?: unknown; name?: unknown; errorCode?: unknown };
  const message = typeof e.message === "string" && e.message ? e.message : String(error);
  const status = typeof e.status === "number" ? e.status : undefined;
  const code = typeof e.code === "string" ? e.code : typeof e.errorCode === "number" ? `0x${e.errorCode.toString(16)}` : "";
  const detail = [status !== undefined ? `HTTP ${status}` : "", code, message].filter(Boolean).join(" · ");
  if (status === 429) return { kind: "busy", message, detail };
  if (status === 502 || status === 503 || status === 504 || status === 0) return { kind: "network", message, detail };
  if (status === 401 || status === 403) return { kind: "permission", message, detail };
  if (status === undefined && (e.name === "TypeError" || NETWORK_PATTERNS.some((p) => p.test(message)))) {
    return { kind: "network", message, detail };
  }
  return { kind: "other", message, detail: detail === message ? "" : detail };
}
