import { boundaryOf, parseBatch, writeBatchResponse } from "../../../../sandbox/dataverse/batch";
import { parseArgs } from "../../../../sandbox/dataverse/main";

describe("sandbox/dataverse/main parseArgs", () => {
  it("reads port, database, solution and environment variable options", () => {
    expect(
      parseArgs([
        "--port",
        "8080",
        "--db",
        "/tmp/x.db",
        "--product-solution",
        "--protect",
        "--env",
        "w365_FunctionsBaseUrl=http://127.0.0.1:7071/a=b",
      ]),
    ).toEqual({
      port: 8080,
      dbPath: "/tmp/x.db",
      productSolution: true,
      protect: true,
      env: [["w365_FunctionsBaseUrl", "http://127.0.0.1:7071/a=b"]],
    });
    expect(parseArgs([])).toMatchObject({ port: 0, dbPath: ":memory:" });
  });

  it("refuses unknown options, missing values and bad ports", () => {
    expect(() => parseArgs(["--nope"])).toThrow("unknown option --nope");
    expect(() => parseArgs(["--port"])).toThrow("--port needs a value");
    expect(() => parseArgs(["--port", "-1"])).toThrow(/port/);
    expect(() => parseArgs(["--env", "novalue"])).toThrow("NAME=VALUE");
  });
});

describe("$batch multipart reader and writer (reference 1.7)", () => {
  it("1.7: reads quoted boundaries, Content-ID in the HTTP headers, bodies with blank lines", () => {
    expect(boundaryOf('multipart/mixed; boundary="batch_a b"')).toBe("batch_a b");
    expect(boundaryOf("multipart/mixed;boundary=batch_1")).toBe("batch_1");
    expect(boundaryOf("application/json")).toBeUndefined();
    const body = [
      "--batch_1",
      'Content-Type: multipart/mixed; boundary="changeset_1"',
      "",
      "--changeset_1",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "",
      "POST https://org.crm.dynamics.com/api/data/v9.2/accounts HTTP/1.1",
      "Content-ID: 7",
      "Content-Type: application/json",
      "",
      '{"description":"line 1\\n\\nline 3"}',
      "--changeset_1--",
      "--batch_1--",
      "",
    ].join("\r\n");
    const parts = parseBatch(body, "multipart/mixed; boundary=batch_1");
    expect(parts).toHaveLength(1);
    const cs = parts[0]!;
    if (cs.kind !== "changeset") throw new Error("expected a change set");
    expect(cs.requests[0]).toMatchObject({
      method: "POST",
      url: "https://org.crm.dynamics.com/api/data/v9.2/accounts",
      contentId: "7",
      body: '{"description":"line 1\\n\\nline 3"}',
    });
  });

  it("1.7: refuses a body without its closing delimiter", () => {
    expect(() =>
      parseBatch("--b\r\nContent-Type: application/http\r\n\r\nGET accounts HTTP/1.1\r\n", "multipart/mixed; boundary=b"),
    ).toThrow(/not terminated/);
  });

  it("1.7: writes batchresponse_/changesetresponse_ parts with status lines, headers and Content-ID", () => {
    const out = writeBatchResponse(
      [
        { kind: "changeset", responses: [{ status: 204, headers: { "OData-EntityId": "x" }, contentId: "1" }] },
        { kind: "response", response: { status: 200, headers: { "Content-Type": "application/json" }, body: "{}" } },
      ],
      "batchresponse_fixed",
    );
    expect(out.contentType).toBe("multipart/mixed; boundary=batchresponse_fixed");
    expect(out.body.startsWith("--batchresponse_fixed\r\nContent-Type: multipart/mixed; boundary=changesetresponse_")).toBe(true);
    expect(out.body).toContain("Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\nOData-EntityId: x\r\n");
    expect(out.body).toContain("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}");
    expect(out.body.endsWith("--batchresponse_fixed--\r\n")).toBe(true);
  });
});
