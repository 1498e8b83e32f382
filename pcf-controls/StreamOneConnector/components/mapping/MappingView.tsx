// The provider account mapping view of the control (⚙️ → Map provider accounts): Ion customers with their suggested account, score and reason; filters, search,
// column sort, paging, row selection with bulk actions, one-row actions and the reviewed bulk accept of strong
// suggestions. Every change goes through w365_MapProviderAccount (services/mappingService.ts); the model is
// ui-shared/mapping.ts.
import {
  Button,
  Checkbox,
  Field,
  Input,
  makeStyles,
  Select,
  type SortDirection,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  tokens,
  Toolbar,
} from "@fluentui/react-components";
import * as React from "react";

import {
  type AccountRef,
  type BulkAction,
  canBulk,
  countByStatus,
  errorMessage,
  filterRows,
  formatScore,
  type MapAction,
  MAPPING_FILTERS,
  type MappingFilter,
  type ProviderAccountView,
  shownAccountName,
  type SortKey,
  sortRows,
  STRONG_SUGGESTION_CHOICES,
  STRONG_SUGGESTION_SCORE,
  strongSuggestions,
} from "../../../../ui-shared/mapping";
import type { MappingStatusKey } from "../../../../ui-shared/records";
import type { MappingServiceFactory } from "../../services/mappingService";
import type { StringKey } from "../../services/stringKeys";
import type { Localize } from "../../services/strings";
import { ConnectorViewHeader } from "../ConnectorViewHeader";
import { BulkDialog } from "./BulkDialog";
import { CreateDialog, type CreateState, MapDialog } from "./dialogs";

export const ROWS_PER_PAGE = 100;

/** Mapping statuses under the control's labels (the solution's choice labels, as the provider records view shows them). */
const STATUS_LABEL: Readonly<Record<MappingStatusKey, StringKey>> = {
  unmapped: "Mapping_Unmapped",
  suggested: "Mapping_Suggested",
  mapped: "Mapping_Mapped",
  ignored: "Mapping_Ignored",
};
const FILTER_LABEL: Readonly<Record<MappingFilter, StringKey>> = { ...STATUS_LABEL, all: "Map_Filter_All" };

const useStyles = makeStyles({
  view: { display: "grid", rowGap: tokens.spacingVerticalM },
  bar: { display: "flex", flexWrap: "wrap", alignItems: "flex-end", columnGap: tokens.spacingHorizontalL, rowGap: tokens.spacingVerticalS },
  selection: {
    display: "flex",
    flexWrap: "wrap",
    alignItems: "center",
    columnGap: tokens.spacingHorizontalS,
    padding: `${tokens.spacingVerticalXS} ${tokens.spacingHorizontalS}`,
    backgroundColor: tokens.colorNeutralBackground3,
    borderRadius: tokens.borderRadiusMedium,
  },
  pager: { display: "flex", alignItems: "center", columnGap: tokens.spacingHorizontalM },
  muted: { color: tokens.colorNeutralForeground3 },
  reason: { color: tokens.colorNeutralForeground3, fontSize: tokens.fontSizeBase200 },
  actions: { display: "flex", flexWrap: "wrap", columnGap: tokens.spacingHorizontalXS, rowGap: tokens.spacingVerticalXS },
  filters: { display: "flex", flexWrap: "wrap", columnGap: tokens.spacingHorizontalXS },
  error: {
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalM}`,
    backgroundColor: tokens.colorPaletteRedBackground1,
    color: tokens.colorPaletteRedForeground1,
    border: `${tokens.strokeWidthThin} solid ${tokens.colorPaletteRedBorder1}`,
    borderRadius: tokens.borderRadiusMedium,
  },
  // Status pills, in the colours Fluent's tinted badges use.
  badge: {
    display: "inline-block",
    padding: `0 ${tokens.spacingHorizontalS}`,
    borderRadius: tokens.borderRadiusCircular,
    fontSize: tokens.fontSizeBase200,
    fontWeight: tokens.fontWeightSemibold,
    border: `${tokens.strokeWidthThin} solid transparent`,
  },
  unmapped: { backgroundColor: tokens.colorNeutralBackground4, color: tokens.colorNeutralForeground2 },
  suggested: {
    backgroundColor: tokens.colorPaletteYellowBackground1,
    color: tokens.colorPaletteDarkOrangeForeground2,
    border: `${tokens.strokeWidthThin} solid ${tokens.colorPaletteYellowBorder1}`,
  },
  mapped: { backgroundColor: tokens.colorPaletteGreenBackground1, color: tokens.colorPaletteGreenForeground2 },
  ignored: { backgroundColor: tokens.colorNeutralBackground3, color: tokens.colorNeutralForeground3 },
});

interface BulkRequest {
  readonly action: BulkAction;
  readonly rows: readonly ProviderAccountView[];
  readonly title: string;
  readonly intro: string;
  readonly startLabel: (n: number) => string;
}

export interface MappingViewProps {
  readonly createService: MappingServiceFactory;
  /** The connector whose Ion customers are shown; absent: every connector's. */
  readonly connectionId?: string;
  readonly t: Localize;
  /** Back to the connector list (the Integrations tab). */
  readonly onBack: () => void;
  readonly rowsPerPage?: number;
}

export function MappingView(props: MappingViewProps): React.ReactElement {
  const styles = useStyles();
  const { connectionId, t } = props;
  const perPage = props.rowsPerPage ?? ROWS_PER_PAGE;
  const [rows, setRows] = React.useState<readonly ProviderAccountView[]>([]);
  const [loaded, setLoaded] = React.useState(false);
  const [connector, setConnector] = React.useState(connectionId ? "" : t("Map_AllConnectors"));
  const [filter, setFilter] = React.useState<MappingFilter>("unmapped");
  const [search, setSearch] = React.useState("");
  const [sort, setSort] = React.useState<{ key: SortKey; direction: SortDirection }>({ key: "name", direction: "ascending" });
  const [pageIndex, setPageIndex] = React.useState(0);
  const [selected, setSelected] = React.useState<ReadonlySet<string>>(new Set());
  const [threshold, setThreshold] = React.useState(STRONG_SUGGESTION_SCORE);
  const [status, setStatus] = React.useState(t("Map_Loading"));
  const { createService } = props;
  const data = React.useMemo(() => createService((n) => setStatus(t("Map_LoadingCount", n))), [createService, t]);
  const [error, setError] = React.useState("");
  const [busy, setBusy] = React.useState(false);
  const [mapping, setMapping] = React.useState<ProviderAccountView | undefined>(undefined);
  const [creating, setCreating] = React.useState<{ row: ProviderAccountView; state: CreateState } | undefined>(undefined);
  const [bulk, setBulk] = React.useState<BulkRequest | undefined>(undefined);
  const prevRef = React.useRef<HTMLButtonElement>(null);
  const nextRef = React.useRef<HTMLButtonElement>(null);
  const focusAfterRender = React.useRef<React.RefObject<HTMLButtonElement> | undefined>(undefined);

  const replaceRow = React.useCallback((updated: ProviderAccountView) => {
    setRows((previous) => previous.map((r) => (r.id === updated.id ? updated : r)));
  }, []);

  const reload = React.useCallback(async () => {
    setStatus(t("Map_Loading"));
    try {
      const list = await data.listProviderAccounts(connectionId);
      const counts = countByStatus(list);
      setRows(list);
      setLoaded(true);
      setPageIndex(0);
      setSelected(new Set());
      setError("");
      setStatus(t("Map_Loaded", list.length));
      setFilter((f) => (f !== "all" && counts[f] === 0 && list.length > 0 ? (counts.suggested > 0 ? "suggested" : "all") : f));
    } catch (e) {
      setError(t("Map_LoadFailed", errorMessage(e)));
      setStatus("");
    }
  }, [data, connectionId, t]);

  React.useEffect(() => {
    if (connectionId) {
      // Which connector these customers belong to; the view still works when the name cannot be read.
      data
        .connectorName(connectionId)
        .then((name) => setConnector(name ? t("Map_Connector", name) : ""))
        .catch(() => setConnector(""));
    }
    void reload();
  }, [data, connectionId, reload, t]);

  const counts = React.useMemo(() => countByStatus(rows), [rows]);
  const visible = React.useMemo(() => sortRows(filterRows(rows, filter, search), sort.key, sort.direction), [rows, filter, search, sort]);
  const pages = Math.max(1, Math.ceil(visible.length / perPage));
  const page = Math.min(pageIndex, pages - 1);
  const first = page * perPage;
  const shown = visible.slice(first, first + perPage);
  const strong = React.useMemo(() => strongSuggestions(rows, threshold), [rows, threshold]);
  const selectedRows = rows.filter((r) => selected.has(r.id));
  const shownSelected = shown.filter((r) => selected.has(r.id)).length;

  /** Runs one mapping change and says what came of it. */
  const runOne = async (row: ProviderAccountView, action: MapAction, accountId?: string): Promise<void> => {
    setBusy(true);
    setError("");
    setStatus(t(`Map_Busy_${action}`, row.name));
    try {
      const result = await data.apply(row, action, { accountId });
      if (result.kind === "duplicates") return;
      replaceRow(result.row);
      const updated = result.row;
      if (result.kind === "pending") setStatus(t("Map_Pending", row.name));
      else if (action === "map" || action === "create") setStatus(t("Map_MappedTo", row.name, updated.accountName ?? t("Map_TheAccount")));
      else if (action === "ignore") setStatus(t("Map_IsIgnored", row.name));
      else
        setStatus(
          row.status === "ignored" ? t("Map_IsRestored", row.name, t(STATUS_LABEL[updated.status])) : t("Map_IsUnmapped", row.name),
        );
    } catch (e) {
      setError(t("Map_RowError", row.name, errorMessage(e)));
      setStatus("");
    } finally {
      setBusy(false);
    }
  };

  const create = async (row: ProviderAccountView, force: boolean): Promise<void> => {
    setCreating({ row, state: { step: force ? "creating" : "checking" } });
    setError("");
    try {
      const result = await data.apply(row, "create", { force });
      if (result.kind === "duplicates") {
        setStatus(t("Map_DuplicatesFound", result.duplicates.length, row.name));
        setCreating({ row, state: { step: "duplicates", duplicates: result.duplicates } });
        return;
      }
      replaceRow(result.row);
      setCreating(undefined);
      setStatus(
        result.kind === "done" ? t("Map_MappedTo", row.name, result.row.accountName ?? t("Map_TheNewAccount")) : t("Map_Pending", row.name),
      );
    } catch (e) {
      setCreating({ row, state: { step: "failed", message: t("Map_CreateFailed", errorMessage(e)) } });
    }
  };

  const openBulk = (action: BulkAction, candidates: readonly ProviderAccountView[], strongOnly = false): void => {
    const list = candidates.filter((r) => canBulk(r, action));
    // Accepting strong suggestions is a map under its own title and start button.
    const named = strongOnly ? "strong" : action;
    setBulk({
      action,
      rows: list,
      title: t(`Map_BulkTitle_${named}`, formatScore(threshold)),
      intro: t(`Map_BulkIntro_${action}`),
      startLabel: (n) => t(`Map_BulkStart_${named}`, n),
    });
  };

  const headerSort = (key: SortKey): Partial<React.ComponentProps<typeof TableHeaderCell>> => ({
    // Sortable per column: a sort button around the select-all checkbox would nest one control in another.
    sortable: true,
    sortDirection: sort.key === key ? sort.direction : undefined,
    onClick: () => setSort((s) => ({ key, direction: s.key === key && s.direction === "ascending" ? "descending" : "ascending" })),
  });

  const goPage = (index: number, pressed: "prev" | "next"): void => {
    setPageIndex(index);
    // Keep focus on the pager button pressed, or on its twin when the pressed one is now disabled (first/last page):
    // a disabled button drops focus to the page, so the move happens once the new page is rendered.
    const atEnd = pressed === "next" ? index >= pages - 1 : index <= 0;
    if (atEnd) focusAfterRender.current = pressed === "next" ? prevRef : nextRef;
  };
  React.useEffect(() => {
    focusAfterRender.current?.current?.focus();
    focusAfterRender.current = undefined;
  });

  const setAllShown = (on: boolean): void =>
    setSelected((previous) => {
      const next = new Set(previous);
      for (const r of shown) {
        if (on) next.add(r.id);
        else next.delete(r.id);
      }
      return next;
    });

  const rowActions = (row: ProviderAccountView): React.ReactElement[] => {
    const b = (key: string, label: string, aria: string, onClick: () => void, primary = false): React.ReactElement => (
      <Button key={key} size="small" appearance={primary ? "primary" : "secondary"} aria-label={aria} disabled={busy} onClick={onClick}>
        {label}
      </Button>
    );
    const out: React.ReactElement[] = [];
    if (row.status === "suggested" && row.suggestedAccountId)
      out.push(
        b(
          "accept",
          t("Map_Accept"),
          t("Map_AcceptAria", row.suggestedAccountName ?? "", row.name),
          () => void runOne(row, "map", row.suggestedAccountId),
          true,
        ),
      );
    if (row.status !== "ignored")
      out.push(b("map", t(row.status === "mapped" ? "Map_Change" : "Map_MapOpen"), t("Map_MapAria", row.name), () => setMapping(row)));
    if (row.status === "unmapped" || row.status === "suggested") {
      out.push(b("create", t("Map_CreateNew"), t("Map_CreateNewAria", row.name), () => setCreating({ row, state: { step: "confirm" } })));
      out.push(b("ignore", t("Map_Ignore"), t("Map_IgnoreAria", row.name), () => void runOne(row, "ignore")));
    }
    if (row.status === "mapped") out.push(b("unmap", t("Map_Unmap"), t("Map_UnmapAria", row.name), () => void runOne(row, "unmap")));
    if (row.status === "ignored") out.push(b("restore", t("Map_Restore"), t("Map_RestoreAria", row.name), () => void runOne(row, "unmap")));
    return out;
  };

  const searchAccounts = React.useCallback((q: string): Promise<AccountRef[]> => data.searchAccounts(q), [data]);
  const selectionCount = (action: BulkAction): number => selectedRows.filter((r) => canBulk(r, action)).length;

  return (
    <section className={styles.view} aria-labelledby="w365-mapping-title" data-testid="mapping-view">
      <header>
        <ConnectorViewHeader
          id="w365-mapping-title"
          title={t("Map_Title")}
          t={props.t}
          onBack={props.onBack}
          onRefresh={() => void reload()}
          refreshDisabled={busy}
        />
        <Text block id="w365-connector">
          {connector}
        </Text>
        <Text block className={styles.muted}>
          {t("Map_Intro")}
        </Text>
      </header>

      <div className={styles.bar}>
        {/* A toolbar: arrow keys move between the filters. It also keeps Fluent's focus manager (tabster) alive for the
            whole view; with a dialog as its only user, closing the dialog disposed it before it had taken aria-hidden
            off the control (seen in the browser test: it stayed hidden from assistive technology). */}
        <Toolbar aria-label={t("Map_Filters")} className={styles.filters}>
          {MAPPING_FILTERS.map((f) => (
            <Button
              key={f}
              aria-pressed={f === filter}
              appearance={f === filter ? "primary" : "secondary"}
              data-filter={f}
              onClick={() => {
                setFilter(f);
                setPageIndex(0);
              }}
            >
              {t("Map_FilterCount", t(FILTER_LABEL[f]), counts[f])}
            </Button>
          ))}
        </Toolbar>
        <Field label={t("Map_Search")}>
          <Input
            type="search"
            value={search}
            onChange={(_e, d) => {
              setSearch(d.value);
              setPageIndex(0);
            }}
          />
        </Field>
        <Field label={t("Map_Threshold")}>
          <Select value={String(threshold)} disabled={busy} onChange={(_e, d) => setThreshold(Number(d.value))}>
            {STRONG_SUGGESTION_CHOICES.map((value) => (
              <option key={value} value={String(value)}>
                {t("Map_ThresholdOption", formatScore(value))}
              </option>
            ))}
          </Select>
        </Field>
        <Button appearance="primary" disabled={strong.length === 0 || busy} onClick={() => openBulk("map", strong, true)}>
          {t("Map_AcceptStrong", strong.length)}
        </Button>
      </div>

      <div role="status" aria-live="polite" id="w365-status">
        {status}
      </div>
      {error ? (
        <div role="alert" id="w365-error" className={styles.error}>
          {error}
        </div>
      ) : null}

      {selected.size > 0 ? (
        <div className={styles.selection} role="region" aria-label={t("Map_Selection")}>
          <Text weight="semibold">{t("Map_SelectedCount", selected.size)}</Text>
          <Button size="small" disabled={busy || selectionCount("map") === 0} onClick={() => openBulk("map", selectedRows)}>
            {t("Map_SelectionMap", selectionCount("map"))}
          </Button>
          <Button size="small" disabled={busy || selectionCount("ignore") === 0} onClick={() => openBulk("ignore", selectedRows)}>
            {t("Map_SelectionIgnore", selectionCount("ignore"))}
          </Button>
          <Button size="small" disabled={busy || selectionCount("create") === 0} onClick={() => openBulk("create", selectedRows)}>
            {t("Map_SelectionCreate", selectionCount("create"))}
          </Button>
          <Button size="small" appearance="subtle" onClick={() => setSelected(new Set())}>
            {t("Map_ClearSelection")}
          </Button>
        </div>
      ) : null}

      {loaded && visible.length === 0 ? (
        <Text block>{emptyText(t, rows.length, filter, search)}</Text>
      ) : loaded ? (
        <>
          {/* The pager sits above the table, so the count and Next are in view without scrolling past 100 rows. */}
          <nav className={styles.pager} aria-label={t("Map_Pages")}>
            <Button ref={prevRef} size="small" disabled={page === 0} onClick={() => goPage(page - 1, "prev")}>
              {t("Map_Previous")}
            </Button>
            <span id="w365-range" aria-live="polite">
              {t("Map_Range", first + 1, first + shown.length, visible.length, page + 1, pages)}
            </span>
            <Button ref={nextRef} size="small" disabled={page >= pages - 1} onClick={() => goPage(page + 1, "next")}>
              {t("Map_Next")}
            </Button>
          </nav>
          <Table aria-labelledby="w365-mapping-title" aria-describedby="w365-range" size="small">
            <TableHeader>
              <TableRow>
                <TableHeaderCell style={{ width: 44 }}>
                  <Checkbox
                    aria-label={t("Map_SelectAll")}
                    checked={shownSelected === 0 ? false : shownSelected === shown.length ? true : "mixed"}
                    onChange={(_e, d) => setAllShown(d.checked === true)}
                  />
                </TableHeaderCell>
                <TableHeaderCell {...headerSort("name")}>{t("Map_Col_Customer")}</TableHeaderCell>
                <TableHeaderCell style={{ width: "14%" }}>{t("Map_Col_Contact")}</TableHeaderCell>
                <TableHeaderCell style={{ width: "13%" }}>{t("Map_Col_Domain")}</TableHeaderCell>
                <TableHeaderCell {...headerSort("status")} style={{ width: 110 }}>
                  {t("Map_Col_Status")}
                </TableHeaderCell>
                <TableHeaderCell {...headerSort("account")}>{t("Map_Col_Account")}</TableHeaderCell>
                <TableHeaderCell {...headerSort("score")}>{t("Map_Col_Match")}</TableHeaderCell>
                <TableHeaderCell style={{ width: 250 }}>{t("Map_Col_Actions")}</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {shown.map((row) => (
                <TableRow
                  key={row.id}
                  data-id={row.id}
                  data-customer={row.customerId}
                  data-status={row.status}
                  aria-selected={selected.has(row.id)}
                >
                  <TableCell>
                    <Checkbox
                      aria-label={t("Map_SelectRow", row.name)}
                      checked={selected.has(row.id)}
                      onChange={(_e, d) =>
                        setSelected((previous) => {
                          const next = new Set(previous);
                          if (d.checked === true) next.add(row.id);
                          else next.delete(row.id);
                          return next;
                        })
                      }
                    />
                  </TableCell>
                  <TableCell>
                    <div>{row.name}</div>
                    <div className={styles.muted}>{t("Map_IonId", row.customerId)}</div>
                  </TableCell>
                  <TableCell>
                    <div>{row.contactName}</div>
                    <div className={styles.muted}>{row.contactEmail}</div>
                  </TableCell>
                  <TableCell>
                    <div>{row.domain}</div>
                    <div className={styles.muted}>{row.tenantId}</div>
                  </TableCell>
                  <TableCell>
                    <span className={`${styles.badge} ${styles[row.status]}`}>{t(STATUS_LABEL[row.status])}</span>
                  </TableCell>
                  <TableCell>
                    {row.status !== "mapped" && shownAccountName(row) ? <div className={styles.muted}>{t("Mapping_Suggested")}</div> : null}
                    {shownAccountName(row) || <span className={styles.muted}>{t("Map_None")}</span>}
                  </TableCell>
                  <TableCell>
                    {row.score !== undefined ? <strong>{formatScore(row.score)}</strong> : null}
                    {row.reason ? <div className={styles.reason}>{row.reason}</div> : null}
                    {row.score === undefined && !row.reason ? <span className={styles.muted}>—</span> : null}
                  </TableCell>
                  <TableCell>
                    <div className={styles.actions}>{rowActions(row)}</div>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </>
      ) : null}

      {mapping ? (
        <MapDialog
          row={mapping}
          search={searchAccounts}
          t={t}
          onClose={() => setMapping(undefined)}
          onMap={(account) => {
            setMapping(undefined);
            void runOne(mapping, "map", account.id);
          }}
        />
      ) : null}
      {creating ? (
        <CreateDialog
          row={creating.row}
          state={creating.state}
          t={t}
          onClose={() => setCreating(undefined)}
          onCreate={(force) => void create(creating.row, force)}
          onMap={(d) => {
            setCreating(undefined);
            void runOne(creating.row, "map", d.accountId);
          }}
        />
      ) : null}
      {bulk ? (
        <BulkDialog
          title={bulk.title}
          intro={bulk.intro}
          action={bulk.action}
          rows={bulk.rows}
          startLabel={bulk.startLabel}
          t={t}
          apply={(row) => data.apply(row, bulk.action, { accountId: bulk.action === "map" ? row.suggestedAccountId : undefined })}
          onRowUpdated={replaceRow}
          onClose={(progress) => {
            setBulk(undefined);
            if (progress) {
              setSelected(new Set());
              setStatus(
                progress.cancelled
                  ? t("Map_BulkStopped", progress.done, progress.total, progress.failed, progress.notStarted)
                  : t("Map_BulkDone", progress.done, progress.total, progress.failed),
              );
            }
          }}
        />
      ) : null}
    </section>
  );
}

function emptyText(t: Localize, total: number, filter: MappingFilter, search: string): string {
  if (total === 0) return t("Map_Empty");
  if (search.trim()) return t("Map_EmptySearch", search.trim());
  return t(`Map_Empty_${filter}`);
}
