import { MappingStatus, mapProviderAccount } from "../../../src/sync";
import { startWorld, type World } from "../../support/world";

/**
 * "Create new account" runs the engine's duplicate check against the accounts in Dataverse (the emulator): a
 * customer named in Cyrillic, Japanese or Hebrew finds the account of the same name, and its Latin spelling.
 */
describe("create new account finds duplicates in every script", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 1, subscriptionsPerCustomer: 0, crmAccounts: false });
    for (const name of ["Ромашка", "Romashka Trading", "トヨタ自動車", 'אל על בע"מ', "Contoso"]) await w.dv.create("accounts", { name });
  });
  afterAll(async () => {
    await w?.close();
  });

  const createFor = async (customerName: string) => {
    const id = await w.dv.create("w365_provideraccounts", { w365_name: customerName, w365_mappingstatus: MappingStatus.Unmapped });
    return mapProviderAccount(w.deps, { providerAccountId: id, action: "create" });
  };

  it.each([
    ["ООО «Ромашка»", ["Ромашка"]],
    ["トヨタ自動車株式会社", ["トヨタ自動車"]],
    ["אל על", ['אל על בע"מ']],
    ["Romashka", ["Ромашка"]],
  ])("%s: nothing created, the likely duplicates offered", async (customerName, expected) => {
    const before = (await w.dv.queryAll("accounts", { select: ["accountid"] })).length;
    const r = await createFor(customerName);
    expect(r.outcome).toBe("duplicates-found");
    expect(r.candidates!.map((c) => c.accountName)).toStrictEqual(expected);
    expect((await w.dv.queryAll("accounts", { select: ["accountid"] })).length).toBe(before);
  });
});
