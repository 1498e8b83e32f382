/**
 * `$batch` multipart/mixed reading and writing (docs/platform/dataverse.md 1.7): batch parts, change sets
 * with Content-ID, absolute or relative URLs, CRLF or LF line ends; responses as
 * `batchresponse_<guid>` / `changesetresponse_<guid>`.
 */
import { randomUUID } from "node:crypto";

import { badRequest } from "./errors";

export interface BatchRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

export type BatchPart = { kind: "request"; request: BatchRequest } | { kind: "changeset"; requests: BatchRequest[] };

export interface BatchResponseItem {
  status: number;
  headers: Record<string, string>;
  body?: string;
  contentId?: string;
}

export type BatchResponsePart = { kind: "response"; response: BatchResponseItem } | { kind: "changeset"; responses: BatchResponseItem[] };

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/mixed/i.test(contentType.trim())) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Splits a multipart body into its parts (text between delimiter lines). */
function splitParts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  const parts: string[] = [];
  let current: string[] | undefined;
  let closed = false;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) parts.push(current.join("\r\n"));
      current = trimmed === delimiter ? [] : undefined;
      if (trimmed !== delimiter) {
        closed = true;
        break;
      }
      continue;
    }
    current?.push(line);
  }
  if (!closed) throw badRequest(`The batch request body is not terminated by '${delimiter}--'.`);
  return parts;
}

function splitHeaders(text: string): { headers: Record<string, string>; rest: string } {
  const idx = text.search(/\r?\n\r?\n/);
  const head = idx < 0 ? text : text.slice(0, idx);
  const rest = idx < 0 ? "" : text.slice(idx).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, rest };
}

function parseHttpRequest(text: string, mimeHeaders: Record<string, string>): BatchRequest {
  const body = text.replace(/^(\r?\n)+/, "");
  const nl = body.search(/\r?\n/);
  const requestLine = (nl < 0 ? body : body.slice(0, nl)).trim();
  // Tolerate unencoded spaces in the URL: the method is the first word, the version the last.
  const m = /^([A-Z]+)\s+(.+?)(\s+HTTP\/\d\.\d)?$/.exec(requestLine);
  if (!m) throw badRequest(`The batch part does not start with an HTTP request line: '${requestLine.slice(0, 100)}'.`);
  const { headers, rest } = splitHeaders(nl < 0 ? "" : body.slice(nl).replace(/^\r?\n/, ""));
  const contentId = mimeHeaders["content-id"] ?? headers["content-id"];
  return {
    method: m[1]!,
    url: m[2]!.replace(/ /g, "%20"),
    headers,
    body: rest.replace(/(\r?\n)+$/, ""),
    ...(contentId ? { contentId } : {}),
  };
}

export function parseBatch(body: string, contentType: string | undefined): BatchPart[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw badRequest("The $batch request must have Content-Type multipart/mixed with a boundary.");
  return splitParts(body, boundary).map((part): BatchPart => {
    const { headers, rest } = splitHeaders(part);
    const inner = boundaryOf(headers["content-type"]);
    if (inner) {
      const requests = splitParts(rest, inner).map((p) => {
        const h = splitHeaders(p);
        return parseHttpRequest(h.rest, h.headers);
      });
      for (const r of requests) {
        if (r.method === "GET") throw badRequest("GET requests are not allowed inside a change set.");
      }
      return { kind: "changeset", requests };
    }
    return { kind: "request", request: parseHttpRequest(rest, headers) };
  });
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  412: "Precondition Failed",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};
export const statusText = (s: number) => STATUS_TEXT[s] ?? "Unknown";

function writeHttp(item: BatchResponseItem): string {
  const lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (item.contentId) lines.push(`Content-ID: ${item.contentId}`);
  lines.push("", `HTTP/1.1 ${item.status} ${statusText(item.status)}`);
  for (const [k, v] of Object.entries(item.headers)) lines.push(`${k}: ${v}`);
  lines.push("", item.body ?? "");
  return lines.join("\r\n");
}

export function writeBatchResponse(
  parts: BatchResponsePart[],
  batchBoundary = `batchresponse_${randomUUID()}`,
): { contentType: string; body: string } {
  const out: string[] = [];
  for (const part of parts) {
    out.push(`--${batchBoundary}`);
    if (part.kind === "response") out.push(writeHttp(part.response));
    else {
      const cs = `changesetresponse_${randomUUID()}`;
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
      for (const r of part.responses) out.push(`--${cs}`, writeHttp(r));
      out.push(`--${cs}--`);
    }
  }
  out.push(`--${batchBoundary}--`, "");
  return { contentType: `multipart/mixed; boundary=${batchBoundary}`, body: out.join("\r\n") };
}
