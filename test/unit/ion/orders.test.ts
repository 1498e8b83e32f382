import { buildSubscriptionUpdateOrder, fromIonSubscriptionPage, IonSubscription } from "../../../src/ion";
import { ValidationError } from "../../../src/shared/errors";
import subscriptionsPage from "../../support/ion-fixtures/subscriptions-page.json";

const sub: IonSubscription = fromIonSubscriptionPage(subscriptionsPage).items[0]!;

describe("buildSubscriptionUpdateOrder", () => {
  it("sends the new total quantity with operations=updatesubscription", () => {
    expect(buildSubscriptionUpdateOrder(sub, { quantity: 5 }, "w365-ref-1")).toStrictEqual({
      referenceId: "w365-ref-1",
      displayName: "Work 365 update: Microsoft 365 NCE",
      orderItems: [
        {
          referenceId: "w365-ref-1",
          action: "UPDATE",
          resourceId: "a1b2c3d4-0000-4a5b-8c9d-0e1f2a3b4c5d",
          productId: "OFFICE365NCE--smpnce",
          skuId: "M365-BP-n1",
          planId: "Monthly-n23",
          quantity: 5,
          attributes: [{ name: "operations", value: "updatesubscription" }],
        },
      ],
    });
  });

  it("keeps the current quantity and adds renewalSetting / statusUpdate for auto-renew and status changes", () => {
    const order = buildSubscriptionUpdateOrder(sub, { autoRenew: false, status: "suspended" }, "ref-2");
    const item = order.orderItems[0]!;
    expect(item.quantity).toBe(3);
    expect(item.attributes).toStrictEqual([
      { name: "operations", value: "updatesubscription" },
      { name: "renewalSetting", value: "auto-off" },
      { name: "statusUpdate", value: "suspended" },
    ]);
    expect(buildSubscriptionUpdateOrder(sub, { autoRenew: true }, "r").orderItems[0]!.attributes).toContainEqual({
      name: "renewalSetting",
      value: "auto-on",
    });
    expect(buildSubscriptionUpdateOrder(sub, { status: "deleted" }, "r").orderItems[0]!.attributes).toContainEqual({
      name: "statusUpdate",
      value: "deleted",
    });
  });

  it("refuses subscriptions without provider or catalog ids, empty changes and bad quantities", () => {
    const azurePlan = fromIonSubscriptionPage(subscriptionsPage).items[1]!;
    expect(() => buildSubscriptionUpdateOrder(azurePlan, { quantity: 2 }, "r")).toThrow(/ccpProductId, ccpSkuId, ccpPlanId/);
    expect(() => buildSubscriptionUpdateOrder(sub, {}, "r")).toThrow(ValidationError);
    expect(() => buildSubscriptionUpdateOrder(sub, { quantity: 0 }, "r")).toThrow(/at least 1/);
    expect(() => buildSubscriptionUpdateOrder(sub, { quantity: 2.5 }, "r")).toThrow(ValidationError);
    expect(() => buildSubscriptionUpdateOrder(sub, { quantity: 2 }, "")).toThrow(/referenceId/);
  });
});
