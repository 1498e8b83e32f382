import type { IonOrder, IonSubscription } from "../../../../src/ion";
import {
  decodeOrderedClaim,
  encodeOrderedClaim,
  isOrderOfClaim,
  orderedClaimOf,
  remainingIntent,
  requestDiffersFromOrder,
  settleDelays,
} from "../../../../src/sync/outbound/intent";
import { item, order as baseOrder, sub } from "./fixtures";

const order = (o: Partial<IonOrder> & { quantity?: number; ref?: string }): IonOrder =>
  baseOrder({ items: [item({ quantity: o.quantity ?? 6, ...(o.ref ? { referenceId: o.ref } : {}) })], ...o });

describe("isOrderOfClaim", () => {
  it("finds the order by referenceId, else by what it carries when Ion does not echo the referenceId", () => {
    expect(isOrderOfClaim(order({ ref: "w365-a" }), { referenceId: "w365-a", sub })).toBe(true);
    expect(isOrderOfClaim(order({}), { referenceId: "w365-a", sub, change: { quantity: 6 } })).toBe(true);
  });
  it("never takes an older order, the previous order, another caller's order or other content for this claim's", () => {
    expect(isOrderOfClaim(order({ createTime: "2026-10-31T00:00:00Z" }), { referenceId: "w365-a", sub })).toBe(false);
    expect(isOrderOfClaim(order({}), { referenceId: "w365-a", sub, previousOrderId: "7" })).toBe(false);
    expect(isOrderOfClaim(order({ ref: "other" }), { referenceId: "w365-a", sub })).toBe(false);
    expect(isOrderOfClaim(order({ quantity: 9 }), { referenceId: "w365-a", sub, change: { quantity: 6 } })).toBe(false);
  });
});

describe("the claim's order stored on the row", () => {
  it("keeps what the order carries (the quantity always) and Ion's time the claim was made after, within the column", () => {
    const claim = orderedClaimOf(sub, { autoRenew: false, status: "suspended" });
    expect(claim).toEqual({ carries: { quantity: 5, autoRenew: false, status: "suspended" }, subscriptionUpdated: "2026-11-01T00:00:00Z" });
    const text = encodeOrderedClaim(claim);
    expect(text.length).toBeLessThanOrEqual(200);
    expect(decodeOrderedClaim(text)).toEqual(claim);
    expect(decodeOrderedClaim(encodeOrderedClaim(orderedClaimOf(sub, { quantity: 9 })))).toEqual({
      carries: { quantity: 9 },
      subscriptionUpdated: "2026-11-01T00:00:00Z",
    });
  });
  it("reads nothing from an empty, foreign or damaged value (the row's request is used then)", () => {
    for (const text of [
      null,
      undefined,
      "",
      "not json",
      "[]",
      "{}",
      '{"quantity":"6"}',
      '{"quantity":6,"status":"gone"}',
      '{"quantity":6,"autoRenew":"yes"}',
    ])
      expect(decodeOrderedClaim(text)).toBeUndefined();
  });
  it("finds a completed order of the claim (the subscription changed after it) by the time stored with the claim", () => {
    const after = { ...sub, quantity: 6, lastUpdatedDate: "2026-11-01T00:05:00Z" } as IonSubscription;
    const completed = order({ status: "COMPLETED" });
    expect(isOrderOfClaim(completed, { referenceId: "w365-a", sub: after, change: { quantity: 6 } })).toBe(false);
    expect(
      isOrderOfClaim(completed, { referenceId: "w365-a", sub: after, change: { quantity: 6 }, claimedAfter: "2026-11-01T00:00:00Z" }),
    ).toBe(true);
    // An order older than the claim is still not its own.
    expect(
      isOrderOfClaim(completed, { referenceId: "w365-a", sub: after, change: { quantity: 6 }, claimedAfter: "2026-11-01T00:00:02Z" }),
    ).toBe(false);
  });
});

describe("settleDelays", () => {
  it("adds up to more than 2.5 times the client's timeout", () => {
    for (const t of [300, 500, 60_000]) expect(settleDelays(t).reduce((a, b) => a + b, 0)).toBeGreaterThan(2.5 * t);
  });
});

describe("remainingIntent", () => {
  const ion = { quantity: 6, status: "active", autoRenew: false };
  it("nothing left when Ion has what is requested", () => {
    expect(
      remainingIntent({ w365_requestedquantity: 6, w365_requestedautorenew: false, w365_lastsyncedautorenew: true }, ion, {
        quantity: 6,
        autoRenew: false,
      }),
    ).toBeUndefined();
  });
  it("keeps a quantity the admin changed while the order was pending", () => {
    expect(remainingIntent({ w365_requestedquantity: 5 }, ion, { quantity: 6 })).toStrictEqual({ quantity: 5 });
  });
  it("keeps an auto-renew request toggled back while the order was pending", () => {
    expect(remainingIntent({ w365_requestedautorenew: true, w365_lastsyncedautorenew: true }, ion, { autoRenew: false })).toStrictEqual({
      autoRenew: true,
    });
  });
  it("an auto-renew change made in Ion alone is not a request", () => {
    expect(remainingIntent({ w365_requestedautorenew: true, w365_lastsyncedautorenew: true }, ion, { quantity: 6 })).toBeUndefined();
  });
});

describe("requestDiffersFromOrder", () => {
  const ion = { quantity: 10, status: "active", autoRenew: true };
  it("the same request as the failed order is not newer (it is never re-sent by itself)", () => {
    expect(requestDiffersFromOrder({ w365_requestedquantity: 12 }, ion, { quantity: 12 })).toBe(false);
    expect(requestDiffersFromOrder({ w365_requestedstatus: "Suspend" }, ion, { quantity: 10, status: "suspended" })).toBe(false);
    expect(requestDiffersFromOrder({ w365_requestedstatus: "active", w365_requestedquantity: 12 }, ion, { quantity: 12 })).toBe(false);
  });
  it("another quantity, status or auto-renew saved meanwhile is newer", () => {
    expect(requestDiffersFromOrder({ w365_requestedquantity: 11 }, ion, { quantity: 12 })).toBe(true);
    expect(requestDiffersFromOrder({ w365_requestedquantity: 12, w365_requestedstatus: "suspended" }, ion, { quantity: 12 })).toBe(true);
    expect(
      requestDiffersFromOrder({ w365_requestedquantity: 12, w365_requestedautorenew: false, w365_lastsyncedautorenew: true }, ion, {
        quantity: 12,
      }),
    ).toBe(true);
  });
  it("a cleared request is newer than the order that carried it", () => {
    expect(requestDiffersFromOrder({ w365_requestedquantity: null }, ion, { quantity: 12 })).toBe(true);
  });
});
