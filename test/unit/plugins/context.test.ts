import {
  getBoolean,
  getGuid,
  getString,
  parseRemoteExecutionContext,
  parseWcfDate,
  parseWebhookBody,
  WebhookPayloadError,
} from "../../../plugins/context";
import { redact } from "../../../src/shared/redact";
import {
  CONNECTION_ID,
  entity,
  entityReference,
  money,
  optionSet,
  ORG_ID,
  remoteContext,
  SUBSCRIPTION_ID,
  subscriptionUpdateContext,
  syncAccountsContext,
  wcfDate,
} from "../../support/pluginFixtures";

describe("parseRemoteExecutionContext", () => {
  it("reads the envelope of a bound custom API call (reference section 3)", () => {
    const raw = syncAccountsContext({ DryRun: true, RequestId: "flow-42" }, { createdOn: 1506384247000 });
    const ctx = parseRemoteExecutionContext(raw);
    expect(ctx.messageName).toBe("w365_SyncProviderAccounts");
    expect(ctx.primaryEntityName).toBe("w365_providerconnection");
    expect(ctx.primaryEntityId).toBe(CONNECTION_ID);
    expect(ctx.mode).toBe("sync");
    expect(ctx.stage).toBe("postoperation");
    expect(ctx.organizationId).toBe(ORG_ID);
    expect(ctx.operationCreatedOn?.toISOString()).toBe("2017-09-26T00:04:07.000Z");
    expect(ctx.inputParameters.DryRun).toBe(true);
    expect(getString(ctx.inputParameters, "RequestId")).toBe("flow-42");
    expect(ctx.target).toStrictEqual({ kind: "entityReference", logicalName: "w365_providerconnection", id: CONNECTION_ID });
  });

  it("converts Entity attributes: OptionSetValue, Money, EntityReference, WCF dates with offsets, nulls", () => {
    const raw = subscriptionUpdateContext({
      w365_requestedquantity: 12,
      w365_syncstate: optionSet(365000001),
      w365_cost: money(12.5),
      w365_account: entityReference("account", "886313e1-3b8a-5372-9b90-0c9aee199e5d", "Contoso"),
      w365_renewaldate: "/Date(1700000000000-0700)/",
      w365_requestedstatus: null,
    });
    const ctx = parseRemoteExecutionContext(raw);
    expect(ctx.mode).toBe("async");
    expect(ctx.target?.kind).toBe("entity");
    if (ctx.target?.kind !== "entity") throw new Error("unreachable");
    expect(ctx.target.id).toBe(SUBSCRIPTION_ID);
    expect(ctx.target.attributes).toStrictEqual({
      w365_requestedquantity: 12,
      w365_syncstate: { kind: "optionSetValue", value: 365000001 },
      w365_cost: { kind: "money", value: 12.5 },
      w365_account: { kind: "entityReference", logicalName: "account", id: "886313e1-3b8a-5372-9b90-0c9aee199e5d", name: "Contoso" },
      w365_renewaldate: new Date(1700000000000),
      w365_requestedstatus: null,
    });
    expect(ctx.preEntityImages.PreImage?.attributes.w365_quantity).toBe(5);
  });

  it("treats empty GUIDs as absent ids and normalises braces and case", () => {
    const raw = {
      ...syncAccountsContext(),
      RequestId: "00000000-0000-0000-0000-000000000000",
      PrimaryEntityId: `{${CONNECTION_ID.toUpperCase()}}`,
    };
    const ctx = parseRemoteExecutionContext(raw);
    expect(ctx.requestId).toBeUndefined();
    expect(ctx.primaryEntityId).toBe(CONNECTION_ID);
  });

  it("accepts a payload whose parameters were dropped for size (x-ms-dynamics-msg-size-exceeded)", () => {
    const raw: Record<string, unknown> = subscriptionUpdateContext({ w365_requestedquantity: 3 });
    delete raw.InputParameters;
    delete raw.PreEntityImages;
    delete raw.PostEntityImages;
    const ctx = parseRemoteExecutionContext(raw);
    expect(ctx.target).toBeUndefined();
    expect(ctx.inputParameters).toStrictEqual({});
  });

  it("reads a nested ParentContext", () => {
    const parent = remoteContext({ message: "Update", entity: "account", id: "886313e1-3b8a-5372-9b90-0c9aee199e5d" });
    const ctx = parseRemoteExecutionContext({ ...syncAccountsContext(), ParentContext: parent });
    expect(ctx.parentContext?.messageName).toBe("Update");
  });

  it.each([
    [{}, /MessageName/],
    [{ ...syncAccountsContext(), PrimaryEntityId: "not-a-guid" }, /PrimaryEntityId: must be a GUID/],
    [{ ...syncAccountsContext(), Mode: 3 }, /Mode/],
    [{ ...syncAccountsContext(), InputParameters: "x" }, /InputParameters/],
    [
      {
        ...syncAccountsContext(),
        InputParameters: [{ key: "Target", value: { __type: "EntityReference:x", Id: "nope", LogicalName: "a" } }],
      },
      /InputParameters\.Target\.Id: must be a GUID/,
    ],
    [{ ...syncAccountsContext(), InputParameters: [{ key: "__proto__", value: 1 }] }, /not an allowed name/],
    [{ ...syncAccountsContext(), InputParameters: [{ key: "X", value: { some: "object" } }] }, /without a __type/],
    [{ ...syncAccountsContext(), OperationCreatedOn: "yesterday" }, /OperationCreatedOn/],
    [[1, 2], /must be a JSON object/],
    [null, /must be a JSON object/],
  ])("refuses malformed input %# with a clear WebhookPayloadError", (raw, message) => {
    expect(() => parseRemoteExecutionContext(raw)).toThrow(WebhookPayloadError);
    expect(() => parseRemoteExecutionContext(raw)).toThrow(message);
  });

  it("refuses hostile nesting instead of recursing without bound", () => {
    let value: unknown = 1;
    for (let i = 0; i < 100; i++) value = [value];
    const raw = { ...syncAccountsContext(), InputParameters: [{ key: "Deep", value }] };
    expect(() => parseRemoteExecutionContext(raw)).toThrow(/nested deeper/);
  });

  it("says when the body is not JSON", () => {
    expect(() => parseWebhookBody("{not json")).toThrow("Invalid webhook payload: the body is not valid JSON.");
  });

  it("registers secured column values it sees so they never reach a log", () => {
    const token = "rt_" + "q".repeat(40);
    parseRemoteExecutionContext(
      remoteContext({
        message: "Update",
        entity: "w365_providerconnection",
        id: CONNECTION_ID,
        input: { Target: entity("w365_providerconnection", CONNECTION_ID, { w365_refreshtoken: token }) },
      }),
    );
    expect(redact(`saw ${token}`)).toBe("saw [REDACTED]");
  });
});

describe("parameter accessors", () => {
  const ctx = parseRemoteExecutionContext(
    syncAccountsContext({ DryRun: "true", ProviderAccountId: "16FD2706-8BAF-433B-82EB-8C7FADA847DA", Bad: 5 }),
  );
  it("reads Booleans sent as strings", () => expect(getBoolean(ctx.inputParameters, "DryRun")).toBe(true));
  it("normalises GUID parameters", () =>
    expect(getGuid(ctx.inputParameters, "ProviderAccountId")).toBe("16fd2706-8baf-433b-82eb-8c7fada847da"));
  it("returns undefined for absent parameters", () => expect(getGuid(ctx.inputParameters, "Missing")).toBeUndefined());
  it("refuses a parameter of the wrong type", () =>
    expect(() => getString(ctx.inputParameters, "Bad")).toThrow("Parameter Bad must be a string."));
});

describe("parseWcfDate", () => {
  it("parses plain and offset forms", () => {
    expect(parseWcfDate(wcfDate(0))?.getTime()).toBe(0);
    expect(parseWcfDate("/Date(1506384247000+0200)/")?.getTime()).toBe(1506384247000);
  });
  it("leaves other strings alone", () => expect(parseWcfDate("/Date(abc)/")).toBeUndefined());
});
