/**
 * The schema contract: the table, column, key and custom API names that acceptance tests read. The validator checks the solution
 * declares every one of them with the right type, so a rename in solution/ fails fast here.
 */
import {
  w365_provideraccount_w365_mappingstatusLabels,
  w365_providerconnection_w365_statusLabels,
  w365_providersubscription_w365_syncstateLabels,
} from "../schema/generated";
import type { ColumnType } from "./model";

export const SOLUTION_UNIQUE_NAME = "StreamOneIonConnector";
export const PUBLISHER = { uniqueName: "work365", displayName: "Work 365", customizationPrefix: "w365", optionValuePrefix: 36500 } as const;

type Cols = Record<string, ColumnType>;

export const CONTRACT_TABLES: Record<string, { entitySetName: string; columns: Cols }> = {
  w365_providerconnection: {
    entitySetName: "w365_providerconnections",
    columns: {
      w365_name: "string",
      w365_ionaccountid: "string",
      w365_ionbaseurl: "string",
      w365_refreshtoken: "string",
      w365_apikey: "string",
      w365_apisecret: "string",
      w365_country: "string",
      w365_currencycode: "string",
      w365_status: "picklist",
      w365_statusmessage: "string",
      w365_lastverifiedon: "datetime",
      w365_refreshtokenexpireson: "datetime",
      w365_lastsyncon: "datetime",
    },
  },
  w365_provideraccount: {
    entitySetName: "w365_provideraccounts",
    columns: {
      w365_name: "string",
      w365_ioncustomerid: "string",
      w365_connection: "lookup",
      w365_contactname: "string",
      w365_contactemail: "string",
      w365_domain: "string",
      w365_tenantid: "string",
      w365_ionstatus: "string",
      w365_account: "lookup",
      w365_mappingstatus: "picklist",
      w365_matchscore: "decimal",
      w365_matchreason: "string",
    },
  },
  w365_providersubscription: {
    entitySetName: "w365_providersubscriptions",
    columns: {
      w365_name: "string",
      w365_ionsubscriptionid: "string",
      w365_connection: "lookup",
      w365_vendorsubscriptionid: "string",
      w365_provideraccount: "lookup",
      w365_account: "lookup",
      w365_productname: "string",
      w365_skuname: "string",
      w365_quantity: "integer",
      w365_status: "string",
      w365_autorenew: "boolean",
      w365_billingcycle: "string",
      w365_billingterm: "string",
      w365_startdate: "datetime",
      w365_enddate: "datetime",
      w365_renewaldate: "datetime",
      w365_cancellationalloweduntil: "datetime",
      w365_currency: "string",
      w365_cost: "decimal",
      w365_price: "decimal",
      w365_requestedquantity: "integer",
      w365_requestedstatus: "string",
      w365_requestedautorenew: "boolean",
      w365_syncstate: "picklist",
      w365_lastorderid: "string",
      w365_syncmessage: "string",
    },
  },
  w365_syncrun: {
    entitySetName: "w365_syncruns",
    columns: {
      w365_name: "string",
      w365_connection: "lookup",
      w365_kind: "string",
      w365_trigger: "string",
      w365_status: "string",
      w365_dryrun: "boolean",
      w365_requestid: "string",
      w365_startedon: "datetime",
      w365_finishedon: "datetime",
      w365_created: "integer",
      w365_updated: "integer",
      w365_unchanged: "integer",
      w365_failed: "integer",
      w365_report: "memo",
    },
  },
};

/** Columns the sync engine relies on beyond the contract (solution/README.md "Extra columns"). */
export const ENGINE_COLUMNS: Record<string, Cols> = {
  w365_provideraccount: {
    w365_contenthash: "string",
    w365_missingsince: "datetime",
    w365_postalcode: "string",
    w365_country: "string",
    w365_ionupdatedon: "datetime",
    w365_suggestedaccount: "lookup",
    w365_subscriptionsdigest: "memo",
  },
  w365_providersubscription: {
    w365_contenthash: "string",
    w365_lastsyncedquantity: "integer",
    w365_lastsyncedstatus: "string",
    w365_lastsyncedautorenew: "boolean",
    w365_ioncustomerid: "string",
    w365_orderreference: "string",
    w365_orderedchange: "string",
    w365_ionupdatedon: "datetime",
    w365_missingsince: "datetime",
  },
  w365_providerconnection: {
    w365_tokenleaseuntil: "datetime",
    w365_tokenleaseholder: "string",
    w365_accesstoken: "string",
    w365_accesstokenexpireson: "datetime",
    w365_refreshtokensavedon: "datetime",
    w365_apisecretsavedon: "datetime",
    w365_lastsyncstatus: "string",
    w365_syncschedule: "string",
    w365_checkpoint: "memo",
  },
  w365_syncrun: {
    w365_progress: "memo",
    w365_checkpoint: "memo",
    w365_durationms: "integer",
    w365_message: "string",
    w365_cancelrequestedon: "datetime",
  },
};

/** Each contract lookup's one target: `"<column>@odata.bind": "/<target set>(<id>)"` depends on it. */
export const CONTRACT_LOOKUP_TARGETS: Record<string, Record<string, string>> = {
  w365_provideraccount: { w365_connection: "w365_providerconnection", w365_account: "account" },
  w365_providersubscription: { w365_connection: "w365_providerconnection", w365_provideraccount: "w365_provideraccount", w365_account: "account" },
  w365_syncrun: { w365_connection: "w365_providerconnection" },
};

export const CONTRACT_ACCOUNT_COLUMNS = ["w365_microsofttenantid", "w365_primarydomain"] as const;

/**
 * The contract choices as the code was generated for them (src/schema). A solution or zip that differs from
 * the schema the code was built against fails validation; test/unit/schema/contract.test.ts pins them to the contract's values.
 */
export const CONTRACT_CHOICES: Record<string, Record<string, Readonly<Record<number, string>>>> = {
  w365_providerconnection: { w365_status: w365_providerconnection_w365_statusLabels },
  w365_provideraccount: { w365_mappingstatus: w365_provideraccount_w365_mappingstatusLabels },
  w365_providersubscription: { w365_syncstate: w365_providersubscription_w365_syncstateLabels },
};

export const CONTRACT_KEYS: Record<string, { name: string; columns: string[] }> = {
  w365_provideraccount: { name: "w365_connection_ioncustomerid", columns: ["w365_connection", "w365_ioncustomerid"] },
  w365_providersubscription: { name: "w365_connection_ionsubscriptionid", columns: ["w365_connection", "w365_ionsubscriptionid"] },
};

export const CONTRACT_CUSTOM_APIS: Record<string, { bound: string; params: Record<string, string> }> = {
  w365_VerifyConnectivity: { bound: "w365_providerconnection", params: {} },
  w365_SyncProviderAccounts: { bound: "w365_providerconnection", params: { DryRun: "Boolean", RequestId: "String" } },
  w365_SyncSubscriptions: { bound: "w365_providerconnection", params: { DryRun: "Boolean", RequestId: "String", ProviderAccountId: "Guid" } },
  w365_MapProviderAccount: { bound: "w365_provideraccount", params: { AccountId: "Guid", CreateNew: "Boolean", Action: "String" } },
};

export const CONTRACT_SECURED_COLUMNS = ["w365_refreshtoken", "w365_apisecret"] as const;
export const CONNECTOR_PCF_CONTROL = "w365_Work365.StreamOneConnector";
export const INTEGRATION_FIELD_SECURITY_PROFILE = "Work 365 Integration Secrets";
export const INTEGRATION_ROLE = "Work 365 Integration";
export const ADMIN_ROLE = "Work 365 Connector Admin";
export const ENV_FUNCTIONS_BASE_URL = "w365_FunctionsBaseUrl";
export const ENV_FUNCTIONS_WEBHOOK_KEY = "w365_FunctionsWebhookKey";
export const ENV_DEFAULT_SYNC_SCHEDULE = "w365_DefaultSyncSchedule";
export const WEBHOOK_SERVICE_ENDPOINT = "StreamOne Ion Functions";
/** Path the functions app serves webhooks on, relative to w365_FunctionsBaseUrl. */
export const WEBHOOK_PATH = "/api/dataverse/webhook";
