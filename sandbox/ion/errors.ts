/**
 * Errors the simulator answers with, rendered in Ion's shapes (docs/platform/ion-api.md §6):
 * `{error, message, code, details:[{"@type":"type.googleapis.com/google.rpc.RequestInfo", requestId}]}`,
 * the order-validation variant with `code: 3` and `v3orberrors.ErrorBody`, and OAuth's bare `{error}`.
 */
import { ConnectorError } from "../../src/shared/errors";

/** Canonical Ion error code → HTTP status. */
export const ERROR_STATUS: Record<string, number> = {
  INVALID_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
};

export interface ProvisioningError {
  code: string;
  detail: string;
  instancePath?: string;
}

/**
 * Thrown by the simulator's domain code; the HTTP layer renders it with the request's id.
 * Extends the product's ConnectorError so simulator misuse in-process (control calls) is typed too.
 */
export class SimApiError extends ConnectorError {
  readonly status: number;
  readonly extraDetails: Record<string, unknown>[];
  readonly provisioningErrors?: ProvisioningError[];

  constructor(
    error: string,
    message: string,
    options: { status?: number; extraDetails?: Record<string, unknown>[]; provisioningErrors?: ProvisioningError[] } = {},
  ) {
    const status = options.status ?? ERROR_STATUS[error] ?? 400;
    super(error, message, { statusCode: status });
    this.status = status;
    this.extraDetails = options.extraDetails ?? [];
    this.provisioningErrors = options.provisioningErrors;
  }

  body(requestId: string): Record<string, unknown> {
    if (this.provisioningErrors) return provisioningErrorBody(requestId, this.provisioningErrors);
    return errorBody(this.code, this.message, this.status, requestId, this.extraDetails);
  }
}

export function errorBody(
  error: string,
  message: string,
  code: number,
  requestId: string,
  extraDetails: Record<string, unknown>[] = [],
): Record<string, unknown> {
  return { error, message, code, details: [{ "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId }, ...extraDetails] };
}

/** §4.3: order validation failures carry gRPC code 3 and the ErrorBody detail. */
export function provisioningErrorBody(requestId: string, errors: ProvisioningError[]): Record<string, unknown> {
  const text = "BAD_REQUEST: Invalid provisioning data";
  return {
    error: text,
    message: text,
    code: 3,
    details: [{ "@type": "type.googleapis.com/v3orberrors.ErrorBody", requestId, errors: errors.map((e) => ({ ...e })) }],
  };
}

export function invalidProvisioning(errors: ProvisioningError[]): SimApiError {
  return new SimApiError("BAD_REQUEST", "BAD_REQUEST: Invalid provisioning data", { status: 400, provisioningErrors: errors });
}

export function notFound(resource: string): SimApiError {
  return new SimApiError("NOT_FOUND", `resource '${resource}' not found`);
}
