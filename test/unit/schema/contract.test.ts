// The contract names and values the published design fixes, written out literally on purpose: the generated
// schema follows solution/, so this is what stops a change in solution/ from quietly changing the contract.
import {
  customApis,
  tables,
  w365_provideraccount_w365_mappingstatusLabels,
  w365_providerconnection_w365_statusLabels,
  w365_providersubscription_w365_syncstateLabels,
} from "../../../src/schema";

describe("the generated schema keeps the contract", () => {
  it("has the contract's choice values and labels", () => {
    expect(w365_providerconnection_w365_statusLabels).toStrictEqual({
      365000000: "Not verified",
      365000001: "Connected",
      365000002: "Failed",
      365000003: "Credentials expired",
    });
    expect(w365_provideraccount_w365_mappingstatusLabels).toStrictEqual({
      365000000: "Unmapped",
      365000001: "Suggested",
      365000002: "Mapped",
      365000003: "Ignored",
    });
    expect(w365_providersubscription_w365_syncstateLabels).toStrictEqual({
      365000000: "In sync",
      365000001: "Change requested",
      365000002: "Sent to Ion",
      365000003: "Conflict",
      365000004: "Error",
    });
  });

  it("has the contract's entity sets and alternate keys", () => {
    expect(tables.w365_providerconnection.collectionName).toBe("w365_providerconnections");
    expect(tables.w365_provideraccount.collectionName).toBe("w365_provideraccounts");
    expect(tables.w365_providersubscription.collectionName).toBe("w365_providersubscriptions");
    expect(tables.w365_syncrun.collectionName).toBe("w365_syncruns");
    expect(tables.account.collectionName).toBe("accounts");
    expect(tables.w365_provideraccount.keys).toMatchObject({ w365_connection_ioncustomerid: ["w365_connection", "w365_ioncustomerid"] });
    expect(tables.w365_providersubscription.keys).toMatchObject({
      w365_connection_ionsubscriptionid: ["w365_connection", "w365_ionsubscriptionid"],
    });
  });

  it("has the contract's custom APIs with their optional parameters", () => {
    const params = (name: keyof typeof customApis) =>
      Object.fromEntries(
        Object.entries(customApis[name].parameterTypes as Record<string, { typeName: string; isOptional: boolean }>).map(([k, v]) => [
          k,
          v.typeName,
        ]),
      );
    expect(customApis.w365_VerifyConnectivity.boundEntityLogicalName).toBe("w365_providerconnection");
    expect(params("w365_SyncProviderAccounts")).toMatchObject({ DryRun: "Boolean", RequestId: "String" });
    expect(params("w365_SyncSubscriptions")).toMatchObject({ DryRun: "Boolean", RequestId: "String", ProviderAccountId: "Guid" });
    expect(params("w365_MapProviderAccount")).toMatchObject({ AccountId: "Guid", CreateNew: "Boolean", Action: "String" });
    expect(customApis.w365_SyncSubscriptions.boundEntityLogicalName).toBe("w365_providerconnection");
    expect(customApis.w365_MapProviderAccount.boundEntityLogicalName).toBe("w365_provideraccount");
  });
});
