/**
 * The OData `$batch` wire format as Dataverse speaks it (docs/platform/dataverse.md 1.7): a multipart/mixed
 * writer, a reader for `batchresponse_` / `changesetresponse_` bodies, and the pure mapping of response
 * parts back onto the operations that were sent. No I/O here; the client sends what this module writes.
 */
import { DataverseApiError } from "./errors";

/** Dataverse's limit of requests in one `$batch` (docs/platform/dataverse.md 1.7). */
export const MAX_BATCH_SIZE = 1000;

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

/**
 * Writes the multipart body. Boundaries are injected so tests can pin the exact bytes. One string built
 * by concatenation (no line array to join): a body carries up to 1,000 operations.
 */
export function writeBatchBody(units: BatchRequestUnit[], batchBoundary: string, changesetBoundary: (index: number) => string): string {
  const open = `--${batchBoundary}${CRLF}`;
  let out = "";
  for (let index = 0; index < units.length; index++) {
    const unit = units[index]!;
    out += open;
    if (unit.kind === "single") {
      out = writePart(out, unit.part);
    } else {
      const cs = changesetBoundary(index);
      out += `Content-Type: multipart/mixed; boundary=${cs}${CRLF}${CRLF}`;
      const csOpen = `--${cs}${CRLF}`;
      for (const part of unit.parts) out = writePart(out + csOpen, part);
      out += `--${cs}--${CRLF}`;
    }
  }
  return `${out}--${batchBoundary}--${CRLF}`;
}

/** Appends one part, each line ended by CRLF (the body's last line too: a boundary line follows). */
function writePart(out: string, part: BatchRequestPart): string {
  out += `Content-Type: application/http${CRLF}Content-Transfer-Encoding: binary${CRLF}`;
  if (part.contentId !== undefined) out += `Content-ID: ${part.contentId}${CRLF}`;
  out += `${CRLF}${part.method} ${part.url} HTTP/1.1${CRLF}`;
  const headers = part.headers;
  for (const name of Object.keys(headers)) out += `${name}: ${headers[name]}${CRLF}`;
  return `${out}${CRLF}${part.body ?? ""}${CRLF}`;
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
    const mime = splitHeaders(raw);
    const inner = boundaryOf(mime.headers["content-type"]);
    if (inner) {
      return { kind: "changeset" as const, parts: splitMultipart(mime.content, inner).map((p) => readHttpPart(splitHeaders(p))) };
    }
    return { kind: "single" as const, part: readHttpPart(mime) };
  });
}

// The readers below walk the text by index instead of splitting it into line arrays (a response carries
// up to 1,000 parts). Their results are those of splitting on line ends, by construction:
// a line is the text up to "\n" (splitMultipart: up to "\r\n" or "\n"), blank means trim() === "".

/**
 * The raw text of each part between `--boundary` lines (the closing `--boundary--` ends the list), with
 * CRLF line ends turned into LF.
 */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const close = `${delimiter}--`;
  const parts: string[] = [];
  /** Start of the current part's first line, or -1 outside a part. */
  let partStart = -1;
  /** End of the current part's last line so far (before its line end), or -1 while it has none. */
  let partEnd = -1;
  const take = (): string => (partEnd < 0 ? "" : lfOnly(body.slice(partStart, partEnd)));
  for (let start = 0; ;) {
    const newline = body.indexOf("\n", start);
    const end = newline < 0 ? body.length : body.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
    // Only a line starting with "--" can be a boundary line: the others are never sliced.
    if (body.charCodeAt(start) === 45 && body.charCodeAt(start + 1) === 45) {
      const trimmed = body.slice(start, end).trimEnd();
      if (trimmed === close) {
        if (partStart >= 0) parts.push(take());
        return parts;
      }
      if (trimmed === delimiter) {
        if (partStart >= 0) parts.push(take());
        partStart = newline < 0 ? body.length : newline + 1;
        partEnd = -1;
        if (newline < 0) break;
        start = newline + 1;
        continue;
      }
    }
    if (partStart >= 0) partEnd = end;
    if (newline < 0) break;
    start = newline + 1;
  }
  // A body cut off before its closing boundary still yields the parts it holds.
  if (partStart >= 0) {
    const last = take();
    if (last.trim() !== "") parts.push(last);
  }
  return parts;
}

/** Text with every CRLF turned into LF (every CRLF of a part was a line end). */
function lfOnly(text: string): string {
  return text.includes("\r\n") ? text.replace(/\r\n/g, "\n") : text;
}

interface HeadedText {
  headers: Record<string, string>;
  content: string;
}

/** Header lines (up to two blank lines before them tolerated) up to a blank line, and the text after it. */
function splitHeaders(text: string): HeadedText {
  const headers: Record<string, string> = {};
  let leadingBlank = true;
  for (let start = 0, index = 0; ; index++) {
    const newline = text.indexOf("\n", start);
    const line = text.slice(start, newline < 0 ? text.length : newline);
    if (line.trim() === "") {
      if (!(leadingBlank && index < 2)) return { headers, content: newline < 0 ? "" : text.slice(newline + 1) };
    } else {
      leadingBlank = false;
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (newline < 0) return { headers, content: "" };
    start = newline + 1;
  }
}

/** One application/http part, from its MIME headers and what follows them. */
function readHttpPart(mime: HeadedText): BatchResponsePart {
  const text = mime.content;
  let statusLine = "";
  let rest = "";
  for (let start = 0; ;) {
    const newline = text.indexOf("\n", start);
    const line = text.slice(start, newline < 0 ? text.length : newline).trim();
    if (line !== "") {
      statusLine = line;
      rest = newline < 0 ? "" : text.slice(newline + 1);
      break;
    }
    if (newline < 0) break;
    start = newline + 1;
  }
  const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\s*(.*)$/.exec(statusLine);
  if (!m) throw batchResponseError(`Unreadable part in a $batch response: "${statusLine.slice(0, 80)}"`);
  const http = splitHeaders(rest);
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
      i === failingIndex || failingIndex < 0
        ? { kind: "response" as const, part: failing }
        : { kind: "rolledBack" as const, cause: failing },
    );
  });
}

/** Content-ID references (`$1`) used by a part: in its URL or as a string value in its JSON body. */
export function contentIdReferences(part: { url: string; body?: string }): string[] {
  // Nearly every part references nothing: a "$" search (a plain character scan) says so without running
  // the patterns.
  const inUrl = part.url.startsWith("$");
  const inBody = part.body ? part.body.indexOf("$") >= 0 : false;
  if (!inUrl && !inBody) return [];
  const refs = new Set<string>();
  const urlRef = /^\$([A-Za-z0-9_-]+)/.exec(part.url);
  if (urlRef?.[1]) refs.add(urlRef[1]);
  if (part.body && inBody) {
    const re = /"\$([A-Za-z0-9_-]+)(?:\/[^"]*)?"/g;
    for (let m = re.exec(part.body); m; m = re.exec(part.body)) if (m[1]) refs.add(m[1]);
  }
  return [...refs];
}

/** A $batch response this client cannot read; the client adds the HTTP status when it rethrows. */
function batchResponseError(message: string): DataverseApiError {
  return new DataverseApiError("DATAVERSE_BATCH_RESPONSE", message);
}

/**
 * Pure: `count` operations cut into runs of at most `size` ([start, end) pairs, in order), never between two
 * operations of one change set (`joined(i)`: operation i belongs to the change set of operation i - 1). A cut
 * that would fall inside a change set moves back to its start; a change set that starts a run and does not fit
 * keeps the run to itself, past `size`.
 */
export function cutRuns(count: number, size: number, joined: (i: number) => boolean): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  while (start < count) {
    let end = Math.min(count, start + size);
    if (end < count && joined(end)) {
      let back = end;
      while (back > start && joined(back)) back--;
      if (back > start) end = back;
      else while (end < count && joined(end)) end++;
    }
    runs.push([start, end]);
    start = end;
  }
  return runs;
}
