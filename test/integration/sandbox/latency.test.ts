/**
 * The latency model's layers in the emulator and the simulator, over HTTP: what they charge, the
 * `x-ms-dop-hint` header, Dataverse's execution-time limit counting the charged time, Ion's concurrency cap.
 * No assertion on elapsed time: the ledgers and the status codes say what the layers did.
 */
import { startSandbox } from "../../../sandbox";
import { startDataverseEmulator } from "../../../sandbox/dataverse";
import { startIonSimulator } from "../../../sandbox/ion";
import { latencyModel } from "../../../sandbox/latency";
import { apiFor } from "../../support/dataverseFixture";
import { accessToken, call, v3 } from "../../support/ionSimulator";

describe("latency model in the stand-ins", () => {
  it("Dataverse: answers x-ms-dop-hint and charges base + rows read; off by default", async () => {
    const model = latencyModel("cloud", "dataverse.baseMs=5,dataverse.readRowMs=1,dataverse.dopHint=6")!;
    const emu = await startDataverseEmulator({ latency: model.dataverse });
    const plain = await startDataverseEmulator();
    try {
      const r = await apiFor(emu).call("GET", "systemusers?$select=fullname");
      expect(r.status).toBe(200);
      expect(r.headers.get("x-ms-dop-hint")).toBe("6");
      const rows = (r.json as { value: unknown[] }).value.length;
      expect(rows).toBeGreaterThan(0);
      expect(emu.latencyLedger()).toEqual({
        requests: 1,
        busyMs: 5 + rows,
        refused: 0,
        byKey: { "GET systemusers": { requests: 1, busyMs: 5 + rows } },
        // One request is a chain of one: its own charge.
        chains: { "GET systemusers": 5 + rows },
      });
      emu.resetStats();
      expect(emu.latencyLedger()!.requests).toBe(0);
      expect(emu.latencyLedger()!.chains).toEqual({});

      const off = await apiFor(plain).call("GET", "WhoAmI");
      expect(off.headers.get("x-ms-dop-hint")).toBeNull();
      expect(plain.latencyLedger()).toBeUndefined();
    } finally {
      await emu.close();
      await plain.close();
    }
  });

  it("Dataverse: the charged time is execution time, so the execution-time limit answers 429 0x80072321", async () => {
    const model = latencyModel("cloud", "dataverse.baseMs=60")!;
    const emu = await startDataverseEmulator({
      latency: model.dataverse,
      serviceProtection: { enabled: true, executionMsPerWindow: 100, requestsPerWindow: 1000 },
    });
    try {
      const api = apiFor(emu);
      const statuses: number[] = [];
      let code: string | undefined;
      for (let i = 0; i < 3; i++) {
        const r = await api.call("GET", "WhoAmI");
        statuses.push(r.status);
        if (r.status === 429) code = (r.json as { error: { code: string } }).error.code;
      }
      // 60 ms, then 120 ms: the third request finds the window's 100 ms used up.
      expect(statuses).toEqual([200, 200, 429]);
      expect(code).toBe("0x80072321");
    } finally {
      await emu.close();
    }
  });

  it("Ion: charges round trip + server time + items, and refuses calls past its concurrency cap with 429 and Retry-After", async () => {
    const model = latencyModel("cloud", "ion.roundTripMs=1,ion.serverMs=400,ion.itemMs=1,ion.maxConcurrent=1,ion.retryAfterSeconds=2")!;
    const sim = await startIonSimulator({ customers: 3, subscriptionsPerCustomer: 1, latency: model.ion });
    try {
      const token = await accessToken(sim);
      sim.control.resetCounters();
      const [first, second] = await Promise.all([
        call(sim, "GET", v3(sim, "/customers?pageSize=2"), { token }),
        new Promise((r) => setTimeout(r, 50)).then(() => call(sim, "GET", v3(sim, "/customers?pageSize=2"), { token })),
      ]);
      expect(first.status).toBe(200);
      expect(second.status).toBe(429);
      expect(second.headers.get("retry-after")).toBe("2");
      expect(second.body).toMatchObject({ error: "RESOURCE_EXHAUSTED", code: 429 });
      // Once the first call is answered its slot is free again.
      expect((await call(sim, "GET", v3(sim, "/customers?pageSize=2"), { token })).status).toBe(200);
      const ledger = sim.control.latencyLedger()!;
      expect(ledger.refused).toBe(1);
      expect(ledger.byKey).toEqual({ "GET /api/v3/accounts/{A}/customers": { requests: 2, busyMs: 2 * (1 + 400 + 2) } });
    } finally {
      await sim.close();
    }
  });

  it("startSandbox: the model reaches both stand-ins, service protection comes on with it, and the client learns the hint", async () => {
    const sandbox = await startSandbox({
      customers: 2,
      subscriptionsPerCustomer: 1,
      admin: false,
      latency: latencyModel("cloud", "dataverse.dopHint=5")!,
    });
    try {
      const who = await sandbox.dataverse.whoAmI();
      expect(who.UserId).toBeTruthy();
      expect(sandbox.dataverse.dopHint).toBe(5);
      const api = apiFor(sandbox.emulator);
      const r = await api.call("GET", "WhoAmI");
      // Service protection's debug headers are only there when it is on.
      expect(r.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")).not.toBeNull();
      const sim = sandbox.simulator!;
      sim.control.resetCounters();
      await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { token: await accessToken(sim) });
      expect(sim.control.latencyLedger()!.byKey["GET /api/v3/accounts/{A}/customers"]).toMatchObject({ requests: 1 });
    } finally {
      await sandbox.close();
    }
  });
});
