/**
 * The OData `$batch` wire format as Dataverse speaks it (reference/dataverse.md 1.7): a multipart/mixed
 * writer, a reader for `batchresponse_` / `changesetresponse_` bodies, and the pure mapping of response
 * parts back onto the operations that were sent. No I/O here; the client sends what this module writes.
 */
import { DataverseApiError } from "./errors";

/** One HTTP request inside a batch, already addressed (`url` is a path like `/api/data/v9.2/accounts` or `$1`). */
export interface BatchRequestPart {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  contentId?: string;
}

/** What goes into one batch body: single parts, and change sets (atomic groups). */
export type BatchRequestUnit = { kind: "single"; part: BatchRequestPart } | { kind: "changeset"; parts: BatchRequestPart[] };

/** One HTTP response read from a batch response. Header names are lower case. */
export interface BatchResponsePart {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

export type BatchResponseUnit = { kind: "single"; part: BatchResponsePart } | { kind: "changeset"; parts: BatchResponsePart[] };

const CRLF = "\r\n";

/** Writes the multipart body. Boundaries are injected so tests can pin the exact bytes. */
export function writeBatchBody(units: BatchRequestUnit[], batchBoundary: string, changesetBoundary: (index: number) => string): string {
  const out: string[] = [];
  units.forEach((unit, index) => {
    out.push(`--${batchBoundary}`);
    if (unit.kind === "single") {
      writePart(out, unit.part);
    } else {
      const cs = changesetBoundary(index);
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
      for (const part of unit.parts) {
        out.push(`--${cs}`);
        writePart(out, part);
      }
      out.push(`--${cs}--`);
    }
  });
  out.push(`--${batchBoundary}--`, "");
  return out.join(CRLF);
}

function writePart(out: string[], part: BatchRequestPart): void {
  out.push("Content-Type: application/http", "Content-Transfer-Encoding: binary");
  if (part.contentId !== undefined) out.push(`Content-ID: ${part.contentId}`);
  out.push("", `${part.method} ${part.url} HTTP/1.1`);
  for (const [name, value] of Object.entries(part.headers)) out.push(`${name}: ${value}`);
  out.push("", part.body ?? "");
}

/** The boundary parameter of a multipart Content-Type, without quotes. */
export function boundaryOf(contentType: string | null | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const m = /boundary\s*=\s*("([^"]+)"|[^;\s]+)/i.exec(contentType);
  return m ? (m[2] ?? m[1]) : undefined;
}

/** Reads a batch response body into units, in order. Tolerates LF or CRLF line ends. */
export function readBatchResponse(contentType: string, body: string): BatchResponseUnit[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw batchResponseError(`A $batch response must be multipart/mixed, got "${contentType}"`);
  return splitMultipart(body, boundary).map((raw) => {
    const { headers, content } = splitHeaders(raw);
    const inner = boundaryOf(headers["content-type"]);
    if (inner) {
      return { kind: "changeset" as const, parts: splitMultipart(content, inner).map((p) => readHttpPart(p)) };
    }
    return { kind: "single" as const, part: readHttpPart(raw) };
  });
}

/** The raw text of each part between `--boundary` lines (the closing `--boundary--` ends the list). */
function splitMultipart(body: string, boundary: string): string[] {
  const lines = body.split(/\r?\n/);
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}--`) {
      if (current) parts.push(current.join("\n"));
      current = undefined;
      break;
    }
    if (trimmed === `--${boundary}`) {
      if (current) parts.push(current.join("\n"));
      current = [];
      continue;
    }
    current?.push(line);
  }
  // A body cut off before its closing boundary still yields the parts it holds.
  if (current && current.some((l) => l.trim() !== "")) parts.push(current.join("\n"));
  return parts;
}

function splitHeaders(text: string): { headers: Record<string, string>; content: string } {
  const lines = text.split("\n");
  const headers: Record<string, string> = {};
  let i = 0;
  // Leading blank lines before the headers are tolerated.
  while (i < lines.length && lines[i]!.trim() === "" && i < 2) i++;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") {
      i++;
      break;
    }
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, content: lines.slice(i).join("\n") };
}

function readHttpPart(raw: string): BatchResponsePart {
  const mime = splitHeaders(raw);
  const lines = mime.content.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const statusLine = (lines[i] ?? "").trim();
  const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\s*(.*)$/.exec(statusLine);
  if (!m) throw batchResponseError(`Unreadable part in a $batch response: "${statusLine.slice(0, 80)}"`);
  const http = splitHeaders(lines.slice(i + 1).join("\n"));
  const contentId = mime.headers["content-id"] ?? http.headers["content-id"];
  return {
    status: Number(m[1]),
    statusText: m[2] ?? "",
    headers: http.headers,
    body: http.content.trim(),
    ...(contentId !== undefined ? { contentId } : {}),
  };
}

/** What happened to one operation of a unit. */
export type OperationOutcome =
  | { kind: "response"; part: BatchResponsePart }
  /** The change set failed on another operation (`cause`), so this one was rolled back. */
  | { kind: "rolledBack"; cause: BatchResponsePart }
  /** Dataverse stopped before reaching this unit (an earlier part failed without continue-on-error). */
  | { kind: "notExecuted" };

/**
 * Maps response units onto the request units that were sent, one outcome per request part.
 * A failing change set comes back as one error response (sometimes wrapped in a changeset response);
 * its Content-ID, when echoed, tells which operation failed, the others are reported as rolled back.
 */
export function mapBatchResponse(sent: BatchRequestUnit[], received: BatchResponseUnit[]): OperationOutcome[][] {
  return sent.map((unit, index) => {
    const response = received[index];
    const size = unit.kind === "single" ? 1 : unit.parts.length;
    if (!response) return Array.from({ length: size }, () => ({ kind: "notExecuted" as const }));
    const parts = response.kind === "single" ? [response.part] : response.parts;
    if (unit.kind === "single") {
      const part = parts[0];
      return [part ? { kind: "response" as const, part } : { kind: "notExecuted" as const }];
    }
    const failing = parts.find((p) => p.status >= 400);
    if (!failing) {
      if (parts.length !== unit.parts.length) {
        throw batchResponseError(`A $batch change set of ${unit.parts.length} operations came back with ${parts.length} responses`);
      }
      return unit.parts.map((req, i) => {
        const byId = req.contentId !== undefined ? parts.find((p) => p.contentId === req.contentId) : undefined;
        return { kind: "response" as const, part: byId ?? parts[i]! };
      });
    }
    let failingIndex = failing.contentId !== undefined ? unit.parts.findIndex((p) => p.contentId === failing.contentId) : -1;
    if (failingIndex < 0 && parts.length === unit.parts.length) failingIndex = parts.indexOf(failing);
    return unit.parts.map((_, i) =>
      i === failingIndex || failingIndex < 0 ? { kind: "response" as const, part: failing } : { kind: "rolledBack" as const, cause: failing },
    );
  });
}

/** Content-ID references (`$1`) used by a part: in its URL or as a string value in its JSON body. */
export function contentIdReferences(part: { url: string; body?: string }): string[] {
  const refs = new Set<string>();
  const urlRef = /^\$([A-Za-z0-9_-]+)/.exec(part.url);
  if (urlRef?.[1]) refs.add(urlRef[1]);
  if (part.body) {
    const re = /"\$([A-Za-z0-9_-]+)(?:\/[^"]*)?"/g;
    for (let m = re.exec(part.body); m; m = re.exec(part.body)) if (m[1]) refs.add(m[1]);
  }
  return [...refs];
}

/** A $batch response this client cannot read; the client adds the HTTP status when it rethrows. */
function batchResponseError(message: string): DataverseApiError {
  return new DataverseApiError("DATAVERSE_BATCH_RESPONSE", message);
}
