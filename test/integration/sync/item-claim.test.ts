/**
 * The fence of a run split into work items: a delivery's claim stops holding the run row once another actor
 * finished the row (a stale-run takeover or the poison handler mark it failed without touching the claim).
 */
import { initialState } from "../../../src/sync/checkpoint";
import { ItemClaimLostError, RunRowLink } from "../../../src/sync/itemClaim";
import { startWorld, type World } from "../../support/world";

describe("work item claim on the run row", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 1, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => w?.close());

  const claim = { step: 1, messageId: "message-1", dequeueCount: 1 };
  /** A holder's first write, with no ETag of its own yet: it reads the row, judges the claim, then writes with If-Match. */
  const fencedWrite = (runId: string, body: Record<string, unknown>) => new RunRowLink(w.dv, () => Date.now(), runId, claim).write(body);
  const runWith = (status: string) =>
    w.dv.create("w365_syncruns", {
      w365_name: `claim test ${status}`,
      "w365_connection@odata.bind": `/w365_providerconnections(${w.connectionId})`,
      w365_kind: "accounts",
      w365_trigger: "schedule",
      w365_status: status,
      w365_checkpoint: JSON.stringify({ ...initialState("accounts", Date.now()), item: claim }),
    });

  it("writes while the claim holds a running row", async () => {
    const runId = await runWith("running");
    await fencedWrite(runId, { w365_message: "progress" });
    const row = await w.dv.retrieve<{ w365_message: string }>("w365_syncruns", runId);
    expect(row.w365_message).toBe("progress");
  });

  it("stops when another actor marked the run failed, though the claim is unchanged", async () => {
    const runId = await runWith("failed");
    await expect(fencedWrite(runId, { w365_status: "succeeded" })).rejects.toBeInstanceOf(ItemClaimLostError);
    const row = await w.dv.retrieve<{ w365_status: string }>("w365_syncruns", runId);
    expect(row.w365_status).toBe("failed");
  });
});
