import {
  fromIonCustomer,
  fromIonOrder,
  fromIonOrderPage,
  fromIonSubscription,
  IonCloudProfile,
  IonResponseError,
  pickMicrosoftProfile,
} from "../../../../src/ion";
import { REDACTED } from "../../../../src/shared/redact";

function thrown(fn: () => unknown): IonResponseError {
  try {
    fn();
  } catch (e) {
    return e as IonResponseError;
  }
  throw new Error("did not throw");
}

describe("pickMicrosoftProfile", () => {
  /** Profiles as fromIonCloudProfile returns them (raw is not read here). */
  const pick = (profiles: Omit<IonCloudProfile, "raw">[]) => pickMicrosoftProfile(profiles.map((p) => ({ ...p, raw: {} })));
  const TENANT = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";

  it("recognises Microsoft by short name, display name or provider id alone", () => {
    expect(pick([{ shortName: "Microsoft", displayName: "Cloud", providerId: "1", tenantId: "t1" }])).toEqual({
      tenantId: "t1",
    });
    expect(pick([{ displayName: "Office 365", providerId: "2", domain: "A.example" }])).toEqual({ domain: "a.example" });
    expect(pick([{ providerId: "azure", tenantId: "t3" }])).toEqual({ tenantId: "t3" });
    expect(pick([{ shortName: "AWS", displayName: "Amazon", providerId: "3", tenantId: "t4" }])).toBeUndefined();
  });

  it("takes a profile with only a domain or only a tenant", () => {
    expect(pick([{ shortName: "NCE", domain: "Contoso.OnMicrosoft.com" }])).toEqual({ domain: "contoso.onmicrosoft.com" });
    expect(pick([{ shortName: "NCE", tenantId: TENANT }])).toEqual({ tenantId: TENANT.toLowerCase() });
  });

  it("prefers an enabled profile to a disabled one listed first, and keeps the order otherwise", () => {
    const disabled = { shortName: "Microsoft", enabled: false, tenantId: "disabled-tenant" };
    const enabled = { shortName: "Microsoft", enabled: true, tenantId: "enabled-tenant" };
    const unknown = { shortName: "Microsoft", tenantId: "unknown-tenant" };
    expect(pick([disabled, enabled])).toEqual({ tenantId: "enabled-tenant" });
    expect(pick([disabled, unknown])).toEqual({ tenantId: "unknown-tenant" });
    expect(pick([unknown, enabled])).toEqual({ tenantId: "unknown-tenant" });
    expect(pick([disabled])).toEqual({ tenantId: "disabled-tenant" });
    const disabledToo = { shortName: "Microsoft", enabled: false, tenantId: "second-disabled-tenant" };
    expect(pick([disabled, disabledToo])).toEqual({ tenantId: "disabled-tenant" });
    expect(pick([disabledToo, disabled, unknown, enabled])).toEqual({ tenantId: "unknown-tenant" });
  });

  it("lower-cases a GUID tenant id but keeps any other tenant text as Ion wrote it", () => {
    expect(pick([{ shortName: "Microsoft", tenantId: "Contoso-Tenant" }])).toEqual({ tenantId: "Contoso-Tenant" });
  });
});

describe("fromIonCustomer ids", () => {
  it("takes the id from customerId, id, or the name's last segment, in that order", () => {
    expect(fromIonCustomer({ customerId: "5", id: "6" })).toMatchObject({
      id: "5",
      name: "customers/5",
      organization: "",
      status: "unknown",
    });
    expect(fromIonCustomer({ id: 6 })).toMatchObject({ id: "6", name: "customers/6" });
    expect(fromIonCustomer({ name: "accounts/1/clients/9", customerId: "4" })).toMatchObject({ id: "4", name: "accounts/1/clients/9" });
    expect(fromIonCustomer({ name: "accounts/1/clients/9" })).toMatchObject({ id: "9" });
  });

  it("refuses a customer without any id, keeping the body redacted", () => {
    const e = thrown(() => fromIonCustomer({ customerOrganization: "Contoso", password: "p@ss-word-1" }));
    expect(e).toBeInstanceOf(IonResponseError);
    expect(e.code).toBe("ION_BAD_RESPONSE");
    expect(e.message).toBe("StreamOne Ion returned a customer without a name or id.");
    expect(e.raw).toMatchObject({ customerOrganization: "Contoso", password: REDACTED });
  });
});

describe("fromIonSubscription fields", () => {
  it("takes ids from the resource name, and product ids from ccpProductInfo when not at the top", () => {
    const s = fromIonSubscription({
      name: "accounts/1/customers/22/subscriptions/s-9",
      ccpProductInfo: { productId: "P1", skuId: "S1", planId: "L1" },
      billingCurrency: "EUR",
    });
    expect(s).toMatchObject({ id: "s-9", customerId: "22", ccpProductId: "P1", ccpSkuId: "S1", ccpPlanId: "L1", currency: "EUR" });
    const top = fromIonSubscription({
      id: "x",
      ccpProductId: "P2",
      ccpSkuId: "S2",
      ccpPlanId: "L2",
      currency: "USD",
      ccpProductInfo: { productId: "P1", skuId: "S1", planId: "L1" },
      billingCurrency: "EUR",
    });
    expect(top).toMatchObject({ ccpProductId: "P2", ccpSkuId: "S2", ccpPlanId: "L2", currency: "USD" });
  });

  it("reads auto-renew from autoRenew, else from the renew status, else off", () => {
    expect(fromIonSubscription({ id: "a", subscriptionRenewStatus: "Enabled" }).autoRenew).toBe(true);
    expect(fromIonSubscription({ id: "a", subscriptionRenewStatus: "disabled" }).autoRenew).toBe(false);
    expect(fromIonSubscription({ id: "a" }).autoRenew).toBe(false);
    expect(fromIonSubscription({ id: "a", autoRenew: "no", subscriptionRenewStatus: "enabled" }).autoRenew).toBe(false);
  });

  it("defaults customer id and status", () => {
    expect(fromIonSubscription({ id: "a" })).toMatchObject({ customerId: "", status: "unknown", quantity: 0 });
  });

  it("refuses a subscription without an id, keeping the body redacted", () => {
    const e = thrown(() => fromIonSubscription({ subscriptionName: "Office", clientSecret: "abcdefgh12345" }));
    expect(e.code).toBe("ION_BAD_RESPONSE");
    expect(e.message).toBe("StreamOne Ion returned a subscription without an id.");
    expect(e.raw).toMatchObject({ subscriptionName: "Office", clientSecret: REDACTED });
  });
});

describe("fromIonOrder fields", () => {
  it("drops nameless attributes, defaults a missing value, and masks credentials by attribute name", () => {
    const o = fromIonOrder({
      orderId: "o-1",
      orderItems: [
        {
          attributes: [
            { value: "no name" },
            { name: "domain" },
            { name: "UserName", value: "admin" },
            { name: "tenant", value: "t" },
            "junk",
          ],
        },
      ],
    });
    expect(o.items[0]!.attributes).toStrictEqual([
      { name: "domain", value: "" },
      { name: "UserName", value: REDACTED },
      { name: "tenant", value: "t" },
    ]);
  });

  it("reads errors' detail from detail or message", () => {
    const o = fromIonOrder({ orderId: "o-1", errors: [{ code: "E1", detail: "d" }, { code: "E2", message: "m" }, {}] });
    expect(o.errors).toStrictEqual([{ code: "E1", detail: "d" }, { code: "E2", detail: "m" }, {}]);
  });

  it("defaults name, customer id and status", () => {
    expect(fromIonOrder({ orderId: "o-1" })).toMatchObject({ orderId: "o-1", name: "", customerId: "", status: "UNKNOWN", items: [] });
    expect(fromIonOrder({ name: "accounts/1/customers/44/orders/o-2" })).toMatchObject({ orderId: "o-2", customerId: "44" });
  });

  it("keeps raw items without an attribute list, and a raw body without items, as they are", () => {
    const o = fromIonOrder({ orderId: "o-1", orderItems: [{ skuId: "S" }, { attributes: [{ name: "password", value: "pw-value-1" }] }] });
    expect(o.raw).toMatchObject({ orderItems: [{ skuId: "S" }, { attributes: [{ name: "password", value: REDACTED }] }] });
    expect(fromIonOrder({ orderId: "o-1", displayName: "D" }).raw).toStrictEqual({ orderId: "o-1", displayName: "D" });
  });

  it("refuses an order without a name or orderId, masking provisioning credentials in its raw body", () => {
    const e = thrown(() =>
      fromIonOrder({
        orderItems: [
          {
            attributes: [
              { name: "password", value: "pw-value-2" },
              { name: "domain", value: "c.example" },
            ],
          },
        ],
      }),
    );
    expect(e).toBeInstanceOf(IonResponseError);
    expect(e.code).toBe("ION_BAD_RESPONSE");
    expect(e.message).toBe("StreamOne Ion returned an order without a name or orderId.");
    expect(JSON.stringify(e.raw)).not.toContain("pw-value-2");
    expect(e.raw).toMatchObject({ orderItems: [{ attributes: [{ name: "password" }, { name: "domain", value: "c.example" }] }] });
  });

  it("reads an order page", () => {
    const page = fromIonOrderPage({ orders: [{ orderId: "a" }, { orderId: "b" }], nextPageToken: "n2" });
    expect(page.items.map((o) => o.orderId)).toEqual(["a", "b"]);
    expect(page.nextPageToken).toBe("n2");
  });
});
