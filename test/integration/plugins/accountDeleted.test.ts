/**
 * Deleting a Work 365 account re-opens matching for the provider accounts mapped or suggested to it, through
 * the real pieces: the admin deletes the account in the Dataverse emulator, the emulator removes the links
 * (CascadeDelete RemoveLink) and fires the registered asynchronous Delete step with its PreImage at the local
 * Functions host, whose handler runs the engine against the emulator.
 */
import { MappingStatus } from "../../../src/sync";
import { all, createConnection, type FunctionsWorld, startFunctionsWorld } from "../../support/world";

jest.setTimeout(60_000);

type Row = Record<string, unknown>;
const PA = "w365_provideraccounts";

describe("an admin deletes a Work 365 account", () => {
  let world: FunctionsWorld;
  beforeAll(async () => {
    world = await startFunctionsWorld({ customers: 3, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("its mapped and suggested provider accounts go back to matching, with a reason; others keep their mapping", async () => {
    const connectionId = await createConnection(world);
    await world.idle();
    await world.admin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [mapped, suggested, other] = await all<Row>(world.dv, PA, `_w365_connection_value eq ${connectionId}`);
    if (!mapped || !suggested || !other) throw new Error("three provider accounts expected");
    const doomed = await world.admin.create("accounts", { name: "Doomed Holdings Ltd" });
    const kept = await world.admin.create("accounts", { name: "Kept Industries Ltd" });
    const map = (row: Row, accountId: string) =>
      world.admin.executeAction(
        "w365_MapProviderAccount",
        { AccountId: accountId },
        { entitySet: PA, id: String(row.w365_provideraccountid) },
      );
    await map(mapped, doomed);
    await map(other, kept);
    // A suggestion as the sync writes it.
    await world.dv.update(PA, String(suggested.w365_provideraccountid), {
      w365_mappingstatus: MappingStatus.Suggested,
      w365_matchscore: 0.6,
      w365_matchreason: "suggested: name similar (score 0.60)",
      "w365_suggestedaccount@odata.bind": `/accounts(${doomed})`,
    });
    await world.idle();

    await world.admin.delete("accounts", doomed);
    await world.idle();

    const after = async (row: Row) => world.dv.retrieve<Row>(PA, String(row.w365_provideraccountid));
    const m = await after(mapped);
    expect(m).toMatchObject({ w365_mappingstatus: MappingStatus.Unmapped, _w365_account_value: null, w365_contenthash: null });
    expect(m.w365_matchreason).toMatch(/^Matching re-opened: the Work 365 account it was mapped to was deleted/);
    const s = await after(suggested);
    expect(s).toMatchObject({ w365_mappingstatus: MappingStatus.Unmapped, _w365_suggestedaccount_value: null });
    expect(s.w365_matchreason).toMatch(/^Matching re-opened: the Work 365 account suggested for it was deleted/);
    expect(await after(other)).toMatchObject({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: kept });

    // The next sync matches the re-opened rows again (their content hash was cleared): a matching reason, not the re-open notice.
    await world.admin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const rematched = await after(mapped);
    expect(rematched.w365_contenthash).toBeTruthy();
    expect(String(rematched.w365_matchreason)).not.toMatch(/^Matching re-opened/);
    expect(await after(other)).toMatchObject({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: kept });
  });
});
