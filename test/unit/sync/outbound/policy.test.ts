import { planOutbound, statusBucket } from "../../../../src/sync/outbound/policy";
import { orderReferenceId } from "../../../../src/sync/outbound/referenceId";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const ion = { quantity: 10, status: "active", autoRenew: true, cancellationAllowedUntil: "2026-06-05T00:00:00Z" };
const last = { quantity: 10, status: "active", autoRenew: true };

describe("planOutbound", () => {
  it("sends a quantity change when Ion has not changed since the last sync", () => {
    expect(planOutbound({ requested: { quantity: 12 }, ion, lastSynced: last, now: NOW })).toStrictEqual({
      kind: "send",
      change: { quantity: 12 },
      message: "Sending to Ion: quantity → 12.",
    });
  });

  it("flags a conflict when Ion changed and the admin asks for something else", () => {
    const plan = planOutbound({ requested: { quantity: 12 }, ion: { ...ion, quantity: 15 }, lastSynced: last, now: NOW });
    expect(plan.kind).toBe("conflict");
    if (plan.kind !== "conflict") throw new Error("unreachable");
    expect(plan.conflicts).toStrictEqual([{ field: "quantity", lastSynced: 10, ion: 15, requested: 12 }]);
    expect(plan.message).toContain("Ion now has 15 (was 10 at the last sync), you requested 12");
  });

  it("treats a request Ion already satisfies as applied", () => {
    expect(planOutbound({ requested: { quantity: 15 }, ion: { ...ion, quantity: 15 }, lastSynced: last, now: NOW }).kind).toBe(
      "already-applied",
    );
  });

  it("refuses a cancellation after the cancellation window", () => {
    const plan = planOutbound({ requested: { status: "deleted" }, ion, lastSynced: last, now: Date.parse("2026-06-10T00:00:00Z") });
    expect(plan).toStrictEqual({
      kind: "refused",
      message:
        "Cancellation refused: the cancellation window ended on 2026-06-05. Turn off auto-renew so it ends at the term end, or suspend it instead.",
    });
    expect(planOutbound({ requested: { status: "deleted" }, ion, lastSynced: last, now: NOW })).toMatchObject({
      kind: "send",
      change: { status: "deleted" },
    });
  });

  it("combines several requested fields into one change and ignores ones already applied", () => {
    expect(
      planOutbound({ requested: { quantity: 10, status: "suspended", autoRenew: false }, ion, lastSynced: last, now: NOW }),
    ).toMatchObject({
      kind: "send",
      change: { status: "suspended", autoRenew: false },
    });
  });

  it("refuses invalid requests and changes to a cancelled subscription", () => {
    expect(planOutbound({ requested: { quantity: 0 }, ion, lastSynced: last, now: NOW }).kind).toBe("refused");
    expect(planOutbound({ requested: { status: "paused" }, ion, lastSynced: last, now: NOW }).kind).toBe("refused");
    const cancelled = { ...ion, status: "cancelled" };
    expect(planOutbound({ requested: { quantity: 3 }, ion: cancelled, lastSynced: { ...last, status: "cancelled" }, now: NOW }).kind).toBe(
      "refused",
    );
  });

  it("uses Ion's values as the baseline when the row was never synced", () => {
    expect(planOutbound({ requested: { autoRenew: false }, ion, lastSynced: null, now: NOW }).kind).toBe("send");
  });

  it("has nothing to do without a request", () => {
    expect(planOutbound({ requested: { quantity: null, status: null, autoRenew: null }, ion, lastSynced: last, now: NOW })).toStrictEqual({
      kind: "none",
    });
  });

  it("folds Ion statuses onto requestable ones", () => {
    expect(statusBucket("CANCELLED")).toBe("deleted");
    expect(statusBucket("Suspended")).toBe("suspended");
  });
});

describe("orderReferenceId", () => {
  const base = { connectionId: "C1", subscriptionRowId: "S1", change: { quantity: 5 } };
  it("is deterministic for the same request", () => {
    expect(orderReferenceId(base)).toBe(orderReferenceId({ ...base, connectionId: "c1", subscriptionRowId: "s1" }));
    expect(orderReferenceId(base)).toMatch(/^w365-[0-9a-f]{24}$/);
  });
  it("differs for another change or after another order", () => {
    expect(orderReferenceId(base)).not.toBe(orderReferenceId({ ...base, change: { quantity: 6 } }));
    expect(orderReferenceId(base)).not.toBe(orderReferenceId({ ...base, previousOrderId: "o-1" }));
  });
});
