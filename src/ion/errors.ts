/**
 * Typed errors of the StreamOne Ion client, chosen by one factory (`ionErrorFromResponse`) from the
 * HTTP status and Ion's error body (docs/platform/ion-api.md §6). Messages are for admins; they never carry a token
 * or secret (everything passes through `redact`), and `raw` holds the redacted body.
 */
import { ConnectorError, ConnectorErrorOptions } from "../shared/errors";
import { redact, redactValue } from "../shared/redact";
import { AttemptOutcome, NOT_SENT_NETWORK_CODES } from "../shared/retry";

export interface IonErrorOptions extends ConnectorErrorOptions {
  /** Ion's canonical `error` string (NOT_FOUND, PERMISSION_DENIED, ...). */
  ionError?: string;
  /** Templated endpoint of the failing call, e.g. "GET /customers/{id}". */
  endpoint?: string;
}

export class IonApiError extends ConnectorError {
  readonly ionError?: string;
  readonly endpoint?: string;
  constructor(code: string, message: string, options: IonErrorOptions = {}) {
    super(code, redact(message), { ...options, hint: options.hint === undefined ? undefined : redact(options.hint) });
    this.ionError = options.ionError;
    this.endpoint = options.endpoint;
  }
}

export const REQUEST_NEW_CREDENTIALS_INSTRUCTION =
  "An Ion admin must open the StreamOne Ion portal → Settings → Users → the integration user → Request New Credentials, " +
  "then paste the new Refresh Token into the connector.";

/** The refresh token was refused (ION_REFRESH_TOKEN_REJECTED) or an access token was refused (ION_ACCESS_TOKEN_REJECTED). */
export class IonAuthenticationError extends IonApiError {}

/** 403 PERMISSION_DENIED: wrong Account ID for these credentials, or a role without access. Never refreshed. */
export class IonPermissionError extends IonApiError {}

export interface IonFieldError {
  code?: string;
  detail?: string;
}

/** 400 INVALID_REQUEST / INVALID_ARGUMENT, the order-validation variant (code 3, COMM-VL-00x) and 412 CUS-CR-00x. */
export class IonValidationError extends IonApiError {
  readonly errors: IonFieldError[];
  constructor(code: string, message: string, errors: IonFieldError[], options: IonErrorOptions = {}) {
    super(code, message, options);
    this.errors = errors;
  }
  /** True when Ion reported this specific code, e.g. "CUS-CR-001" (duplicate email) or "COMM-VL-003". */
  hasErrorCode(code: string): boolean {
    return this.errors.some((e) => e.code === code);
  }
}

export class IonNotFoundError extends IonApiError {}
export class IonConflictError extends IonApiError {}

export class IonRateLimitError extends IonApiError {
  readonly retryAfterMs?: number;
  constructor(message: string, retryAfterMs: number | undefined, options: IonErrorOptions = {}) {
    super("ION_RATE_LIMITED", message, { ...options, retryable: true });
    this.retryAfterMs = retryAfterMs;
  }
}

export class IonServerError extends IonApiError {
  readonly retryAfterMs?: number;
  constructor(message: string, retryAfterMs: number | undefined, options: IonErrorOptions = {}) {
    super("ION_SERVER_ERROR", message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** No HTTP response arrived (refused, reset, timed out). `networkCode` is Node's/axios' code. */
export class IonNetworkError extends IonApiError {
  readonly networkCode: string;
  constructor(message: string, networkCode: string, options: IonErrorOptions = {}) {
    super("ION_NETWORK", message, options);
    this.networkCode = networkCode;
  }
}

/** The v1 API (HTTP Basic with API Key / API Secret) refused the key pair. */
export class IonV1AuthError extends IonApiError {
  constructor(message: string, options: IonErrorOptions = {}) {
    super("ION_V1_UNAUTHORIZED", message, options);
  }
}

/** Ion issued a new refresh token but the token store could not persist it. */
export class IonTokenSaveError extends IonApiError {
  constructor(message: string, options: IonErrorOptions = {}) {
    super("ION_TOKEN_SAVE_FAILED", message, options);
  }
}

/** A 2xx answer whose body is not what the API documents, or a paging loop. */
export class IonResponseError extends IonApiError {}

/** The parsed pieces of Ion's error body `{error, message, code, details:[...]}`; every field optional. */
export interface ParsedIonErrorBody {
  error?: string;
  message?: string;
  code?: number | string;
  requestId?: string;
  errors: IonFieldError[];
}

/** Tolerant parse: JSON object, JSON text, or any other text (kept as `message`). */
export function parseIonErrorBody(body: unknown): ParsedIonErrorBody {
  let value: unknown = body;
  if (typeof body === "string") {
    const text = body.trim();
    try {
      value = text ? JSON.parse(text) : undefined;
    } catch {
      return { message: text.slice(0, 300), errors: [] };
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { errors: [] };
  const obj = value as Record<string, unknown>;
  const out: ParsedIonErrorBody = { errors: [] };
  if (typeof obj.error === "string") out.error = obj.error;
  else if (obj.error && typeof obj.error === "object") {
    // Some gateways nest {error:{code,message}}.
    const nested = obj.error as Record<string, unknown>;
    if (typeof nested.code === "string") out.error = nested.code;
    if (typeof nested.message === "string") out.message = nested.message;
  }
  if (typeof obj.message === "string") out.message = obj.message;
  if (typeof obj.code === "number" || typeof obj.code === "string") out.code = obj.code;
  if (Array.isArray(obj.details)) {
    for (const d of obj.details) {
      if (!d || typeof d !== "object") continue;
      const detail = d as Record<string, unknown>;
      if (typeof detail.requestId === "string" && !out.requestId) out.requestId = detail.requestId;
      if (Array.isArray(detail.errors)) {
        for (const e of detail.errors) {
          if (e && typeof e === "object") {
            const fe = e as Record<string, unknown>;
            out.errors.push(pickFieldError(fe));
          }
        }
      }
      // 412 customer errors put code/detail directly on the detail entry.
      if (typeof detail.code === "string" && /^[A-Z]+-[A-Z]+-\d+/.test(detail.code)) out.errors.push(pickFieldError(detail));
    }
  }
  if (Array.isArray(obj.errors)) {
    for (const e of obj.errors) if (e && typeof e === "object") out.errors.push(pickFieldError(e as Record<string, unknown>));
  }
  return out;
}

function pickFieldError(e: Record<string, unknown>): IonFieldError {
  const out: IonFieldError = {};
  if (typeof e.code === "string" || typeof e.code === "number") out.code = String(e.code);
  if (typeof e.detail === "string") out.detail = e.detail;
  else if (typeof e.message === "string") out.detail = e.message;
  return out;
}

export interface ErrorContext {
  /** Templated endpoint, e.g. "GET /customers/{id}". */
  endpoint: string;
  accountId?: string;
  /** The OAuth token endpoint answers only `{error}` with 400 for any refused refresh token. */
  kind?: "v3" | "token" | "validate" | "v1";
  retryAfterMs?: number;
  /** The request was already repeated with a newly issued access token (a 403 then is not a dead session). */
  afterSessionRefresh?: boolean;
}

/** The one factory: status + body (+ context) → the typed error. */
export function ionErrorFromResponse(status: number, body: unknown, context: ErrorContext): IonApiError {
  const parsed = parseIonErrorBody(body);
  const kind = context.kind ?? "v3";
  const base: IonErrorOptions = {
    statusCode: status,
    ionError: parsed.error,
    requestId: parsed.requestId,
    endpoint: context.endpoint,
    raw: redactValue(typeof body === "string" ? parsed : body),
  };
  const remote = describeRemote(parsed);
  const where = `StreamOne Ion ${context.endpoint}`;

  if (kind === "token" && status >= 400 && status < 500 && status !== 429) {
    return new IonAuthenticationError(
      "ION_REFRESH_TOKEN_REJECTED",
      `StreamOne Ion rejected the connector's refresh token: it has expired or was already used (refresh tokens are single-use). ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
      base,
    );
  }
  if (kind === "v1" && (status === 401 || status === 403)) {
    return new IonV1AuthError(
      "StreamOne Ion v1 API refused the API Key / API Secret: they are wrong or were regenerated. Copy both again from the Ion portal → Settings → Account Information.",
      base,
    );
  }
  if (kind === "validate" && status === 400) {
    return new IonAuthenticationError("ION_ACCESS_TOKEN_REJECTED", `${where}: the access token is not valid${remote}.`, base);
  }
  if (status === 401) {
    return new IonAuthenticationError("ION_ACCESS_TOKEN_REJECTED", `${where} rejected the access token (401)${remote}.`, base);
  }
  if (status === 403) {
    const account = context.accountId ?? "configured";
    const rbac = /does not have access/i.test(parsed.message ?? "");
    const fresh = context.afterSessionRefresh ? " even with a newly issued access token" : "";
    const message = rbac
      ? `${where}: the Ion user behind these credentials does not have access to this resource (403 PERMISSION_DENIED). Give the integration user a role with access in the Ion portal.`
      : `${where}: permission denied${fresh} (403 PERMISSION_DENIED): the Account ID ${account} does not match these credentials. Check the Account ID shown on the Ion portal's Account Information page.`;
    return new IonPermissionError("ION_PERMISSION_DENIED", message, base);
  }
  if (status === 429) {
    return new IonRateLimitError(`${where} is throttling requests (429)${remote}.`, context.retryAfterMs, base);
  }
  if (status === 404) {
    return new IonNotFoundError("ION_NOT_FOUND", `${where}: not found${remote}.`, base);
  }
  if (status === 409) {
    return new IonConflictError("ION_ALREADY_EXISTS", `${where}: already exists${remote}.`, base);
  }
  if (status === 400 || status === 412 || status === 422 || parsed.code === 3) {
    const codes = parsed.errors.map((e) => [e.code, e.detail].filter(Boolean).join(": ")).filter(Boolean);
    const duplicateEmail = parsed.errors.some((e) => e.code === "CUS-CR-001");
    const lead = duplicateEmail
      ? `${where}: the customer email is already in use by another Ion customer`
      : `${where}: Ion rejected the request as invalid`;
    return new IonValidationError(
      "ION_VALIDATION",
      `${lead} (${status}${parsed.error ? " " + parsed.error : ""})${parsed.message && parsed.message !== parsed.error ? ": " + parsed.message : ""}${codes.length ? " [" + codes.join("; ") + "]" : ""}.`,
      parsed.errors,
      base,
    );
  }
  if (status >= 500) {
    const retryable = status === 502 || status === 503 || status === 504;
    return new IonServerError(`${where} failed on Ion's side (${status})${remote}.`, context.retryAfterMs, { ...base, retryable });
  }
  return new IonApiError("ION_HTTP_ERROR", `${where} failed (${status})${remote}.`, base);
}

function describeRemote(parsed: ParsedIonErrorBody): string {
  const parts = [parsed.error, parsed.message && parsed.message !== parsed.error ? parsed.message : undefined].filter(Boolean);
  const text = parts.join(": ");
  const req = parsed.requestId ? ` (Ion request id ${parsed.requestId})` : "";
  return text ? `: ${text}${req}` : req;
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
