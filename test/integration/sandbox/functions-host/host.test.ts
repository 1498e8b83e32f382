/**
 * The local functions host over real HTTP: key enforcement as Azure does it, request adaptation,
 * the in-process worker, timers on demand, and a burst of concurrent deliveries.
 * Dataverse is a small in-test service answering the few reads the handlers make; the engine is a
 * recording double (the full stack runs in test/e2e/functions-*.test.ts).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { type FunctionsHost, startFunctionsHost } from "../../../../sandbox/functions-host";
import { silentLogger } from "../../../../src/shared/logger";
import {
  CONNECTION_ID,
  INTEGRATION_USER,
  ORG_ID,
  recordingDeps,
  subscriptionUpdateContext,
  syncAccountsContext,
  verifyContext,
} from "../../../support/pluginFixtures";

const KEY = "local-host-key-0123456789";

async function startDataverseDouble() {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const url = req.url ?? "";
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "odata-version": "4.0" });
      res.end(JSON.stringify(body));
    };
    if (url.startsWith("/api/data/v9.2/WhoAmI"))
      return json(200, { UserId: INTEGRATION_USER, BusinessUnitId: INTEGRATION_USER, OrganizationId: ORG_ID });
    if (url.startsWith(`/api/data/v9.2/w365_providerconnections(${CONNECTION_ID})`))
      return json(200, { w365_providerconnectionid: CONNECTION_ID, w365_name: "StreamOne Ion", statecode: 0, w365_status: 365000001 });
    if (url.startsWith("/api/data/v9.2/w365_providerconnections"))
      return json(200, { value: [{ w365_providerconnectionid: CONNECTION_ID, w365_name: "StreamOne Ion", w365_status: 365000001 }] });
    if (url.startsWith("/api/data/v9.2/w365_syncruns")) return json(200, { value: [] });
    // The subscription-changed handler reads the row (the admin's saved request) and marks it "Change requested" before queuing.
    if (req.method === "GET" && url.startsWith("/api/data/v9.2/w365_providersubscriptions("))
      return json(200, { w365_syncstate: 365000000, w365_requestedquantity: 7, "@odata.etag": 'W/"7"' });
    if (req.method === "PATCH" && url.startsWith("/api/data/v9.2/w365_providersubscriptions(")) {
      res.writeHead(204);
      return res.end();
    }
    json(404, { error: { code: "0x80040217", message: "Not found" } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("local functions host", () => {
  let dv: Awaited<ReturnType<typeof startDataverseDouble>>;
  let host: FunctionsHost;
  let recorded: ReturnType<typeof recordingDeps>;

  beforeAll(async () => {
    dv = await startDataverseDouble();
    recorded = recordingDeps();
    let run = 0;
    recorded.deps.engine.startQueuedRun = async (o) => (
      recorded.calls.push({ fn: "startQueuedRun", args: o }),
      { runId: `9b2d1a3c-0000-4000-8000-${String(++run).padStart(12, "0")}` }
    );
    host = await startFunctionsHost({
      dataverseUrl: dv.url,
      dataverseToken: "dv-token-for-host-tests",
      webhookKey: KEY,
      settings: { DATAVERSE_ORGANIZATION_ID: ORG_ID },
      logger: silentLogger,
      retryDelayMs: () => 1,
      runtime: { engine: () => recorded.deps.engine },
    });
  });
  afterAll(async () => {
    await host.close();
    await dv.close();
  });
  beforeEach(() => {
    recorded.calls.length = 0;
  });

  const post = (body: unknown, o: { key?: string | null; header?: boolean; path?: string; method?: string } = {}) => {
    const key = o.key === undefined ? KEY : o.key;
    const path = o.path ?? "/api/dataverse/webhook";
    const url = key && !o.header ? `${host.url}${path}?code=${encodeURIComponent(key)}` : `${host.url}${path}`;
    return fetch(url, {
      method: o.method ?? "POST",
      headers: {
        "content-type": "application/json",
        "x-ms-dynamics-organization": "work365dev.crm.dynamics.com",
        ...(key && o.header ? { "x-functions-key": key } : {}),
      },
      ...(o.method === "GET" ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  };

  it("binds 127.0.0.1 on a free port and exposes its key", () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.key).toBe(KEY);
  });

  it("answers 401 without the key or with a wrong one, before any work", async () => {
    const before = dv.requests();
    expect((await post(verifyContext(), { key: null })).status).toBe(401);
    expect((await post(verifyContext(), { key: "wrong-key" })).status).toBe(401);
    expect((await post(verifyContext(), { key: null, path: "/api/anything" })).status).toBe(401);
    expect(dv.requests()).toBe(before);
    expect(recorded.calls).toStrictEqual([]);
  });

  it("accepts the key as ?code= or x-functions-key", async () => {
    expect((await post(verifyContext())).status).toBe(200);
    expect((await post(verifyContext(), { header: true })).status).toBe(200);
    expect(recorded.calls.map((c) => c.fn)).toStrictEqual(["runVerify", "runVerify"]);
  });

  it("answers 404 for other paths, 405 for GET and 413 for oversized bodies", async () => {
    expect((await post({}, { path: "/api/other" })).status).toBe(404);
    expect((await post(undefined, { method: "GET" })).status).toBe(405);
    expect((await post("x".repeat(1024 * 1024 + 10))).status).toBe(413);
    expect(recorded.calls).toStrictEqual([]);
  });

  it("queues a sync and runs it through the in-process worker", async () => {
    const res = await post(syncAccountsContext({ RequestId: "host-1" }));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string };
    await host.whenIdle();
    expect(recorded.calls.map((c) => c.fn)).toStrictEqual(["startQueuedRun", "runSyncWorkItem"]);
    expect(recorded.calls[1]?.args).toMatchObject({ item: { runId: body.runId, requestId: "host-1", kind: "accounts" } });
  });

  it("runs timers on demand", async () => {
    await host.runTimer("tokenKeepAlive");
    expect(recorded.calls.map((c) => c.fn)).toStrictEqual(["runKeepAlive"]);
    recorded.calls.length = 0;
    const report = (await host.runTimer("scheduledSync")) as { queued: unknown[] };
    await host.whenIdle();
    expect(report.queued).toHaveLength(1);
    expect(recorded.calls.map((c) => c.fn)).toStrictEqual(["startQueuedRun", "runSyncWorkItem"]);
  });

  it("holds a burst of 100 concurrent deliveries plus their replays with no lost or doubled work", async () => {
    const payloads = Array.from({ length: 100 }, (_, i) => subscriptionUpdateContext({ w365_requestedquantity: i + 1 }));
    const processedBefore = host.stats().workProcessed;
    const first = await Promise.all(payloads.map((p) => post(p)));
    const replays = await Promise.all(payloads.slice(0, 50).map((p) => post(p)));
    expect(first.map((r) => r.status).filter((s) => s !== 202)).toStrictEqual([]);
    expect(replays.every((r) => r.status === 202)).toBe(true);
    await host.whenIdle();
    const outbound = recorded.calls.filter((c) => c.fn === "runOutboundForSubscription");
    expect(outbound).toHaveLength(100);
    expect(host.stats().workProcessed - processedBefore).toBe(100);
    expect(host.stats().poisoned).toBe(0);
  });
});
