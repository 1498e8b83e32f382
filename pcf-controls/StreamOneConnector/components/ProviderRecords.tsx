import {
  Badge,
  Button,
  Field,
  Select,
  Spinner,
  Tab,
  Table,
  TableBody,
  TableCell,
  TableRow,
  TabList,
  Text,
} from "@fluentui/react-components";
import * as React from "react";

import {
  type AccountFilter,
  hasRequestedChange,
  type Page,
  type ProviderAccountView,
  type ProviderSubscriptionView,
  type SubscriptionFilter,
  type SyncStateKey,
} from "../../../ui-shared/history";
import type { ConnectorView, MappingStatusKey } from "../../../ui-shared/records";
import type { ConnectorService } from "../services/connectorService";
import type { StringKey } from "../services/stringKeys";
import type { FormatDate, Localize } from "../services/strings";
import { ColumnHeaders } from "./ColumnHeaders";
import { ConnectorViewHeader } from "./ConnectorViewHeader";
import { describeFailure } from "./failure";

export type RecordsTab = "accounts" | "subscriptions";

export interface ProviderRecordsProps {
  readonly connector: ConnectorView;
  readonly service: ConnectorService;
  readonly t: Localize;
  readonly formatDate: FormatDate;
  readonly initialTab: RecordsTab;
  /** Starts on this subscriptions filter (e.g. "conflict" when opened from a conflict message). */
  readonly initialSubscriptionFilter?: SubscriptionFilter;
  readonly onBack: () => void;
  readonly onOpenMapping?: (connectorId: string) => void;
}

const MAPPING_TEXT: Record<MappingStatusKey, StringKey> = {
  unmapped: "Mapping_Unmapped",
  suggested: "Mapping_Suggested",
  mapped: "Mapping_Mapped",
  ignored: "Mapping_Ignored",
};

const SYNC_STATE_TEXT: Record<SyncStateKey, StringKey> = {
  inSync: "SyncState_InSync",
  changeRequested: "SyncState_ChangeRequested",
  sentToIon: "SyncState_SentToIon",
  conflict: "SyncState_Conflict",
  error: "SyncState_Error",
};

const SYNC_STATE_COLOR: Record<SyncStateKey, "success" | "informative" | "brand" | "warning" | "danger"> = {
  inSync: "success",
  changeRequested: "informative",
  sentToIon: "brand",
  conflict: "warning",
  error: "danger",
};

const ACCOUNT_FILTERS: readonly AccountFilter[] = ["all", "unmapped", "suggested", "mapped", "ignored"];
const SUBSCRIPTION_FILTERS: readonly SubscriptionFilter[] = [
  "all",
  "requested",
  "changeRequested",
  "sentToIon",
  "conflict",
  "error",
  "inSync",
];

/** The connector's provider accounts and provider subscriptions, filterable, as Dataverse holds them. */
export function ProviderRecords(props: ProviderRecordsProps): React.ReactElement {
  const { connector, service, t, initialTab, onBack, onOpenMapping } = props;
  const [tab, setTab] = React.useState<RecordsTab>(initialTab);
  const [accountFilter, setAccountFilter] = React.useState<AccountFilter>("all");
  const [subscriptionFilter, setSubscriptionFilter] = React.useState<SubscriptionFilter>(props.initialSubscriptionFilter ?? "all");
  const [accounts, setAccounts] = React.useState<Page<ProviderAccountView> | undefined>(undefined);
  const [subscriptions, setSubscriptions] = React.useState<Page<ProviderSubscriptionView> | undefined>(undefined);
  const [error, setError] = React.useState<React.ReactNode>(null);
  const generation = React.useRef(0);

  const load = React.useCallback(async () => {
    // A slower answer for an older filter never replaces the newer one.
    const mine = ++generation.current;
    setError(null);
    try {
      if (tab === "accounts") {
        setAccounts(undefined);
        const page = await service.providerAccounts(connector.id, accountFilter);
        if (mine === generation.current) setAccounts(page);
      } else {
        setSubscriptions(undefined);
        const page = await service.providerSubscriptions(connector.id, subscriptionFilter);
        if (mine === generation.current) setSubscriptions(page);
      }
    } catch (e) {
      if (mine === generation.current) setError(describeFailure(e, t));
    }
  }, [tab, accountFilter, subscriptionFilter, service, connector.id, t]);

  React.useEffect(() => {
    void load();
    return () => {
      generation.current++;
    };
  }, [load]);

  const filterLabel = (f: AccountFilter | SubscriptionFilter): string =>
    f === "all"
      ? t("Records_Filter_All")
      : f === "requested"
        ? t("Records_Filter_Requested")
        : f in MAPPING_TEXT
          ? t(MAPPING_TEXT[f as MappingStatusKey])
          : t(SYNC_STATE_TEXT[f as SyncStateKey]);

  return (
    <section aria-labelledby="w365-records-title" data-testid="provider-records">
      <ConnectorViewHeader
        id="w365-records-title"
        title={t("Records_Title", connector.name)}
        t={t}
        onBack={onBack}
        onRefresh={() => void load()}
        error={error}
      />
      <TabList selectedValue={tab} onTabSelect={(_, d) => setTab(d.value as RecordsTab)}>
        <Tab value="accounts">{t("Records_Tab_Accounts")}</Tab>
        <Tab value="subscriptions">{t("Records_Tab_Subscriptions")}</Tab>
      </TabList>
      <div className="w365-toolbar">
        <Field label={t("Records_Filter")}>
          {tab === "accounts" ? (
            <Select value={accountFilter} onChange={(_, d) => setAccountFilter(d.value as AccountFilter)}>
              {ACCOUNT_FILTERS.map((f) => (
                <option key={f} value={f}>
                  {filterLabel(f)}
                </option>
              ))}
            </Select>
          ) : (
            <Select value={subscriptionFilter} onChange={(_, d) => setSubscriptionFilter(d.value as SubscriptionFilter)}>
              {SUBSCRIPTION_FILTERS.map((f) => (
                <option key={f} value={f}>
                  {filterLabel(f)}
                </option>
              ))}
            </Select>
          )}
        </Field>
        {tab === "accounts" && onOpenMapping ? (
          <Button onClick={() => onOpenMapping(connector.id)}>{t("Action_MapAccounts")}</Button>
        ) : null}
      </div>
      {tab === "accounts" ? <AccountsTable page={accounts} t={t} /> : <SubscriptionsTable page={subscriptions} t={t} />}
    </section>
  );
}

/** A page of records: a spinner while it loads, a line when it is empty, else the table and a note when more exist. */
function RecordsTable<T>(props: {
  page: Page<T> | undefined;
  t: Localize;
  label: string;
  testId: string;
  titles: string[];
  row: (item: T) => React.ReactElement;
}): React.ReactElement {
  const { page, t } = props;
  if (!page) return <Spinner label={t("Integrations_Loading")} />;
  if (page.items.length === 0) return <p>{t("Records_Empty")}</p>;
  return (
    <div className="w365-scroll">
      <Table aria-label={props.label} size="small" data-testid={props.testId}>
        <ColumnHeaders titles={props.titles} />
        <TableBody>{page.items.map(props.row)}</TableBody>
      </Table>
      {page.more ? <Text block>{t("Records_More", page.items.length)}</Text> : null}
    </div>
  );
}

function AccountsTable(props: { page: Page<ProviderAccountView> | undefined; t: Localize }): React.ReactElement {
  const { t } = props;
  return (
    <RecordsTable
      page={props.page}
      t={t}
      label={t("Records_Tab_Accounts")}
      testId="provider-accounts"
      titles={[
        t("Records_Column_IonCustomer"),
        t("Records_Column_IonId"),
        t("Records_Column_Mapping"),
        t("Records_Column_Account"),
        t("Records_Column_Reason"),
      ]}
      row={(a) => (
        <TableRow key={a.id} data-mapping-status={a.mappingStatus}>
          <TableCell>{a.name}</TableCell>
          <TableCell>{a.ionCustomerId}</TableCell>
          <TableCell>{t(MAPPING_TEXT[a.mappingStatus])}</TableCell>
          <TableCell>{a.accountName}</TableCell>
          <TableCell>
            <Text size={200}>{a.matchReason}</Text>
          </TableCell>
        </TableRow>
      )}
    />
  );
}

function SubscriptionsTable(props: { page: Page<ProviderSubscriptionView> | undefined; t: Localize }): React.ReactElement {
  const { t } = props;
  const yesNo = (v?: boolean): string => (v === undefined ? "" : v ? t("Records_Yes") : t("Records_No"));
  return (
    <RecordsTable
      page={props.page}
      t={t}
      label={t("Records_Tab_Subscriptions")}
      testId="provider-subscriptions"
      titles={[
        t("Records_Column_Subscription"),
        t("Records_Column_Customer"),
        t("Records_Column_Ion"),
        t("Records_Column_Requested"),
        t("Records_Column_SyncState"),
      ]}
      row={(s) => (
        <TableRow key={s.id} data-sync-state={s.syncState}>
          <TableCell>
            <Text weight="semibold">{s.name}</Text>
            <Text size={200} block>
              {s.productName}
            </Text>
          </TableCell>
          <TableCell>{s.providerAccountName}</TableCell>
          <TableCell>{t("Records_IonValues", s.quantity ?? "", s.status, yesNo(s.autoRenew))}</TableCell>
          <TableCell>
            {hasRequestedChange(s) ? t("Records_IonValues", s.requestedQuantity ?? "", s.requestedStatus, yesNo(s.requestedAutoRenew)) : ""}
          </TableCell>
          <TableCell>
            <Badge appearance="tint" color={SYNC_STATE_COLOR[s.syncState]}>
              {t(SYNC_STATE_TEXT[s.syncState])}
            </Badge>
            {s.syncMessage ? (
              <Text size={200} block className="w365-clamp" title={s.syncMessage}>
                {s.syncMessage}
              </Text>
            ) : null}
            {s.lastOrderId ? (
              <Text size={200} block>
                {t("Records_Order", s.lastOrderId)}
              </Text>
            ) : null}
          </TableCell>
        </TableRow>
      )}
    />
  );
}
