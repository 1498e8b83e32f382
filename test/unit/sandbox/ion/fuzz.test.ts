/** Robustness: arbitrary bodies and query strings give a typed Ion error (SimApiError), never a crash. */
import fc from "fast-check";

import { listAccountOrders, listCustomers, listProducts, listSubscriptions } from "../../../../sandbox/ion/api";
import { SimApiError } from "../../../../sandbox/ion/errors";
import { parseForm } from "../../../../sandbox/ion/oauth";
import { decodePageToken } from "../../../../sandbox/ion/paging";
import { normalizeQuery } from "../../../../sandbox/ion/routes";
import { validateCustomerInput } from "../../../../sandbox/ion/store";
import { frozenIonStore } from "../../../support/ionSimulator";

const store = frozenIonStore({ seed: 3, customers: 30, subscriptionsPerCustomer: 2 });
const ctx = { store, accountId: "1000123", maxPageSize: 50 };

function typedOrOk(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (e) {
    if (!(e instanceof SimApiError)) throw e;
    expect(e.status).toBeGreaterThanOrEqual(400);
    expect(e.status).toBeLessThan(500);
    const body = e.body("r1");
    expect(typeof body.error).toBe("string");
    return false;
  }
}

const jsonish = fc.jsonValue({ maxDepth: 4 });
const sub = store.subscriptionList.find((s) => s.status === "active")!;
const itemFields = fc.record(
  {
    action: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("CREATE", "UPDATE", "update", "") }, { weight: 1, arbitrary: jsonish }),
    productId: fc.oneof({ weight: 6, arbitrary: fc.constant(sub.ccpProductId) }, { weight: 1, arbitrary: fc.string() }),
    skuId: fc.oneof({ weight: 6, arbitrary: fc.constant(sub.ccpSkuId) }, { weight: 1, arbitrary: fc.string() }),
    planId: fc.oneof({ weight: 6, arbitrary: fc.constant(sub.ccpPlanId) }, { weight: 1, arbitrary: fc.string() }),
    quantity: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: -5, max: 5000 }) },
      { weight: 1, arbitrary: fc.string() },
      { weight: 1, arbitrary: fc.double() },
    ),
    resourceId: fc.oneof({ weight: 6, arbitrary: fc.constant(sub.subscriptionId) }, { weight: 1, arbitrary: fc.string() }),
    attributes: fc.oneof(
      {
        weight: 5,
        arbitrary: fc.array(
          fc.record({
            name: fc.constantFrom("operations", "renewalSetting", "statusUpdate", "domainName", "x"),
            value: fc.oneof(
              fc.constantFrom("updatesubscription", "auto-on", "auto-off", "active", "suspended", "contoso"),
              fc.string(),
              jsonish,
            ),
          }),
          { maxLength: 3 },
        ),
      },
      { weight: 1, arbitrary: jsonish },
    ),
    providerName: fc.constantFrom("AZURE", "GOOGLE"),
  },
  { requiredKeys: ["action", "productId", "skuId", "planId", "quantity", "resourceId", "attributes"] },
);

describe("Ion simulator input robustness", () => {
  it("answers an attribute value whose toString is not callable with a typed 4xx (found by fuzzing)", () => {
    const body = {
      orderItems: [
        {
          action: "CREATE",
          productId: "Microsoft365NCE--nce",
          skuId: "Microsoft-365-Business-Standard-n2",
          planId: "Annual-n6",
          quantity: 0,
          resourceId: sub.subscriptionId,
          attributes: [{ name: "operations", value: { toString: null } }],
        },
      ],
      referenceId: "",
    };
    expect(() => store.createOrder(sub.customerId, body)).toThrow(SimApiError);
  });

  it("order bodies: an order or a typed 4xx", () => {
    const outcomes = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc.oneof(jsonish, fc.record({ orderItems: fc.array(itemFields, { maxLength: 3 }), referenceId: fc.string() })),
        (body) => {
          if (typedOrOk(() => store.createOrder(sub.customerId, body))) outcomes.ok++;
          else outcomes.rejected++;
        },
      ),
      { numRuns: 1500 },
    );
    // Both paths were exercised, and every accepted order can be processed without a crash.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(outcomes.ok);
    expect(store.processOrders()).toBe(outcomes.ok);
  });

  it("customer bodies: validated input or a typed 4xx", () => {
    const address = fc.record(
      { street: fc.string(), city: fc.string(), state: fc.string(), zip: fc.oneof(fc.string(), fc.integer()), country: fc.string() },
      { requiredKeys: [] },
    );
    const customer = fc.record(
      {
        customerOrganization: fc.string(),
        customerAddress: fc.oneof(address, jsonish),
        customerName: fc.string(),
        customerEmail: fc.oneof(fc.emailAddress(), fc.string()),
        languageCode: fc.constantFrom("EN", "de", "xx", ""),
        customerPhone: jsonish,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(jsonish, customer), (body) => {
        typedOrOk(() => validateCustomerInput(body));
      }),
      { numRuns: 1500 },
    );
  });

  it("list query strings: a page or a typed 4xx", () => {
    const key = fc.constantFrom(
      "pageSize",
      "page_size",
      "pageToken",
      "filter.customerStatus",
      "filter.customerName",
      "customerId",
      "subscriptionStatus",
      "pagination.limit",
      "pagination.offset",
      "pagination.sortBy",
      "pagination.sortOrder",
      "startDateRange.relativeDateRange",
      "startDateRange.fixedDateRange.startDate",
      "endDate",
      "status",
      "sortBy",
      "filter.name",
      "billingTerm",
    );
    const value = fc.oneof(
      fc.string(),
      fc.integer({ min: -3, max: 3000 }).map(String),
      fc.constantFrom("ACTIVE", "TODAY", "LAST_YEAR", "DESC", "lastUpdatedDate", "2026-01-01", "eyJvIjoxLCJmIjoieCJ9"),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 6 }), (pairs) => {
        const q = normalizeQuery(new URLSearchParams(pairs));
        for (const list of [listCustomers, listSubscriptions, listProducts, listAccountOrders]) typedOrOk(() => list(ctx, q));
      }),
      { numRuns: 800 },
    );
  });

  it("page tokens and form bodies never crash", () => {
    fc.assert(
      fc.property(fc.string(), (t) => {
        typedOrOk(() => decodePageToken(t, "h"));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=xyz",
          "multipart/form-data",
          "application/json",
          "",
        ),
        fc.uint8Array({ maxLength: 300 }),
        (contentType, bytes) => {
          const r = parseForm({ contentType, body: Buffer.from(bytes) });
          expect("fields" in r || typeof (r as { error: string }).error === "string").toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
