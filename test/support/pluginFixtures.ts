/** RemoteExecutionContext payloads shaped like docs/platform/dataverse.md section 3, plus recording doubles of the handlers' remote dependencies. */
import type { Engine, MapAction, MapResult, PluginDeps, WorkMessage } from "../../plugins/types";
import { silentLogger } from "../../src/shared/logger";
import { ConnectionStatus } from "../../src/sync";

export const ORG_ID = "8d1c3f0e-5b7a-4c21-9f2e-0a1b2c3d4e5f";
/** What deliveries carry as OrganizationName: the organization's unique name, not the URL label. */
export const ORG_NAME = "unq6042beb1a93aef118e4b00224802c0";
/** The domain of the organization's web application: what deliveries name in x-ms-dynamics-organization. */
export const ORG_DOMAIN = "work365dev.crm.dynamics.com";
export const INTEGRATION_USER = "11111111-2222-4333-8444-555555555555";
export const ADMIN_USER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
export const CONNECTION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e";
export const SUBSCRIPTION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
export const PROVIDER_ACCOUNT_ID = "16fd2706-8baf-433b-82eb-8c7fada847da";
export const ACCOUNT_ID = "886313e1-3b8a-5372-9b90-0c9aee199e5d";
/** The account the engine creates for a (forced or duplicate-free) "create". */
export const CREATED_ACCOUNT_ID = "5f0c2b7e-1d3a-4e6b-8c9d-0a1b2c3d4e5f";

const CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts";
export const entityReference = (logicalName: string, id: string, name: string | null = null) => ({
  __type: `EntityReference:${CONTRACTS}`,
  Id: id,
  KeyAttributes: [],
  LogicalName: logicalName,
  Name: name,
  RowVersion: null,
});
export const optionSet = (value: number) => ({ __type: `OptionSetValue:${CONTRACTS}`, Value: value });
export const money = (value: number) => ({ __type: `Money:${CONTRACTS}`, Value: value });
export const entity = (logicalName: string, id: string, attributes: Record<string, unknown>) => ({
  __type: `Entity:${CONTRACTS}`,
  Attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })),
  EntityState: null,
  FormattedValues: [],
  Id: id,
  KeyAttributes: [],
  LogicalName: logicalName,
  RelatedEntities: [],
  RowVersion: "1234567",
});
export const wcfDate = (ms: number) => `/Date(${ms})/`;

let counter = 0;
function nextGuid(): string {
  counter++;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
}

export interface ContextOptions {
  message: string;
  entity: string;
  id: string;
  mode?: 0 | 1;
  input?: Record<string, unknown>;
  preImages?: Record<string, unknown>;
  userId?: string;
  organizationName?: string;
  organizationId?: string;
  requestId?: string | null;
  operationId?: string;
  correlationId?: string;
  createdOn?: number;
  depth?: number;
}

export function remoteContext(o: ContextOptions): Record<string, unknown> {
  const user = o.userId ?? ADMIN_USER;
  return {
    BusinessUnitId: "5bb3b0b4-2c4e-4bd6-9f6b-1f0c1a2b3c4d",
    CorrelationId: o.correlationId ?? nextGuid(),
    Depth: o.depth ?? 1,
    InitiatingUserId: user,
    InputParameters: Object.entries(o.input ?? {}).map(([key, value]) => ({ key, value })),
    IsExecutingOffline: false,
    IsInTransaction: o.mode === 0,
    IsOfflinePlayback: false,
    IsolationMode: 1,
    MessageName: o.message,
    Mode: o.mode ?? 0,
    OperationCreatedOn: wcfDate(o.createdOn ?? Date.now()),
    OperationId: o.operationId ?? nextGuid(),
    OrganizationId: o.organizationId ?? ORG_ID,
    OrganizationName: o.organizationName ?? ORG_NAME,
    OutputParameters: [],
    OwningExtension: entityReference("sdkmessageprocessingstep", "6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", "StreamOne step"),
    ParentContext: null,
    PostEntityImages: [],
    PreEntityImages: Object.entries(o.preImages ?? {}).map(([key, value]) => ({ key, value })),
    PrimaryEntityId: o.id,
    PrimaryEntityName: o.entity,
    RequestId: o.requestId === null ? null : (o.requestId ?? nextGuid()),
    SecondaryEntityName: "none",
    SharedVariables: [],
    Stage: 40,
    UserId: user,
  };
}

export const verifyContext = (extra: Partial<ContextOptions> = {}) =>
  remoteContext({
    message: "w365_VerifyConnectivity",
    entity: "w365_providerconnection",
    id: CONNECTION_ID,
    input: { Target: entityReference("w365_providerconnection", CONNECTION_ID) },
    ...extra,
  });

export const syncAccountsContext = (input: Record<string, unknown> = {}, extra: Partial<ContextOptions> = {}) =>
  remoteContext({
    message: "w365_SyncProviderAccounts",
    entity: "w365_providerconnection",
    id: CONNECTION_ID,
    input: { Target: entityReference("w365_providerconnection", CONNECTION_ID), ...input },
    ...extra,
  });

export const subscriptionUpdateContext = (attributes: Record<string, unknown>, extra: Partial<ContextOptions> = {}) =>
  remoteContext({
    message: "Update",
    entity: "w365_providersubscription",
    id: SUBSCRIPTION_ID,
    mode: 1,
    input: { Target: entity("w365_providersubscription", extra.id ?? SUBSCRIPTION_ID, attributes) },
    preImages: {
      PreImage: entity("w365_providersubscription", extra.id ?? SUBSCRIPTION_ID, {
        w365_quantity: 5,
        w365_status: "active",
        w365_autorenew: true,
      }),
    },
    ...extra,
  });

/**
 * What src/sync/mapping.ts answers when the mapping went through, one per action (typed as the
 * engine's MapResult, so a change of its shape breaks these tests at compile time).
 */
export function appliedMapResult(o: { providerAccountId: string; action: MapAction; accountId?: string }): MapResult {
  const base = { providerAccountId: o.providerAccountId };
  switch (o.action) {
    case "map":
      return {
        ...base,
        action: "map",
        outcome: "mapped",
        accountId: o.accountId ?? ACCOUNT_ID,
        message: "Contoso (Ion) is mapped to Contoso Ltd; its subscriptions follow on the next subscription sync.",
      };
    case "create":
      return {
        ...base,
        action: "create",
        outcome: "created",
        accountId: CREATED_ACCOUNT_ID,
        message: "Account Contoso was created and mapped.",
      };
    case "ignore":
      return {
        ...base,
        action: "ignore",
        outcome: "ignored",
        message: "Contoso (Ion) is ignored: the sync will not map it or sync its subscriptions.",
      };
    case "unmap":
      return {
        ...base,
        action: "unmap",
        outcome: "unmapped",
        message: "Contoso (Ion) is unmapped; the sync will suggest matches but not map it automatically again.",
      };
  }
}

/** What src/sync/mapping.ts answers when "create" (not forced) found likely existing accounts: nothing was created. */
export function duplicatesFoundResult(providerAccountId: string): MapResult {
  return {
    providerAccountId,
    action: "create",
    outcome: "duplicates-found",
    candidates: [
      { accountId: ACCOUNT_ID, accountName: "Contoso Ltd", score: 0.91, reasons: ["same domain", "similar name"] },
      { accountId: "2b1c4d3e-0000-4000-8000-000000000003", accountName: "Contoso Holdings", score: 0.72, reasons: ["similar name"] },
    ],
    message:
      "No account was created: 2 existing account(s) look like Contoso: Contoso Ltd (0.91: same domain, similar name); Contoso Holdings (0.72: similar name). Map to one of them, or create anyway.",
  };
}

/**
 * A recording double of the engine (typed as the real one, so its answers have the engine's shapes)
 * and of the Dataverse reads: every call is kept, so tests assert "no work done".
 */
export function recordingDeps(
  rows: {
    connection?: Record<string, unknown> | null;
    runs?: Record<string, unknown>[];
    providerAccount?: boolean;
    mapResult?: MapResult;
    /** The provider subscription row as the handler reads it (false = deleted); default In sync. */
    subscription?: Record<string, unknown> | false;
  } = {},
) {
  const calls: { fn: string; args: unknown }[] = [];
  const dataverseCalls: { fn: string; entitySet: string; args: unknown }[] = [];
  const queued: WorkMessage[] = [];
  const runId = "9b2d1a3c-0000-4000-8000-000000000001";
  const engine: Engine = {
    runVerify: async (o) => (
      calls.push({ fn: "runVerify", args: o }),
      {
        ok: true,
        connectionId: o.connectionId,
        status: ConnectionStatus.Connected,
        statusLabel: "Connected",
        message: "Connected to StreamOne Ion.",
        checks: [{ name: "refresh token", ok: true, message: "The refresh token was exchanged." }],
        runId,
      }
    ),
    startQueuedRun: async (o) => (calls.push({ fn: "startQueuedRun", args: o }), { runId }),
    runSyncWorkItem: async (item, delivery) => (
      calls.push({ fn: "runSyncWorkItem", args: { item, delivery } }),
      { outcome: "skipped", reason: "recording double" }
    ),
    recordPoisonedItem: async (item) => (calls.push({ fn: "recordPoisonedItem", args: item }), false),
    runSync: async (o) => (
      calls.push({ fn: "runSync", args: o }),
      {
        runId: o.runId ?? runId,
        connectionId: o.connectionId,
        kind: o.kind,
        status: "succeeded",
        dryRun: o.dryRun ?? false,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        counts: {},
        message: "Nothing changed.",
        durationMs: 0,
        resumed: false,
        report: {},
      }
    ),
    mapProviderAccount: async (o) => (calls.push({ fn: "mapProviderAccount", args: o }), rows.mapResult ?? appliedMapResult(o)),
    runOutboundForSubscription: async (o) => (
      calls.push({ fn: "runOutboundForSubscription", args: o }),
      { subscriptionId: o.subscriptionId, outcome: "none", message: "No requested change to send." }
    ),
    runKeepAlive: async (o) => (calls.push({ fn: "runKeepAlive", args: o }), { at: new Date(0).toISOString(), connections: [] }),
    reopenMatchingForDeletedAccount: async (o) => (
      calls.push({ fn: "reopenMatchingForDeletedAccount", args: o }),
      { accountId: o.accountId, message: "Matching re-opened for 0 provider accounts.", reopened: [] }
    ),
  };
  const connection =
    rows.connection === undefined
      ? { w365_providerconnectionid: CONNECTION_ID, w365_name: "StreamOne Ion", statecode: 0, w365_status: 365000001 }
      : rows.connection;
  const deps: PluginDeps = {
    engine,
    dataverse: {
      tryRetrieve: async <T>(entitySet: string, key: string, o?: unknown) => {
        dataverseCalls.push({ fn: "tryRetrieve", entitySet, args: { key, o } });
        if (entitySet === "w365_providerconnections") return (connection ?? undefined) as T | undefined;
        if (entitySet === "w365_provideraccounts")
          return (rows.providerAccount === false ? undefined : { w365_provideraccountid: key }) as T | undefined;
        if (entitySet === "w365_providersubscriptions")
          return (
            rows.subscription === false ? undefined : (rows.subscription ?? { w365_syncstate: 365000000, "@odata.etag": 'W/"7"' })
          ) as T | undefined;
        return undefined;
      },
      query: <T>(entitySet: string, o?: unknown): AsyncIterable<T> => {
        dataverseCalls.push({ fn: "query", entitySet, args: o });
        const list = (entitySet === "w365_syncruns" ? (rows.runs ?? []) : []) as T[];
        return (async function* () {
          yield* list;
        })();
      },
      queryFirst: async <T>(entitySet: string, o?: unknown): Promise<T | undefined> => {
        dataverseCalls.push({ fn: "queryFirst", entitySet, args: o });
        return undefined;
      },
      update: async (entitySet: string, key: string, body: Record<string, unknown>, o?: { ifMatch?: string }) => {
        dataverseCalls.push({ fn: "update", entitySet, args: { key, body, ...(o?.ifMatch ? { ifMatch: o.ifMatch } : {}) } });
      },
    },
    queue: { enqueue: async (m) => void queued.push(m) },
    integrationUserId: async () => (dataverseCalls.push({ fn: "whoAmI", entitySet: "", args: null }), INTEGRATION_USER),
    logger: silentLogger,
    clock: { now: () => Date.now() },
    staleRunMs: 2 * 3600_000,
  };
  return { deps, calls, dataverseCalls, queued };
}
