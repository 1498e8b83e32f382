/**
 * The webhook's answer when Dataverse fails behind it, over HTTP through the local functions host.
 * Dataverse retries a webhook delivery once more only for 502/503/504 (its retry rule, as the Dataverse
 * emulator implements it: see sandbox/dataverse/README.md, and
 * https://learn.microsoft.com/power-apps/developer/data-platform/use-webhooks), so a transient failure
 * must answer 503 and must not be remembered by the replay guard, or the retry would be answered
 * from memory without doing the work. A permanent failure answers 500.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { type FunctionsHost, startFunctionsHost } from "../../../sandbox/functions-host";
import { silentLogger } from "../../../src/shared/logger";
import { CONNECTION_ID, INTEGRATION_USER, ORG_ID, recordingDeps, verifyContext } from "../../support/pluginFixtures";

const KEY = "transient-host-key-0123456789";

type Mode = "healthy" | "unavailable" | "internal-error";

/** A Dataverse double whose connector read fails the way the test says; Retry-After 0 keeps retries instant. */
async function startFlakyDataverse() {
  let mode: Mode = "healthy";
  let connectionReads = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", "odata-version": "4.0", ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.startsWith("/api/data/v9.2/WhoAmI"))
      return json(200, { UserId: INTEGRATION_USER, BusinessUnitId: INTEGRATION_USER, OrganizationId: ORG_ID });
    if (url.startsWith(`/api/data/v9.2/w365_providerconnections(${CONNECTION_ID})`)) {
      connectionReads++;
      if (mode === "unavailable")
        return json(503, { error: { code: "0x80044150", message: "Service Unavailable" } }, { "retry-after": "0" });
      if (mode === "internal-error") return json(500, { error: { code: "0x80040216", message: "An unexpected error occurred." } });
      return json(200, { w365_providerconnectionid: CONNECTION_ID, w365_name: "StreamOne Ion", statecode: 0, w365_status: 365000001 });
    }
    json(404, { error: { code: "0x80040217", message: "Not found" } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setMode: (m: Mode) => void (mode = m),
    connectionReads: () => connectionReads,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("webhook answer when Dataverse fails behind it", () => {
  let dv: Awaited<ReturnType<typeof startFlakyDataverse>>;
  let host: FunctionsHost;
  let recorded: ReturnType<typeof recordingDeps>;

  beforeAll(async () => {
    dv = await startFlakyDataverse();
    recorded = recordingDeps();
    host = await startFunctionsHost({
      dataverseUrl: dv.url,
      dataverseToken: "dv-token-for-transient-tests",
      webhookKey: KEY,
      settings: { DATAVERSE_ORGANIZATION_ID: ORG_ID },
      logger: silentLogger,
      runtime: { engine: () => recorded.deps.engine },
    });
  });
  afterAll(async () => {
    await host.close();
    await dv.close();
  });
  beforeEach(() => {
    recorded.calls.length = 0;
    dv.setMode("healthy");
  });

  const deliver = (payload: unknown) =>
    fetch(`${host.url}/api/dataverse/webhook?code=${KEY}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ms-dynamics-organization": "work365dev.crm.dynamics.com" },
      body: JSON.stringify(payload),
    });

  it("answers 503 for a transient failure, so Dataverse delivers again, and the redelivery does the work", async () => {
    const delivery = verifyContext({ requestId: "6a1e0f52-7c1b-4f59-9d3e-2b8f4a0c7d11" });
    dv.setMode("unavailable");
    const failed = await deliver(delivery);
    expect(failed.status).toBe(503);
    const body = (await failed.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^DATAVERSE_/);
    expect(JSON.stringify(body)).not.toContain(KEY);
    expect(recorded.calls).toStrictEqual([]);

    dv.setMode("healthy");
    const retried = await deliver(delivery);
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { replayed?: boolean }).replayed).toBeUndefined();
    expect(recorded.calls.map((c) => c.fn)).toStrictEqual(["runVerify"]);
  });

  it("answers 500 for a failure a retry does not cure", async () => {
    dv.setMode("internal-error");
    const readsBefore = dv.connectionReads();
    const failed = await deliver(verifyContext({ requestId: "0b7c9d2e-3f4a-4b5c-8d6e-7f8091a2b3c4" }));
    expect(failed.status).toBe(500);
    // The client does not retry a 500 either: one read, one answer.
    expect(dv.connectionReads() - readsBefore).toBe(1);
    expect(recorded.calls).toStrictEqual([]);
  });
});
