/**
 * Hostile webhook deliveries, over HTTP through the whole stack: the local functions host in front of the
 * Dataverse emulator and the Ion simulator. Hostile deliveries are refused and do no work: not one
 * request reaches Dataverse or Ion, nothing is queued. Replays of real deliveries have no second
 * effect. Then a fast-check run of random bodies and headers against the live endpoint.
 */
import fc from "fast-check";

import { entityReference, remoteContext, subscriptionUpdateContext, verifyContext } from "../support/pluginFixtures";
import { all as rows, createConnection, type FunctionsWorld, startFunctionsWorld, syncFirstCustomer } from "../support/world";
import { recordArtifact, recordFigures } from "./support/figures";
import { scanForSecrets } from "./support/secrets";

type Row = Record<string, unknown>;
const FUZZ_RUNS = Number(process.env.RELIABILITY_WEBHOOK_FUZZ_RUNS ?? 300);

describe("webhook endpoint against hostile deliveries", () => {
  let world: FunctionsWorld;
  let connectionId: string;
  let organizationId: string;
  const tried: { name: string; status: number }[] = [];

  beforeAll(async () => {
    world = await startFunctionsWorld({ customers: 2, subscriptionsPerCustomer: 1 });
    connectionId = await createConnection(world);
    await world.idle();
    organizationId = (await world.dv.whoAmI()).OrganizationId;
  });
  afterAll(async () => {
    if (world) {
      recordArtifact("webhooks-host.log", world.logLines.join("\n"));
      const secrets = [
        world.webhookKey,
        world.ion.credentials.refreshToken,
        world.ion.credentials.apiSecret,
        world.emu.integrationToken,
        world.emu.adminToken,
      ];
      expect(scanForSecrets(secrets, { host: world.logLines.join("\n") })).toStrictEqual([]);
      recordFigures("webhooks", { refused: tried });
    }
    await world?.close();
  });

  const url = () => `${world.host.url}/api/dataverse/webhook`;
  const validVerify = () =>
    verifyContext({ id: connectionId, organizationId, input: { Target: entityReference("w365_providerconnection", connectionId) } });
  const send = (init: { body?: string; key?: string | null; headers?: Record<string, string>; method?: string; query?: string }) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-ms-dynamics-organization": "work365dev.crm.dynamics.com",
      ...(init.headers ?? {}),
    };
    if (init.key !== null) headers["x-functions-key"] = init.key ?? world.webhookKey;
    return fetch(`${url()}${init.query ?? ""}`, {
      method: init.method ?? "POST",
      headers,
      body: init.method === "GET" ? undefined : (init.body ?? JSON.stringify(validVerify())),
    });
  };
  async function work() {
    await world.idle();
    return { dataverse: world.emu.stats().requests, ion: world.ion.control.requestLog().length };
  }

  const key = () => world.webhookKey;
  const cases: [string, () => Parameters<typeof send>[0], number][] = [
    ["no key", () => ({ key: null }), 401],
    ["wrong key", () => ({ key: "not-the-key-0123456789" }), 401],
    ["key with one character changed", () => ({ key: key().slice(0, -1) + (key().endsWith("a") ? "b" : "a") }), 401],
    ["key as a prefix of the real one", () => ({ key: key().slice(0, 8) }), 401],
    ["key in ?code= but wrong", () => ({ key: null, query: "?code=wrong" }), 401],
    ["empty key header", () => ({ key: "" }), 401],
    ["another organization (header)", () => ({ headers: { "x-ms-dynamics-organization": "contoso.crm.dynamics.com" } }), 403],
    [
      "another organization (body)",
      () => ({
        body: JSON.stringify(
          verifyContext({
            id: connectionId,
            organizationId: "0f0f0f0f-1111-4222-8333-444455556666",
            organizationName: "contoso",
            input: { Target: entityReference("w365_providerconnection", connectionId) },
          }),
        ),
      }),
      403,
    ],
    ["malformed JSON", () => ({ body: '{"MessageName": "w365_VerifyConnectivity", ' }), 400],
    ["empty body", () => ({ body: "" }), 400],
    ["JSON array", () => ({ body: "[]" }), 400],
    ["JSON string", () => ({ body: '"w365_VerifyConnectivity"' }), 400],
    [
      "schema violation (InputParameters not a list)",
      () => ({ body: JSON.stringify({ ...validVerify(), InputParameters: "Target" }) }),
      400,
    ],
    ["oversized body (2 MB)", () => ({ body: JSON.stringify({ ...validVerify(), Padding: "x".repeat(2 * 1024 * 1024) }) }), 413],
    ["unknown message", () => ({ body: JSON.stringify({ ...validVerify(), MessageName: "w365_DeleteEverything" }) }), 400],
    [
      "Delete of a connector (not a registered step)",
      () => ({
        body: JSON.stringify(
          remoteContext({
            message: "Delete",
            entity: "w365_providerconnection",
            id: connectionId,
            organizationId,
            input: { Target: entityReference("w365_providerconnection", connectionId) },
          }),
        ),
      }),
      400,
    ],
    ["GET", () => ({ method: "GET" }), 405],
  ];

  it.each(cases)("refuses %s without doing work", async (name, init, status) => {
    const before = await work();
    const res = await send(init());
    const text = await res.text();
    tried.push({ name, status: res.status });
    expect(res.status).toBe(status);
    expect(text).not.toContain(world.webhookKey);
    expect(await work()).toStrictEqual(before);
  });

  it("a replayed Verify Connectivity runs once", async () => {
    const delivery = JSON.stringify(validVerify());
    const verifyRuns = async () =>
      (await rows<Row>(world.dv, "w365_syncruns", `w365_kind eq 'verify' and _w365_connection_value eq ${connectionId}`)).length;
    const runsBefore = await verifyRuns();
    world.ion.control.resetTokenUsage();
    const first = await send({ body: delivery });
    expect(first.status).toBeLessThan(300);
    await world.idle();
    const afterFirst = await work();
    for (let i = 0; i < 3; i++) expect((await send({ body: delivery })).status).toBeLessThan(300);
    expect(await work()).toStrictEqual(afterFirst);
    expect(await verifyRuns()).toBe(runsBefore + 1);
    expect(world.ion.control.tokenUsage().presented).toBe(1);
    tried.push({ name: "replay x3 of a verify", status: first.status });
  });

  it("a replayed admin change places one Ion order", async () => {
    await syncFirstCustomer(world, connectionId);
    const [sub] = await rows<Row>(world.dv, "w365_providersubscriptions", "w365_status eq 'active'");
    expect(sub).toBeDefined();
    const subId = String(sub?.w365_providersubscriptionid);
    const ordersBefore = world.ion.control.orders().length;
    // The admin's change (the emulator delivers it once), then the same delivery replayed by hand.
    await world.admin.update("w365_providersubscriptions", subId, { w365_requestedquantity: Number(sub?.w365_quantity) + 1 });
    await world.idle();
    expect(world.ion.control.orders().length).toBe(ordersBefore + 1);
    const replay = JSON.stringify(
      subscriptionUpdateContext(
        { w365_requestedquantity: Number(sub?.w365_quantity) + 1 },
        { id: subId, organizationId, operationId: "00000000-0000-4000-a000-00000000beef" },
      ),
    );
    for (let i = 0; i < 3; i++) expect((await send({ body: replay })).status).toBeLessThan(300);
    await world.idle();
    expect(world.ion.control.orders().length).toBe(ordersBefore + 1);
    tried.push({ name: "replay x3 of an admin change", status: 202 });
  });

  it(`random bodies and headers with the right key: never a 5xx, never Ion work (${FUZZ_RUNS} runs)`, async () => {
    const before = await work();
    const statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.json({ maxDepth: 4 }),
          // Well-formed, authenticated, but about a connector that does not exist, with a garbage Target.
          fc
            .tuple(fc.uuid(), fc.anything())
            .map(
              ([id, v]) =>
                JSON.stringify({ ...validVerify(), PrimaryEntityId: id, InputParameters: [{ key: "Target", value: v }] }) ?? "null",
            ),
        ),
        fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", ""),
        async (body, contentType) => {
          const res = await send({ body, headers: contentType ? { "content-type": contentType } : {} });
          await res.arrayBuffer();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          // Refused (4xx), or accepted but finding no connector: never a 5xx, never Ion work.
          expect(res.status < 500).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    await world.idle();
    const after = await work();
    expect(after.ion).toBe(before.ion);
    tried.push({ name: `fuzzed deliveries (${FUZZ_RUNS})`, status: Number(Object.keys(statuses)[0]) });
    recordFigures("webhooks-fuzz", { runs: FUZZ_RUNS, statuses, ionRequests: after.ion - before.ion });
  });
});
