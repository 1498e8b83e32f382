import fc from "fast-check";

import { IonResponseError } from "../../../../src/ion";
import { asObject, bool, compact, idFromName, lower, num, str } from "../../../../src/ion/parse/common";
import {
  fromIonSubscription,
  fromIonSubscriptionPage,
  fromIonSubscriptionRecord,
  fromIonSubscriptionRecordPage,
} from "../../../../src/ion/parse/subscription";
import { redactValue } from "../../../../src/shared/redact";
import subscriptionsPage from "../../../support/ion-fixtures/subscriptions-page.json";

/** fromIonSubscription as it was before it was built on the record (the reference: same values, same key order). */
function referenceFromIonSubscription(value: unknown) {
  const raw = asObject(value);
  const info = asObject(raw.ccpProductInfo);
  const id = str(raw.id) ?? idFromName(str(raw.name), "subscriptions");
  if (!id)
    throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion returned a subscription without an id.", { raw: redactValue(raw) });
  const renewStatus = lower(raw.subscriptionRenewStatus);
  return compact({
    id,
    subscriptionId: str(raw.subscriptionId),
    customerId: str(raw.customerId) ?? idFromName(str(raw.name), "customers") ?? "",
    name: str(raw.subscriptionName),
    productName: str(info.productDisplayName) ?? str(raw.productName),
    skuName: str(info.skuDisplayName) ?? str(raw.skuName),
    ccpProductId: str(raw.ccpProductId) ?? str(info.productId),
    ccpSkuId: str(raw.ccpSkuId) ?? str(info.skuId),
    ccpPlanId: str(raw.ccpPlanId) ?? str(info.planId),
    quantity: num(raw.subscriptionTotalLicenses) ?? num(raw.quantity) ?? num(raw.totalLicense) ?? 0,
    status: lower(raw.subscriptionStatus) ?? lower(raw.status) ?? "unknown",
    autoRenew: bool(raw.autoRenew) ?? (renewStatus === undefined ? false : renewStatus === "enabled"),
    billingCycle: lower(raw.subscriptionBillingCycle),
    billingTerm: str(raw.subscriptionBillingTerm),
    startDate: str(raw.subscriptionStartDate),
    endDate: str(raw.subscriptionEndDate),
    renewalDate: str(raw.renewalDate),
    cancellationAllowedUntil: str(raw.cancellationAllowedUntilDate),
    currency: str(raw.currency) ?? str(raw.billingCurrency),
    cost: num(raw.cost) ?? num(raw.customerCost),
    price: num(raw.price),
    lastUpdatedDate: str(raw.lastUpdatedDate),
    customerName: str(raw.customerName),
    raw,
  });
}

/** The fields a record carries, in its order. */
const RECORD_KEYS = [
  "id",
  "subscriptionId",
  "customerId",
  "name",
  "productName",
  "skuName",
  "quantity",
  "status",
  "autoRenew",
  "billingCycle",
  "billingTerm",
  "startDate",
  "endDate",
  "renewalDate",
  "cancellationAllowedUntil",
  "currency",
  "cost",
  "price",
  "lastUpdatedDate",
] as const;

const WIRE_KEYS = [
  "id",
  "name",
  "customerId",
  "subscriptionId",
  "subscriptionName",
  "productName",
  "skuName",
  "ccpProductId",
  "ccpSkuId",
  "ccpPlanId",
  "subscriptionTotalLicenses",
  "quantity",
  "totalLicense",
  "subscriptionStatus",
  "status",
  "autoRenew",
  "subscriptionRenewStatus",
  "subscriptionBillingCycle",
  "subscriptionBillingTerm",
  "subscriptionStartDate",
  "subscriptionEndDate",
  "renewalDate",
  "cancellationAllowedUntilDate",
  "currency",
  "billingCurrency",
  "cost",
  "customerCost",
  "price",
  "lastUpdatedDate",
  "customerName",
];

const scalar = fc.oneof(
  fc.string(),
  fc.constantFrom("", " 3 ", "12.5", "-0", "1e3", "ENABLED", "disabled", "Active", "yes", "accounts/1/customers/7/subscriptions/9"),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const wireObject = fc
  .dictionary(fc.constantFrom(...WIRE_KEYS), scalar)
  .chain((top) =>
    fc
      .option(
        fc.dictionary(fc.constantFrom("productId", "productDisplayName", "skuId", "skuDisplayName", "planId", "planDisplayName"), scalar),
        { nil: undefined },
      )
      .map((info) => (info === undefined ? top : { ...top, ccpProductInfo: info })),
  );

function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: `${(e as { code?: string }).code}: ${(e as Error).message}` };
  }
}

describe("fromIonSubscription", () => {
  it("gives what it gave before it was built on the record: values and key order, or the same error", () => {
    fc.assert(
      fc.property(fc.oneof(wireObject, fc.anything()), (w) => {
        const got = outcome(() => JSON.stringify(fromIonSubscription(w)));
        const want = outcome(() => JSON.stringify(referenceFromIonSubscription(w)));
        expect(got).toStrictEqual(want);
        if ("value" in got) expect(fromIonSubscription(w)).toStrictEqual(referenceFromIonSubscription(w));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe("fromIonSubscriptionRecord", () => {
  it("gives the fields the sync maps exactly as fromIonSubscription does, for any wire object (or the same error)", () => {
    fc.assert(
      fc.property(fc.oneof(wireObject, fc.anything()), (w) => {
        const full = outcome(() => fromIonSubscription(w));
        const record = outcome(() => fromIonSubscriptionRecord(w));
        if ("error" in full) {
          expect(record).toStrictEqual(full);
          return;
        }
        if (!("value" in record)) throw new Error(`record failed: ${record.error}`);
        const expected = Object.fromEntries(RECORD_KEYS.map((k) => [k, full.value[k]]));
        expect(record.value).toStrictEqual(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it("keeps nothing of the wire object and gives every record the same keys, in one order", () => {
    for (const item of subscriptionsPage.items) {
      const record = fromIonSubscriptionRecord(item);
      expect(Object.keys(record)).toStrictEqual([...RECORD_KEYS]);
      expect(record).not.toHaveProperty("raw");
    }
    expect(Object.keys(fromIonSubscriptionRecord({ id: "1" }))).toStrictEqual([...RECORD_KEYS]);
  });

  it("reads a page as fromIonSubscriptionPage does, without the wire objects", () => {
    const full = fromIonSubscriptionPage(subscriptionsPage);
    const records = fromIonSubscriptionRecordPage(subscriptionsPage);
    expect(records.totalSize).toBe(full.totalSize);
    expect(records.items).toStrictEqual(full.items.map((s) => Object.fromEntries(RECORD_KEYS.map((k) => [k, s[k]]))));
    expect(fromIonSubscriptionRecordPage({ subscriptions: [{ id: "9" }], totalCount: "4" })).toMatchObject({
      items: [{ id: "9" }],
      totalSize: 4,
    });
    expect(fromIonSubscriptionRecordPage(undefined)).toStrictEqual({ items: [], totalSize: undefined });
  });
});
