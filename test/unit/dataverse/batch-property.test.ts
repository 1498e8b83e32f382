import fc from "fast-check";

import { BatchRequestPart, BatchRequestUnit, readBatchResponse, writeBatchBody } from "../../../src/dataverse/batch";
import { parseBatchRequest, writeBatchResponse } from "../../support/httpStubs";

const method = fc.constantFrom("GET", "POST", "PATCH", "DELETE");
const jsonBody = fc.dictionary(
  fc.string({ maxLength: 8 }).filter((k) => k.length > 0),
  fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant("--batch_B\r\n--changeset_C--")),
  { maxKeys: 4, noNullPrototype: true },
);
const part = fc.record({ method, path: fc.stringMatching(/^[a-z_]{1,12}$/), body: fc.option(jsonBody, { nil: undefined }) });

describe("$batch format properties", () => {
  it("whatever the operations and body text, the written body parses back to the same requests", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ changeset: fc.boolean(), parts: fc.array(part, { minLength: 1, maxLength: 4 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        (groups) => {
          let id = 0;
          const units: BatchRequestUnit[] = groups.map((g) => {
            const parts = g.parts.map((p): BatchRequestPart => ({
              method: p.method,
              url: `/api/data/v9.2/${p.path}`,
              headers: p.body ? { "Content-Type": "application/json; type=entry" } : ({} as Record<string, string>),
              ...(p.body ? { body: JSON.stringify(p.body) } : {}),
              ...(g.changeset ? { contentId: String(++id) } : {}),
            }));
            return g.changeset ? { kind: "changeset" as const, parts } : { kind: "single" as const, part: parts[0]! };
          });
          const parsed = parseBatchRequest(
            "multipart/mixed; boundary=batch_B",
            writeBatchBody(units, "batch_B", (i) => `changeset_C${i}`),
          );
          const flat = (u: BatchRequestUnit) => (u.kind === "single" ? [u.part] : u.parts);
          expect(
            parsed.map((p) =>
              (p.changeset ? p.parts : [p.part]).map((x) => [x.method, x.url, x.body ? JSON.parse(x.body) : undefined, x.contentId]),
            ),
          ).toStrictEqual(units.map((u) => flat(u).map((x) => [x.method, x.url, x.body ? JSON.parse(x.body) : undefined, x.contentId])));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads back any response Dataverse could write: statuses, Content-IDs and JSON bodies", () => {
    const reply = fc.record({ status: fc.constantFrom(200, 204, 400, 404, 412, 429, 500), body: fc.option(jsonBody, { nil: undefined }) });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(reply.map((r) => ({ changeset: false as const, reply: r }))), { minLength: 1, maxLength: 5 }),
        (units) => {
          const { contentType, body } = writeBatchResponse(units);
          const read = readBatchResponse(contentType, body);
          expect(
            read.map((u) => (u.kind === "single" ? [u.part.status, u.part.body ? JSON.parse(u.part.body) : undefined] : [])),
          ).toStrictEqual(units.map((u) => [u.reply.status, u.reply.body]));
        },
      ),
      { numRuns: 300 },
    );
  });
});
