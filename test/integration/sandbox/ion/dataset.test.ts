/** The simulator's seeded data: deterministic, realistic and shaped for the account-matching engine. */
import { type CrmAccountWithTruth, generateCrmAccounts, generateDataset, startIonSimulator } from "../../../../sandbox/ion";
import { CANCELLATION_WINDOW_MS, COUNTRIES, currentTerm, DEFAULT_START_TIME, stripLegalSuffix } from "../../../../sandbox/ion/dataset";

const opts = (seed: number, customers: number, subscriptionsPerCustomer: number) => ({
  seed,
  customers,
  subscriptionsPerCustomer,
  accountId: "1000123",
  startTime: DEFAULT_START_TIME,
  country: "US",
  currency: "USD",
});

describe("Ion simulator dataset", () => {
  const data = generateDataset(opts(1, 300, 3));

  it("is deterministic for a seed and differs across seeds", () => {
    const again = generateDataset(opts(1, 300, 3));
    expect(again.customers).toStrictEqual(data.customers);
    expect(again.subscriptions).toStrictEqual(data.subscriptions);
    expect(generateDataset(opts(2, 300, 3)).customers[0]!.customerOrganization).not.toBe(data.customers[0]!.customerOrganization);
  });

  it("customers do not depend on subscriptionsPerCustomer (so CRM accounts line up with any scenario)", () => {
    expect(generateDataset(opts(1, 300, 0)).customers).toStrictEqual(data.customers);
  });

  it("has exactly customers × n subscriptions, varied per customer (some none, some 2n)", () => {
    expect(data.subscriptions).toHaveLength(900);
    const perCustomer = new Map<string, number>();
    for (const s of data.subscriptions) perCustomer.set(s.customerId, (perCustomer.get(s.customerId) ?? 0) + 1);
    const counts = data.customers.map((c) => perCustomer.get(c.id) ?? 0);
    expect(Math.min(...counts)).toBe(0);
    expect(Math.max(...counts)).toBe(6);
    expect(new Set(counts).size).toBeGreaterThanOrEqual(5);
    expect(generateDataset(opts(5, 7, 4)).subscriptions).toHaveLength(28);
  });

  it("organisations carry legal suffixes, unique emails, ISO countries and country-shaped postal codes", () => {
    const orgs = data.customers.map((c) => c.customerOrganization);
    const suffixes = Object.values(COUNTRIES).flatMap((c) => c.suffixes);
    for (const o of orgs) expect(suffixes.some((x) => o.endsWith(` ${x}`))).toBe(true);
    expect(orgs.filter((o) => /(GmbH|B\.V\.|Pty Ltd|Ltd|LLC|Inc\.)$/.test(o)).length).toBeGreaterThan(100);
    const emails = data.customers.map((c) => c.customerEmail.toLowerCase());
    expect(new Set(emails).size).toBe(emails.length);
    expect(emails.filter((e) => /@(gmail|outlook|hotmail|yahoo)\.com$/.test(e)).length).toBeGreaterThan(10);
    const onOwnDomain = data.customers.filter((c) => c.customerDomain && c.customerEmail.endsWith(`@${c.customerDomain}`));
    expect(onOwnDomain.length).toBeGreaterThan(200);
    for (const c of data.customers) {
      expect(c.customerAddress.country).toMatch(/^[A-Z]{2}$/);
      if (c.customerAddress.country === "US") expect(c.customerAddress.zip).toMatch(/^\d{5}$/);
      if (c.customerAddress.country === "NL") expect(c.customerAddress.zip).toMatch(/^\d{4} [A-Z]{2}$/);
      if (c.customerAddress.country === "GB") expect(c.customerAddress.zip).toMatch(/^[A-Z]{2}\d{1,2} \d[A-Z]{2}$/);
    }
    expect(new Set(data.customers.map((c) => c.customerAddress.country)).size).toBeGreaterThanOrEqual(5);
  });

  it("most customers have a Microsoft tenant (GUID + onmicrosoft domain), some have none", () => {
    const withTenant = data.customers.filter((c) => c.cloudProfiles.length > 0);
    expect(withTenant.length).toBeGreaterThan(230);
    expect(withTenant.length).toBeLessThan(300);
    for (const c of withTenant) {
      expect(c.cloudProfiles[0]!.customerTenantId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(c.cloudProfiles[0]!.customerDomain).toMatch(/^[a-z0-9]+\.onmicrosoft\.com$/);
    }
  });

  it("contains deliberate near-duplicate organisation names", () => {
    expect(data.nearDuplicates.size).toBeGreaterThan(5);
    for (const [dup, original] of data.nearDuplicates) {
      const a = data.customers[dup]!.customerOrganization;
      const b = data.customers[original]!.customerOrganization;
      expect(a).not.toBe(b);
      const letters = (s: string) =>
        stripLegalSuffix(s)
          .toLowerCase()
          .replace(/^the /, "")
          .replace(/&/g, "and")
          .replace(/[^a-z]/g, "");
      const x = letters(a),
        y = letters(b);
      // Same letters (typo swaps, case, punctuation, "&"/"and", suffix) — anagram of each other.
      expect([...x].sort().join("")).toBe([...y].sort().join(""));
    }
  });

  it("subscriptions mix statuses, renewal settings, terms, and open/closed cancellation windows", () => {
    const subs = data.subscriptions;
    const statuses = new Set(subs.map((s) => s.status));
    expect(statuses).toStrictEqual(new Set(["active", "suspended", "cancelled"]));
    expect(subs.filter((s) => !s.autoRenew).length).toBeGreaterThan(50);
    expect(new Set(subs.map((s) => s.billingTerm))).toStrictEqual(new Set(["P1M", "P1Y"]));
    const open = subs.filter((s) => s.cancellationAllowedUntil > DEFAULT_START_TIME);
    expect(open.length).toBeGreaterThan(50);
    expect(open.length).toBeLessThan(subs.length / 2);
    for (const s of subs) {
      if (!s.ccpProductId.startsWith("MSAZURE")) {
        expect(s.cancellationAllowedUntil).toBe(s.termStart + CANCELLATION_WINDOW_MS);
        expect(s.termEnd).toBeGreaterThan(DEFAULT_START_TIME);
        expect(s.termStart).toBeLessThanOrEqual(DEFAULT_START_TIME);
      }
      expect(s.subscriptionId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(subs.map((s) => s.id)).size).toBe(subs.length);
  });
});

describe("currentTerm", () => {
  it("anchors terms on the purchase date: Jan 31 renews Feb 28, then Mar 31", () => {
    const bought = Date.UTC(2026, 0, 31, 10);
    expect(currentTerm(bought, "P1M", Date.UTC(2026, 2, 15))).toStrictEqual({
      index: 1,
      start: Date.UTC(2026, 1, 28, 10),
      end: Date.UTC(2026, 2, 31, 10),
    });
    expect(currentTerm(bought, "P1M", Date.UTC(2026, 2, 31, 10))).toStrictEqual({
      index: 2,
      start: Date.UTC(2026, 2, 31, 10),
      end: Date.UTC(2026, 3, 30, 10),
    });
    expect(currentTerm(bought, "P1Y", Date.UTC(2028, 5, 1))).toStrictEqual({
      index: 2,
      start: Date.UTC(2028, 0, 31, 10),
      end: Date.UTC(2029, 0, 31, 10),
    });
    expect(currentTerm(bought, "P1Y", bought)).toStrictEqual({ index: 0, start: bought, end: Date.UTC(2027, 0, 31, 10) });
  });
});

describe("generateCrmAccounts", () => {
  const customers = generateDataset(opts(3, 200, 0)).customers;
  const rows = generateCrmAccounts(3, 200, { withTruth: true }) as CrmAccountWithTruth[];

  it("is deterministic and returns plain Dataverse rows by default", () => {
    const plain = generateCrmAccounts(3, 200);
    expect(generateCrmAccounts(3, 200)).toStrictEqual(plain);
    expect(plain.every((r) => !("truth" in r) && typeof r.name === "string" && r.name.length > 0)).toBe(true);
    expect(plain).toHaveLength(rows.length);
  });

  it("mixes tenant, domain, name-typo, name-suffix, ambiguous, email-domain and unrelated rows", () => {
    const kinds = new Map<string, number>();
    for (const r of rows) kinds.set(r.truth.kind, (kinds.get(r.truth.kind) ?? 0) + 1);
    for (const k of ["tenant", "domain", "name-typo", "name-suffix", "ambiguous", "email-domain", "unrelated"])
      expect(kinds.get(k) ?? 0).toBeGreaterThan(0);
    expect(kinds.get("unrelated")).toBe(20);
    // Ambiguous customers have two candidate rows.
    const ambiguousIds = rows.filter((r) => r.truth.kind === "ambiguous").map((r) => r.truth.ionCustomerId);
    expect(ambiguousIds.length).toBe(new Set(ambiguousIds).size * 2);
  });

  it("tenant and domain rows carry the customer's real tenant id / domain", () => {
    const byId = new Map(customers.map((c) => [c.id, c]));
    for (const r of rows) {
      const c = r.truth.ionCustomerId ? byId.get(r.truth.ionCustomerId)! : undefined;
      if (r.truth.kind === "tenant") expect(r.w365_microsofttenantid).toBe(c!.cloudProfiles[0]!.customerTenantId);
      if (r.truth.kind === "domain") expect(r.w365_primarydomain).toBe(c!.customerDomain);
      if (r.truth.kind === "name-typo") expect(r.name).not.toBe(c!.customerOrganization);
      if (r.truth.kind === "unrelated") expect(customers.some((x) => x.customerOrganization === r.name)).toBe(false);
    }
    // About a quarter of customers have no existing account: the connector creates those.
    const matched = new Set(rows.map((r) => r.truth.ionCustomerId).filter(Boolean));
    expect(matched.size).toBeLessThan(customers.length * 0.8);
    expect(matched.size).toBeGreaterThan(customers.length * 0.5);
  });
});

describe("startIonSimulator options", () => {
  it("refuses a currency the FX table cannot price, instead of pricing it silently in USD", async () => {
    await expect(startIonSimulator({ customers: 0, currency: "XYZ" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("XYZ"),
    });
    await expect(startIonSimulator({ customers: 0, accountId: "abc" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("prices a supported currency with its rate", async () => {
    const eur = await startIonSimulator({ customers: 2, subscriptionsPerCustomer: 2, seed: 4, currency: "eur" });
    const usd = await startIonSimulator({ customers: 2, subscriptionsPerCustomer: 2, seed: 4, currency: "USD" });
    try {
      const eurSubs = eur.control.subscriptions();
      const usdSubs = usd.control.subscriptions();
      expect(eurSubs.length).toBeGreaterThan(0);
      expect(eurSubs.every((s) => s.currency === "EUR")).toBe(true);
      const priced = usdSubs.findIndex((s) => s.unitMsrp > 0);
      expect(priced).toBeGreaterThanOrEqual(0);
      expect(eurSubs[priced]!.unitMsrp).toBeLessThan(usdSubs[priced]!.unitMsrp);
    } finally {
      await eur.close();
      await usd.close();
    }
  });
});
