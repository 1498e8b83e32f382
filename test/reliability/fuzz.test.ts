/**
 * Parsers: property-based fuzzing with thousands of generated inputs. Every parser of
 * untrusted input either returns a value or throws its own typed error with a code and a message: never
 * a TypeError/RangeError, never a hang (a hang fails the test by timeout), never a stack overflow.
 * - the webhook body parser (plugins/context): arbitrary text, arbitrary JSON, and real contexts with
 *   one field replaced by garbage;
 * - the Ion response parsers (src/ion/parse): arbitrary JSON and real shapes with mutated fields;
 * - the emulator's $filter parser + compiler (sandbox/dataverse/odata): arbitrary text, grammar-shaped
 *   filters with random tokens, and pathological nesting.
 */
import fc from "fast-check";

import { parseWebhookBody, WebhookPayloadError } from "../../plugins/context";
import { DataverseHttpError } from "../../sandbox/dataverse/errors";
import { compileFilter, FilterSyntaxError, parseFilter } from "../../sandbox/dataverse/odata/filter";
import { IonResponseError } from "../../src/ion/errors";
import { fromIonCloudProfiles } from "../../src/ion/parse/cloudProfile";
import { fromIonCustomer, fromIonCustomerPage } from "../../src/ion/parse/customer";
import { fromIonOrder, fromIonOrderPage } from "../../src/ion/parse/order";
import { fromIonSubscription, fromIonSubscriptionPage } from "../../src/ion/parse/subscription";
import { subscriptionUpdateContext, syncAccountsContext, verifyContext } from "../support/pluginFixtures";
import { recordFigures } from "./support/figures";

const RUNS = Number(process.env.RELIABILITY_FUZZ_RUNS ?? 1500);
const counts: Record<string, { inputs: number; accepted: number; refused: number }> = {};

/** Runs `fn`; a value is "accepted", an expected typed error "refused"; anything else fails the property. */
function classify(area: string, fn: () => unknown, isExpected: (e: unknown) => boolean): void {
  const c = (counts[area] ??= { inputs: 0, accepted: 0, refused: 0 });
  c.inputs++;
  try {
    fn();
    c.accepted++;
  } catch (error) {
    if (!isExpected(error)) throw error;
    const e = error as { code?: unknown; message?: unknown };
    if (typeof e.code !== "string" || typeof e.message !== "string" || e.message.length === 0)
      throw new Error(`untyped error: ${String(error)}`);
    c.refused++;
  }
}

afterAll(() => recordFigures("fuzz", { runsPerProperty: RUNS, parsers: counts }));

describe("webhook body parser", () => {
  const isPayloadError = (e: unknown) => e instanceof WebhookPayloadError;
  it("arbitrary text and JSON", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => classify("webhook", () => parseWebhookBody(s), isPayloadError)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (s) => classify("webhook", () => parseWebhookBody(s), isPayloadError)),
      { numRuns: RUNS },
    );
  });

  it("real contexts with a field replaced, removed or retyped", () => {
    const samples = [verifyContext(), syncAccountsContext({ DryRun: true }), subscriptionUpdateContext({ w365_requestedquantity: 7 })];
    const garbage = fc.oneof(
      fc.anything(),
      fc.string(),
      fc.constant(null),
      fc.integer(),
      fc.array(fc.anything(), { maxLength: 3 }),
      fc.constant("/Date(99999999999999999)/"),
      fc.constant({ __type: "EntityReference:x" }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), garbage, fc.boolean(), (sample, pick, value, remove) => {
        const ctx = JSON.parse(JSON.stringify(sample)) as Record<string, unknown>;
        const keys = Object.keys(ctx);
        const key = keys[pick % keys.length] as string;
        if (remove) delete ctx[key];
        else ctx[key] = value;
        classify("webhook", () => parseWebhookBody(JSON.stringify(ctx)), isPayloadError);
      }),
      { numRuns: RUNS },
    );
  });

  it("deeply nested JSON does not overflow the stack", () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    classify("webhook", () => parseWebhookBody(deep), isPayloadError);
    const deepObject = `{"InputParameters":[{"key":"Target","value":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}]}`;
    classify("webhook", () => parseWebhookBody(deepObject), isPayloadError);
  });
});

describe("Ion response parsers", () => {
  const isIonError = (e: unknown) => e instanceof IonResponseError;
  const parsers: [string, (v: unknown) => unknown][] = [
    ["customer", fromIonCustomer],
    ["customerPage", fromIonCustomerPage],
    ["subscription", fromIonSubscription],
    ["subscriptionPage", fromIonSubscriptionPage],
    ["order", fromIonOrder],
    ["orderPage", fromIonOrderPage],
    ["cloudProfiles", fromIonCloudProfiles],
  ];
  const realShapes: Record<string, unknown> = {
    customer: {
      name: "accounts/1000123/customers/301",
      customerOrganization: "Acme",
      customerStatus: "ACTIVE",
      customerAddress: { country: "US" },
    },
    subscription: {
      id: "2200120",
      subscriptionId: "d26a4239-c9b6-4305-95b7-ae5efc2312b5",
      customerId: "301",
      subscriptionName: "M365",
      status: "ACTIVE",
      totalLicense: "5",
      renewalSetting: "auto-on",
    },
    order: { name: "accounts/1/customers/2/orders/3", orderId: "3", status: "NEW", orderItems: [{ action: "UPDATE", quantity: "5" }] },
  };

  it("arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.constantFrom(...parsers), fc.jsonValue({ maxDepth: 5 }), ([name, parse], value) =>
        classify(`ion:${name}`, () => parse(value), isIonError),
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("real shapes with fields replaced by anything", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("customer", "subscription", "order"),
        fc.dictionary(
          fc.constantFrom(
            "id",
            "name",
            "orderId",
            "status",
            "totalLicense",
            "customerAddress",
            "orderItems",
            "renewalSetting",
            "subscriptionId",
            "endDate",
            "customerStatus",
          ),
          fc.anything(),
        ),
        (kind, patch) => {
          const value = { ...(realShapes[kind] as object), ...patch };
          const parse = kind === "customer" ? fromIonCustomer : kind === "subscription" ? fromIonSubscription : fromIonOrder;
          classify(`ion:${kind}`, () => parse(value), isIonError);
          classify(
            `ion:${kind}Page`,
            () =>
              kind === "customer"
                ? fromIonCustomerPage({ customers: [value], nextPageToken: patch.name })
                : kind === "subscription"
                  ? fromIonSubscriptionPage({ items: [value], totalCount: patch.status })
                  : fromIonOrderPage({ orders: [value] }),
            isIonError,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("emulator $filter parser", () => {
  const isFilterError = (e: unknown) => e instanceof FilterSyntaxError || e instanceof DataverseHttpError;
  const columns = new Set(["name", "w365_quantity", "w365_status", "statecode", "_w365_connection_value", "createdon", "w365_autorenew"]);
  const resolve = (path: string[], pos: number) => {
    const name = path.join("/");
    if (!columns.has(name)) throw new DataverseHttpError(400, "0x0", `Could not find a property named '${name}' at position ${pos}.`);
    return {
      sql: `"${name}"`,
      edm:
        name === "w365_quantity" || name === "statecode"
          ? "Edm.Int32"
          : name === "createdon"
            ? "Edm.DateTimeOffset"
            : name === "w365_autorenew"
              ? "Edm.Boolean"
              : name.endsWith("_value")
                ? "Edm.Guid"
                : "Edm.String",
    } as never;
  };
  const parseAndCompile = (text: string) => compileFilter(parseFilter(text), resolve);

  it("arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => classify("filter", () => parseAndCompile(s), isFilterError)),
      { numRuns: RUNS * 2 },
    );
  });

  it("grammar-shaped filters with random tokens", () => {
    const token = fc.oneof(
      fc.constantFrom(
        "name",
        "w365_quantity",
        "w365_status",
        "statecode",
        "_w365_connection_value",
        "createdon",
        "w365_autorenew",
        "unknown_col",
        "a/b",
      ),
      fc.constantFrom(
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "and",
        "or",
        "not",
        "(",
        ")",
        ",",
        "null",
        "true",
        "false",
        "contains(",
        "startswith(",
        "endswith(",
        "Microsoft.Dynamics.CRM.In(PropertyName=",
        "PropertyValues=[",
        "]",
        "@p1",
        "'",
      ),
      fc.string({ maxLength: 8 }).map((s) => `'${s.replace(/'/g, "''")}'`),
      fc.integer().map(String),
      fc.double({ noNaN: true }).map(String),
      fc.uuid(),
      fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString()),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 14 }), (tokens) =>
        classify("filter", () => parseAndCompile(tokens.join(" ")), isFilterError),
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("well-formed filters are all accepted (no false refusals)", () => {
    const cmp = fc.oneof(
      fc
        .tuple(fc.constantFrom("name", "w365_status"), fc.constantFrom("eq", "ne", "gt", "lt"), fc.string({ maxLength: 10 }))
        .map(([c, op, v]) => `${c} ${op} '${v.replace(/'/g, "''")}'`),
      fc
        .tuple(fc.constantFrom("w365_quantity", "statecode"), fc.constantFrom("eq", "ne", "ge", "le"), fc.integer({ min: -1e6, max: 1e6 }))
        .map(([c, op, v]) => `${c} ${op} ${v}`),
      fc
        .tuple(fc.constantFrom("contains", "startswith", "endswith"), fc.string({ maxLength: 8 }))
        .map(([f, v]) => `${f}(name,'${v.replace(/'/g, "''")}')`),
      fc.uuid().map((u) => `_w365_connection_value eq ${u}`),
      fc.constantFrom("w365_autorenew eq true", "name eq null", "createdon gt 2026-01-01T00:00:00Z"),
    );
    const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
      e: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        cmp,
        fc.tuple(tie("e"), fc.constantFrom("and", "or"), tie("e")).map(([a, op, b]) => `(${a} ${op} ${b})`),
        tie("e").map((a) => `not (${a})`),
      ),
    })).e;
    fc.assert(
      fc.property(expr, (text) => void parseAndCompile(text)),
      { numRuns: RUNS },
    );
    const c = (counts.filter ??= { inputs: 0, accepted: 0, refused: 0 });
    c.inputs += RUNS;
    c.accepted += RUNS;
  });

  it("pathological nesting and length", () => {
    classify("filter", () => parseAndCompile(`${"(".repeat(50_000)}name eq 'a'${")".repeat(50_000)}`), isFilterError);
    classify("filter", () => parseAndCompile(`${"not ".repeat(50_000)}name eq 'a'`), isFilterError);
    classify("filter", () => parseAndCompile(Array.from({ length: 20_000 }, () => "name eq 'a'").join(" or ")), isFilterError);
    classify("filter", () => parseAndCompile(`name eq '${"x".repeat(1_000_000)}`), isFilterError);
  });
});
