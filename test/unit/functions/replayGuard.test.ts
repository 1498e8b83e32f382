import { ReplayGuard, replayKey } from "../../../functions/replayGuard";
import { parseRemoteExecutionContext } from "../../../plugins/context";
import { verifyContext } from "../../support/pluginFixtures";

describe("ReplayGuard", () => {
  let now = 0;
  const clock = { now: () => now };

  it("runs work once per key within the window, then again after it", async () => {
    const guard = new ReplayGuard(1000, clock);
    let runs = 0;
    const work = async () => ({ status: 200, body: { n: ++runs } });
    expect(await guard.run("k", work)).toStrictEqual({ outcome: { status: 200, body: { n: 1 } }, replayed: false });
    expect(await guard.run("k", work)).toStrictEqual({ outcome: { status: 200, body: { n: 1 } }, replayed: true });
    now = 1001;
    expect((await guard.run("k", work)).outcome.body).toStrictEqual({ n: 2 });
  });

  it("forgets failures so Dataverse's retry does the work", async () => {
    const guard = new ReplayGuard(1000, clock);
    await expect(guard.run("k", async () => Promise.reject(new Error("503")))).rejects.toThrow("503");
    expect((await guard.run("k", async () => ({ status: 409, body: {} }))).replayed).toBe(false);
    expect((await guard.run("k", async () => ({ status: 200, body: { ok: true } }))).replayed).toBe(false);
  });

  it("never dedupes deliveries without a request or operation id", async () => {
    const raw = verifyContext({ requestId: null });
    raw.OperationId = "00000000-0000-0000-0000-000000000000";
    expect(replayKey(parseRemoteExecutionContext(raw))).toBeUndefined();
    expect(replayKey(parseRemoteExecutionContext(verifyContext()))).toMatch(/^w365_verifyconnectivity\|/);
  });

  it("keeps memory bounded", async () => {
    const guard = new ReplayGuard(10_000_000, clock, 100);
    for (let i = 0; i < 500; i++) await guard.run(`k${i}`, async () => ({ status: 200, body: {} }));
    expect(guard.size()).toBeLessThanOrEqual(101);
  });
});
