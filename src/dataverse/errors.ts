/**
 * Typed Dataverse errors. One factory (`dataverseErrorFrom`) picks the subclass from the HTTP status, the
 * Dataverse error code (`{"error":{"code":"0x…"}}`) and the message, so callers branch on classes, never
 * on strings. Messages never contain tokens: bodies are redacted before they become messages.
 */
import { ConnectorError, ConnectorErrorOptions } from "../shared/errors";
import { redact, redactValue } from "../shared/redact";
import { networkCodeOf } from "../shared/retry";

/** Dataverse error codes the connector reacts to (docs/platform/dataverse.md 1.6, 1.8). */
export const DATAVERSE_CODES = {
  recordNotFound: "0x80040217",
  duplicateKey: "0x80040237",
  duplicateRecordEntityKey: "0x80060892",
  privilegeDenied: "0x80040220",
  throttledRequests: "0x80072322",
  throttledExecutionTime: "0x80072321",
  throttledConcurrency: "0x80072326",
} as const;

const THROTTLE_CODES = new Set<string>([
  DATAVERSE_CODES.throttledRequests,
  DATAVERSE_CODES.throttledExecutionTime,
  DATAVERSE_CODES.throttledConcurrency,
]);
const DUPLICATE_CODES = new Set<string>([DATAVERSE_CODES.duplicateKey, DATAVERSE_CODES.duplicateRecordEntityKey]);

export interface DataverseErrorOptions extends ConnectorErrorOptions {
  /** Dataverse's own code, e.g. "0x80040217" (often empty on real responses). */
  dataverseCode?: string;
  /** "PATCH w365_provideraccounts(...)": what the client was doing. */
  operation?: string;
}

export class DataverseApiError extends ConnectorError {
  readonly dataverseCode?: string;
  readonly operation?: string;
  constructor(code: string, message: string, options: DataverseErrorOptions = {}) {
    super(code, redact(message), {
      ...options,
      hint: options.hint === undefined ? undefined : redact(options.hint),
      raw: options.raw === undefined ? undefined : redactValue(options.raw),
    });
    this.dataverseCode = options.dataverseCode || undefined;
    this.operation = options.operation;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...(this.dataverseCode ? { dataverseCode: this.dataverseCode } : {}),
      ...(this.operation ? { operation: this.operation } : {}),
    };
  }
}

/** 404 or 0x80040217: the record (or resource) does not exist. */
export class DataverseNotFoundError extends DataverseApiError {
  constructor(message: string, options: DataverseErrorOptions = {}) {
    super("DATAVERSE_NOT_FOUND", message, { statusCode: 404, ...options });
  }
}

/** 412: the row changed since it was read (ETag mismatch), or it already exists (create-only upsert). */
export class DataverseConcurrencyError extends DataverseApiError {
  constructor(message: string, options: DataverseErrorOptions = {}, code = "DATAVERSE_CONCURRENCY") {
    super(code, message, { statusCode: 412, ...options });
  }
}

/**
 * 0x80040237 / 0x80060892: another row already holds the same key values. It is a kind of
 * DataverseConcurrencyError because Dataverse answers a create-only upsert on an existing row with this
 * code under 412, so `instanceof DataverseConcurrencyError` catches "the row already exists" either way.
 */
export class DataverseDuplicateKeyError extends DataverseConcurrencyError {
  constructor(message: string, options: DataverseErrorOptions = {}) {
    super(message, options, "DATAVERSE_DUPLICATE_KEY");
  }
}

/** 403 / 0x80040220 / "prv…" messages: the user (application user) lacks a privilege. */
export class DataversePrivilegeError extends DataverseApiError {
  /** The privilege named in the message, e.g. "prvCreatew365_providerAccount", when Dataverse gives one. */
  readonly privilege?: string;
  constructor(message: string, options: DataverseErrorOptions & { privilege?: string } = {}) {
    super("DATAVERSE_PRIVILEGE", message, {
      statusCode: 403,
      hint: options.privilege
        ? `Give the application user a security role that grants ${options.privilege}.`
        : "Give the application user a security role with the needed privileges on the Work 365 tables.",
      ...options,
    });
    this.privilege = options.privilege;
  }
}

/** 401, or no token could be obtained. Never carries the token itself. */
export class DataverseAuthError extends DataverseApiError {
  constructor(message: string, options: DataverseErrorOptions = {}) {
    super("DATAVERSE_AUTH", message, {
      statusCode: 401,
      hint: "Check the app registration (tenant id, client id, client secret) and that the environment has an application user for that client id with a security role.",
      ...options,
    });
  }
}

/** 429 service protection (0x80072322 requests, 0x80072321 execution time, 0x80072326 concurrency). */
export class DataverseThrottledError extends DataverseApiError {
  readonly retryAfterMs?: number;
  constructor(message: string, options: DataverseErrorOptions & { retryAfterMs?: number } = {}) {
    super("DATAVERSE_THROTTLED", message, { statusCode: 429, retryable: true, ...options });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** 400: the request was refused as invalid (bad column, bad value, bad query, plug-in/webhook abort). */
export class DataverseValidationError extends DataverseApiError {
  constructor(message: string, options: DataverseErrorOptions = {}) {
    super("DATAVERSE_VALIDATION", message, { statusCode: 400, ...options });
  }
}

/** 5xx from Dataverse. */
export class DataverseServerError extends DataverseApiError {
  constructor(message: string, options: DataverseErrorOptions = {}) {
    super("DATAVERSE_SERVER", message, options);
  }
}

/** No HTTP response: connection refused/reset, DNS, timeout. `networkCode` is Node's code. */
export class DataverseNetworkError extends DataverseApiError {
  readonly networkCode: string;
  constructor(message: string, options: DataverseErrorOptions & { networkCode: string }) {
    super("DATAVERSE_NETWORK", message, { retryable: true, ...options });
    this.networkCode = options.networkCode;
  }
}

/** A $batch operation that Dataverse did not run (an earlier operation failed, or its change set rolled back). */
export class DataverseNotExecutedError extends DataverseApiError {
  constructor(message: string, options: DataverseErrorOptions = {}) {
    super("DATAVERSE_NOT_EXECUTED", message, { statusCode: 424, ...options });
  }
}

/** Shape of Dataverse's error body. */
export interface DataverseErrorBody {
  error?: { code?: string; message?: string; [k: string]: unknown };
}

export interface ErrorSource {
  status: number;
  /** Response body text (JSON or not). */
  bodyText?: string;
  /** Header lookup (case-insensitive). */
  header?: (name: string) => string | undefined | null;
  operation?: string;
  retryAfterMs?: number;
}

const PRIVILEGE_NAME = /\b(prv[A-Z][A-Za-z0-9_]+)/;

/** Parses `{"error":{"code","message"}}`; returns undefined fields when the body is something else. */
export function parseErrorBody(bodyText: string | undefined): { code?: string; message?: string; raw?: unknown } {
  if (!bodyText) return {};
  try {
    const parsed = JSON.parse(bodyText) as DataverseErrorBody;
    const error = parsed && typeof parsed === "object" ? parsed.error : undefined;
    if (error && typeof error === "object") {
      return {
        code: typeof error.code === "string" ? error.code : undefined,
        message: typeof error.message === "string" ? error.message : undefined,
        raw: parsed,
      };
    }
    return { raw: parsed };
  } catch {
    return { message: bodyText.length > 500 ? `${bodyText.slice(0, 500)}…` : bodyText };
  }
}

export function requestIdFrom(header?: (name: string) => string | undefined | null): string | undefined {
  if (!header) return undefined;
  return header("x-ms-service-request-id") ?? header("REQ_ID") ?? header("x-ms-request-id") ?? undefined;
}

/** The one factory: HTTP status + Dataverse body → the matching typed error. */
export function dataverseErrorFrom(source: ErrorSource): DataverseApiError {
  const { status } = source;
  const body = parseErrorBody(source.bodyText);
  const dataverseCode = body.code?.trim() || undefined;
  const detail = body.message?.trim() || `HTTP ${status}`;
  const prefix = source.operation ? `Dataverse ${source.operation} failed (${status}): ` : `Dataverse request failed (${status}): `;
  const options: DataverseErrorOptions = {
    statusCode: status,
    dataverseCode,
    operation: source.operation,
    requestId: requestIdFrom(source.header),
    raw: body.raw,
  };
  const message = prefix + detail;

  if (status === 429 || (dataverseCode && THROTTLE_CODES.has(dataverseCode))) {
    return new DataverseThrottledError(message, { ...options, retryAfterMs: source.retryAfterMs });
  }
  if (status === 401) {
    return new DataverseAuthError(`${prefix}the token was rejected (${detail}).`, options);
  }
  if (dataverseCode && DUPLICATE_CODES.has(dataverseCode)) return new DataverseDuplicateKeyError(message, options);
  const privilege = PRIVILEGE_NAME.exec(detail)?.[1];
  if (status === 403 || dataverseCode === DATAVERSE_CODES.privilegeDenied || privilege) {
    return new DataversePrivilegeError(message, { ...options, privilege });
  }
  if (status === 404 || dataverseCode === DATAVERSE_CODES.recordNotFound) return new DataverseNotFoundError(message, options);
  if (status === 412) return new DataverseConcurrencyError(message, options);
  if (status === 400) return new DataverseValidationError(message, options);
  if (status >= 500)
    return new DataverseServerError(message, { ...options, retryable: status === 502 || status === 503 || status === 504 });
  return new DataverseApiError("DATAVERSE_API", message, options);
}

/** Wraps a fetch failure (no response) into a DataverseNetworkError with Node's code. */
export function networkErrorFrom(error: unknown, operation: string, timedOut: boolean): DataverseNetworkError {
  const networkCode = timedOut ? "ETIMEDOUT" : networkCodeOf(error);
  const reason = timedOut ? "timed out" : describeCause(error);
  return new DataverseNetworkError(`Dataverse ${operation} failed: ${reason} (${networkCode})`, { networkCode, operation, cause: error });
}

function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof Error) parts.push(current.message);
    current = current && typeof current === "object" ? (current as { cause?: unknown }).cause : undefined;
  }
  return redact(parts.join(": ") || "network error");
}
