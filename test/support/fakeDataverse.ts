/**
 * A tiny stand-in for the remote Dataverse service (node:http on 127.0.0.1:0): each test supplies a
 * handler that answers like Dataverse does per docs/platform/dataverse.md. Requests are recorded.
 */
import http from "node:http";
import { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query after `/api/data/v9.2/`, decoded once. */
  path: string;
  rawUrl: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
  /** Wait for this promise before answering (to hold requests in flight). */
  hold?: Promise<void>;
}

export type Handler = (req: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface FakeDataverse {
  url: string;
  requests: RecordedRequest[];
  setHandler(handler: Handler): void;
  inFlight(): number;
  peakInFlight(): number;
  close(): Promise<void>;
}

export const API = "/api/data/v9.2/";

export async function startFakeDataverse(handler: Handler): Promise<FakeDataverse> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let peak = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      const rawUrl = req.url ?? "/";
      const afterApi = rawUrl.startsWith(API) ? rawUrl.slice(API.length) : rawUrl;
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: safeDecode(afterApi),
        rawUrl,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const index = requests.push(recorded) - 1;
      try {
        const reply = await current(recorded, index);
        if (reply.hold) await reply.hold;
        const body = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
        const headers: Record<string, string> = { "OData-Version": "4.0", ...(reply.headers ?? {}) };
        if (typeof reply.body === "object" && !headers["Content-Type"])
          headers["Content-Type"] = "application/json; odata.metadata=minimal";
        res.writeHead(reply.status, headers);
        res.end(body);
      } catch (error) {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { code: "", message: `test handler failed: ${(error as Error).message}` } }));
      } finally {
        inFlight--;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler: (h) => (current = h),
    inFlight: () => inFlight,
    peakInFlight: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function errorReply(status: number, code: string, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { "Content-Type": "application/json; charset=utf-8", ...headers }, body: { error: { code, message } } };
}

/** Sleep + clock pair: sleeping advances the clock and records the delay; nothing waits on the wall clock. */
export function fakeTime(start = 1_700_000_000_000): {
  now: () => number;
  clock: { now: () => number };
  sleep: (ms: number) => Promise<void>;
  sleeps: number[];
} {
  let t = start;
  const sleeps: number[] = [];
  const now = () => t;
  return {
    now,
    clock: { now },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// A minimal $batch request reader for the fake service, independent of the client's own reader.

export interface ParsedBatchRequestPart {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}
export type ParsedBatchUnit =
  { changeset: false; part: ParsedBatchRequestPart } | { changeset: true; parts: ParsedBatchRequestPart[]; boundary: string };

export function parseBatchRequest(contentType: string, body: string): ParsedBatchUnit[] {
  const boundary = /boundary=([^;\s]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error("no boundary");
  return splitParts(body, boundary).map((raw) => {
    const [head, rest] = splitOnce(raw);
    const inner = /boundary=([^;\s]+)/.exec(head)?.[1];
    if (/content-type:\s*multipart\/mixed/i.test(head) && inner) {
      return { changeset: true as const, boundary: inner, parts: splitParts(rest, inner).map(parseHttpRequestPart) };
    }
    return { changeset: false as const, part: parseHttpRequestPart(raw) };
  });
}

function splitParts(body: string, boundary: string): string[] {
  // A boundary counts only at the start of a line (RFC 2046), so body text that merely contains it is safe.
  const out: string[] = [];
  const segments = `\r\n${body}`.split(new RegExp(`\\r?\\n--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  for (const seg of segments.slice(1)) {
    if (seg.startsWith("--")) break;
    out.push(seg.replace(/^[ \t]*\r?\n/, ""));
  }
  return out;
}

function splitOnce(text: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return [text, ""];
  return [text.slice(0, m.index), text.slice(m.index + m[0].length)];
}

function parseHttpRequestPart(raw: string): ParsedBatchRequestPart {
  const [mimeHead, http] = splitOnce(raw);
  const contentId = /content-id:\s*(\S+)/i.exec(mimeHead)?.[1];
  const [head, body] = splitOnce(http);
  const lines = head.split(/\r?\n/);
  const [method, url] = (lines[0] ?? "").split(" ");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { method: method ?? "", url: url ?? "", headers, body: body.trim(), ...(contentId ? { contentId } : {}) };
}

export interface PartReply {
  status: number;
  statusText?: string;
  headers?: Record<string, string>;
  body?: object;
}

/** Writes a Dataverse-style batch response (batchresponse_/changesetresponse_ boundaries). */
export function writeBatchResponse(
  units: Array<{ changeset: false; reply: PartReply } | { changeset: true; replies: Array<PartReply & { contentId?: string }> }>,
): { contentType: string; body: string } {
  const b = "batchresponse_6e1d3b4f-0000-4000-8000-000000000001";
  const lines: string[] = [];
  const writeReply = (r: PartReply & { contentId?: string }) => {
    lines.push("Content-Type: application/http", "Content-Transfer-Encoding: binary");
    if (r.contentId) lines.push(`Content-ID: ${r.contentId}`);
    lines.push("", `HTTP/1.1 ${r.status} ${r.statusText ?? "Status"}`);
    for (const [k, v] of Object.entries(r.headers ?? {})) lines.push(`${k}: ${v}`);
    if (r.body) lines.push("Content-Type: application/json; odata.metadata=minimal; odata.streaming=true", "OData-Version: 4.0");
    lines.push("", r.body ? JSON.stringify(r.body) : "");
  };
  units.forEach((u, i) => {
    lines.push(`--${b}`);
    if (!u.changeset) writeReply(u.reply);
    else {
      const cs = `changesetresponse_${i}-0000`;
      lines.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
      for (const r of u.replies) {
        lines.push(`--${cs}`);
        writeReply(r);
      }
      lines.push(`--${cs}--`);
    }
  });
  lines.push(`--${b}--`, "");
  return { contentType: `multipart/mixed; boundary=${b}`, body: lines.join("\r\n") };
}
