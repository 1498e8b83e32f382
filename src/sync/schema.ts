/**
 * Dataverse names the sync engine reads and writes. Contract names come from DESIGN.md section 3; the
 * extra columns (content hash, last synced values, lease, checkpoint...) are added by the solution for
 * the engine. One place for them keeps typos out of the runners.
 */
export const SETS = {
  connection: "w365_providerconnections",
  providerAccount: "w365_provideraccounts",
  providerSubscription: "w365_providersubscriptions",
  syncRun: "w365_syncruns",
  account: "accounts",
} as const;

export const ConnectionStatus = {
  NotVerified: 365000000,
  Connected: 365000001,
  Failed: 365000002,
  CredentialsExpired: 365000003,
} as const;

export const MappingStatus = {
  Unmapped: 365000000,
  Suggested: 365000001,
  Mapped: 365000002,
  Ignored: 365000003,
} as const;

export const SyncState = {
  InSync: 365000000,
  ChangeRequested: 365000001,
  SentToIon: 365000002,
  Conflict: 365000003,
  Error: 365000004,
} as const;

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
] as const;

/** Provider account columns read once per run to detect changes and respect mappings. */
export const PROVIDER_ACCOUNT_STATE_COLUMNS = [
  "w365_provideraccountid",
  "w365_ioncustomerid",
  "w365_name",
  "w365_contenthash",
  "w365_ionupdatedon",
  "w365_tenantid",
  "w365_domain",
  "w365_mappingstatus",
  "_w365_account_value",
  "_w365_suggestedaccount_value",
  "w365_matchscore",
  "w365_matchreason",
  "w365_missingsince",
] as const;

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
  "w365_lastorderid",
] as const;

/**
 * Provider subscription columns read once per run: change detection, plus everything the outbound phase
 * of the same run needs (no second query: see subscriptions.ts).
 */
export const PROVIDER_SUBSCRIPTION_STATE_COLUMNS = [
  ...OUTBOUND_COLUMNS,
  "w365_contenthash",
  "w365_cancellationalloweduntil",
  "w365_missingsince",
] as const;

/** Account columns used as matching signals (read once per run, paged). */
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
