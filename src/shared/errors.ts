/**
 * Base of every typed error in the product. `code` is stable and machine-readable (tests, CLI exit
 * paths and run reports rely on it); `message` is for people and must never contain a secret.
 */
export interface ConnectorErrorOptions {
  statusCode?: number;
  retryable?: boolean;
  /** Request id given by the remote service, for support tickets. */
  requestId?: string;
  /** What the admin or operator should do next, shown after the message. */
  hint?: string;
  cause?: unknown;
  /** Parsed remote body, already redacted. May contain customer data: never send to telemetry. */
  raw?: unknown;
}

export class ConnectorError extends Error {
  readonly code: string;
  readonly statusCode?: number;
  readonly retryable: boolean;
  readonly requestId?: string;
  readonly hint?: string;
  readonly raw?: unknown;

  constructor(code: string, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = options.statusCode;
    this.retryable = options.retryable ?? false;
    this.requestId = options.requestId;
    this.hint = options.hint;
    this.raw = options.raw;
  }

  /** Message plus hint, the text shown to an admin. */
  get userMessage(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.statusCode !== undefined ? { statusCode: this.statusCode } : {}),
      ...(this.requestId ? { requestId: this.requestId } : {}),
    };
  }
}

/** Thrown for bad input from a person (CLI flags, form fields, config). */
export class ValidationError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions & { field?: string } = {}) {
    super("VALIDATION", message, options);
    this.field = options.field;
  }
  readonly field?: string;
}

/** Thrown when configuration (environment variables, app settings) is missing or invalid. */
export class ConfigError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("CONFIG", message, options);
  }
}

/** Normalises anything caught into an Error, so every catch block can rely on `.message`. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === "string") return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

export function errorCode(value: unknown): string {
  return value instanceof ConnectorError ? value.code : "UNEXPECTED";
}
