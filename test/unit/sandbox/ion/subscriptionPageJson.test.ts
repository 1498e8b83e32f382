import { listSubscriptions, listSubscriptionsJson } from "../../../../sandbox/ion/api";
import { frozenIonStore } from "../../../support/ionSimulator";

// The server sends list pages from cached per-subscription text: it must stay the text of the answer itself,
// whoever changes a subscription or its customer and however.

describe("Ion simulator: subscription list pages as cached JSON text", () => {
  const store = frozenIonStore({ seed: 5, customers: 12, subscriptionsPerCustomer: 3 });
  const ctx = { store, accountId: "1000123", maxPageSize: 1000 };
  const query = { "pagination.limit": "20", "pagination.offset": "5" };
  const sameAsAnswer = () => {
    const page = listSubscriptionsJson(ctx, query);
    const answer = listSubscriptions(ctx, query);
    expect(page.json).toBe(JSON.stringify(answer));
    expect(page.items).toBe((answer.items as unknown[]).length);
  };

  it("is the text of the answer, page after page, with the item count the latency model charges", () => {
    sameAsAnswer();
    sameAsAnswer(); // from the cache this time
    expect(listSubscriptionsJson(ctx, { "pagination.offset": "1000" })).toEqual({
      json: JSON.stringify(listSubscriptions(ctx, { "pagination.offset": "1000" })),
      items: 0,
    });
  });

  it("follows a change made through the store, one made to the object directly, and a renamed customer", () => {
    sameAsAnswer();
    const onPage = store.subscriptionList[6]!;
    store.updateSubscription(onPage.id, { quantity: onPage.quantity + 3, autoRenew: !onPage.autoRenew });
    sameAsAnswer();
    onPage.unitPrice += 0.25;
    sameAsAnswer();
    onPage.resellerPO = "PO-77";
    sameAsAnswer();
    const customer = store.customers.get(onPage.customerId)!;
    customer.customerOrganization = `${customer.customerOrganization} Renamed`;
    sameAsAnswer();
    expect(listSubscriptionsJson(ctx, query).json).toContain("PO-77");
  });
});
