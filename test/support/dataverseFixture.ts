/* eslint-disable @typescript-eslint/no-explicit-any -- conformance tests assert on arbitrary Web API JSON bodies */
/** Shared test fixture: a small solution model and a thin fetch helper for the emulator's Web API. */
import { type DataverseEmulator, type DataverseEmulatorOptions, startDataverseEmulator } from "../../sandbox/dataverse";
import type { ColumnDef, SolutionModel, TableDef } from "../../src/solution/model";

export const ENDPOINT_ID = "7d0c1a52-6f3e-4d6b-9a59-0b8c1e4b2a01";
export const STEP_VERIFY = "0a8e2b44-1111-4c1e-8d1a-1e2f3a4b5c01";
export const STEP_SYNC = "0a8e2b44-2222-4c1e-8d1a-1e2f3a4b5c02";
export const STEP_SUB_UPDATE = "0a8e2b44-3333-4c1e-8d1a-1e2f3a4b5c03";

const c = (logicalName: string, type: ColumnDef["type"], extra: Partial<ColumnDef> = {}): ColumnDef => ({
  logicalName,
  displayName: logicalName,
  type,
  requiredLevel: "none",
  ...(type === "string" ? { maxLength: 100 } : {}),
  ...extra,
});

const t = (logicalName: string, entitySetName: string, columns: ColumnDef[], extra: Partial<TableDef> = {}): TableDef => ({
  logicalName,
  entitySetName,
  displayName: logicalName,
  displayCollectionName: entitySetName,
  primaryIdAttribute: `${logicalName}id`,
  primaryNameAttribute: "w365_name",
  ownership: "UserOwned",
  isCustomEntity: true,
  columns: [c("w365_name", "string", { maxLength: 200 }), ...columns],
  keys: [],
  forms: [],
  views: [],
  ...extra,
});

export function fixtureModel(version = "1.0.0.0"): SolutionModel & { relationships: unknown[] } {
  return {
    uniqueName: "StreamOneIonConnector",
    displayName: "StreamOne Ion Connector",
    version,
    managed: false,
    publisher: { uniqueName: "work365", displayName: "Work 365", customizationPrefix: "w365", optionValuePrefix: 36500 },
    tables: [
      t("w365_providerconnection", "w365_providerconnections", [
        c("w365_ionaccountid", "string"),
        c("w365_refreshtoken", "string", { maxLength: 4000, secured: true }),
        c("w365_apikey", "string"),
        c("w365_status", "picklist", {
          options: [
            { value: 365000000, label: "Not verified" },
            { value: 365000001, label: "Connected" },
            { value: 365000002, label: "Failed" },
          ],
          defaultValue: 365000000,
        }),
        c("w365_lastverifiedon", "datetime"),
      ]),
      t(
        "w365_provideraccount",
        "w365_provideraccounts",
        [
          c("w365_ioncustomerid", "string"),
          c("w365_connection", "lookup", { targets: ["w365_providerconnection"] }),
          c("w365_account", "lookup", { targets: ["account"] }),
          c("w365_matchscore", "decimal", { precision: 2, minValue: 0, maxValue: 1 }),
        ],
        {
          keys: [
            {
              logicalName: "w365_connection_ioncustomerid",
              displayName: "Connection + customer",
              columns: ["w365_connection", "w365_ioncustomerid"],
            },
          ],
        },
      ),
      t(
        "w365_providersubscription",
        "w365_providersubscriptions",
        [
          c("w365_ionsubscriptionid", "string"),
          c("w365_connection", "lookup", { targets: ["w365_providerconnection"] }),
          c("w365_provideraccount", "lookup", { targets: ["w365_provideraccount"] }),
          c("w365_quantity", "integer"),
          c("w365_requestedquantity", "integer"),
          c("w365_autorenew", "boolean"),
          c("w365_cost", "money", { precision: 2 }),
          c("w365_startdate", "datetime", { dateFormat: "dateonly" }),
        ],
        {
          keys: [
            {
              logicalName: "w365_connection_ionsubscriptionid",
              displayName: "Connection + subscription",
              columns: ["w365_connection", "w365_ionsubscriptionid"],
            },
          ],
        },
      ),
      {
        ...t("account", "accounts", [c("w365_microsofttenantid", "string", { isCustomField: true })], {
          isCustomEntity: false,
          primaryNameAttribute: "name",
        }),
        columns: [c("w365_microsofttenantid", "string", { isCustomField: true })],
      },
    ],
    relationships: [
      {
        name: "w365_connection_accounts",
        referencedEntity: "w365_providerconnection",
        referencingEntity: "w365_provideraccount",
        referencingAttribute: "w365_connection",
        cascadeDelete: "Cascade",
      },
      {
        name: "w365_connection_subscriptions",
        referencedEntity: "w365_providerconnection",
        referencingEntity: "w365_providersubscription",
        referencingAttribute: "w365_connection",
        cascadeDelete: "Cascade",
      },
      {
        name: "w365_account_provideraccounts",
        referencedEntity: "account",
        referencingEntity: "w365_provideraccount",
        referencingAttribute: "w365_account",
        cascadeDelete: "Restrict",
      },
    ],
    customApis: [
      {
        uniqueName: "w365_VerifyConnectivity",
        name: "w365_VerifyConnectivity",
        displayName: "Verify Connectivity",
        description: "Checks the Ion credentials",
        bindingType: 1,
        boundEntityLogicalName: "w365_providerconnection",
        isFunction: false,
        isPrivate: false,
        allowedCustomProcessingStepType: 2,
        workflowSdkStepEnabled: true,
        requestParameters: [],
        responseProperties: [],
      },
      {
        uniqueName: "w365_SyncProviderAccounts",
        name: "w365_SyncProviderAccounts",
        displayName: "Sync Provider Accounts",
        description: "Syncs Ion customers",
        bindingType: 1,
        boundEntityLogicalName: "w365_providerconnection",
        isFunction: false,
        isPrivate: false,
        allowedCustomProcessingStepType: 2,
        workflowSdkStepEnabled: true,
        requestParameters: [
          {
            uniqueName: "DryRun",
            name: "w365_SyncProviderAccounts.DryRun",
            displayName: "Dry run",
            description: "",
            type: "Boolean",
            isOptional: true,
          },
          {
            uniqueName: "RequestId",
            name: "w365_SyncProviderAccounts.RequestId",
            displayName: "Request id",
            description: "",
            type: "String",
            isOptional: true,
          },
        ],
        responseProperties: [],
      },
      {
        uniqueName: "w365_Ping",
        name: "w365_Ping",
        displayName: "Ping",
        description: "Global test API",
        bindingType: 0,
        isFunction: false,
        isPrivate: false,
        allowedCustomProcessingStepType: 2,
        workflowSdkStepEnabled: false,
        requestParameters: [
          { uniqueName: "Message", name: "w365_Ping.Message", displayName: "Message", description: "", type: "String", isOptional: false },
          { uniqueName: "Count", name: "w365_Ping.Count", displayName: "Count", description: "", type: "Integer", isOptional: true },
          {
            uniqueName: "ProviderAccountId",
            name: "w365_Ping.ProviderAccountId",
            displayName: "Id",
            description: "",
            type: "Guid",
            isOptional: true,
          },
        ],
        responseProperties: [{ uniqueName: "Echo", name: "w365_Ping.Echo", displayName: "Echo", description: "", type: "String" }],
      },
    ],
    serviceEndpoints: [
      {
        id: ENDPOINT_ID,
        name: "Work 365 StreamOne Functions",
        contract: 8,
        authType: 4,
        url: "https://placeholder.invalid/api/dataverse/webhook",
        urlEnvironmentVariable: "w365_FunctionsBaseUrl",
        keyEnvironmentVariable: "w365_FunctionsKey",
        messageFormat: 2,
        userClaim: 1,
      },
    ],
    steps: [
      {
        id: STEP_VERIFY,
        name: "Verify Connectivity: webhook",
        message: "w365_VerifyConnectivity",
        primaryEntity: "w365_providerconnection",
        serviceEndpointId: ENDPOINT_ID,
        stage: 40,
        mode: 0,
        rank: 1,
        filteringAttributes: [],
        asyncAutoDelete: false,
        images: [],
      },
      {
        id: STEP_SYNC,
        name: "Sync Provider Accounts: webhook",
        message: "w365_SyncProviderAccounts",
        primaryEntity: "w365_providerconnection",
        serviceEndpointId: ENDPOINT_ID,
        stage: 40,
        mode: 1,
        rank: 1,
        filteringAttributes: [],
        asyncAutoDelete: false,
        images: [],
      },
      {
        id: STEP_SUB_UPDATE,
        name: "Subscription change requested: webhook",
        message: "Update",
        primaryEntity: "w365_providersubscription",
        serviceEndpointId: ENDPOINT_ID,
        stage: 40,
        mode: 1,
        rank: 1,
        filteringAttributes: ["w365_requestedquantity"],
        asyncAutoDelete: false,
        images: [{ name: "pre", entityAlias: "PreImage", imageType: 0, attributes: ["w365_quantity", "w365_requestedquantity"] }],
      },
    ],
    environmentVariables: [
      { schemaName: "w365_FunctionsBaseUrl", displayName: "Functions base URL", description: "", type: "String", isRequired: true },
      { schemaName: "w365_FunctionsKey", displayName: "Functions key", description: "", type: "Secret", isRequired: true },
    ],
    roles: [],
    fieldSecurityProfiles: [
      {
        id: "5f2b0000-0000-4000-8000-000000000001",
        name: "Work 365 Integration secrets",
        permissions: [
          { entity: "w365_providerconnection", attribute: "w365_refreshtoken", canRead: true, canCreate: true, canUpdate: true },
        ],
      },
    ],
    webResources: [],
    customControls: [],
  };
}

export interface Api {
  emu: DataverseEmulator;
  base: string;
  call(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; token?: string | null },
  ): Promise<{ status: number; headers: Headers; text: string; json: any }>;
}

export async function startWithFixture(options: DataverseEmulatorOptions = {}): Promise<Api> {
  const emu = await startDataverseEmulator(options);
  emu.applySolutionModel(fixtureModel());
  return apiFor(emu);
}

export function apiFor(emu: DataverseEmulator): Api {
  const base = `${emu.url}/api/data/v9.2/`;
  return {
    emu,
    base,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { Accept: "application/json", "OData-Version": "4.0", ...(init.headers ?? {}) };
      const token = init.token === undefined ? emu.integrationToken : init.token;
      if (token) headers.Authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
        headers["Content-Type"] ??= "application/json";
      }
      const res = await fetch(path.startsWith("http") ? path : base + path, { method, headers, body });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, text, json: parsed };
    },
  };
}
