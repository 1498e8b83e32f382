import { type ExistingProviderAccount, matchInputsChanged, needsMatching, planProviderAccount } from "../../../src/sync/accounts";
import type { MatchDecision } from "../../../src/sync/matching/score";
import { type CustomerInput, providerAccountHash, toProviderAccountRow } from "../../../src/sync/rows/toProviderAccountRow";
import { MappingStatus } from "../../../src/sync/schema";

const customer: CustomerInput = {
  id: "501",
  organization: "Fabrikam Ltd",
  contactName: "Ana Lopez",
  email: "ana@fabrikam.example",
  domain: "fabrikam.example",
  address: { zip: "10115", country: "de" },
  status: "ACTIVE",
  updateTime: "2026-11-02T10:00:00Z",
};
const profile = { tenantId: "3f2a7c1e-0000-4000-8000-000000000001", domain: "fabrikam.onmicrosoft.com" };

/** The stored row a run left for `customer` with this mapping. */
function storedRow(status: number): ExistingProviderAccount {
  const data = toProviderAccountRow(customer, profile);
  return {
    w365_provideraccountid: "a0000000-0000-4000-8000-000000000501",
    w365_ioncustomerid: customer.id,
    w365_name: data.w365_name,
    w365_contenthash: providerAccountHash(data),
    w365_ionupdatedon: data.w365_ionupdatedon,
    w365_tenantid: data.w365_tenantid,
    w365_domain: data.w365_domain,
    w365_contactemail: data.w365_contactemail,
    w365_postalcode: data.w365_postalcode,
    w365_country: data.w365_country,
    w365_mappingstatus: status,
    _w365_suggestedaccount_value: status === MappingStatus.Suggested ? "b0000000-0000-4000-8000-000000000007" : null,
    w365_matchscore: 0.72,
    w365_matchreason: "name similar (0.72)",
  };
}

const plan = (changed: CustomerInput, existing: ExistingProviderAccount, rematch = false) => {
  let matched = 0;
  const p = planProviderAccount({
    connectionId: "c0000000-0000-4000-8000-000000000001",
    customer: changed,
    profile,
    existing,
    rematch,
    match: (): MatchDecision => {
      matched++;
      return { decision: "none", score: 0, reason: "no candidate" };
    },
  });
  return { plan: p, matched };
};

describe("accounts phase: when a customer is matched again", () => {
  const later = { updateTime: "2026-11-20T08:00:00Z" };

  it("a Suggested customer whose contact name changed keeps its suggestion: its row is updated, no match runs", () => {
    const { plan: p, matched } = plan({ ...customer, ...later, contactName: "Ana López-Ruiz" }, storedRow(MappingStatus.Suggested));
    expect(matched).toBe(0);
    expect(p.kind).toBe("update");
    expect(p.body.w365_contactname).toBe("Ana López-Ruiz");
    expect(p.body).not.toHaveProperty("w365_mappingstatus");
    expect(p.body).not.toHaveProperty("w365_suggestedaccount@odata.bind");
  });

  it.each([
    ["organization name", { organization: "Fabrikam Holdings" }],
    ["contact e-mail", { email: "ana@fabrikam-holdings.example" }],
    ["domain", { domain: "fabrikam-holdings.example" }],
    ["postal code", { address: { zip: "10117", country: "de" } }],
    ["country", { address: { zip: "10115", country: "at" } }],
  ])("a Suggested customer whose %s changed is matched again", (_, change) => {
    const changed = { ...customer, ...later, ...change };
    expect(matchInputsChanged(storedRow(MappingStatus.Suggested), toProviderAccountRow(changed, profile))).toBe(true);
    expect(plan(changed, storedRow(MappingStatus.Suggested)).matched).toBe(1);
  });

  it("an e-mail that differs only in case is the same input (matching reads its domain, stored in lower case)", () => {
    expect(plan({ ...customer, ...later, email: "Ana@Fabrikam.example" }, storedRow(MappingStatus.Unmapped)).matched).toBe(0);
  });

  it("accounts changed since the last run (rematch): an Unmapped customer is matched again even with the same inputs", () => {
    expect(plan({ ...customer, ...later }, storedRow(MappingStatus.Unmapped), true).matched).toBe(1);
  });

  it("Mapped and Ignored customers are never matched again; a new one always is", () => {
    const renamed = { ...customer, ...later, organization: "Fabrikam Holdings" };
    expect(plan(renamed, storedRow(MappingStatus.Mapped), true).matched).toBe(0);
    expect(plan(renamed, storedRow(MappingStatus.Ignored), true).matched).toBe(0);
    expect(needsMatching(undefined, toProviderAccountRow(customer, profile), false)).toBe(true);
  });
});
