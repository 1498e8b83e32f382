import { dependsOnDeletedAccount, reopenedReason } from "../../../src/sync/accountDeleted";
import { runMessage } from "../../../src/sync/messages";
import { MappingStatus } from "../../../src/sync/schema";

const DELETED = "5b1c2d3e-0000-4000-8000-00000000000a";
const OTHER = "5b1c2d3e-0000-4000-8000-00000000000b";
const row = (o: Record<string, unknown>) => ({ w365_provideraccountid: "p", ...o });

describe("re-opening matching after an account is deleted (pure rules)", () => {
  it("re-opens Mapped or Suggested rows left without their account or still pointing at the deleted one, nothing else", () => {
    expect(dependsOnDeletedAccount(row({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: null }), DELETED)).toBe("mapped");
    expect(
      dependsOnDeletedAccount(row({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: DELETED.toUpperCase() }), DELETED),
    ).toBe("mapped");
    expect(dependsOnDeletedAccount(row({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: OTHER }), DELETED)).toBeUndefined();
    expect(dependsOnDeletedAccount(row({ w365_mappingstatus: MappingStatus.Suggested, _w365_suggestedaccount_value: null }), DELETED)).toBe(
      "suggested",
    );
    expect(dependsOnDeletedAccount(row({ w365_mappingstatus: MappingStatus.Ignored, _w365_account_value: null }), DELETED)).toBeUndefined();
    expect(dependsOnDeletedAccount(row({ w365_mappingstatus: MappingStatus.Unmapped }), DELETED)).toBeUndefined();
  });

  it("says why, naming the account when known, and never reads as an admin's Unmap (the sync may auto-map again)", () => {
    expect(reopenedReason("mapped", "Contoso Ltd")).toBe(
      "Matching re-opened: the Work 365 account it was mapped to was deleted (Contoso Ltd). The next sync looks for a match again; or map it on the mapping page.",
    );
    expect(reopenedReason("suggested")).toMatch(/^Matching re-opened: the Work 365 account suggested for it was deleted\. /);
    expect(reopenedReason("mapped")).not.toMatch(/^Unmapped by an admin/);
  });
});

describe("run message", () => {
  it("counts rows skipped because an admin changed them while the run was reading", () => {
    const message = runMessage({
      dryRun: false,
      totals: { created: 0, updated: 3, unchanged: 5, failed: 0 },
      counts: { "changed-by-admin": 2 },
      phases: ["accounts"],
      mapping: { autoMapped: 1, suggested: 0, unmapped: 0 },
    });
    expect(message).toContain("2 skipped: changed by an admin while the run was reading (the next run looks at them again)");
  });
});
