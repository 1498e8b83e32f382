/**
 * Dataverse names the sync engine reads and writes, in the engine's words. Entity sets and choice values
 * come from the schema generated from solution/ (src/schema), and every column list is checked against
 * that schema's columns at compile time, so a rename in solution/ fails the typecheck here.
 */
import {
  accountMetadata,
  w365_provideraccount_w365_mappingstatus,
  type w365_provideraccountColumn,
  w365_provideraccountMetadata,
  w365_providerconnection_w365_status,
  type w365_providerconnectionColumn,
  w365_providerconnectionMetadata,
  w365_providersubscription_w365_syncstate,
  type w365_providersubscriptionColumn,
  w365_providersubscriptionMetadata,
  w365_syncrunMetadata,
} from "../schema";

export const SETS = {
  connection: w365_providerconnectionMetadata.collectionName,
  providerAccount: w365_provideraccountMetadata.collectionName,
  providerSubscription: w365_providersubscriptionMetadata.collectionName,
  syncRun: w365_syncrunMetadata.collectionName,
  account: accountMetadata.collectionName,
} as const;

export const ConnectionStatus = w365_providerconnection_w365_status;
export const MappingStatus = w365_provideraccount_w365_mappingstatus;
export const SyncState = w365_providersubscription_w365_syncstate;

export const ALTERNATE_KEYS = {
  providerAccount: (connectionId: string, ionCustomerId: string) => ({
    _w365_connection_value: connectionId,
    w365_ioncustomerid: ionCustomerId,
  }),
  providerSubscription: (connectionId: string, ionSubscriptionId: string) => ({
    _w365_connection_value: connectionId,
    w365_ionsubscriptionid: ionSubscriptionId,
  }),
};

/** `@odata.bind` value for a lookup. */
export const bind = (set: string, id: string): string => `/${set}(${id})`;

/** Columns of w365_providerconnection the engine reads. */
export const CONNECTION_COLUMNS = [
  "w365_providerconnectionid",
  "statecode",
  "w365_name",
  "w365_ionaccountid",
  "w365_ionbaseurl",
  "w365_apikey",
  "w365_apisecret",
  "w365_country",
  "w365_currencycode",
  "w365_status",
  "w365_statusmessage",
  "w365_lastverifiedon",
  "w365_refreshtokenexpireson",
  "w365_refreshtokensavedon",
  "w365_lastsyncon",
  "w365_lastsyncstatus",
  "w365_checkpoint",
] as const satisfies readonly w365_providerconnectionColumn[];

/** Provider account columns read once per run to detect changes and respect mappings. */
export const PROVIDER_ACCOUNT_STATE_COLUMNS = [
  "w365_provideraccountid",
  "w365_ioncustomerid",
  "w365_name",
  "w365_contenthash",
  "w365_ionupdatedon",
  "w365_tenantid",
  "w365_domain",
  "w365_contactemail",
  "w365_postalcode",
  "w365_country",
  "w365_mappingstatus",
  "_w365_account_value",
  "_w365_suggestedaccount_value",
  "w365_matchscore",
  "w365_matchreason",
  "w365_missingsince",
] as const satisfies readonly w365_provideraccountColumn[];

/** Provider subscription columns the outbound step reads (the request, the synced values, the order state). */
export const OUTBOUND_COLUMNS = [
  "w365_providersubscriptionid",
  "w365_name",
  "w365_ionsubscriptionid",
  "w365_ioncustomerid",
  "_w365_connection_value",
  "_w365_provideraccount_value",
  "_w365_account_value",
  "w365_quantity",
  "w365_status",
  "w365_autorenew",
  "w365_lastsyncedquantity",
  "w365_lastsyncedstatus",
  "w365_lastsyncedautorenew",
  "w365_requestedquantity",
  "w365_requestedstatus",
  "w365_requestedautorenew",
  "w365_syncstate",
  "w365_orderreference",
  "w365_orderedchange",
  "w365_lastorderid",
] as const satisfies readonly w365_providersubscriptionColumn[];

/**
 * Provider subscription columns read once per run: change detection, plus everything the outbound phase
 * of the same run needs (no second query: see subscriptions.ts).
 */
export const PROVIDER_SUBSCRIPTION_STATE_COLUMNS = [
  ...OUTBOUND_COLUMNS,
  "w365_contenthash",
  "w365_cancellationalloweduntil",
  "w365_missingsince",
] as const satisfies readonly w365_providersubscriptionColumn[];

/** Account columns used as matching signals (read once per run, paged); most are the platform's own, not the solution's. */
export const ACCOUNT_MATCH_COLUMNS = [
  "accountid",
  "name",
  "w365_microsofttenantid",
  "w365_primarydomain",
  "websiteurl",
  "emailaddress1",
  "address1_postalcode",
  "address1_country",
] as const;
