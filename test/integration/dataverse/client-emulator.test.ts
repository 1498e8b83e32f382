/**
 * The client against the embedded Dataverse emulator (sandbox/dataverse) with the real solution applied:
 * every operation the connector uses, end to end over HTTP.
 */
import http from "node:http";
import { AddressInfo } from "node:net";

import { startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseClient, odataString } from "../../../src/dataverse";
import {
  DataverseAuthError,
  DataverseConcurrencyError,
  DataverseNotExecutedError,
  DataverseNotFoundError,
  DataverseValidationError,
} from "../../../src/dataverse/errors";
import { ensureWebhookRegistration } from "../../../src/deploy/webhookRegistration";
import { readSolutionSource } from "../../../src/solution";
import { fakeTime } from "../../support/httpStubs";

type Emulator = Awaited<ReturnType<typeof startDataverseEmulator>>;

let emu: Emulator;
let receiver: http.Server;
const webhooks: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
let dv: DataverseClient;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      webhooks.push({ url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  emu = await startDataverseEmulator();
  emu.applySolutionModel(await readSolutionSource());
  dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken } });
  // The webhook endpoint and steps are not in the solution: they are registered after import, as deploy does.
  await ensureWebhookRegistration(dv, {
    functionsUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    webhookKey: "webhook-key-for-tests-123",
  });
});

afterAll(async () => {
  await emu?.whenIdle();
  await emu?.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});

// One connector per Ion account (an alternate key), so each test's connector has its own Account ID.
let nextAccountId = 1001;
async function newConnection(name: string): Promise<string> {
  return dv.create("w365_providerconnections", {
    w365_name: name,
    w365_ionaccountid: String(nextAccountId++),
    w365_refreshtoken: "rt-secret-value-1",
    w365_country: "US",
    w365_currencycode: "USD",
  });
}

describe("DataverseClient against the emulator", () => {
  it("WhoAmI returns the integration user's ids", async () => {
    const me = await dv.whoAmI();
    expect(me.UserId).toMatch(/^[0-9a-f-]{36}$/);
    expect(me.BusinessUnitId).toMatch(/^[0-9a-f-]{36}$/);
    expect(me.OrganizationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("creates, retrieves (secured column readable by the integration user), updates with ETags and deletes", async () => {
    const id = await newConnection("Crud test");
    const row = await dv.retrieve<Record<string, unknown>>("w365_providerconnections", id, {
      select: ["w365_name", "w365_refreshtoken", "w365_status"],
    });
    expect(row.w365_name).toBe("Crud test");
    expect(row.w365_refreshtoken).toBe("rt-secret-value-1");
    const etag = row["@odata.etag"] as string;
    expect(etag).toMatch(/^W\/"/);

    await dv.update("w365_providerconnections", id, { w365_statusmessage: "ok" }, { ifMatch: etag });
    const after = await dv.retrieve<Record<string, unknown>>("w365_providerconnections", id, { select: ["w365_statusmessage"] });
    expect(after.w365_statusmessage).toBe("ok");
    expect(after["@odata.etag"]).not.toBe(etag);
    await expect(dv.update("w365_providerconnections", id, { w365_statusmessage: "stale" }, { ifMatch: etag })).rejects.toBeInstanceOf(
      DataverseConcurrencyError,
    );

    await dv.delete("w365_providerconnections", id);
    await expect(dv.tryRetrieve("w365_providerconnections", id)).resolves.toBeUndefined();
    await expect(dv.retrieve("w365_providerconnections", id)).rejects.toBeInstanceOf(DataverseNotFoundError);
    await expect(dv.update("w365_providerconnections", id, { w365_name: "x" })).rejects.toBeInstanceOf(DataverseNotFoundError);
  });

  it("an update with return=representation answers the row's new ETag, good for the next If-Match without a read", async () => {
    const id = await newConnection("Returning test");
    const { "@odata.etag": etag } = await dv.retrieve<Record<string, unknown>>("w365_providerconnections", id, { select: ["w365_name"] });
    const written = await dv.updateReturning<Record<string, unknown>>(
      "w365_providerconnections",
      id,
      { w365_statusmessage: "claimed" },
      { ifMatch: String(etag), select: ["w365_providerconnectionid"] },
    );
    expect(written.w365_providerconnectionid).toBe(id);
    expect(written).not.toHaveProperty("w365_statusmessage");
    const now = await dv.retrieve<Record<string, unknown>>("w365_providerconnections", id, { select: ["w365_statusmessage"] });
    expect(written["@odata.etag"]).toBe(now["@odata.etag"]);
    await dv.update("w365_providerconnections", id, { w365_statusmessage: "next" }, { ifMatch: String(written["@odata.etag"]) });
    await expect(
      dv.updateReturning(
        "w365_providerconnections",
        id,
        { w365_statusmessage: "stale" },
        { ifMatch: String(written["@odata.etag"]), select: ["w365_name"] },
      ),
    ).rejects.toBeInstanceOf(DataverseConcurrencyError);
  });

  it("hides secured columns from a user without the field security profile", async () => {
    const id = await newConnection("Secured test");
    const admin = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.adminToken } });
    const row = await admin.retrieve<Record<string, unknown>>("w365_providerconnections", id, {
      select: ["w365_name", "w365_refreshtoken"],
    });
    expect(row.w365_name).toBe("Secured test");
    expect(row.w365_refreshtoken ?? null).toBeNull();
  });

  it("upserts by alternate key (lookup + text), creating then updating the same row, with createOnly/updateOnly", async () => {
    const conn = await newConnection("Upsert test");
    const key = { _w365_connection_value: conn, w365_ioncustomerid: "C-1" };
    const body = { w365_name: "Contoso", "w365_connection@odata.bind": `/w365_providerconnections(${conn})` };
    const firstId = await dv.upsert("w365_provideraccounts", key, body);
    const secondId = await dv.upsert("w365_provideraccounts", key, { ...body, w365_name: "Contoso Ltd" });
    const row = await dv.retrieve<Record<string, unknown>>("w365_provideraccounts", key, {
      select: ["w365_name", "w365_ioncustomerid", "_w365_connection_value", "w365_provideraccountid"],
    });
    expect(row.w365_name).toBe("Contoso Ltd");
    expect(row._w365_connection_value).toBe(conn);
    if (firstId) expect(row.w365_provideraccountid).toBe(firstId);
    if (secondId) expect(secondId).toBe(firstId);
    await expect(dv.upsert("w365_provideraccounts", key, body, { mode: "createOnly" })).rejects.toBeInstanceOf(DataverseConcurrencyError);
    await expect(
      dv.upsert("w365_provideraccounts", { ...key, w365_ioncustomerid: "C-404" }, body, { mode: "updateOnly" }),
    ).rejects.toBeInstanceOf(DataverseNotFoundError);
    const rows: unknown[] = [];
    for await (const r of dv.query("w365_provideraccounts", {
      filter: `_w365_connection_value eq ${conn}`,
      select: ["w365_ioncustomerid"],
    }))
      rows.push(r);
    expect(rows).toHaveLength(1);
  });

  it("batches 2,050 upserts in 3 requests and pages them back at 1,000 per page", async () => {
    const conn = await newConnection("Batch test");
    const before = emu.stats();
    const ops = Array.from({ length: 2050 }, (_, i) => ({
      method: "PATCH" as const,
      entitySet: "w365_provideraccounts",
      key: { _w365_connection_value: conn, w365_ioncustomerid: `B-${i}` },
      body: { w365_name: `Customer ${i}`, "w365_connection@odata.bind": `/w365_providerconnections(${conn})` },
    }));
    const c = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken } });
    const results = await c.batch(ops);
    expect(results.filter((r) => !r.ok)).toStrictEqual([]);
    expect(c.stats()).toMatchObject({ requests: 3, batchItems: 2050 });
    expect(emu.stats().requests - before.requests).toBe(3);

    let pages = 0;
    let count = 0;
    for await (const page of c.queryPages("w365_provideraccounts", {
      filter: `_w365_connection_value eq ${conn}`,
      select: ["w365_ioncustomerid"],
      pageSize: 1000,
    })) {
      pages++;
      count += page.length;
    }
    expect([pages, count]).toStrictEqual([3, 2050]);
    const named: Array<{ w365_name: string }> = [];
    for await (const r of c.query<{ w365_name: string }>("w365_provideraccounts", {
      filter: `_w365_connection_value eq ${conn} and w365_name eq ${odataString("Customer 7")}`,
      select: ["w365_name"],
    }))
      named.push(r);
    expect(named.map((r) => r.w365_name)).toStrictEqual(["Customer 7"]);
  });

  it("upserts 50,000 rows through $batch in exactly 50 requests (the floor: rows / batch size)", async () => {
    const conn = await newConnection("Fifty thousand");
    const c = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken } });
    const ops = Array.from({ length: 50_000 }, (_, i) => ({
      method: "PATCH" as const,
      entitySet: "w365_provideraccounts",
      key: { _w365_connection_value: conn, w365_ioncustomerid: `L-${i}` },
      body: { w365_name: `Load ${i}`, "w365_connection@odata.bind": `/w365_providerconnections(${conn})` },
    }));
    const results = await c.batch(ops, { concurrency: 2 });
    expect(results.filter((r) => !r.ok)).toHaveLength(0);
    expect(c.stats()).toStrictEqual({ requests: 50, batchItems: 50_000, throttled: 0, retries: 0 });
    const first = await c.queryPage("w365_provideraccounts", {
      filter: `_w365_connection_value eq ${conn}`,
      select: ["w365_ioncustomerid"],
      count: true,
    });
    expect(first.count).toBe(5000); // Dataverse caps @odata.count at 5000
    let n = 0;
    for await (const page of c.queryPages("w365_provideraccounts", {
      filter: `_w365_connection_value eq ${conn}`,
      select: ["w365_ioncustomerid"],
    }))
      n += page.length;
    expect(n).toBe(50_000);
  });

  it("continue-on-error batch reports a bad operation and applies the rest", async () => {
    const conn = await newConnection("Coe test");
    const results = await dv.batch([
      {
        method: "PATCH",
        entitySet: "w365_provideraccounts",
        key: { _w365_connection_value: conn, w365_ioncustomerid: "E-1" },
        body: { w365_name: "ok 1" },
      },
      {
        method: "PATCH",
        entitySet: "w365_provideraccounts",
        key: { _w365_connection_value: conn, w365_ioncustomerid: "E-2" },
        body: { w365_nosuchcolumn: "x" },
      },
      {
        method: "PATCH",
        entitySet: "w365_provideraccounts",
        key: { _w365_connection_value: conn, w365_ioncustomerid: "E-3" },
        body: { w365_name: "ok 3" },
      },
    ]);
    expect(results.map((r) => r.ok)).toStrictEqual([true, false, true]);
    expect(!results[1]!.ok && results[1]!.error).toBeInstanceOf(DataverseValidationError);
  });

  it("atomic batch: Content-ID references work, and a failing change set leaves nothing behind", async () => {
    const ok = await dv.batch(
      [
        { method: "POST", entitySet: "w365_providerconnections", body: { w365_name: "Atomic parent" }, contentId: "1" },
        {
          method: "POST",
          entitySet: "w365_provideraccounts",
          body: { w365_name: "Atomic child", w365_ioncustomerid: "A-1", "w365_connection@odata.bind": "$1" },
        },
      ],
      { atomic: true },
    );
    expect(ok.every((r) => r.ok && r.id)).toBe(true);
    const parentId = ok[0]!.ok ? ok[0]!.id! : "";
    const child = await dv.retrieve<Record<string, unknown>>(
      "w365_provideraccounts",
      { _w365_connection_value: parentId, w365_ioncustomerid: "A-1" },
      { select: ["_w365_connection_value"] },
    );
    expect(child._w365_connection_value).toBe(parentId);

    const failed = await dv.batch(
      [
        { method: "POST", entitySet: "w365_providerconnections", body: { w365_name: "Rolled back parent" } },
        { method: "POST", entitySet: "w365_providerconnections", body: { w365_nosuchcolumn: 1 } },
      ],
      { atomic: true },
    );
    // Nothing of a failed change set applies; without a Content-ID echo on the error, each operation carries it.
    expect(failed.map((r) => r.ok)).toStrictEqual([false, false]);
    expect(!failed[1]!.ok && failed[1]!.error).toBeInstanceOf(DataverseValidationError);
    expect(
      failed.every((r) => !r.ok && (r.error instanceof DataverseValidationError || r.error instanceof DataverseNotExecutedError)),
    ).toBe(true);
    const left: unknown[] = [];
    for await (const r of dv.query("w365_providerconnections", { filter: `w365_name eq 'Rolled back parent'` })) left.push(r);
    expect(left).toHaveLength(0);
  });

  it("continue-on-error batch with change sets: a failing set rolls back alone, the others and the single parts apply", async () => {
    const name = (n: string) => ({ w365_name: n });
    const results = await dv.batch([
      { method: "POST", entitySet: "w365_providerconnections", body: name("Set A 1"), changeSet: "a" },
      { method: "POST", entitySet: "w365_providerconnections", body: name("Set A 2"), changeSet: "a" },
      { method: "POST", entitySet: "w365_providerconnections", body: name("Single") },
      { method: "POST", entitySet: "w365_providerconnections", body: name("Set B 1"), changeSet: "b" },
      { method: "POST", entitySet: "w365_providerconnections", body: { w365_nosuchcolumn: 1 }, changeSet: "b" },
      { method: "POST", entitySet: "w365_providerconnections", body: name("Set A again"), changeSet: "a" },
    ]);
    expect(results.map((r) => r.ok)).toStrictEqual([true, true, true, false, false, true]);
    // The failed set's error names no Content-ID, so each of its operations carries it (the others' went through).
    expect(!results[3]!.ok && results[3]!.error).toBeInstanceOf(DataverseValidationError);
    expect(!results[4]!.ok && results[4]!.error).toBeInstanceOf(DataverseValidationError);
    const names: string[] = [];
    for await (const r of dv.query<{ w365_name: string }>("w365_providerconnections", {
      filter: "startswith(w365_name,'Set ') or w365_name eq 'Single'",
    }))
      names.push(r.w365_name);
    expect(names.sort()).toStrictEqual(["Set A 1", "Set A 2", "Set A again", "Single"]);
  });

  it("never cuts a change set across requests: the cut moves before it", async () => {
    const requests: number[] = [];
    const counting = new DataverseClient({
      url: emu.url,
      auth: { kind: "static", token: emu.integrationToken },
      onRequest: (info) => {
        if (info.batchItems) requests.push(info.batchItems);
      },
    });
    const ops = [0, 1, 2, 3, 4].map((i) => ({
      method: "POST" as const,
      entitySet: "w365_providerconnections",
      body: { w365_name: `Cut ${i}` },
      ...(i >= 2 ? { changeSet: "tail" } : {}),
    }));
    const results = await counting.batch(ops, { batchSize: 3 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(requests).toStrictEqual([2, 3]);
    await expect(
      counting.batch(
        ops.map((o) => ({ ...o, changeSet: "all" })),
        { batchSize: 3 },
      ),
    ).resolves.toHaveLength(5);
    expect(requests).toStrictEqual([2, 3, 5]);
  });

  it("calls a bound custom API (its webhook step reaches the functions URL) and an unbound action", async () => {
    const conn = await newConnection("Custom API test");
    webhooks.length = 0;
    await expect(
      dv.executeAction("w365_VerifyConnectivity", {}, { entitySet: "w365_providerconnections", id: conn }),
    ).resolves.toBeDefined();
    await emu.whenIdle();
    const hit = webhooks.find((w) => w.headers["x-ms-dynamics-request-name"] === "w365_VerifyConnectivity");
    expect(hit).toBeDefined();
    expect(hit!.url).toContain("code=webhook-key-for-tests-123");
    expect(JSON.parse(hit!.body).PrimaryEntityId).toBe(conn);
    await expect(dv.executeAction("PublishAllXml")).resolves.toBeDefined();
  });

  it("reads metadata through requestJson and formatted values through includeAnnotations", async () => {
    const def = await dv.requestJson<{ EntitySetName: string }>(
      "GET",
      "EntityDefinitions(LogicalName='w365_provideraccount')?$select=EntitySetName",
    );
    expect(def?.EntitySetName).toBe("w365_provideraccounts");
    const id = await dv.create("w365_providerconnections", { w365_name: "Annotated", w365_status: 365000001 });
    const row = await dv.retrieve<Record<string, unknown>>("w365_providerconnections", id, {
      select: ["w365_status"],
      includeAnnotations: "OData.Community.Display.V1.FormattedValue",
    });
    expect(row.w365_status).toBe(365000001);
    expect(row["w365_status@OData.Community.Display.V1.FormattedValue"]).toBe("Connected");
  });

  it("rejects a bad token with DataverseAuthError", async () => {
    const bad = new DataverseClient({ url: emu.url, auth: { kind: "static", token: "not-a-valid-token-123" } });
    await expect(bad.whoAmI()).rejects.toBeInstanceOf(DataverseAuthError);
  });
});

describe("DataverseClient against the emulator with service protection on", () => {
  it("rides out 429s with Retry-After: every operation lands, throttles counted, nothing fails", async () => {
    const time = fakeTime();
    const limited = await startDataverseEmulator({
      clock: time.clock,
      serviceProtection: { enabled: true, requestsPerWindow: 5, windowMs: 60_000, retryAfterSeconds: 7 },
    });
    try {
      limited.applySolutionModel(await readSolutionSource());
      const c = new DataverseClient({
        url: limited.url,
        auth: { kind: "static", token: limited.integrationToken },
        sleep: time.sleep,
        clock: time.clock,
        retry: { maxAttempts: 20 },
      });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await c.create("accounts", { name: `Throttle ${i}` }));
      expect(new Set(ids).size).toBe(12);
      expect(c.stats().throttled).toBeGreaterThan(0);
      expect(time.sleeps.length).toBeGreaterThan(0);
      expect(time.sleeps.every((ms) => ms > 0 && ms <= 7000)).toBe(true);
      expect(limited.stats().throttled).toBe(c.stats().throttled);
    } finally {
      await limited.close();
    }
  });

  it("completes a batch upsert when the emulator injects random 429s", async () => {
    const time = fakeTime();
    const flaky = await startDataverseEmulator({ clock: time.clock, faults: { rate429: 0.3, seed: 7 } });
    try {
      flaky.applySolutionModel(await readSolutionSource());
      const c = new DataverseClient({
        url: flaky.url,
        auth: { kind: "static", token: flaky.integrationToken },
        sleep: time.sleep,
        clock: time.clock,
        retry: { maxAttempts: 30 },
      });
      const conn = await c.create("w365_providerconnections", { w365_name: "Flaky" });
      const ops = Array.from({ length: 300 }, (_, i) => ({
        method: "PATCH" as const,
        entitySet: "w365_provideraccounts",
        key: { _w365_connection_value: conn, w365_ioncustomerid: `F-${i}` },
        body: { w365_name: `F ${i}`, "w365_connection@odata.bind": `/w365_providerconnections(${conn})` },
      }));
      const results = await c.batch(ops, { batchSize: 50 });
      expect(results.filter((r) => !r.ok)).toStrictEqual([]);
      let n = 0;
      for await (const page of c.queryPages("w365_provideraccounts", {
        filter: `_w365_connection_value eq ${conn}`,
        select: ["w365_ioncustomerid"],
      }))
        n += page.length;
      expect(n).toBe(300);
      expect(c.stats().throttled).toBeGreaterThan(0);
    } finally {
      await flaky.whenIdle();
      await flaky.close();
    }
  });
});
