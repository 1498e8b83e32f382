/* eslint-disable @typescript-eslint/no-explicit-any -- conformance tests assert on arbitrary Web API JSON bodies */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { startDataverseEmulator } from "../../../../sandbox/dataverse";
import { apiFor, fixtureModel } from "../../../support/dataverseFixture";

/** A clock tests move by hand. */
function manualClock(start = Date.UTC(2024, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("Dataverse emulator: service protection limits (reference 1.8)", () => {
  it("1.8: the request limit answers 429 0x80072322 with Retry-After until the sliding window frees room", async () => {
    const clock = manualClock();
    const emu = await startDataverseEmulator({ clock, serviceProtection: { enabled: true, requestsPerWindow: 3, windowMs: 60_000 } });
    const api = apiFor(emu);
    try {
      for (let i = 0; i < 3; i++) {
        const ok = await api.call("GET", "WhoAmI");
        expect(ok.status).toBe(200);
        expect(ok.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")).toBe(String(2 - i));
        clock.advance(10_000);
      }
      const limited = await api.call("GET", "WhoAmI");
      expect(limited.status).toBe(429);
      expect(limited.json.error).toEqual({
        code: "0x80072322",
        message: "Number of requests exceeded the limit of 3 over time window of 60 seconds.",
      });
      // The oldest request (t=0) leaves the window at t=60s; now is t=30s.
      expect(limited.headers.get("retry-after")).toBe("30");
      // Limits are per user: another user is not affected.
      expect((await api.call("GET", "WhoAmI", { token: emu.adminToken })).status).toBe(200);
      clock.advance(30_001);
      expect((await api.call("GET", "WhoAmI")).status).toBe(200);
      expect(emu.stats().throttled).toBe(1);
    } finally {
      await emu.close();
    }
  });

  it("1.8: throttleRequests answers the chosen requests 429 0x80072322 with Retry-After, times times, and frees their slot", async () => {
    const emu = await startDataverseEmulator({ serviceProtection: { enabled: true, maxConcurrent: 1 } });
    const api = apiFor(emu);
    try {
      const rule = emu.throttleRequests({ match: (r) => r.url.includes("WhoAmI"), times: 2, retryAfterSeconds: 7 });
      const first = await api.call("GET", "WhoAmI");
      expect(first.status).toBe(429);
      expect(first.json.error.code).toBe("0x80072322");
      expect(first.headers.get("retry-after")).toBe("7");
      // A request the rule does not match passes; with one concurrent slot, it also shows the slot was given back.
      expect(
        (await api.call("GET", "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'"))
          .status,
      ).toBe(200);
      expect((await api.call("GET", "WhoAmI")).status).toBe(429);
      expect((await api.call("GET", "WhoAmI")).status).toBe(200);
      expect(rule.fired).toBe(2);
      expect(emu.stats().throttled).toBe(2);
    } finally {
      await emu.close();
    }
  });

  it("1.8: a $batch counts as one request against the limit", async () => {
    const emu = await startDataverseEmulator({ serviceProtection: { enabled: true, requestsPerWindow: 2 } });
    const api = apiFor(emu);
    try {
      const boundary = "batch_x";
      const part = ["--batch_x", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "", "GET WhoAmI HTTP/1.1", "", ""];
      const body = [...part, ...part, ...part, "--batch_x--", ""].join("\r\n");
      const r = await api.call("POST", "$batch", { body, headers: { "Content-Type": `multipart/mixed; boundary=${boundary}` } });
      expect(r.status).toBe(200);
      expect((await api.call("GET", "WhoAmI")).status).toBe(200);
      expect((await api.call("GET", "WhoAmI")).status).toBe(429);
    } finally {
      await emu.close();
    }
  });

  it("1.8: combined execution time over the limit answers 429 0x80072321", async () => {
    const clock = manualClock();
    // Every clock read advances 40 ms, so each request "takes" time deterministically.
    const ticking = { now: () => clock.advance(40) };
    const emu = await startDataverseEmulator({
      clock: ticking,
      serviceProtection: { enabled: true, executionMsPerWindow: 100, requestsPerWindow: 1000 },
    });
    const api = apiFor(emu);
    try {
      let status = 200;
      let body: any;
      for (let i = 0; i < 10 && status === 200; i++) {
        const r = await api.call("GET", "WhoAmI");
        status = r.status;
        body = r.json;
      }
      expect(status).toBe(429);
      expect(body.error.code).toBe("0x80072321");
      expect(body.error.message).toBe(
        "Combined execution time of incoming requests exceeded limit of 100 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.",
      );
    } finally {
      await emu.close();
    }
  });

  it("1.8: concurrent requests over the limit answer 429 0x80072326 at once", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const receiver = http.createServer((req, res) => {
      req.resume();
      void gate.then(() => res.end());
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const emu = await startDataverseEmulator({ serviceProtection: { enabled: true, maxConcurrent: 1 } });
    const api = apiFor(emu);
    try {
      emu.applySolutionModel(fixtureModel());
      emu.setEnvironmentVariable("w365_FunctionsBaseUrl", `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
      const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "slow" } });
      const id = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
      const slow = api.call("POST", `w365_providerconnections(${id})/Microsoft.Dynamics.CRM.w365_VerifyConnectivity`, { body: {} });
      // Wait until the slow call has reached the webhook (so it is in flight).
      while (emu.stats().webhooksSent === 0) await new Promise((r) => setTimeout(r, 5));
      const second = await api.call("GET", "WhoAmI");
      expect(second.status).toBe(429);
      expect(second.json.error).toEqual({ code: "0x80072326", message: "Number of concurrent requests exceeded the limit of 1." });
      expect(second.headers.get("retry-after")).not.toBeNull();
      release();
      expect((await slow).status).toBe(204);
      expect((await api.call("GET", "WhoAmI")).status).toBe(200);
    } finally {
      release();
      await emu.close();
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});

describe("Dataverse emulator: fault injection (reliability tests)", () => {
  it("injects 429s and 412s on If-Match writes at the configured rates, reproducibly from the seed", async () => {
    const run = async () => {
      const emu = await startDataverseEmulator({ faults: { rate429: 0.3, seed: 7 } });
      const api = apiFor(emu);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await api.call("GET", "WhoAmI")).status);
      const throttled = emu.stats().throttled;
      await emu.close();
      return { statuses, throttled };
    };
    const a = await run();
    const b = await run();
    expect(a.statuses).toEqual(b.statuses);
    expect(a.throttled).toBe(a.statuses.filter((s) => s === 429).length);
    expect(a.throttled).toBeGreaterThan(0);
    expect(a.throttled).toBeLessThan(20);

    const emu = await startDataverseEmulator({ faults: { rate412: 1 } });
    const api = apiFor(emu);
    try {
      const c = await api.call("POST", "accounts", { body: { name: "x" } });
      const id = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
      const cur = await api.call("GET", `accounts(${id})`);
      const conflict = await api.call("PATCH", `accounts(${id})`, {
        body: { name: "y" },
        headers: { "If-Match": cur.json["@odata.etag"] },
      });
      expect(conflict.status).toBe(412);
      expect(conflict.json.error.code).toBe("0x80060882");
      // Writes without an ETag condition are not affected.
      expect((await api.call("PATCH", `accounts(${id})`, { body: { name: "y" } })).status).toBe(204);
    } finally {
      await emu.close();
    }
  });
});
