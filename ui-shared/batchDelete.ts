// Deleting many rows from the browser in Web API $batch requests (docs/platform/dataverse.md 1.7). PCF's
// context.webAPI and Xrm.WebApi have no $batch, so this goes through same-origin fetch to /api/data/v9.2/$batch,
// which carries the signed-in user's session cookie in Dataverse (and the harness proxy's credentials locally).
// The multipart text is written and read by the same module the server-side client uses.

import { type BatchRequestUnit, type BatchResponseUnit, readBatchResponse, writeBatchBody } from "../src/dataverse/batch";
import { ConnectorError } from "../src/shared/errors";
import { stripBraces, WEB_API_PATH } from "./customApi";

/** Dataverse's limit of requests in one $batch. */
export const MAX_BATCH_REQUESTS = 1000;
/**
 * Deletes per change set. Each change set is one transaction: small enough that one never runs into the platform's
 * transaction time limit, and a row deleted meanwhile by someone else (404) rolls back only its own change set.
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

/** One delete in a batch: the row's entity set and id, and optionally the ETag it must still have. */
export interface BatchDelete {
  readonly entitySet: string;
  readonly id: string;
  readonly ifMatch?: string;
}

/** How each delete ended: deleted now, already gone (404), or refused with Dataverse's status, code and message. */
export type DeleteOutcome =
  | { readonly kind: "deleted" }
  | { readonly kind: "gone" }
  | { readonly kind: "refused"; readonly status: number; readonly code: string; readonly message: string };

let boundarySeq = 0;
const boundary = (prefix: string): string => `${prefix}_${Date.now().toString(36)}${(boundarySeq++).toString(36)}`;

/**
 * Deletes up to MAX_BATCH_REQUESTS rows in one $batch, DELETES_PER_CHANGESET per change set; answers one outcome per
 * delete, in order. A change set that failed answers its failure for every delete in it (all were rolled back).
 */
export async function deleteInBatch(
  send: SendBatch,
  deletes: readonly BatchDelete[],
  baseUrl: string = WEB_API_PATH,
): Promise<DeleteOutcome[]> {
  if (deletes.length === 0) return [];
  if (deletes.length > MAX_BATCH_REQUESTS) throw new RangeError(`At most ${MAX_BATCH_REQUESTS} deletes per $batch.`);
  const root = baseUrl.replace(/\/$/, "");
  const groups: BatchDelete[][] = [];
  for (let i = 0; i < deletes.length; i += DELETES_PER_CHANGESET) groups.push(deletes.slice(i, i + DELETES_PER_CHANGESET));
  // Content-IDs are unique within the whole batch request (OData JSON/multipart batch rules), not per change set.
  const units: BatchRequestUnit[] = groups.map((group, g) => ({
    kind: "changeset",
    parts: group.map((d, i) => {
      const headers: Record<string, string> = {};
      if (d.ifMatch) headers["If-Match"] = d.ifMatch;
      const contentId = String(g * DELETES_PER_CHANGESET + i + 1);
      return { method: "DELETE", url: `${root}/${d.entitySet}(${stripBraces(d.id)})`, headers, contentId };
    }),
  }));
  const batchBoundary = boundary("batch");
  const text = writeBatchBody(units, batchBoundary, (i) => `changeset_${batchBoundary}_${i}`);
  const response = await send(text, `multipart/mixed; boundary="${batchBoundary}"`);
  if (!/^multipart\//i.test(response.contentType)) {
    // The whole batch was refused (e.g. 401, 429): nothing in it ran.
    const refused = refusedOf(response.status, response.body);
    throw new ConnectorError("BATCH_FAILED", `Dataverse refused the delete request: ${refused.message}`, {
      statusCode: response.status,
      retryable: response.status === 429 || response.status >= 500,
    });
  }
  const read: BatchResponseUnit[] = readBatchResponse(response.contentType, response.body);
  const outcomes: DeleteOutcome[] = [];
  groups.forEach((group, g) => {
    const unit = read[g];
    for (let i = 0; i < group.length; i++) {
      // A failed change set answers one error response in its place; without continue-on-error later ones are absent.
      const part = unit === undefined ? undefined : unit.kind === "changeset" ? unit.parts[i] : unit.part;
      if (!part) {
        outcomes.push({ kind: "refused", status: 0, code: "", message: "Not run: Dataverse stopped the batch earlier." });
      } else if (unit?.kind === "single") {
        // The change set failed as a whole: every delete in it was rolled back (a 404 means one row of it was gone).
        outcomes.push(refusedOf(part.status, part.body));
      } else if (part.status === 204 || part.status === 200) {
        outcomes.push({ kind: "deleted" });
      } else if (part.status === 404) {
        outcomes.push({ kind: "gone" });
      } else {
        outcomes.push(refusedOf(part.status, part.body));
      }
    }
  });
  return outcomes;
}

function refusedOf(status: number, body: string): Extract<DeleteOutcome, { kind: "refused" }> {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return {
      kind: "refused",
      status,
      code: String(parsed.error?.code ?? "").toLowerCase(),
      message: String(parsed.error?.message ?? `HTTP ${status}`),
    };
  } catch {
    return { kind: "refused", status, code: "", message: body.trim().slice(0, 200) || `HTTP ${status}` };
  }
}
