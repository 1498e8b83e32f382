/** startSandbox's serviceProtection option, as the emulator receives it, and the emulator enforcing custom limits. */
import { serviceProtectionOptions } from "../../../../sandbox";
import { startDataverseEmulator } from "../../../../sandbox/dataverse";
import { apiFor } from "../../../support/dataverseFixture";

describe("sandbox serviceProtection option", () => {
  it("keeps the boolean form: off by default, Dataverse's limits when true", () => {
    expect(serviceProtectionOptions(undefined)).toStrictEqual({ enabled: false });
    expect(serviceProtectionOptions(false)).toStrictEqual({ enabled: false });
    expect(serviceProtectionOptions(true)).toStrictEqual({ enabled: true });
  });

  it("passes custom limits through, enabled", () => {
    expect(serviceProtectionOptions({ requestsPerWindow: 50, windowMs: 2000, maxConcurrent: 4 })).toStrictEqual({
      enabled: true,
      requestsPerWindow: 50,
      windowMs: 2000,
      maxConcurrent: 4,
    });
    expect(serviceProtectionOptions({ executionMsPerWindow: 10_000, retryAfterSeconds: 0 })).toStrictEqual({
      enabled: true,
      executionMsPerWindow: 10_000,
      retryAfterSeconds: 0,
    });
  });

  it("refuses limits that are not positive integers, naming the field", () => {
    expect(() => serviceProtectionOptions({ requestsPerWindow: 0 })).toThrow(
      "serviceProtection.requestsPerWindow must be an integer of at least 1 (got 0).",
    );
    expect(() => serviceProtectionOptions({ windowMs: 1.5 })).toThrow(/serviceProtection\.windowMs/);
    expect(() => serviceProtectionOptions({ retryAfterSeconds: -1 })).toThrow(/at least 0/);
  });

  it("the emulator enforces the custom request limit with 429 and Retry-After", async () => {
    let now = 1_000_000;
    const emu = await startDataverseEmulator({
      serviceProtection: serviceProtectionOptions({ requestsPerWindow: 3, windowMs: 10_000 }),
      clock: { now: () => now },
    });
    try {
      const api = apiFor(emu);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await api.call("GET", "WhoAmI")).status);
      expect(statuses).toStrictEqual([200, 200, 200, 429]);
      const throttled = await api.call("GET", "WhoAmI");
      expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
      now += 10_001;
      expect((await api.call("GET", "WhoAmI")).status).toBe(200);
    } finally {
      await emu.close();
    }
  });
});
