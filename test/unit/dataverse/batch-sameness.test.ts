/**
 * The $batch writer and reader were rewritten for speed (string building and index scans instead of
 * line arrays, a plain "$" scan before the Content-ID reference patterns). The first implementation is
 * kept here as the reference; the product code must write the same bytes and read the same units (or
 * fail with the same message) for generated bodies, well-formed or not.
 */
import fc from "fast-check";

import {
  type BatchRequestPart,
  type BatchRequestUnit,
  type BatchResponsePart,
  type BatchResponseUnit,
  boundaryOf,
  contentIdReferences,
  readBatchResponse,
  writeBatchBody,
} from "../../../src/dataverse/batch";

// ---- reference: the first implementation ----
const CRLF = "\r\n";

function referenceWriteBatchBody(units: BatchRequestUnit[], batchBoundary: string, changesetBoundary: (index: number) => string): string {
  const out: string[] = [];
  units.forEach((unit, index) => {
    out.push(`--${batchBoundary}`);
    if (unit.kind === "single") {
      referenceWritePart(out, unit.part);
    } else {
      const cs = changesetBoundary(index);
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
      for (const part of unit.parts) {
        out.push(`--${cs}`);
        referenceWritePart(out, part);
      }
      out.push(`--${cs}--`);
    }
  });
  out.push(`--${batchBoundary}--`, "");
  return out.join(CRLF);
}

function referenceWritePart(out: string[], part: BatchRequestPart): void {
  out.push("Content-Type: application/http", "Content-Transfer-Encoding: binary");
  if (part.contentId !== undefined) out.push(`Content-ID: ${part.contentId}`);
  out.push("", `${part.method} ${part.url} HTTP/1.1`);
  for (const [name, value] of Object.entries(part.headers)) out.push(`${name}: ${value}`);
  out.push("", part.body ?? "");
}

function referenceReadBatchResponse(contentType: string, body: string): BatchResponseUnit[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error(`A $batch response must be multipart/mixed, got "${contentType}"`);
  return referenceSplitMultipart(body, boundary).map((raw) => {
    const { headers, content } = referenceSplitHeaders(raw);
    const inner = boundaryOf(headers["content-type"]);
    if (inner) {
      return { kind: "changeset" as const, parts: referenceSplitMultipart(content, inner).map((p) => referenceReadHttpPart(p)) };
    }
    return { kind: "single" as const, part: referenceReadHttpPart(raw) };
  });
}

function referenceSplitMultipart(body: string, boundary: string): string[] {
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
  if (current && current.some((l) => l.trim() !== "")) parts.push(current.join("\n"));
  return parts;
}

function referenceSplitHeaders(text: string): { headers: Record<string, string>; content: string } {
  const lines = text.split("\n");
  const headers: Record<string, string> = {};
  let i = 0;
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

function referenceReadHttpPart(raw: string): BatchResponsePart {
  const mime = referenceSplitHeaders(raw);
  const lines = mime.content.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const statusLine = (lines[i] ?? "").trim();
  const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\s*(.*)$/.exec(statusLine);
  if (!m) throw new Error(`Unreadable part in a $batch response: "${statusLine.slice(0, 80)}"`);
  const http = referenceSplitHeaders(lines.slice(i + 1).join("\n"));
  const contentId = mime.headers["content-id"] ?? http.headers["content-id"];
  return {
    status: Number(m[1]),
    statusText: m[2] ?? "",
    headers: http.headers,
    body: http.content.trim(),
    ...(contentId !== undefined ? { contentId } : {}),
  };
}

function referenceContentIdReferences(part: { url: string; body?: string }): string[] {
  const refs = new Set<string>();
  const urlRef = /^\$([A-Za-z0-9_-]+)/.exec(part.url);
  if (urlRef?.[1]) refs.add(urlRef[1]);
  if (part.body) {
    const re = /"\$([A-Za-z0-9_-]+)(?:\/[^"]*)?"/g;
    for (let m = re.exec(part.body); m; m = re.exec(part.body)) if (m[1]) refs.add(m[1]);
  }
  return [...refs];
}

/** Units read, or the message of the error thrown (the product wraps it in its own error class). */
function outcome(run: () => BatchResponseUnit[]): { units: BatchResponseUnit[] } | { error: string } {
  try {
    return { units: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

// ---- generators ----
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", " ", "\r", "a\r\nb", "--batch_B", "--batch_B--", '{"@odata.id":"$1"}', "é\u2028x"),
);
const reference = fc.oneof(fc.stringMatching(/^\$[A-Za-z0-9_-]{1,4}(\/[a-z]{0,5})?$/), fc.constantFrom("$", "$/x", "$1", "$$2"));
const jsonBody = fc
  .dictionary(fc.string({ maxLength: 6 }), fc.oneof(text, reference, fc.integer(), fc.boolean()), { maxKeys: 5 })
  .map((d) => JSON.stringify(d));
const requestPart: fc.Arbitrary<BatchRequestPart> = fc.record(
  {
    method: fc.constantFrom("GET", "POST", "PATCH", "DELETE"),
    url: fc.oneof(fc.constant("/api/data/v9.2/w365_providersubscriptions(1)"), reference, text),
    headers: fc.dictionary(fc.stringMatching(/^[A-Za-z-]{1,12}$/), text, { maxKeys: 4 }),
    body: fc.oneof(jsonBody, text),
    contentId: fc.oneof(fc.integer({ min: 1, max: 99 }).map(String), text),
  },
  { requiredKeys: ["method", "url", "headers"] },
);
const requestUnit: fc.Arbitrary<BatchRequestUnit> = fc.oneof(
  requestPart.map((part) => ({ kind: "single" as const, part })),
  fc.array(requestPart, { maxLength: 4 }).map((parts) => ({ kind: "changeset" as const, parts })),
);

const B = "batchresponse_B";
const C = "changesetresponse_C";
const blank = fc.constantFrom("", " ", "\t", "\r", " \r");
const headerLine = fc.oneof(
  fc.constantFrom(
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "Content-ID: 3",
    "  content-id :  4 ",
    "OData-Version: 4.0",
    ":nameless",
    "no colon",
    "X-A:",
    "Retry-After: 12",
  ),
  fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,10}$/), text).map(([k, v]) => `${k}: ${v}`),
);
const statusLine = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(
      "HTTP/1.1 204 No Content",
      "HTTP/1.1 200 OK",
      "HTTP/1.1 429",
      "HTTP/2 400 Bad Request",
      "  HTTP/1.0 500 x  ",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("HTTP/1.1 20 short", "garbage") },
);
const httpPart = fc
  .tuple(
    fc.array(headerLine, { maxLength: 3 }),
    fc.array(blank, { maxLength: 2 }),
    statusLine,
    fc.array(headerLine, { maxLength: 3 }),
    fc.oneof(jsonBody, text, fc.constant("")),
  )
  .map(([mime, gap, status, headers, body]) => [...mime, "", ...gap, status, ...headers, "", body]);
const boundaryLine = (b: string) => fc.constantFrom(`--${b}`, `--${b}`, `--${b} `, `--${b}\t`, `--${b}x`, `-${b}`);
const responseUnit = fc.oneof(
  httpPart.chain((lines) => boundaryLine(B).map((open) => [open, ...lines])),
  fc
    .array(
      httpPart.chain((lines) => boundaryLine(C).map((open) => [open, ...lines])),
      { maxLength: 3 },
    )
    .chain((parts) =>
      fc
        .constantFrom(`--${C}--`, `--${C}-- `, "")
        .map((close) => [`--${B}`, `Content-Type: multipart/mixed; boundary=${C}`, "", ...parts.flat(), close]),
    ),
);
/** Lines of a response (well-formed or cut, with stray lines) joined by LF, CRLF or CR CR LF at random. */
const responseBody = fc
  .tuple(
    fc.array(fc.oneof(text, blank), { maxLength: 2 }),
    fc.array(
      fc.oneof(
        { weight: 12, arbitrary: responseUnit },
        { weight: 1, arbitrary: fc.array(fc.oneof(text, blank, headerLine, statusLine), { maxLength: 3 }) },
      ),
      { maxLength: 5 },
    ),
    fc.constantFrom(`--${B}--`, `--${B}-- `, "", `--${B}`),
    fc.oneof(text, fc.constant("")),
  )
  .chain(([preamble, units, close, epilogue]) => {
    const lines = [...preamble, ...units.flat(), close, epilogue];
    return fc
      .array(fc.constantFrom("\r\n", "\r\n", "\n", "\r\r\n"), { minLength: lines.length, maxLength: lines.length })
      .map((ends) => lines.map((l, i) => l + ends[i]!).join(""));
  });

describe("$batch reading and writing after the rewrite behave as the first implementation", () => {
  it("writes the same bytes for any units", () => {
    fc.assert(
      fc.property(fc.array(requestUnit, { maxLength: 6 }), fc.string({ minLength: 1 }), (units, boundary) => {
        const csBoundary = (i: number) => `changeset_${boundary}_${i}`;
        expect(writeBatchBody(units, boundary, csBoundary)).toBe(referenceWriteBatchBody(units, boundary, csBoundary));
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads the same units, or fails with the same message, for any response body", () => {
    fc.assert(
      fc.property(
        responseBody,
        fc.constantFrom(
          `multipart/mixed; boundary=${B}`,
          `multipart/mixed; boundary=${B}`,
          `multipart/mixed; boundary="${B}"`,
          "application/json",
        ),
        (body, contentType) => {
          expect(outcome(() => readBatchResponse(contentType, body))).toStrictEqual(
            outcome(() => referenceReadBatchResponse(contentType, body)),
          );
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("reads the same units for any well-formed body the writer gives back (CRLF and LF)", () => {
    fc.assert(
      fc.property(fc.array(requestUnit, { maxLength: 5 }), fc.boolean(), (units, lf) => {
        // A request body has the shape of a response body except the status line: write one, then read it.
        const withStatus = units.map((u): BatchRequestUnit => {
          const asResponse = (p: BatchRequestPart): BatchRequestPart => ({ ...p, method: "HTTP/1.1", url: "204", headers: p.headers });
          return u.kind === "single" ? { kind: "single", part: asResponse(u.part) } : { kind: "changeset", parts: u.parts.map(asResponse) };
        });
        let body = writeBatchBody(withStatus, B, () => C).replace(/ HTTP\/1\.1\r\n/g, "\r\n");
        if (lf) body = body.replace(/\r\n/g, "\n");
        expect(outcome(() => readBatchResponse(`multipart/mixed; boundary=${B}`, body))).toStrictEqual(
          outcome(() => referenceReadBatchResponse(`multipart/mixed; boundary=${B}`, body)),
        );
      }),
      { numRuns: 1_000 },
    );
  });

  it("finds the same Content-ID references in any URL and body", () => {
    fc.assert(
      fc.property(fc.oneof(reference, text), fc.option(fc.oneof(jsonBody, text), { nil: undefined }), (url, body) => {
        const part = body === undefined ? { url } : { url, body };
        expect(contentIdReferences(part)).toStrictEqual(referenceContentIdReferences(part));
      }),
      { numRuns: 3_000 },
    );
  });
});
