// Atomic writes from the browser: Web API $batch change sets (docs/platform/dataverse.md 1.7), for deleting many rows
// under a guard and for conditional writes (If-Match). PCF's context.webAPI and Xrm.WebApi have neither $batch nor
// If-Match, so this goes through same-origin fetch to /api/data/v9.2/$batch, which carries the signed-in user's
// session cookie in Dataverse (and the harness proxy's credentials locally). The multipart text is written, read and
// mapped back onto the writes by the same module the server-side client uses (src/dataverse/batch.ts).

import {
  type BatchRequestUnit,
  type BatchResponsePart,
  mapBatchResponse,
  MAX_BATCH_SIZE,
  readBatchResponse,
  writeBatchBody,
} from "../src/dataverse/batch";
import { ConnectorError } from "../src/shared/errors";
import { stripBraces, WEB_API_PATH } from "./customApi";

/**
 * Deletes per change set (one change set per $batch: its guard's ETag changes with every change set, so the next one
 * can only be written once this one has answered). Each change set is one transaction: small enough that it never
 * runs into the platform's transaction time limit, and a row deleted meanwhile by someone else (404) rolls back few
 * others. The server's time per delete dominates, so larger change sets would save little.
 */
export const DELETES_PER_CHANGESET = 100;

/** Sends one $batch body; answers the response's Content-Type and text (any status). */
export type SendBatch = (body: string, contentType: string) => Promise<{ status: number; contentType: string; body: string }>;

type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; credentials?: "same-origin" },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export function createFetchBatchSender(fetchImpl: FetchLike, baseUrl: string = WEB_API_PATH): SendBatch {
  return async (body, contentType) => {
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await fetchImpl(`${baseUrl.replace(/\/$/, "")}/$batch`, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": contentType,
          "OData-MaxVersion": "4.0",
          "OData-Version": "4.0",
          // Each change set stands alone: one that fails (a row already gone) does not stop the ones after it.
          Prefer: "odata.continue-on-error",
        },
        body,
      });
    } catch (error) {
      throw new ConnectorError("BATCH_UNREACHABLE", `Dataverse could not be reached: ${(error as Error)?.message ?? String(error)}`, {
        retryable: true,
      });
    }
    return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: await response.text() };
  };
}

/**
 * One write of a change set: a DELETE, or a PATCH (answered with the row's new ETag: `Prefer: return=representation`
 * with `$select`, "Update with data returned", docs/platform/dataverse.md 1.4). `ifMatch` makes it conditional (1.5).
 */
export interface ChangeSetWrite {
  readonly method: "DELETE" | "PATCH";
  readonly entitySet: string;
  readonly id: string;
  readonly ifMatch?: string;
  /** PATCH only: the columns written. */
  readonly body?: Readonly<Record<string, unknown>>;
  /** PATCH only: the columns answered with the new ETag (at least one). */
  readonly select?: readonly string[];
}

/** Dataverse's refusal of one write: status, error code (lower case hex, often empty) and message. */
export interface WriteRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** How each write of a change set ended. */
export type WriteResult =
  /** Written (or deleted) and committed with the rest of the change set; `etag` is a PATCHed row's new version. */
  | { readonly kind: "done"; readonly etag?: string }
  /** This write was refused, so the whole change set was rolled back. */
  | ({ readonly kind: "failed" } & WriteRefusal)
  /** Another write of the change set was refused (`cause`): this one was rolled back and changed nothing. */
  | { readonly kind: "rolledBack"; readonly cause: WriteRefusal }
  /** Dataverse never reached it (the batch stopped earlier). */
  | { readonly kind: "notRun" };

let boundarySeq = 0;
const boundary = (prefix: string): string => `${prefix}_${Date.now().toString(36)}${(boundarySeq++).toString(36)}`;

/**
 * Sends `writes` as one change set in one $batch: all of them are committed or none is. Learn, "Execute batch
 * operations using the Web API", Change sets: "if any one of the operations fails, any completed operations will be
 * rolled back" (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api#change-sets).
 * A conditional write in the change set (If-Match) therefore guards every other write in it.
 *
 * The response is read by the same mapper the server-side client uses (`mapBatchResponse`), which accepts both shapes
 * of a failed change set (docs/platform/dataverse.md 1.7): the failed request's response alone, or wrapped in a change
 * set response. When the failed request cannot be told (no Content-ID echoed), every write answers that failure.
 */
export async function sendChangeSet(
  send: SendBatch,
  writes: readonly ChangeSetWrite[],
  baseUrl: string = WEB_API_PATH,
): Promise<WriteResult[]> {
  if (writes.length === 0) return [];
  if (writes.length > MAX_BATCH_SIZE) throw new RangeError(`At most ${MAX_BATCH_SIZE} writes per $batch.`);
  const root = baseUrl.replace(/\/$/, "");
  const units: BatchRequestUnit[] = [
    {
      kind: "changeset",
      parts: writes.map((w, i) => {
        const headers: Record<string, string> = {};
        if (w.ifMatch) headers["If-Match"] = w.ifMatch;
        let url = `${root}/${w.entitySet}(${stripBraces(w.id)})`;
        let body: string | undefined;
        if (w.method === "PATCH") {
          headers["Content-Type"] = "application/json; charset=utf-8";
          headers["Prefer"] = "return=representation";
          url += `?$select=${(w.select ?? []).join(",")}`;
          body = JSON.stringify(w.body ?? {});
        }
        return { method: w.method, url, headers, contentId: String(i + 1), ...(body !== undefined ? { body } : {}) };
      }),
    },
  ];
  const batchBoundary = boundary("batch");
  const text = writeBatchBody(units, batchBoundary, (i) => `changeset_${batchBoundary}_${i}`);
  const response = await send(text, `multipart/mixed; boundary="${batchBoundary}"`);
  if (!/^multipart\//i.test(response.contentType)) {
    // The whole batch was refused (e.g. 401, 429): nothing in it ran.
    const refused = refusalOf(response.status, response.body);
    throw new ConnectorError("BATCH_FAILED", `Dataverse refused the request: ${refused.message}`, {
      statusCode: response.status,
      retryable: response.status === 429 || response.status >= 500,
    });
  }
  const [outcomes = []] = mapBatchResponse(units, readBatchResponse(response.contentType, response.body));
  return writes.map((_, i): WriteResult => {
    const outcome = outcomes[i];
    if (!outcome || outcome.kind === "notExecuted") return { kind: "notRun" };
    if (outcome.kind === "rolledBack") return { kind: "rolledBack", cause: refusalOf(outcome.cause.status, outcome.cause.body) };
    const part = outcome.part;
    if (part.status >= 400) return { kind: "failed", ...refusalOf(part.status, part.body) };
    return { kind: "done", ...etagOf(part) };
  });
}

/** The new ETag of a PATCHed row: the representation's @odata.etag, else the part's ETag header. */
function etagOf(part: BatchResponsePart): { etag?: string } {
  try {
    const tag = (JSON.parse(part.body || "{}") as Record<string, unknown>)["@odata.etag"];
    if (typeof tag === "string" && tag !== "") return { etag: tag };
  } catch {
    // Not JSON (a 204): fall back to the header.
  }
  return part.headers["etag"] ? { etag: part.headers["etag"] } : {};
}

function refusalOf(status: number, body: string): WriteRefusal {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return {
      status,
      code: String(parsed.error?.code ?? "").toLowerCase(),
      message: String(parsed.error?.message ?? `HTTP ${status}`),
    };
  } catch {
    return { status, code: "", message: body.trim().slice(0, 200) || `HTTP ${status}` };
  }
}
