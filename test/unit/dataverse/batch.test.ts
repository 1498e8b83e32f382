import {
  BatchRequestUnit,
  boundaryOf,
  contentIdReferences,
  mapBatchResponse,
  readBatchResponse,
  writeBatchBody,
} from "../../../src/dataverse/batch";
import { parseBatchRequest, writeBatchResponse } from "../../support/httpStubs";

const units: BatchRequestUnit[] = [
  { kind: "single", part: { method: "GET", url: "/api/data/v9.2/accounts?$select=name", headers: { Accept: "application/json" } } },
  {
    kind: "changeset",
    parts: [
      {
        method: "POST",
        url: "/api/data/v9.2/accounts",
        headers: { "Content-Type": "application/json; type=entry" },
        body: '{"name":"A"}',
        contentId: "1",
      },
      {
        method: "POST",
        url: "/api/data/v9.2/contacts",
        headers: { "Content-Type": "application/json; type=entry" },
        body: '{"lastname":"B","parentcustomerid_account@odata.bind":"$1"}',
        contentId: "2",
      },
    ],
  },
];

describe("$batch wire format", () => {
  it("writes the exact multipart body Dataverse documents (CRLF, application/http parts, change set with Content-ID)", () => {
    const body = writeBatchBody(units, "batch_B", () => "changeset_C");
    expect(body.split("\r\n")).toStrictEqual([
      "--batch_B",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "",
      "GET /api/data/v9.2/accounts?$select=name HTTP/1.1",
      "Accept: application/json",
      "",
      "",
      "--batch_B",
      "Content-Type: multipart/mixed; boundary=changeset_C",
      "",
      "--changeset_C",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 1",
      "",
      "POST /api/data/v9.2/accounts HTTP/1.1",
      "Content-Type: application/json; type=entry",
      "",
      '{"name":"A"}',
      "--changeset_C",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 2",
      "",
      "POST /api/data/v9.2/contacts HTTP/1.1",
      "Content-Type: application/json; type=entry",
      "",
      '{"lastname":"B","parentcustomerid_account@odata.bind":"$1"}',
      "--changeset_C--",
      "--batch_B--",
      "",
    ]);
  });

  it("round-trips through an independent request reader", () => {
    const parsed = parseBatchRequest(
      "multipart/mixed; boundary=batch_B",
      writeBatchBody(units, "batch_B", () => "changeset_C"),
    );
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).toMatchObject({ changeset: false, part: { method: "GET", url: "/api/data/v9.2/accounts?$select=name" } });
    const cs = parsed[1]!;
    if (!cs.changeset) throw new Error("expected a change set");
    expect(cs.parts.map((p) => [p.method, p.url, p.contentId, JSON.parse(p.body)])).toStrictEqual([
      ["POST", "/api/data/v9.2/accounts", "1", { name: "A" }],
      ["POST", "/api/data/v9.2/contacts", "2", { lastname: "B", "parentcustomerid_account@odata.bind": "$1" }],
    ]);
  });

  it("reads a Dataverse response with a batch part and a change set response, echoing Content-ID", () => {
    const { contentType, body } = writeBatchResponse([
      { changeset: false, reply: { status: 200, statusText: "OK", body: { value: [{ name: "A" }] } } },
      {
        changeset: true,
        replies: [
          {
            status: 204,
            statusText: "No Content",
            contentId: "1",
            headers: { "OData-EntityId": "https://org/api/data/v9.2/accounts(11111111-1111-1111-1111-111111111111)" },
          },
          {
            status: 204,
            statusText: "No Content",
            contentId: "2",
            headers: { Location: "https://org/api/data/v9.2/contacts(22222222-2222-2222-2222-222222222222)" },
          },
        ],
      },
    ]);
    const read = readBatchResponse(contentType, body);
    expect(read).toHaveLength(2);
    expect(read[0]).toMatchObject({ kind: "single", part: { status: 200, statusText: "OK" } });
    expect(JSON.parse((read[0] as { part: { body: string } }).part.body)).toStrictEqual({ value: [{ name: "A" }] });
    const cs = read[1]!;
    if (cs.kind !== "changeset") throw new Error("expected change set");
    expect(cs.parts.map((p) => [p.status, p.contentId, p.headers["odata-entityid"] ?? p.headers.location])).toStrictEqual([
      [204, "1", "https://org/api/data/v9.2/accounts(11111111-1111-1111-1111-111111111111)"],
      [204, "2", "https://org/api/data/v9.2/contacts(22222222-2222-2222-2222-222222222222)"],
    ]);
  });

  it("reads LF-only bodies and quoted boundaries", () => {
    const body = [
      "--batchresponse_x",
      "Content-Type: application/http",
      "",
      "HTTP/1.1 404 Not Found",
      "Content-Type: application/json",
      "",
      '{"error":{"code":"0x80040217","message":"gone"}}',
      "--batchresponse_x--",
    ].join("\n");
    const read = readBatchResponse('multipart/mixed; boundary="batchresponse_x"', body);
    expect(read).toStrictEqual([
      {
        kind: "single",
        part: {
          status: 404,
          statusText: "Not Found",
          headers: { "content-type": "application/json" },
          body: '{"error":{"code":"0x80040217","message":"gone"}}',
        },
      },
    ]);
    expect(boundaryOf("application/json")).toBeUndefined();
    expect(() => readBatchResponse("application/json", "{}")).toThrow(/multipart/);
    expect(() => readBatchResponse("application/json", "{}")).toThrow(expect.objectContaining({ code: "DATAVERSE_BATCH_RESPONSE" }));
  });

  it("maps a failed change set to the failing operation (by Content-ID) and rolls back the others", () => {
    const failing = { status: 412, statusText: "Precondition Failed", headers: {}, body: "{}", contentId: "2" };
    const outcomes = mapBatchResponse(units, [
      { kind: "single", part: { status: 200, statusText: "OK", headers: {}, body: "{}" } },
      { kind: "single", part: failing },
    ]);
    expect(outcomes[0]).toStrictEqual([{ kind: "response", part: expect.objectContaining({ status: 200 }) }]);
    expect(outcomes[1]).toStrictEqual([
      { kind: "rolledBack", cause: failing },
      { kind: "response", part: failing },
    ]);
  });

  it("reports units after a stop as not executed and a change set without Content-ID echo as failed in full", () => {
    const failing = { status: 400, statusText: "Bad Request", headers: {}, body: "{}" };
    const outcomes = mapBatchResponse([units[1]!, units[0]!], [{ kind: "single", part: failing }]);
    expect(outcomes[0]).toStrictEqual([
      { kind: "response", part: failing },
      { kind: "response", part: failing },
    ]);
    expect(outcomes[1]).toStrictEqual([{ kind: "notExecuted" }]);
  });

  it("finds Content-ID references in URLs and bind values", () => {
    expect(contentIdReferences({ url: "$1", body: '{"a@odata.bind":"$2","b":"$3/x","c":"$ 4"}' }).sort()).toStrictEqual(["1", "2", "3"]);
    expect(contentIdReferences({ url: "/api/data/v9.2/accounts" })).toStrictEqual([]);
  });
});
