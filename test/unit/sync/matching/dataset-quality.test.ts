import { generateCrmAccounts, generateDataset } from "../../../../sandbox/ion";
import { AccountIndex, matchCustomer } from "../../../../src/sync/matching";

/**
 * Matching quality on the simulator's realistic overlap of Ion customers and existing accounts
 * (sandbox/ion generateCrmAccounts with its ground truth): auto-maps are never wrong, and the strong
 * kinds of evidence (tenant, domain, typo or suffix with the same postal code) auto-map.
 */
describe("matching against the simulator's CRM accounts", () => {
  const seed = 11;
  const n = 300;
  const ds = generateDataset({
    seed,
    customers: n,
    subscriptionsPerCustomer: 0,
    accountId: "1000123",
    startTime: Date.UTC(2026, 10, 1),
    country: "US",
    currency: "USD",
  });
  const accounts = generateCrmAccounts(seed, n, { withTruth: true }) as unknown as ({
    truth: { kind: string; ionCustomerId?: string };
  } & Record<string, string>)[];
  const index = new AccountIndex();
  accounts.forEach((a, i) => index.add({ ...a, accountid: `a${i}` }));
  const truthOf = (accountId: string) => accounts[Number(accountId.slice(1))]!.truth;

  const outcomes = ds.customers.map((c, i) => {
    const bucket = i % 20;
    const kind =
      bucket <= 4
        ? "tenant"
        : bucket <= 7
          ? "domain"
          : bucket <= 9
            ? "typo"
            : bucket <= 11
              ? "suffix"
              : bucket === 12
                ? "ambiguous"
                : bucket === 13
                  ? "email"
                  : "none";
    const d = matchCustomer(index, {
      organization: c.customerOrganization,
      tenantId: c.cloudProfiles[0]?.customerTenantId,
      domain: c.cloudProfiles[0]?.customerDomain,
      email: c.customerEmail,
      postalCode: c.customerAddress.zip,
      country: c.customerAddress.country,
    });
    return { kind, decision: d.decision, correct: d.best ? truthOf(d.best.accountId).ionCustomerId === c.id : undefined };
  });
  const share = (kind: string, decision: string) => {
    const of = outcomes.filter((o) => o.kind === kind);
    return of.filter((o) => o.decision === decision && o.correct).length / of.length;
  };

  it("never auto-maps to the wrong account", () => {
    expect(outcomes.filter((o) => o.decision === "map" && !o.correct)).toStrictEqual([]);
  });
  it("auto-maps strong evidence", () => {
    expect(share("tenant", "map")).toBeGreaterThanOrEqual(0.95);
    expect(share("suffix", "map")).toBeGreaterThanOrEqual(0.9);
    expect(share("typo", "map")).toBeGreaterThanOrEqual(0.8);
    expect(share("domain", "map")).toBeGreaterThanOrEqual(0.8);
  });
  it("only suggests when two accounts are alike, and maps nothing for customers without an account", () => {
    expect(share("ambiguous", "suggest")).toBe(1);
    expect(outcomes.filter((o) => o.kind === "none" && o.decision === "map")).toStrictEqual([]);
  });
});
