/**
 * Dataverse-shaped errors. Every failure the emulator returns is `{"error":{"code":"0x…","message":"…"}}`
 * with the HTTP status and hex code real Dataverse uses (docs/platform/dataverse.md 1.6, 1.5, 1.8).
 */
export class DataverseHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "DataverseHttpError";
  }

  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Hex codes used by the emulator, named as in Dataverse's web service error list. */
export const ErrorCodes = {
  /** OData layer: bad URL, unknown property, bad literal, unsupported query option. */
  ODataBadRequest: "0x80060888",
  ResourceNotFoundForSegment: "0x8006088a",
  /** -2147220969 ObjectDoesNotExist: "<entity> With Id = <guid> Does Not Exist". */
  RecordNotFound: "0x80040217",
  /** -2147220937 DuplicateRecord: "Cannot insert duplicate key" (alternate key violation). */
  DuplicateRecord: "0x80040237",
  /** -2147088254 ConcurrencyVersionMismatch. */
  ConcurrencyVersionMismatch: "0x80060882",
  /** -2147220989 InvalidArgument. */
  InvalidArgument: "0x80040203",
  /** -2147204305 validation (length, range, option value). */
  ValidationError: "0x80044331",
  /** -2147220891 plug-in / ISV code aborted the operation. */
  IsvAborted: "0x80040265",
  /** -2147220960 PrivilegeDenied. */
  PrivilegeDenied: "0x80040220",
  /** -2147158782 AttributePrivilegeCreateIsMissing. */
  SecuredFieldCreate: "0x8004f502",
  /** -2147158777 AttributePermissionUpdateIsMissingDuringUpdate. */
  SecuredFieldUpdate: "0x8004f507",
  /** -2147220953 CannotDeleteDueToAssociation. */
  CannotDeleteDueToAssociation: "0x80040227",
  /** -2147180286 BadAuthTicket / request not authenticated. */
  NotAuthenticated: "0x80048306",
  /** Service protection (1.8). */
  TooManyRequests: "0x80072322",
  ExecutionTimeExceeded: "0x80072321",
  ConcurrencyLimitExceeded: "0x80072326",
  /** $batch item limit. */
  BatchSizeExceeded: "0x8006088b",
  MethodNotAllowed: "0x80060888",
} as const;

export const badRequest = (message: string, code: string = ErrorCodes.ODataBadRequest) => new DataverseHttpError(400, code, message);

export const notFound = (message: string, code: string = ErrorCodes.RecordNotFound) => new DataverseHttpError(404, code, message);

export const validationError = (message: string) =>
  new DataverseHttpError(400, ErrorCodes.ValidationError, `A validation error occurred.  ${message}`);
