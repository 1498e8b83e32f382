import { parseRemoteExecutionContext } from "../../../plugins/context";
import { dispatch, findRoute } from "../../../plugins/dispatch";
import { chooseMapAction, isRefusedMapping } from "../../../plugins/mapProviderAccount";
import { WebhookRefusedError } from "../../../plugins/types";
import { ConnectionStatus } from "../../../src/sync";
import {
  ACCOUNT_ID,
  appliedMapResult,
  CONNECTION_ID,
  CREATED_ACCOUNT_ID,
  duplicatesFoundResult,
  entity,
  entityReference,
  INTEGRATION_USER,
  PROVIDER_ACCOUNT_ID,
  recordingDeps,
  remoteContext,
  SUBSCRIPTION_ID,
  subscriptionUpdateContext,
  syncAccountsContext,
  verifyContext,
} from "../../support/pluginFixtures";

const ctxOf = (raw: Record<string, unknown>) => parseRemoteExecutionContext(raw);

describe("dispatch", () => {
  it("routes each registered message and table", () => {
    expect(findRoute("w365_verifyconnectivity", "w365_providerconnection")).toBeDefined();
    expect(findRoute("Update", "w365_providersubscription")).toBeDefined();
    expect(findRoute("Delete", "w365_providersubscription")).toBeUndefined();
    expect(findRoute("w365_VerifyConnectivity", "account")).toBeUndefined();
  });

  it("refuses an unknown message with a 400 and does no work", async () => {
    const { deps, calls, dataverseCalls, queued } = recordingDeps();
    const ctx = ctxOf(remoteContext({ message: "Delete", entity: "w365_providersubscription", id: SUBSCRIPTION_ID }));
    await expect(dispatch(ctx, deps)).rejects.toMatchObject({ code: "WEBHOOK_UNKNOWN_MESSAGE", statusCode: 400 });
    expect([calls, dataverseCalls, queued]).toStrictEqual([[], [], []]);
  });
});

describe("verifyConnectivity", () => {
  it("runs verify inline for the bound connector", async () => {
    const { deps, calls } = recordingDeps();
    const outcome = await dispatch(ctxOf(verifyContext({ requestId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301" })), deps);
    expect(outcome.status).toBe(200);
    // The connector's status as the engine wrote it, so the caller of the custom API need not read the row.
    expect(outcome.body).toMatchObject({ ok: true, status: ConnectionStatus.Connected, statusLabel: "Connected" });
    expect(calls).toStrictEqual([
      { fn: "runVerify", args: { connectionId: CONNECTION_ID, trigger: "manual", requestId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301" } },
    ]);
  });

  it("refuses a missing connector with a 404 and starts nothing", async () => {
    const { deps, calls } = recordingDeps({ connection: null });
    await expect(dispatch(ctxOf(verifyContext()), deps)).rejects.toMatchObject({ code: "CONNECTION_NOT_FOUND", statusCode: 404 });
    expect(calls).toStrictEqual([]);
  });

  it("refuses a deactivated connector", async () => {
    const { deps, calls } = recordingDeps({ connection: { w365_name: "Old", statecode: 1 } });
    await expect(dispatch(ctxOf(verifyContext()), deps)).rejects.toThrow('StreamOne connector "Old" is deactivated.');
    expect(calls).toStrictEqual([]);
  });
});

describe("syncProviderAccounts / syncSubscriptions", () => {
  it("creates the queued run with the caller's RequestId, queues it and answers at once", async () => {
    const { deps, calls, queued } = recordingDeps();
    const outcome = await dispatch(ctxOf(syncAccountsContext({ RequestId: "flow-run-7", DryRun: false })), deps);
    expect(outcome.status).toBe(202);
    expect(outcome.body.runId).toBe("9b2d1a3c-0000-4000-8000-000000000001");
    expect(calls).toStrictEqual([
      {
        fn: "startQueuedRun",
        args: { connectionId: CONNECTION_ID, kind: "accounts", trigger: "manual", dryRun: false, requestId: "flow-run-7" },
      },
    ]);
    expect(queued).toStrictEqual([
      {
        type: "sync",
        runId: "9b2d1a3c-0000-4000-8000-000000000001",
        connectionId: CONNECTION_ID,
        kind: "accounts",
        trigger: "manual",
        dryRun: false,
        requestId: "flow-run-7",
      },
    ]);
  });

  it("passes ProviderAccountId for a subscriptions sync and marks calls from inside a workflow", async () => {
    const { deps, queued } = recordingDeps();
    const raw = remoteContext({
      message: "w365_SyncSubscriptions",
      entity: "w365_providerconnection",
      id: CONNECTION_ID,
      depth: 2,
      input: { Target: entityReference("w365_providerconnection", CONNECTION_ID), ProviderAccountId: PROVIDER_ACCOUNT_ID },
    });
    await dispatch(ctxOf(raw), deps);
    expect(queued[0]).toMatchObject({ kind: "subscriptions", providerAccountId: PROVIDER_ACCOUNT_ID, trigger: "workflow" });
  });

  it("marks a call made inside another operation (a ParentContext, at any depth) as a workflow, and a direct call as manual", async () => {
    const direct = recordingDeps();
    await dispatch(ctxOf({ ...syncAccountsContext({ RequestId: "direct-1" }), Depth: 1, ParentContext: null }), direct.deps);
    expect(direct.queued[0]).toMatchObject({ kind: "accounts", trigger: "manual" });
    expect(direct.calls[0]?.args).toMatchObject({ trigger: "manual" });

    // A classic workflow or plug-in that calls the API hands its own context down as the parent; the
    // delivery's Depth alone does not always show it.
    const nested = recordingDeps();
    const parent = remoteContext({ message: "Update", entity: "account", id: ACCOUNT_ID });
    await dispatch(ctxOf({ ...syncAccountsContext({ RequestId: "nested-1" }), Depth: 1, ParentContext: parent }), nested.deps);
    expect(nested.queued[0]).toMatchObject({ kind: "accounts", trigger: "workflow" });
    expect(nested.calls[0]?.args).toMatchObject({ trigger: "workflow" });
  });

  it("marks a verify started from inside a workflow as a workflow", async () => {
    const nested = recordingDeps();
    const parent = remoteContext({ message: "Update", entity: "account", id: ACCOUNT_ID });
    await dispatch(ctxOf({ ...verifyContext(), Depth: 1, ParentContext: parent }), nested.deps);
    expect(nested.calls).toStrictEqual([
      expect.objectContaining({ fn: "runVerify", args: expect.objectContaining({ trigger: "workflow" }) }),
    ]);
    const direct = recordingDeps();
    await dispatch(ctxOf({ ...verifyContext(), Depth: 1, ParentContext: null }), direct.deps);
    expect(direct.calls).toStrictEqual([
      expect.objectContaining({ fn: "runVerify", args: expect.objectContaining({ trigger: "manual" }) }),
    ]);
  });

  it("refuses a second identical sync while one is running", async () => {
    const now = new Date().toISOString();
    const { deps, calls, queued } = recordingDeps({
      runs: [{ w365_syncrunid: "r1", w365_kind: "accounts", w365_status: "running", modifiedon: now }],
    });
    await expect(dispatch(ctxOf(syncAccountsContext()), deps)).rejects.toMatchObject({ code: "SYNC_ALREADY_RUNNING", statusCode: 409 });
    expect([calls, queued]).toStrictEqual([[], []]);
  });

  it("does not let a dead run (older than the stale limit) or a different kind block a sync", async () => {
    const old = new Date(Date.now() - 3 * 3600_000).toISOString();
    const { deps, queued } = recordingDeps({
      runs: [
        { w365_syncrunid: "r1", w365_kind: "accounts", w365_status: "running", modifiedon: old },
        { w365_syncrunid: "r2", w365_kind: "subscriptions", w365_status: "queued", modifiedon: new Date().toISOString() },
        { w365_syncrunid: "r3", w365_kind: "accounts", w365_status: "queued", w365_dryrun: true, modifiedon: new Date().toISOString() },
      ],
    });
    await dispatch(ctxOf(syncAccountsContext()), deps);
    expect(queued).toHaveLength(1);
  });

  it("lets a dry run start while a real run is in flight", async () => {
    const { deps, queued } = recordingDeps({
      runs: [{ w365_syncrunid: "r1", w365_kind: "accounts", w365_status: "running", modifiedon: new Date().toISOString() }],
    });
    await dispatch(ctxOf(syncAccountsContext({ DryRun: true })), deps);
    expect(queued[0]).toMatchObject({ dryRun: true });
  });
});

describe("mapProviderAccount", () => {
  const mapContext = (input: Record<string, unknown>) =>
    remoteContext({
      message: "w365_MapProviderAccount",
      entity: "w365_provideraccount",
      id: PROVIDER_ACCOUNT_ID,
      input: { Target: entityReference("w365_provideraccount", PROVIDER_ACCOUNT_ID), ...input },
    });

  it("maps to the chosen account inline and answers the engine's result", async () => {
    const { deps, calls } = recordingDeps();
    const outcome = await dispatch(ctxOf(mapContext({ AccountId: ACCOUNT_ID })), deps);
    expect(calls).toStrictEqual([
      { fn: "mapProviderAccount", args: { providerAccountId: PROVIDER_ACCOUNT_ID, action: "map", accountId: ACCOUNT_ID } },
    ]);
    const result = appliedMapResult({ providerAccountId: PROVIDER_ACCOUNT_ID, action: "map", accountId: ACCOUNT_ID });
    expect(outcome).toStrictEqual({
      status: 200,
      body: { message: "Mapping saved.", providerAccountId: PROVIDER_ACCOUNT_ID, action: "map", result },
    });
  });

  it.each([
    ["ignore", { Action: "ignore" }, "ignored"],
    ["unmap", { Action: "unmap" }, "unmapped"],
    ["forced create", { CreateNew: true, Force: true }, "created"],
  ] as const)("answers 200 with the engine's outcome for %s", async (_label, input, engineOutcome) => {
    const { deps, calls } = recordingDeps();
    const outcome = await dispatch(ctxOf(mapContext(input)), deps);
    expect(outcome.status).toBe(200);
    expect(outcome.body.result).toMatchObject({ providerAccountId: PROVIDER_ACCOUNT_ID, outcome: engineOutcome });
    expect(calls).toHaveLength(1);
  });

  it("passes Force to the engine and answers the created account", async () => {
    const { deps, calls } = recordingDeps();
    const outcome = await dispatch(ctxOf(mapContext({ CreateNew: true, Force: true })), deps);
    expect(calls).toStrictEqual([
      { fn: "mapProviderAccount", args: { providerAccountId: PROVIDER_ACCOUNT_ID, action: "create", force: true } },
    ]);
    expect(outcome.body.result).toStrictEqual({
      providerAccountId: PROVIDER_ACCOUNT_ID,
      action: "create",
      outcome: "created",
      accountId: CREATED_ACCOUNT_ID,
      message: "Account Contoso was created and mapped.",
    });
  });

  it("fails the step with a 409 naming the likely duplicates when create-new found some", async () => {
    const refused = duplicatesFoundResult(PROVIDER_ACCOUNT_ID);
    const { deps } = recordingDeps({ mapResult: refused });
    const error = (await dispatch(ctxOf(mapContext({ CreateNew: true })), deps).catch((e: unknown) => e)) as WebhookRefusedError;
    expect(error).toBeInstanceOf(WebhookRefusedError);
    expect(error).toMatchObject({
      code: "MAP_LIKELY_DUPLICATE",
      statusCode: 409,
      message: refused.message,
      hint: "Use Force to create the account anyway.",
    });
    for (const c of refused.candidates ?? []) expect(error.message).toContain(c.accountName);
  });

  it.each([
    ["mapped", false],
    ["created", false],
    ["ignored", false],
    ["unmapped", false],
    ["duplicates-found", true],
  ] as const)("decides from the engine's outcome %s alone whether the mapping was refused (%s)", (outcome, refused) => {
    expect(isRefusedMapping({ providerAccountId: PROVIDER_ACCOUNT_ID, action: "create", outcome, message: "m" })).toBe(refused);
  });

  it("refuses a missing provider account", async () => {
    const { deps, calls } = recordingDeps({ providerAccount: false });
    await expect(dispatch(ctxOf(mapContext({ AccountId: ACCOUNT_ID })), deps)).rejects.toMatchObject({
      code: "PROVIDER_ACCOUNT_NOT_FOUND",
    });
    expect(calls).toStrictEqual([]);
  });

  it.each([
    [{ createNew: true }, "create"],
    [{ accountId: ACCOUNT_ID }, "map"],
    [{ action: "Ignore" }, "ignore"],
    [{ action: "unmap" }, "unmap"],
  ])("chooses the action from %o", (params, action) => expect(chooseMapAction(params)).toBe(action));

  it.each([[{}], [{ createNew: true, accountId: ACCOUNT_ID }], [{ action: "merge" }], [{ action: "map" }]])(
    "refuses an unclear choice %o",
    (params) => {
      expect(() => chooseMapAction(params)).toThrow(WebhookRefusedError);
    },
  );
});

describe("subscriptionChanged", () => {
  it("marks the subscription Change requested and queues one outbound change for an admin's request", async () => {
    const { deps, queued, dataverseCalls } = recordingDeps();
    const outcome = await dispatch(ctxOf(subscriptionUpdateContext({ w365_requestedquantity: 12 })), deps);
    expect(outcome.status).toBe(202);
    expect(queued).toStrictEqual([{ type: "outbound", subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" }]);
    expect(dataverseCalls.filter((c) => c.fn === "update")).toMatchObject([
      { entitySet: "w365_providersubscriptions", args: { key: SUBSCRIPTION_ID, body: { w365_syncstate: 365000001 }, ifMatch: 'W/"7"' } },
    ]);
  });

  it("never overwrites Sent to Ion with Change requested (the worker tracks the order already out) but still queues", async () => {
    const { deps, queued, dataverseCalls } = recordingDeps({ subscription: { w365_syncstate: 365000002, "@odata.etag": 'W/"9"' } });
    const outcome = await dispatch(ctxOf(subscriptionUpdateContext({ w365_requestedquantity: 12 })), deps);
    expect(outcome.status).toBe(202);
    expect(dataverseCalls.filter((c) => c.fn === "update")).toStrictEqual([]);
    expect(queued).toHaveLength(1);
  });

  it("ignores the connector's own writes (no echo loop)", async () => {
    const { deps, queued, calls } = recordingDeps();
    const outcome = await dispatch(ctxOf(subscriptionUpdateContext({ w365_requestedquantity: 12 }, { userId: INTEGRATION_USER })), deps);
    expect(outcome).toMatchObject({ status: 200, body: { ignored: true } });
    expect([queued, calls]).toStrictEqual([[], []]);
  });

  it("ignores an update that only clears the requested columns", async () => {
    const { deps, queued } = recordingDeps();
    const outcome = await dispatch(
      ctxOf(subscriptionUpdateContext({ w365_requestedquantity: null, w365_requestedstatus: null, w365_requestedautorenew: null })),
      deps,
    );
    expect(outcome.body.ignored).toBe(true);
    expect(queued).toStrictEqual([]);
  });

  it("still queues when the payload was too large to carry the Target", async () => {
    const { deps, queued } = recordingDeps();
    const raw = subscriptionUpdateContext({});
    raw.InputParameters = [];
    await dispatch(ctxOf(raw), deps);
    expect(queued).toHaveLength(1);
  });
});

describe("connectionChanged", () => {
  const updateToken = (token: string | null, userId?: string) =>
    remoteContext({
      message: "Update",
      entity: "w365_providerconnection",
      id: CONNECTION_ID,
      mode: 1,
      ...(userId ? { userId } : {}),
      input: { Target: entity("w365_providerconnection", CONNECTION_ID, { w365_refreshtoken: token }) },
    });

  it("verifies new credentials an admin pasted", async () => {
    const { deps, calls } = recordingDeps();
    await dispatch(ctxOf(updateToken("new-refresh-token-value")), deps);
    expect(calls).toMatchObject([{ fn: "runVerify", args: { connectionId: CONNECTION_ID, trigger: "webhook" } }]);
  });

  it("ignores the connector's own token rotation", async () => {
    const { deps, calls } = recordingDeps();
    const outcome = await dispatch(ctxOf(updateToken("rotated-token-value", INTEGRATION_USER)), deps);
    expect(outcome.body.ignored).toBe(true);
    expect(calls).toStrictEqual([]);
  });

  it("ignores a cleared token", async () => {
    const { deps, calls } = recordingDeps();
    expect((await dispatch(ctxOf(updateToken(null)), deps)).body.ignored).toBe(true);
    expect(calls).toStrictEqual([]);
  });
});
