/**
 * The mappers were made cheaper (fast paths in toIsoOrNull and stableStringify, no spreads
 * in toProviderSubscriptionRow). Stored content hashes decide whether a row is rewritten, so the new
 * code must give exactly what the first implementation gave: that implementation is kept here as the
 * reference and compared with the product code on generated inputs.
 */
import { createHash } from "node:crypto";

import fc from "fast-check";

import { contentHash, stableStringify } from "../../../../src/sync/rows/contentHash";
import { toIsoOrNull } from "../../../../src/sync/rows/dates";
import { clip } from "../../../../src/sync/rows/text";
import { type CustomerInput, providerAccountHash, toProviderAccountRow } from "../../../../src/sync/rows/toProviderAccountRow";
import {
  lastSyncedFrom,
  type ProviderSubscriptionData,
  subscriptionHashedContent,
  type SubscriptionInput,
  type SubscriptionLinks,
  toProviderSubscriptionData,
  toProviderSubscriptionRow,
} from "../../../../src/sync/rows/toProviderSubscriptionRow";
import { bind, SETS } from "../../../../src/sync/schema";

// ---- reference: the implementation before the fast paths ----
function referenceStableStringify(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") {
    if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value === 0 ? 0 : value) : "null";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(referenceStableStringify).join(",")}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = "{";
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ",";
    out += `${JSON.stringify(k)}:${referenceStableStringify(v)}`;
  }
  return `${out}}`;
}

function referenceContentHash(row: Record<string, unknown>): string {
  return `v1:${createHash("sha256").update(referenceStableStringify(row)).digest("base64url").slice(0, 32)}`;
}

function referenceToIsoOrNull(value: string | number | Date | undefined | null): string | null {
  if (value === undefined || value === null || value === "") return null;
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) return null;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

const money = (v: number | undefined): number | null =>
  typeof v === "number" && Number.isFinite(v) ? Math.round(v * 10_000) / 10_000 : null;

function referenceData(sub: SubscriptionInput): ProviderSubscriptionData {
  const quantity = Number.isFinite(sub.quantity) ? Math.max(0, Math.round(sub.quantity)) : 0;
  return {
    w365_name: clip(sub.name ?? sub.productName ?? sub.skuName) ?? `Ion subscription ${sub.id}`,
    w365_ionsubscriptionid: String(sub.id),
    w365_vendorsubscriptionid: clip(sub.subscriptionId),
    w365_ioncustomerid: String(sub.customerId),
    w365_productname: clip(sub.productName, 200),
    w365_skuname: clip(sub.skuName, 200),
    w365_quantity: quantity,
    w365_status: (sub.status || "unknown").toLowerCase(),
    w365_autorenew: Boolean(sub.autoRenew),
    w365_billingcycle: clip(sub.billingCycle?.toLowerCase()),
    w365_billingterm: clip(sub.billingTerm),
    w365_startdate: referenceToIsoOrNull(sub.startDate),
    w365_enddate: referenceToIsoOrNull(sub.endDate),
    w365_renewaldate: referenceToIsoOrNull(sub.renewalDate),
    w365_cancellationalloweduntil: referenceToIsoOrNull(sub.cancellationAllowedUntil),
    w365_currency: clip(sub.currency?.toUpperCase(), 10),
    w365_cost: money(sub.cost),
    w365_price: money(sub.price),
    w365_ionupdatedon: referenceToIsoOrNull(sub.lastUpdatedDate),
  };
}

function referenceRow(connectionId: string, sub: SubscriptionInput, links: SubscriptionLinks, requestPending: boolean) {
  const data = referenceData(sub);
  const synced = requestPending ? {} : lastSyncedFrom(data);
  const hash = referenceContentHash({ ...data, ...synced, providerAccount: links.providerAccountId, account: links.accountId ?? null });
  const body: Record<string, unknown> = {
    ...data,
    ...synced,
    w365_contenthash: hash,
    "w365_connection@odata.bind": bind(SETS.connection, connectionId),
    "w365_provideraccount@odata.bind": bind(SETS.providerAccount, links.providerAccountId),
  };
  if (links.accountId) body["w365_account@odata.bind"] = bind(SETS.account, links.accountId);
  return { hash, data, body };
}

/** The result, or the error thrown, so two implementations can be compared on both. */
function outcome<T>(run: () => T): { value: T } | { error: string } {
  try {
    return { value: run() };
  } catch (error) {
    return { error: String(error) };
  }
}

// ---- generators ----
const pad = (n: number, width: number) => String(n).padStart(width, "0");
/** Date texts near and off Ion's form: real and impossible days, 24:00, leap years, fractions, offsets. */
const dateText = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1900, 1969, 1970, 2000, 2023, 2024, 2100)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.constantFrom("", ".000", ".999", ".5", ".12", ".1234", ".0000001", ".", ".abc"),
    zone: fc.constantFrom("Z", "Z", "Z", "z", "+00:00", "+02:00", "-05:30", "", " Z", "Z "),
    separator: fc.constantFrom("T", "T", "T", "t", " "),
  })
  .map(
    (d) =>
      `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}${d.separator}${pad(d.hour, 2)}:${pad(d.minute, 2)}:${pad(d.second, 2)}${d.fraction}${d.zone}`,
  );
const isoOfInstant = fc
  .date({ min: new Date(-62_167_219_200_000), max: new Date(253_402_300_799_999), noInvalidDate: true })
  .map((d) => d.toISOString());
const anyDateInput = fc.oneof(
  dateText,
  isoOfInstant,
  isoOfInstant.map((t) => t.replace(/\.\d{3}Z$/, "Z")),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.string(),
  fc.constantFrom(
    "",
    "2024-01-01",
    "2024-01-01T00:00:00",
    "Mon, 01 Jan 2024 00:00:00 GMT",
    "+010000-01-01T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "2024-02-29T23:59:59.999Z",
    "2023-02-29T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "२०२४-01-01T00:00:00Z",
  ),
);

const odd = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("  ", " padded ", "A\u0000B", '"quoted" \\ back', "\ud800 lone", "é\u0301", "x".repeat(300)),
);
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 1e21, -1e-7, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const subscription: fc.Arbitrary<SubscriptionInput> = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer().map(String)),
    subscriptionId: maybe(odd),
    customerId: fc.string(),
    name: maybe(odd),
    productName: maybe(odd),
    skuName: maybe(odd),
    quantity: number,
    status: fc.oneof(fc.constantFrom("active", "SUSPENDED", "", "İstanbul"), odd),
    autoRenew: fc.boolean(),
    billingCycle: maybe(odd),
    billingTerm: maybe(odd),
    startDate: maybe(anyDateInput),
    endDate: maybe(anyDateInput),
    renewalDate: maybe(anyDateInput),
    cancellationAllowedUntil: maybe(anyDateInput),
    currency: maybe(odd),
    cost: maybe(number),
    price: maybe(number),
    lastUpdatedDate: maybe(anyDateInput),
  },
  { requiredKeys: ["id", "customerId", "quantity", "status", "autoRenew"] },
);
const links: fc.Arbitrary<SubscriptionLinks> = fc.record(
  { providerAccountId: fc.oneof(fc.uuid(), fc.string()), accountId: fc.oneof(fc.uuid(), fc.constantFrom(null, "")) },
  { requiredKeys: ["providerAccountId"] },
);

describe("mappers with fast paths give what the first implementation gave", () => {
  it("toIsoOrNull: the same text or null for any date string, number or Date", () => {
    fc.assert(
      fc.property(fc.oneof(anyDateInput, fc.double(), fc.date(), fc.constantFrom(undefined, null)), (value) => {
        // A number or Date out of Date's range threw before (RangeError); it must throw the same now.
        expect(outcome(() => toIsoOrNull(value))).toStrictEqual(outcome(() => referenceToIsoOrNull(value)));
      }),
      { numRuns: 10_000 },
    );
  });

  it("toIsoOrNull: every second-precision instant of years 0000-9999 comes back as is", () => {
    fc.assert(
      fc.property(isoOfInstant, (text) => {
        const seconds = text.replace(/\.\d{3}Z$/, "Z");
        expect(toIsoOrNull(seconds)).toBe(seconds);
        expect(toIsoOrNull(text)).toBe(referenceToIsoOrNull(text));
      }),
      { numRuns: 5_000 },
    );
  });

  it("stableStringify and contentHash: the same text and hash for any value", () => {
    const sortedFlat = fc
      .dictionary(fc.string(), fc.oneof(odd, number, fc.boolean(), fc.constant(null), fc.constant(undefined)), { maxKeys: 30 })
      .map((d) =>
        Object.fromEntries(
          Object.keys(d)
            .sort()
            .map((k) => [k, d[k]]),
        ),
      );
    const value = fc.oneof(
      fc.anything({ withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
      sortedFlat,
      fc.dictionary(fc.string(), number),
    );
    fc.assert(
      fc.property(value, (v) => {
        expect(stableStringify(v)).toBe(referenceStableStringify(v));
        if (v !== null && typeof v === "object")
          expect(contentHash(v as Record<string, unknown>)).toBe(referenceContentHash(v as Record<string, unknown>));
      }),
      { numRuns: 5_000 },
    );
  });

  it("stableStringify: objects a flat JSON.stringify would write differently take the general path", () => {
    class WithToJson {
      a = 1;
      toJSON() {
        return "other";
      }
    }
    const cases: unknown[] = [
      new WithToJson(),
      { b: 1, a: 2 },
      { "10": 1, "9": 2, a: 3 },
      { a: () => 1, b: 2 },
      { a: Symbol("s"), b: 2 },
      { a: -0, b: NaN, c: Infinity, d: undefined },
      { a: { c: 1, b: 2 } },
      Object.assign(Object.create(null) as object, { a: 1, b: "x" }),
    ];
    for (const value of cases) expect(stableStringify(value)).toBe(referenceStableStringify(value));
  });

  it("toProviderSubscriptionRow: the same hash, data and body (same key order) for any Ion subscription", () => {
    fc.assert(
      fc.property(fc.uuid(), subscription, links, fc.boolean(), (connectionId, sub, link, pending) => {
        const row = toProviderSubscriptionRow(connectionId, sub, link, pending);
        const expected = referenceRow(connectionId, sub, link, pending);
        expect(row.hash).toBe(expected.hash);
        expect(row.data).toStrictEqual(expected.data);
        expect(row.body).toStrictEqual(expected.body);
        expect(JSON.stringify(row.body)).toBe(JSON.stringify(expected.body));
        expect(row.body).toBe(row.body);
      }),
      { numRuns: 3_000 },
    );
  });

  it("builds the hashed content with its keys in sorted order, so contentHash needs no sort", () => {
    fc.assert(
      fc.property(subscription, links, fc.boolean(), (sub, link, pending) => {
        const keys = Object.keys(subscriptionHashedContent(toProviderSubscriptionData(sub), link, pending));
        expect(keys).toStrictEqual([...keys].sort());
      }),
      { numRuns: 100 },
    );
  });

  it("providerAccountHash: the same hash for any Ion customer", () => {
    const customer: fc.Arbitrary<CustomerInput> = fc.record(
      {
        id: fc.string(),
        organization: maybe(odd),
        contactName: maybe(odd),
        email: maybe(odd),
        domain: maybe(fc.oneof(fc.domain(), odd)),
        address: maybe(fc.record({ zip: maybe(odd), country: maybe(odd) }, { requiredKeys: [] })),
        status: maybe(odd),
        updateTime: maybe(anyDateInput),
      },
      { requiredKeys: ["id"] },
    );
    fc.assert(
      fc.property(
        customer,
        maybe(fc.record({ tenantId: maybe(fc.uuid()), domain: maybe(fc.domain()) }, { requiredKeys: [] })),
        (c, profile) => {
          const data = toProviderAccountRow(c, profile);
          expect(data.w365_ionupdatedon).toBe(referenceToIsoOrNull(c.updateTime));
          expect(providerAccountHash(data)).toBe(referenceContentHash(data as unknown as Record<string, unknown>));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("keeps the hashes stored by earlier versions (pinned values)", () => {
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
      endDate: "2025-01-01T00:00:00.999Z",
      renewalDate: "2024-12-31T23:59:59+02:00",
      cancellationAllowedUntil: "2024-01-08T00:00:00Z",
      currency: "usd",
      cost: 30.123456,
      price: 36,
      lastUpdatedDate: "2024-03-05T10:11:12.345Z",
    };
    expect(toProviderSubscriptionRow("conn-1", sub, { providerAccountId: "pa-1", accountId: "acc-1" }, false).hash).toBe(
      "v1:iFN_oUQ3s4sVTXfGkF8Z_2GK8Yu1ch85",
    );
    expect(toProviderSubscriptionRow("conn-1", sub, { providerAccountId: "pa-1" }, true).hash).toBe("v1:pfHlCULINjPjPZpHjcbFnw1tJ_ujDmov");
    const odd = { ...sub, name: 'Ünïcødé \u{1F600} "quoted" \\ \n', quantity: -0, cost: NaN, price: 1e21 };
    expect(toProviderSubscriptionRow("conn-1", odd, { providerAccountId: "pa-1", accountId: null }, false).hash).toBe(
      "v1:1jsDrYB3Bd0lfpW-cu4_Ios9SJj90bC1",
    );
    const customer = {
      id: "1001",
      organization: "Contoso Ltd",
      contactName: "Jane Doe",
      email: "Jane@Contoso.com",
      domain: "contoso.com",
      address: { zip: "98052", country: "us" },
      status: "ACTIVE",
      updateTime: "2024-01-03T16:29:10.500Z",
    };
    expect(providerAccountHash(toProviderAccountRow(customer, { tenantId: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE" }))).toBe(
      "v1:CMK4fQXo7mMylxxn424ZaRI5jjhXGWvh",
    );
  });
});
