import { HttpRequest, InvocationContext } from "@azure/functions";

import { createWebhookHandler, type WebhookRuntime } from "../../../functions/dataverseWebhook";
import { ReplayGuard } from "../../../functions/replayGuard";
import { keysMatch } from "../../../functions/webhookSecurity";
import { memoryLogger } from "../../../src/shared/logger";
import { ORG_DOMAIN, ORG_ID, recordingDeps, syncAccountsContext, verifyContext } from "../../support/pluginFixtures";

const KEY = "k3y-for-tests-0123456789abcdef";
let now = Date.parse("2026-11-27T10:00:00Z");
const clock = { now: () => now };

function setup(options: { organization?: { id: string; domain?: string }; maxBodyBytes?: number } = {}) {
  const recorded = recordingDeps();
  const logger = memoryLogger();
  const runtime: WebhookRuntime = {
    webhookKey: KEY,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    expectedOrganization: async () => options.organization ?? { id: ORG_ID, domain: ORG_DOMAIN },
    replay: new ReplayGuard(24 * 3600_000, clock),
    pluginDeps: () => recorded.deps,
    logger,
  };
  const handler = createWebhookHandler(runtime);
  const call = (init: { body?: string; key?: string | null; viaHeader?: boolean; headers?: Record<string, string>; method?: string }) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-ms-dynamics-organization": ORG_DOMAIN,
      ...(init.headers ?? {}),
    };
    const query: Record<string, string> = {};
    const key = init.key === undefined ? KEY : init.key;
    if (key !== null) {
      if (init.viaHeader) headers["x-functions-key"] = key;
      else query.code = key;
    }
    const request = new HttpRequest({
      method: init.method ?? "POST",
      url: "http://127.0.0.1/api/dataverse/webhook",
      headers,
      query,
      ...(init.body !== undefined ? { body: { string: init.body } } : {}),
    });
    return handler(
      request,
      new InvocationContext({ invocationId: "inv-1", functionName: "dataverseWebhook", logHandler: () => undefined }),
    );
  };
  const noWork = () => {
    expect(recorded.calls).toStrictEqual([]);
    expect(recorded.dataverseCalls).toStrictEqual([]);
    expect(recorded.queued).toStrictEqual([]);
  };
  return { ...recorded, runtime, call, noWork, logger };
}

const body = (raw: Record<string, unknown>) => JSON.stringify(raw);

describe("dataverseWebhook handler", () => {
  beforeEach(() => {
    now = Date.parse("2026-11-27T10:00:00Z");
  });

  it("handles an authenticated verify call (key in ?code=)", async () => {
    const t = setup();
    const res = await t.call({ body: body(verifyContext({ createdOn: now })) });
    expect(res.status).toBe(200);
    expect(t.calls.map((c) => c.fn)).toStrictEqual(["runVerify"]);
  });

  it("accepts the key in the x-functions-key header", async () => {
    const t = setup();
    const res = await t.call({ body: body(verifyContext({ createdOn: now })), viaHeader: true });
    expect(res.status).toBe(200);
  });

  it("answers 401 without a key and does no work", async () => {
    const t = setup();
    const res = await t.call({ body: body(verifyContext({ createdOn: now })), key: null });
    expect(res.status).toBe(401);
    expect(res.jsonBody).toMatchObject({ error: { code: "WEBHOOK_UNAUTHORIZED" } });
    t.noWork();
  });

  it("answers 401 for a wrong key, even one sharing a prefix, and does no work", async () => {
    const t = setup();
    for (const key of ["wrong", KEY.slice(0, -1), KEY + "x", ""]) {
      const res = await t.call({ body: body(verifyContext({ createdOn: now })), key });
      expect(res.status).toBe(401);
    }
    t.noWork();
  });

  it("checks the key before reading the body (401 beats malformed JSON)", async () => {
    const t = setup();
    expect((await t.call({ body: "{{{", key: "nope" })).status).toBe(401);
  });

  it("answers 403 for another organization (its id, or a header naming another domain) and does no work", async () => {
    const t = setup();
    const other = await t.call({
      body: body(verifyContext({ createdOn: now })),
      headers: { "x-ms-dynamics-organization": "evil.crm.dynamics.com" },
    });
    expect(other.status).toBe(403);
    const otherId = await t.call({ body: body(verifyContext({ createdOn: now, organizationId: "99999999-2222-4333-8444-555555555555" })) });
    expect(otherId.status).toBe(403);
    t.noWork();
  });

  it("does not compare OrganizationName (the unique name, unrelated to the URL label) with anything", async () => {
    const t = setup();
    const res = await t.call({ body: body(verifyContext({ createdOn: now, organizationName: "unq00000000000000000000000000000000" })) });
    expect(res.status).toBe(200);
  });

  it("answers 400 for malformed JSON, an empty body and a schema violation, with no work", async () => {
    const t = setup();
    const bad = await t.call({ body: '{"MessageName": ' });
    expect(bad.status).toBe(400);
    expect(bad.jsonBody).toMatchObject({ error: { message: "Invalid webhook payload: the body is not valid JSON." } });
    expect((await t.call({ body: "" })).status).toBe(400);
    const schema = await t.call({ body: body({ ...verifyContext({ createdOn: now }), UserId: "x" }) });
    expect(schema.status).toBe(400);
    expect(JSON.stringify(schema.jsonBody)).toContain("UserId: must be a GUID");
    t.noWork();
  });

  it("answers 413 for an oversized body, declared or streamed, with no work", async () => {
    const t = setup({ maxBodyBytes: 2048 });
    const big = body({ ...verifyContext({ createdOn: now }), Padding: "x".repeat(5000) });
    expect((await t.call({ body: big })).status).toBe(413);
    expect((await t.call({ body: big, headers: { "content-length": String(big.length) } })).status).toBe(413);
    t.noWork();
  });

  it("refuses unknown messages with 400", async () => {
    const t = setup();
    const raw = { ...verifyContext({ createdOn: now }), MessageName: "Delete" };
    const res = await t.call({ body: body(raw) });
    expect(res.status).toBe(400);
    expect(res.jsonBody).toMatchObject({ error: { code: "WEBHOOK_UNKNOWN_MESSAGE" } });
    t.noWork();
  });

  it("refuses a request-name header that contradicts the payload", async () => {
    const t = setup();
    const res = await t.call({
      body: body(verifyContext({ createdOn: now })),
      headers: { "x-ms-dynamics-request-name": "w365_SyncProviderAccounts" },
    });
    expect(res.status).toBe(400);
    t.noWork();
  });

  it("answers a replay with the first outcome and no second effect", async () => {
    const t = setup();
    const payload = body(syncAccountsContext({ RequestId: "r-1" }, { createdOn: now }));
    const first = await t.call({ body: payload });
    const second = await t.call({ body: payload });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.jsonBody).toMatchObject({ replayed: true, runId: (first.jsonBody as { runId: string }).runId });
    expect(t.queued).toHaveLength(1);
    expect(t.calls.filter((c) => c.fn === "startQueuedRun")).toHaveLength(1);
  });

  it("handles concurrent duplicates once", async () => {
    const t = setup();
    const payload = body(syncAccountsContext({}, { createdOn: now }));
    const results = await Promise.all([t.call({ body: payload }), t.call({ body: payload }), t.call({ body: payload })]);
    expect(results.map((r) => r.status)).toStrictEqual([202, 202, 202]);
    expect(t.queued).toHaveLength(1);
  });

  it("refuses a delivery older than the replay window", async () => {
    const t = setup();
    const res = await t.call({ body: body(verifyContext({ createdOn: now - 25 * 3600_000 })) });
    expect(res.status).toBe(400);
    expect(res.jsonBody).toMatchObject({ error: { code: "WEBHOOK_STALE" } });
    t.noWork();
  });

  it("refuses GET with 405", async () => {
    const t = setup();
    expect((await t.call({ method: "GET" })).status).toBe(405);
  });

  it("turns a failing engine into a 500 (or 503 when transient) without leaking the key", async () => {
    const t = setup();
    t.deps.engine.runVerify = async () => {
      throw Object.assign(new Error(`boom with ?code=${KEY}`), {});
    };
    const res = await t.call({ body: body(verifyContext({ createdOn: now })) });
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.jsonBody)).not.toContain(KEY);
    expect(t.logger.lines.join("\n")).not.toContain(KEY);
  });
});

describe("keysMatch", () => {
  it("compares equal and different keys of any length", () => {
    expect(keysMatch("abc", "abc")).toBe(true);
    expect(keysMatch("abd", "abc")).toBe(false);
    expect(keysMatch("", "")).toBe(false);
    expect(keysMatch("a".repeat(10_000), "abc")).toBe(false);
  });
});
