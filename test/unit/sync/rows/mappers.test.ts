import { contentHash, stableStringify } from "../../../../src/sync/rows/contentHash";
import { hostOf } from "../../../../src/sync/rows/text";
import { providerAccountHash, toProviderAccountRow } from "../../../../src/sync/rows/toProviderAccountRow";
import { toProviderSubscriptionRow } from "../../../../src/sync/rows/toProviderSubscriptionRow";

describe("contentHash", () => {
  it("does not depend on key order or undefined members", () => {
    expect(stableStringify({ b: 1, a: [1, { d: undefined, c: 2 }] })).toBe('{"a":[1,{"c":2}],"b":1}');
    expect(contentHash({ a: 1, b: "x" })).toBe(contentHash({ b: "x", a: 1, c: undefined }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});

describe("hostOf", () => {
  it.each([
    ["https://www.Contoso.com/about?x=1", "contoso.com"],
    ["jane@Fabrikam.co.uk", "fabrikam.co.uk"],
    ["contoso.onmicrosoft.com", "contoso.onmicrosoft.com"],
    ["not a domain", undefined],
  ])("%s → %s", (input, expected) => expect(hostOf(input)).toBe(expected));
});

describe("toProviderAccountRow", () => {
  const customer = {
    id: "1001",
    organization: "  Contoso Ltd ",
    contactName: "Jane Doe",
    email: "Jane@Contoso.com",
    domain: "contoso.com",
    address: { street: "1 Main", city: "Redmond", state: "WA", zip: "98052", country: "us" },
    status: "ACTIVE",
    updateTime: "2024-01-03T16:29:10Z",
  };
  it("maps the customer and prefers its own domain over the tenant's initial domain", () => {
    expect(
      toProviderAccountRow(customer, { tenantId: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", domain: "contoso.onmicrosoft.com" }),
    ).toStrictEqual({
      w365_name: "Contoso Ltd",
      w365_ioncustomerid: "1001",
      w365_contactname: "Jane Doe",
      w365_contactemail: "jane@contoso.com",
      w365_domain: "contoso.com",
      w365_tenantid: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      w365_ionstatus: "active",
      w365_postalcode: "98052",
      w365_country: "US",
      w365_ionupdatedon: "2024-01-03T16:29:10Z",
      w365_missingsince: null,
    });
  });
  it("hash changes only when content changes", () => {
    const a = providerAccountHash(toProviderAccountRow(customer, undefined));
    expect(providerAccountHash(toProviderAccountRow({ ...customer }, undefined))).toBe(a);
    expect(providerAccountHash(toProviderAccountRow({ ...customer, contactName: "John" }, undefined))).not.toBe(a);
  });
});

describe("toProviderSubscriptionRow", () => {
  const sub = {
    id: "2277242",
    subscriptionId: "6c1f-guid",
    customerId: "1001",
    name: "Microsoft 365 E3",
    productName: "Microsoft 365 E3",
    quantity: 12,
    status: "ACTIVE",
    autoRenew: true,
    billingCycle: "Monthly",
    billingTerm: "P1M",
    startDate: "2024-01-01T00:00:00Z",
    cancellationAllowedUntil: "2024-01-08T00:00:00Z",
    currency: "usd",
    cost: 30.123456,
    price: 36,
  };
  it("builds the upsert body with lookups and last synced values", () => {
    const row = toProviderSubscriptionRow("conn-1", sub, { providerAccountId: "pa-1", accountId: "acc-1" }, false);
    expect(row.body).toMatchObject({
      w365_ionsubscriptionid: "2277242",
      w365_vendorsubscriptionid: "6c1f-guid",
      w365_quantity: 12,
      w365_status: "active",
      w365_autorenew: true,
      w365_billingcycle: "monthly",
      w365_currency: "USD",
      w365_cost: 30.1235,
      w365_lastsyncedquantity: 12,
      w365_lastsyncedstatus: "active",
      w365_lastsyncedautorenew: true,
      "w365_connection@odata.bind": "/w365_providerconnections(conn-1)",
      "w365_provideraccount@odata.bind": "/w365_provideraccounts(pa-1)",
      "w365_account@odata.bind": "/accounts(acc-1)",
      w365_contenthash: row.hash,
    });
  });
  it("leaves last synced values alone while an admin request is pending", () => {
    const row = toProviderSubscriptionRow("conn-1", sub, { providerAccountId: "pa-1" }, true);
    expect(row.body).not.toHaveProperty("w365_lastsyncedquantity");
    expect(row.body).not.toHaveProperty("w365_account@odata.bind");
    expect(row.hash).not.toBe(toProviderSubscriptionRow("conn-1", sub, { providerAccountId: "pa-1" }, false).hash);
  });
});
