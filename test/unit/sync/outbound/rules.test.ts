/**
 * The outbound rules case by case: each status spelling, each boundary and each message, so a change to
 * any one of them is seen (the mutation run over src/sync/outbound found these unpinned).
 */
import type { IonSubscription } from "../../../../src/ion";
import { carriedChange, isOrderOfClaim, itemFor, remainingIntent, settleDelays } from "../../../../src/sync/outbound/intent";
import { hasRequest, normalizeRequestedStatus, pendingAutoRenew, planOutbound, statusBucket } from "../../../../src/sync/outbound/policy";
import { orderReferenceId } from "../../../../src/sync/outbound/referenceId";
import { item, order, sub } from "./fixtures";

describe("statusBucket", () => {
  it.each([
    ["cancelled", "deleted"],
    ["Canceled", "deleted"],
    ["DELETED", "deleted"],
    ["expired", "deleted"],
    ["disabled", "deleted"],
    ["suspended", "suspended"],
    ["Paused", "suspended"],
    ["stopped", "suspended"],
    ["ACTIVE", "active"],
    ["enabled", "active"],
    ["running", "active"],
    ["Pending", "pending"],
  ])("%s → %s", (ion, bucket) => expect(statusBucket(ion)).toBe(bucket));

  it("gives an empty bucket for no status", () => {
    expect(statusBucket(null)).toBe("");
    expect(statusBucket(undefined)).toBe("");
  });
});

describe("normalizeRequestedStatus", () => {
  it.each([
    ["active", "active"],
    [" Reactivate ", "active"],
    ["ENABLED", "active"],
    ["suspended", "suspended"],
    ["Suspend", "suspended"],
    ["deleted", "deleted"],
    ["cancelled", "deleted"],
    ["canceled", "deleted"],
    ["cancel", "deleted"],
    ["paused", "invalid"],
    ["act ive", "invalid"],
  ])("%j → %s", (requested, status) => expect(normalizeRequestedStatus(requested)).toBe(status));

  it("reads no request from an empty or blank value", () => {
    for (const v of [null, undefined, "", "   "]) expect(normalizeRequestedStatus(v)).toBeUndefined();
  });
});

describe("pendingAutoRenew", () => {
  it("is a request only when it differs from the last synced value", () => {
    expect(pendingAutoRenew({ w365_requestedautorenew: false, w365_lastsyncedautorenew: true, w365_autorenew: false })).toBe(false);
    expect(pendingAutoRenew({ w365_requestedautorenew: true, w365_lastsyncedautorenew: true, w365_autorenew: false })).toBeUndefined();
  });

  it("compares with the current value when the row was never synced", () => {
    expect(pendingAutoRenew({ w365_requestedautorenew: true, w365_lastsyncedautorenew: null, w365_autorenew: true })).toBeUndefined();
    expect(pendingAutoRenew({ w365_requestedautorenew: false, w365_lastsyncedautorenew: null, w365_autorenew: true })).toBe(false);
  });

  it("takes the request as it is when there is nothing to compare with, and none when nothing is requested", () => {
    expect(pendingAutoRenew({ w365_requestedautorenew: true })).toBe(true);
    expect(pendingAutoRenew({ w365_requestedautorenew: null, w365_lastsyncedautorenew: true, w365_autorenew: false })).toBeUndefined();
  });
});

describe("hasRequest", () => {
  it("counts each field on its own, an empty status as none", () => {
    expect(hasRequest({})).toBe(false);
    expect(hasRequest({ quantity: null, status: "", autoRenew: null })).toBe(false);
    expect(hasRequest({ quantity: 0 })).toBe(true);
    expect(hasRequest({ status: "active" })).toBe(true);
    expect(hasRequest({ autoRenew: false })).toBe(true);
  });
});

describe("planOutbound", () => {
  const NOW = Date.parse("2026-06-01T00:00:00Z");
  const ion = { quantity: 10, status: "active", autoRenew: true, cancellationAllowedUntil: "2026-06-05T00:00:00Z" };
  const last = { quantity: 10, status: "active", autoRenew: true };

  it("names a requested status it cannot send", () => {
    expect(planOutbound({ requested: { status: "paused" }, ion, lastSynced: last, now: NOW })).toStrictEqual({
      kind: "refused",
      message: 'Requested status "paused" is not one of active, suspended, deleted.',
    });
  });

  it("takes a whole quantity of 1 or more, and refuses a fraction or zero with the reason", () => {
    expect(planOutbound({ requested: { quantity: 1 }, ion, lastSynced: last, now: NOW })).toMatchObject({
      kind: "send",
      change: { quantity: 1 },
    });
    expect(planOutbound({ requested: { quantity: 2.5 }, ion, lastSynced: last, now: NOW })).toStrictEqual({
      kind: "refused",
      message: 'Requested quantity 2.5 is not valid: use a whole number of at least 1 (to cancel, request status "deleted").',
    });
    expect(planOutbound({ requested: { quantity: 0 }, ion, lastSynced: last, now: NOW }).kind).toBe("refused");
  });

  it("lists every conflicting field in one message and sends nothing", () => {
    const plan = planOutbound({
      requested: { quantity: 12, status: "suspended", autoRenew: true },
      ion: { ...ion, quantity: 15, status: "Paused", autoRenew: false },
      lastSynced: { quantity: 10, status: "active", autoRenew: true },
      now: NOW,
    });
    expect(plan).toStrictEqual({
      kind: "conflict",
      conflicts: [
        { field: "quantity", lastSynced: 10, ion: 15, requested: 12 },
        { field: "autoRenew", lastSynced: true, ion: false, requested: true },
      ],
      message:
        "Conflict, nothing was sent to Ion: quantity: Ion now has 15 (was 10 at the last sync), you requested 12; autoRenew: Ion now has false (was true at the last sync), you requested true. Save the request again to apply it over Ion's value, or clear it to keep Ion's.",
    });
  });

  it("sees a status changed in Ion as a conflict with another requested status", () => {
    const plan = planOutbound({ requested: { status: "deleted" }, ion: { ...ion, status: "suspended" }, lastSynced: last, now: NOW });
    expect(plan).toMatchObject({
      kind: "conflict",
      conflicts: [{ field: "status", lastSynced: "active", ion: "suspended", requested: "deleted" }],
    });
  });

  it("takes Ion's value as the baseline of each field the last sync did not record", () => {
    expect(planOutbound({ requested: { quantity: 12 }, ion, lastSynced: { status: "active" }, now: NOW })).toMatchObject({ kind: "send" });
    expect(planOutbound({ requested: { status: "suspended" }, ion, lastSynced: { quantity: 10 }, now: NOW })).toMatchObject({
      kind: "send",
    });
    expect(planOutbound({ requested: { autoRenew: false }, ion, lastSynced: { quantity: 10 }, now: NOW })).toMatchObject({ kind: "send" });
  });

  it("says what Ion already has and what is refused on a cancelled subscription", () => {
    expect(planOutbound({ requested: { quantity: 10, autoRenew: true }, ion, lastSynced: last, now: NOW })).toStrictEqual({
      kind: "already-applied",
      message: "Ion already has the requested values; nothing to send.",
    });
    const cancelled = { ...ion, status: "expired" };
    expect(
      planOutbound({ requested: { quantity: 3 }, ion: cancelled, lastSynced: { ...last, status: "expired" }, now: NOW }),
    ).toStrictEqual({
      kind: "refused",
      message: "The subscription is cancelled in Ion; it cannot be changed any more.",
    });
  });

  it("allows a cancellation up to the end of the window, and when the window is unknown or unreadable", () => {
    const until = Date.parse(ion.cancellationAllowedUntil);
    expect(planOutbound({ requested: { status: "cancel" }, ion, lastSynced: last, now: until }).kind).toBe("send");
    expect(planOutbound({ requested: { status: "cancel" }, ion, lastSynced: last, now: until + 1 }).kind).toBe("refused");
    const later = until + 86_400_000;
    for (const window of [null, "", "not a date"])
      expect(
        planOutbound({ requested: { status: "cancel" }, ion: { ...ion, cancellationAllowedUntil: window }, lastSynced: last, now: later })
          .kind,
      ).toBe("send");
  });

  it("lists every field it sends", () => {
    expect(planOutbound({ requested: { quantity: 12, autoRenew: false }, ion, lastSynced: last, now: NOW })).toStrictEqual({
      kind: "send",
      change: { quantity: 12, autoRenew: false },
      message: "Sending to Ion: quantity → 12, autoRenew → false.",
    });
  });
});

describe("orderReferenceId", () => {
  it("is w365- and 24 hex digits of the request's digest, the same for no previous order however it is written", () => {
    const base = { connectionId: "C1", subscriptionRowId: "S1", change: { quantity: 5 } };
    expect(orderReferenceId(base)).toBe(orderReferenceId({ ...base, previousOrderId: null }));
    expect(orderReferenceId(base)).not.toBe(orderReferenceId({ ...base, subscriptionRowId: "S2" }));
    expect(orderReferenceId(base)).not.toBe(orderReferenceId({ ...base, connectionId: "C2" }));
    expect(orderReferenceId(base)).toBe("w365-" + orderReferenceId(base).slice(5, 29));
    expect(orderReferenceId(base)).toHaveLength(29);
  });
});

describe("carriedChange", () => {
  it("reads quantity, renewal and status whatever the attribute names' and values' case", () => {
    expect(
      carriedChange(
        item({
          quantity: 4,
          attributes: [
            { name: "RENEWALSETTING", value: "Auto-Off" },
            { name: "statusupdate", value: "SUSPENDED" },
          ],
        }),
      ),
    ).toStrictEqual({ quantity: 4, autoRenew: false, status: "suspended" });
    expect(
      carriedChange(
        item({
          attributes: [
            { name: "renewalSetting", value: "auto-on" },
            { name: "statusUpdate", value: "active" },
          ],
        }),
      ),
    ).toStrictEqual({
      autoRenew: true,
      status: "active",
    });
    expect(carriedChange(item({ attributes: [{ name: "statusUpdate", value: "deleted" }] }))).toStrictEqual({ status: "deleted" });
  });

  it("ignores values it does not know", () => {
    expect(
      carriedChange(
        item({
          attributes: [
            { name: "renewalSetting", value: "manual" },
            { name: "statusUpdate", value: "paused" },
          ],
        }),
      ),
    ).toStrictEqual({});
  });
});

describe("itemFor", () => {
  it("finds the UPDATE item of the subscription, whatever the action's case", () => {
    const mine = item({ action: "update" });
    expect(itemFor(order({ items: [item({ action: "CREATE" }), mine] }), "p-1")).toBe(mine);
    expect(itemFor(order({ items: [item({ resourceId: "p-2" })] }), "p-1")).toBeUndefined();
    expect(itemFor(order({ items: [item({ action: undefined })] }), "p-1")).toBeUndefined();
    expect(itemFor(order(), undefined)).toBeUndefined();
    expect(itemFor(order({ items: [item({ resourceId: undefined })] }), "")).toBeUndefined();
  });
});

describe("isOrderOfClaim", () => {
  it("finds the order by the referenceId on the order itself", () => {
    expect(isOrderOfClaim(order({ referenceId: "w365-a", createTime: "2020-01-01T00:00:00Z" }), { referenceId: "w365-a", sub })).toBe(true);
  });

  it("never takes an order carrying another caller's referenceId at the order level", () => {
    expect(isOrderOfClaim(order({ referenceId: "other" }), { referenceId: "w365-a", sub })).toBe(false);
  });

  it("takes by content only an order created after the subscription last changed, with both times known", () => {
    expect(isOrderOfClaim(order({ createTime: sub.lastUpdatedDate }), { referenceId: "w365-a", sub })).toBe(false);
    expect(isOrderOfClaim(order({ createTime: undefined }), { referenceId: "w365-a", sub })).toBe(false);
    expect(isOrderOfClaim(order({ createTime: "soon" }), { referenceId: "w365-a", sub })).toBe(false);
    expect(isOrderOfClaim(order(), { referenceId: "w365-a", sub: { ...sub, lastUpdatedDate: undefined } as IonSubscription })).toBe(false);
    expect(isOrderOfClaim(order(), { referenceId: "w365-a", sub, previousOrderId: "6" })).toBe(true);
  });

  it("compares the renewal, the status and (unchanged) the subscription's quantity with what the order carries", () => {
    const carrying = order({
      items: [
        item({
          quantity: 5,
          attributes: [
            { name: "renewalSetting", value: "auto-off" },
            { name: "statusUpdate", value: "suspended" },
          ],
        }),
      ],
    });
    expect(isOrderOfClaim(carrying, { referenceId: "w365-a", sub, change: { autoRenew: false, status: "suspended" } })).toBe(true);
    expect(isOrderOfClaim(carrying, { referenceId: "w365-a", sub, change: { autoRenew: true } })).toBe(false);
    expect(isOrderOfClaim(carrying, { referenceId: "w365-a", sub, change: { status: "active" } })).toBe(false);
    expect(isOrderOfClaim(carrying, { referenceId: "w365-a", sub: { ...sub, quantity: 6 }, change: { autoRenew: false } })).toBe(false);
  });
});

describe("settleDelays", () => {
  it("starts at an eighth of the timeout (50 ms to 1 s), doubles up to 15 s, and stops once past 2.5 × the timeout", () => {
    expect(settleDelays(300)).toStrictEqual([50, 100, 200, 400, 800]);
    expect(settleDelays(4000)).toStrictEqual([500, 1000, 2000, 4000, 8000]);
    expect(settleDelays(60_000)).toStrictEqual([1000, 2000, 4000, 8000, ...Array<number>(10).fill(15_000)]);
  });
});

describe("remainingIntent", () => {
  const ion = { quantity: 6, status: "active", autoRenew: false };
  it("keeps a status that differs from Ion's, and none Ion already has", () => {
    expect(remainingIntent({ w365_requestedstatus: "suspend" }, ion, {})).toStrictEqual({ status: "suspended" });
    expect(remainingIntent({ w365_requestedstatus: "Enabled" }, ion, {})).toBeUndefined();
    expect(remainingIntent({ w365_requestedquantity: null, w365_requestedstatus: null }, ion, {})).toBeUndefined();
  });

  it("keeps an auto-renew request the admin made before the order that Ion still does not show", () => {
    expect(remainingIntent({ w365_requestedautorenew: true, w365_lastsyncedautorenew: false }, ion, {})).toStrictEqual({ autoRenew: true });
    expect(remainingIntent({ w365_requestedautorenew: true, w365_lastsyncedautorenew: true }, ion, { autoRenew: true })).toBeUndefined();
  });
});
