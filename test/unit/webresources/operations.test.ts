import { followSyncRun, startSync, verifyConnector } from "../../../ui-shared/operations";
import { parseProgress, type SyncRunView } from "../../../ui-shared/records";
import { FakeCustomApis, FakeRecords, paramValues } from "./fakes";

const CONNECTOR = "11111111-1111-4111-8111-111111111111";

function clock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe("startSync + followSyncRun", () => {
  it("starts with a RequestId, then reports each change of the run row until it ends", async () => {
    const records = new FakeRecords();
    const apis = new FakeCustomApis();
    apis.handlers.w365_SyncProviderAccounts = () => ({});
    const { requestId } = await startSync(apis.execute, CONNECTOR, "w365_SyncProviderAccounts", { requestId: "req-42" });
    expect(requestId).toBe("req-42");
    expect(apis.calls[0]?.target).toStrictEqual({
      logicalName: "w365_providerconnection",
      entitySet: "w365_providerconnections",
      id: CONNECTOR,
    });
    expect(paramValues(apis.calls[0])).toStrictEqual({ RequestId: "req-42" });

    // The run row appears on the 2nd poll, progresses, then succeeds.
    const script = [
      null,
      { w365_status: "queued" },
      { w365_status: "running", w365_progress: '{"done":5,"total":10}', w365_created: 3 },
      { w365_status: "running", w365_progress: '{"done":5,"total":10}', w365_created: 3 },
      { w365_status: "succeeded", w365_created: 6, w365_updated: 2, w365_unchanged: 2, w365_failed: 0, w365_message: "10 customers" },
    ];
    let poll = 0;
    records.onRead = () => {
      const next = script[Math.min(++poll, script.length - 1)];
      records.tables.w365_syncrun = next ? [{ w365_syncrunid: "run-1", w365_requestid: "req-42", ...next }] : [];
    };
    const seen: (SyncRunView | undefined)[] = [];
    const { now, sleep } = clock();
    const final = await followSyncRun(records, "req-42", (r) => seen.push(r), { now, sleep, intervalMs: 10 });
    expect(final).toMatchObject({ status: "succeeded", created: 6, updated: 2, unchanged: 2, failed: 0, message: "10 customers" });
    // Unchanged polls are not reported twice.
    expect(seen.map((r) => r?.status ?? "none")).toStrictEqual(["none", "queued", "running", "succeeded"]);
    expect(seen[2]?.progress).toStrictEqual({ done: 5, total: 10 });
    expect(records.calls.find((c) => c.entity === "w365_syncrun")?.options).toContain("$filter=w365_requestid eq 'req-42'");
  });

  it("gives up following after the timeout with a RUN_TIMEOUT error", async () => {
    const records = new FakeRecords();
    records.tables.w365_syncrun = [{ w365_requestid: "r", w365_status: "running" }];
    const { now, sleep } = clock();
    await expect(followSyncRun(records, "r", () => undefined, { now, sleep, intervalMs: 1000, timeoutMs: 5000 })).rejects.toMatchObject({
      code: "RUN_TIMEOUT",
    });
  });

  it("stops when the signal is aborted", async () => {
    const records = new FakeRecords();
    const signal = { aborted: false };
    records.onRead = () => (signal.aborted = true);
    await expect(followSyncRun(records, "r", () => undefined, { signal, sleep: async () => undefined })).rejects.toMatchObject({
      code: "POLL_ABORTED",
    });
  });
});

describe("verifyConnector", () => {
  it("calls the API and waits until the connector's last-verified time moves", async () => {
    const records = new FakeRecords();
    records.tables.w365_providerconnection = [
      { w365_providerconnectionid: CONNECTOR, w365_name: "Main", w365_status: 365000000, w365_lastverifiedon: "2026-11-01T00:00:00Z" },
    ];
    const apis = new FakeCustomApis();
    apis.handlers.w365_VerifyConnectivity = () => ({});
    let reads = 0;
    records.onRead = () => {
      if (++reads === 3) {
        Object.assign(records.tables.w365_providerconnection![0]!, {
          w365_status: 365000001,
          w365_statusmessage: "v3 and v1 OK",
          w365_lastverifiedon: "2026-11-27T10:00:00Z",
          w365_refreshtokenexpireson: "2026-12-29T10:00:00Z",
        });
      }
    };
    const { now, sleep } = clock();
    const outcome = await verifyConnector(records, apis.execute, CONNECTOR, { now, sleep, intervalMs: 10 });
    expect(outcome.finished).toBe(true);
    expect(outcome.connector).toMatchObject({ status: "connected", statusMessage: "v3 and v1 OK" });
    expect(outcome.connector.refreshTokenExpiresOn?.toISOString()).toBe("2026-12-29T10:00:00.000Z");
    expect(apis.calls.map((c) => c.name)).toStrictEqual(["w365_VerifyConnectivity"]);
  });

  it("returns finished=false when nothing lands before the timeout", async () => {
    const records = new FakeRecords();
    records.tables.w365_providerconnection = [{ w365_providerconnectionid: CONNECTOR, w365_name: "Main" }];
    const apis = new FakeCustomApis();
    apis.handlers.w365_VerifyConnectivity = () => ({});
    const { now, sleep } = clock();
    const outcome = await verifyConnector(records, apis.execute, CONNECTOR, { now, sleep, intervalMs: 1000, timeoutMs: 3000 });
    expect(outcome).toMatchObject({ finished: false, connector: { status: "notVerified" } });
  });
});

describe("parseProgress", () => {
  it("reads the engine's plain-text progress (phase, N of M) and JSON, and drops status-only words", () => {
    expect(parseProgress("accounts: 400 Ion customers read")).toStrictEqual({ phase: "accounts", text: "400 Ion customers read" });
    expect(parseProgress("outbound: 3 of 10 requests")).toStrictEqual({ done: 3, total: 10, phase: "outbound", text: "3 of 10 requests" });
    expect(parseProgress("resuming from checkpoint")).toStrictEqual({ text: "resuming from checkpoint" });
    expect(parseProgress("started")).toBeUndefined();
    expect(parseProgress("finished")).toBeUndefined();
    expect(parseProgress('{"done":5,"total":10}')).toStrictEqual({ done: 5, total: 10 });
    expect(parseProgress("{not json")).toBeUndefined();
    expect(parseProgress("")).toBeUndefined();
  });
});
