import fc from "fast-check";

import {
  fromIonCloudProfiles,
  fromIonCustomer,
  fromIonCustomerPage,
  fromIonOrder,
  fromIonSubscription,
  fromIonSubscriptionPage,
  IonResponseError,
  pickMicrosoftProfile,
  toIonCustomerBody,
} from "../../../src/ion";
import { bool, compact, idFromName, num } from "../../../src/ion/parse/common";
import { redactValue } from "../../../src/shared/redact";
import cloudProfiles from "../../support/ion-fixtures/cloud-profiles.json";
import customerCreated from "../../support/ion-fixtures/customer-created.json";
import customersPage from "../../support/ion-fixtures/customers-page.json";
import order from "../../support/ion-fixtures/order.json";
import subscriptionsPage from "../../support/ion-fixtures/subscriptions-page.json";

describe("Ion parsers", () => {
  describe("common readers", () => {
    it("reads numbers from strings and rejects junk", () => {
      expect(num("3")).toBe(3);
      expect(num(" 12.50 ")).toBe(12.5);
      expect(num(7)).toBe(7);
      expect(num("")).toBeUndefined();
      expect(num("3 seats")).toBeUndefined();
      expect(num(Number.NaN)).toBeUndefined();
    });
    it("reads booleans in Ion's spellings", () => {
      expect(bool("true")).toBe(true);
      expect(bool("ENABLED")).toBe(true);
      expect(bool("auto-off")).toBe(false);
      expect(bool("maybe")).toBeUndefined();
    });
    it("takes ids from resource names", () => {
      expect(idFromName("accounts/10001/customers/306870", "customers")).toBe("306870");
      expect(idFromName("accounts/1/customers/2/orders/o-9", "customers")).toBe("2");
      expect(idFromName("accounts/1/customers/2/orders/o-9", "orders")).toBe("o-9");
      expect(idFromName("accounts/1", "customers")).toBeUndefined();
    });
  });

  describe("customers", () => {
    it("normalises a list page: id from name, lower-case status, unknown fields kept in raw", () => {
      const page = fromIonCustomerPage(customersPage);
      expect(page.nextPageToken).toBeUndefined();
      expect(page.items.map(({ raw: _raw, ...c }) => c)).toStrictEqual([
        {
          id: "306870",
          name: "accounts/10001/customers/306870",
          organization: "Contoso Holdings Ltd",
          contactName: "Jane Doe",
          email: "jane@contoso.example",
          phone: "8135550000",
          title: "Owner",
          address: { street: "1 Main St", suite: "200", city: "Tampa", state: "FL", zip: "33606", country: "US" },
          status: "active",
          languageCode: "EN",
          uid: "77812",
          createTime: "2024-01-03T16:29:10.491Z",
          updateTime: "2024-01-08T08:50:50Z",
        },
        { id: "306871", name: "accounts/10001/customers/306871", organization: "Fabrikam", status: "inactive" },
      ]);
      expect(page.items[0]!.raw.alternateEmail).toBe("billing@contoso.example");
    });

    it("redacts the default user's password returned by create", () => {
      const c = fromIonCustomer(customerCreated);
      expect(c.id).toBe("306999");
      expect(JSON.stringify(c)).not.toContain("Gen3ratedP@ssw0rd!");
      expect((c.raw.user as Record<string, unknown>).password).toBe("[REDACTED]");
    });

    it("refuses a customer without any id", () => {
      expect(() => fromIonCustomer({ customerOrganization: "x" })).toThrow(IonResponseError);
    });

    it("builds the create/PUT body with Ion's field names", () => {
      expect(
        toIonCustomerBody(
          {
            organization: "Acme Ltd",
            contactName: "Jane Doe",
            email: "jane@acme.example",
            languageCode: "EN",
            address: { street: "1 Main St", city: "Tampa", state: "FL", zip: "33606", country: "US" },
          },
          "accounts/1/customers/2",
        ),
      ).toStrictEqual({
        name: "accounts/1/customers/2",
        customerOrganization: "Acme Ltd",
        customerAddress: { street: "1 Main St", city: "Tampa", state: "FL", zip: "33606", country: "US" },
        customerName: "Jane Doe",
        customerEmail: "jane@acme.example",
        languageCode: "EN",
      });
    });
  });

  describe("cloud profiles", () => {
    it("reads profiles and picks the Microsoft tenant and domain", () => {
      const profiles = fromIonCloudProfiles(cloudProfiles);
      expect(profiles).toHaveLength(2);
      expect(profiles[1]).toMatchObject({
        providerId: "30",
        shortName: "AZURE",
        enabled: true,
        tenantId: "0F3A2C10-5B7E-4C3D-9A1B-2C3D4E5F6A7B",
      });
      expect(pickMicrosoftProfile(profiles)).toStrictEqual({
        tenantId: "0f3a2c10-5b7e-4c3d-9a1b-2c3d4e5f6a7b",
        domain: "contoso.onmicrosoft.com",
      });
    });
    it("returns undefined when no Microsoft profile has a tenant", () => {
      expect(
        pickMicrosoftProfile(
          fromIonCloudProfiles({ customerCloudProfiles: [{ providerId: "31", shortName: "AWS" }, { shortName: "AZURE" }] }),
        ),
      ).toBeUndefined();
      expect(fromIonCloudProfiles({})).toStrictEqual([]);
    });
  });

  describe("subscriptions", () => {
    it("normalises a page: numbers from strings, lower-case status, renew status, ccp ids", () => {
      const page = fromIonSubscriptionPage(subscriptionsPage);
      expect(page.totalSize).toBe(2);
      const { raw: _raw, ...first } = page.items[0]!;
      expect(first).toStrictEqual({
        id: "2277242",
        subscriptionId: "a1b2c3d4-0000-4a5b-8c9d-0e1f2a3b4c5d",
        customerId: "306870",
        name: "Microsoft 365 Business Premium",
        productName: "Microsoft 365 NCE",
        skuName: "Microsoft 365 Business Premium",
        ccpProductId: "OFFICE365NCE--smpnce",
        ccpSkuId: "M365-BP-n1",
        ccpPlanId: "Monthly-n23",
        quantity: 3,
        status: "active",
        autoRenew: true,
        billingCycle: "monthly",
        billingTerm: "P1Y",
        startDate: "2024-01-03T00:00:00Z",
        endDate: "2025-01-02T00:00:00Z",
        renewalDate: "2025-01-03T00:00:00Z",
        cancellationAllowedUntil: "2024-01-10T16:29:10Z",
        currency: "USD",
        cost: 19.8,
        price: 22,
        lastUpdatedDate: "2024-01-08T08:50:50Z",
        customerName: "Contoso Holdings Ltd",
      });
      const second = page.items[1]!;
      expect(second).toMatchObject({ id: "2277243", quantity: 1, status: "suspended", autoRenew: false });
      expect(second.ccpProductId).toBeUndefined();
    });

    it("falls back to totalCount and tolerates an empty body", () => {
      expect(fromIonSubscriptionPage({ items: [], totalCount: "7" }).totalSize).toBe(7);
      expect(fromIonSubscriptionPage(undefined)).toStrictEqual({ items: [], totalSize: undefined });
    });

    it("refuses a subscription without an id", () => {
      expect(() => fromIonSubscription({ subscriptionName: "x" })).toThrow(IonResponseError);
    });
  });

  describe("orders", () => {
    it("normalises an order and redacts tenant admin credentials in items and raw", () => {
      const o = fromIonOrder(order);
      expect(o).toMatchObject({ orderId: "ord-5521", customerId: "306870", referenceId: "w365-7f1c", status: "COMPLETED", errors: [] });
      expect(o.items[0]).toMatchObject({
        action: "UPDATE",
        quantity: 5,
        resourceId: "a1b2c3d4-0000-4a5b-8c9d-0e1f2a3b4c5d",
        status: "ACTIVE",
      });
      expect(o.items[0]!.attributes).toStrictEqual([
        { name: "operations", value: "updatesubscription" },
        { name: "userName", value: "[REDACTED]" },
        { name: "password", value: "[REDACTED]" },
      ]);
      const text = JSON.stringify(o);
      expect(text).not.toContain("TenantAdm1nP@ss");
      expect(text).not.toContain("admin@contoso.onmicrosoft.com");
    });

    it("reads the order id from name when orderId is missing", () => {
      expect(fromIonOrder({ name: "accounts/1/customers/2/orders/abc", status: "NEW" })).toMatchObject({
        orderId: "abc",
        customerId: "2",
        status: "NEW",
        items: [],
      });
    });
  });
});

describe("compact", () => {
  /** The implementation compact replaced, verbatim. */
  const reference = (value: object): object => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
    return out;
  };

  it("keeps the same keys, values and key order as the Object.entries definition", () => {
    const key = fc.oneof(fc.string(), fc.constantFrom("0", "1", "10", "-1", "__proto__", "constructor", "toString"));
    const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.string(), fc.integer(), fc.boolean(), fc.object());
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value)), fc.dictionary(fc.string(), fc.string()), (pairs, inherited) => {
        const own: Record<string, unknown> = Object.create(inherited) as Record<string, unknown>;
        for (const [k, v] of pairs) Object.defineProperty(own, k, { value: v, enumerable: true, writable: true, configurable: true });
        const out = compact(own);
        expect(Object.keys(out)).toStrictEqual(Object.keys(reference(own)));
        expect(out).toStrictEqual(reference(own));
      }),
    );
  });
});

describe("fromIonCustomer raw", () => {
  /** What fromIonCustomer returned when it redacted `raw` eagerly: the same fields, raw last. */
  const eager = (value: Record<string, unknown>): Record<string, unknown> => {
    const { raw: _raw, ...fields } = fromIonCustomer(value);
    return { ...fields, raw: redactValue(value) };
  };
  const customerJson = fc.record(
    {
      name: fc.constantFrom("accounts/1/customers/7", "accounts/1/customers/8"),
      customerOrganization: fc.string(),
      customerEmail: fc.string(),
      password: fc.string(),
      access_token: fc.string(),
      note: fc.oneof(
        fc.string(),
        fc.constant("Authorization: Bearer abcdefghijklmnop"),
        fc.constant("https://f.example/api?code=SECRETKEY123"),
      ),
      customerAddress: fc.record({ city: fc.string(), client_secret: fc.string() }, { requiredKeys: [] }),
    },
    { requiredKeys: ["name"] },
  );

  it("reads, compares and serialises exactly as the eagerly redacted customer did", () => {
    fc.assert(
      fc.property(customerJson, (value) => {
        const parsed = fromIonCustomer(value);
        const expected = eager(value);
        expect(parsed).toStrictEqual(expected);
        expect(Object.keys(parsed)).toStrictEqual(Object.keys(expected));
        expect(JSON.stringify(parsed)).toBe(JSON.stringify(expected));
        expect({ ...parsed }).toStrictEqual(expected);
        expect(parsed.raw).toBe(parsed.raw);
      }),
    );
  });

  it("takes an assigned raw like a data property", () => {
    const parsed = fromIonCustomer({ name: "accounts/1/customers/7", password: "hunter22" });
    expect(parsed.raw.password).toBe("[REDACTED]");
    parsed.raw = { replaced: true };
    expect(parsed.raw).toStrictEqual({ replaced: true });
    expect(Object.getOwnPropertyDescriptor(parsed, "raw")).toStrictEqual({
      value: { replaced: true },
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });
});
