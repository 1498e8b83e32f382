import { Badge, Button, Spinner, Table, TableBody, TableCell, TableRow, Text } from "@fluentui/react-components";
import * as React from "react";

import { messageBeyondTotals } from "../../../src/sync/messages";
import type { RunKind } from "../../../src/sync/runs";
import type { RunHistoryEntry, RunReportView } from "../../../ui-shared/history";
import type { ConnectorView } from "../../../ui-shared/records";
import type { ConnectorService } from "../services/connectorService";
import type { StringKey } from "../services/stringKeys";
import type { FormatDate, Localize } from "../services/strings";
import { ColumnHeaders } from "./ColumnHeaders";
import { ConnectorViewHeader } from "./ConnectorViewHeader";
import { describeFailure } from "./failure";

export interface RunHistoryProps {
  readonly connector: ConnectorView;
  readonly service: ConnectorService;
  readonly t: Localize;
  readonly formatDate: FormatDate;
  readonly onBack: () => void;
}

const STATUS_COLOR: Record<string, "success" | "danger" | "warning" | "informative" | "brand"> = {
  succeeded: "success",
  partial: "warning",
  failed: "danger",
  running: "brand",
  queued: "informative",
  canceled: "warning",
};

/** Run kinds under the names the connector list's ⚙️ menu and outcomes give them; an unknown kind shows as recorded. */
const KIND_LABEL: Readonly<Record<RunKind, StringKey>> = {
  verify: "Action_Verify",
  accounts: "Action_SyncAccounts",
  subscriptions: "Action_SyncSubscriptions",
  outbound: "Run_KindOutbound",
  all: "Run_KindAll",
};

export function runKindLabel(kind: string, t: Localize): string {
  return Object.prototype.hasOwnProperty.call(KIND_LABEL, kind) ? t(KIND_LABEL[kind as RunKind]) : kind;
}

/** The connector's sync history: every run with its counts, duration, trigger and status, and each run's per-record detail. */
export function RunHistory(props: RunHistoryProps): React.ReactElement {
  const { connector, service, t, formatDate, onBack } = props;
  const [runs, setRuns] = React.useState<RunHistoryEntry[] | undefined>(undefined);
  const [error, setError] = React.useState<React.ReactNode>(null);
  const [openRun, setOpenRun] = React.useState<string | undefined>(undefined);
  const [reports, setReports] = React.useState<Record<string, RunReportView | "loading" | { failed: string }>>({});
  const alive = React.useRef(true);

  React.useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const load = React.useCallback(async () => {
    try {
      const list = await service.runHistory(connector.id);
      if (!alive.current) return;
      setRuns(list);
      setError(null);
    } catch (e) {
      if (alive.current) setError(describeFailure(e, t));
    }
  }, [service, connector.id, t]);

  React.useEffect(() => {
    void load();
  }, [load]);

  const toggle = async (run: RunHistoryEntry): Promise<void> => {
    if (openRun === run.id) {
      setOpenRun(undefined);
      return;
    }
    setOpenRun(run.id);
    if (reports[run.id] && reports[run.id] !== "loading") return;
    setReports((prev) => ({ ...prev, [run.id]: "loading" }));
    try {
      const report = await service.runReport(run.id);
      if (alive.current) setReports((prev) => ({ ...prev, [run.id]: report }));
    } catch (e) {
      if (alive.current) setReports((prev) => ({ ...prev, [run.id]: { failed: (e as Error)?.message ?? String(e) } }));
    }
  };

  const duration = (ms?: number): string => {
    if (ms === undefined) return "";
    if (ms < 1000) return t("History_DurationMs", Math.round(ms));
    const seconds = Math.round(ms / 1000);
    return seconds < 120 ? t("History_DurationSeconds", seconds) : t("History_DurationMinutes", Math.round(seconds / 60));
  };

  return (
    <section aria-labelledby="w365-history-title" data-testid="run-history">
      <ConnectorViewHeader
        id="w365-history-title"
        title={t("History_Title", connector.name)}
        t={t}
        onBack={onBack}
        onRefresh={() => void load()}
        error={error}
      />
      {runs === undefined && !error ? <Spinner label={t("Integrations_Loading")} /> : null}
      {runs && runs.length === 0 ? <p>{t("History_Empty")}</p> : null}
      {runs && runs.length > 0 ? (
        <div className="w365-scroll">
          <Table aria-label={t("History_Title", connector.name)} size="small">
            <ColumnHeaders
              titles={[
                t("History_Column_Started"),
                t("History_Column_Kind"),
                t("History_Column_Trigger"),
                t("History_Column_Status"),
                t("History_Column_Duration"),
                t("History_Column_Counts"),
              ]}
              hiddenTitle={t("History_Column_Details")}
            />
            <TableBody>
              {runs.map((run) => (
                <React.Fragment key={run.id}>
                  <TableRow data-run-id={run.id} data-run-status={run.status}>
                    <TableCell>{run.startedOn ? formatDate(run.startedOn) : ""}</TableCell>
                    <TableCell>
                      {runKindLabel(run.kind, t)}
                      {run.dryRun ? ` (${t("History_DryRun")})` : ""}
                    </TableCell>
                    <TableCell>{run.trigger}</TableCell>
                    <TableCell>
                      <Badge appearance="tint" color={STATUS_COLOR[run.status] ?? "informative"}>
                        {run.status}
                      </Badge>
                    </TableCell>
                    <TableCell>{duration(run.durationMs)}</TableCell>
                    <TableCell>
                      <Text size={200}>{t("Run_Counts", run.created, run.updated, run.unchanged, run.failed)}</Text>
                      {messageBeyondTotals(run.message, run) ? (
                        <Text size={200} block className="w365-clamp" title={run.message}>
                          {messageBeyondTotals(run.message, run)}
                        </Text>
                      ) : null}
                    </TableCell>
                    <TableCell>
                      <Button
                        size="small"
                        aria-expanded={openRun === run.id}
                        aria-controls={`w365-run-${run.id}`}
                        onClick={() => void toggle(run)}
                      >
                        {openRun === run.id ? t("History_HideDetails") : t("History_ShowDetails")}
                      </Button>
                    </TableCell>
                  </TableRow>
                  {openRun === run.id ? (
                    <TableRow>
                      <TableCell colSpan={7} id={`w365-run-${run.id}`}>
                        <RunDetail report={reports[run.id]} t={t} />
                      </TableCell>
                    </TableRow>
                  ) : null}
                </React.Fragment>
              ))}
            </TableBody>
          </Table>
        </div>
      ) : null}
    </section>
  );
}

function RunDetail(props: { report: RunReportView | "loading" | { failed: string } | undefined; t: Localize }): React.ReactElement {
  const { report, t } = props;
  if (report === undefined || report === "loading") return <Spinner size="tiny" label={t("Integrations_Loading")} />;
  if ("failed" in report) return <Text role="alert">{t("History_ReportFailed", report.failed)}</Text>;
  const counts = Object.entries(report.counts)
    .filter(([, n]) => n > 0)
    .map(([action, n]) => `${action}: ${n}`)
    .join(", ");
  return (
    <div data-testid="run-detail">
      {counts ? <Text block>{t("History_Outcomes", counts)}</Text> : null}
      {report.errors.map((e, i) => (
        <Text block key={i} style={{ color: "var(--colorPaletteRedForeground1)" }}>
          {e}
        </Text>
      ))}
      {report.entries.length === 0 ? (
        <Text block>{t("History_NoChanges")}</Text>
      ) : (
        <Table size="extra-small" aria-label={t("History_DetailTitle")}>
          <ColumnHeaders titles={[t("History_Detail_Record"), t("History_Detail_Outcome"), t("History_Detail_Changes")]} />
          <TableBody>
            {report.entries.map((entry, i) => (
              <TableRow key={`${entry.entity}-${entry.key}-${i}`}>
                <TableCell>
                  <Text weight="semibold">{entry.name || entry.key}</Text>
                  <Text size={200} block>
                    {entry.entity}
                  </Text>
                </TableCell>
                <TableCell>
                  {entry.action}
                  {entry.message ? (
                    <Text size={200} block>
                      {entry.message}
                    </Text>
                  ) : null}
                </TableCell>
                <TableCell>
                  {entry.changes.map((c) => (
                    <Text size={200} block key={c.column}>
                      {t("History_Change", c.column, c.before || "—", c.after || "—")}
                    </Text>
                  ))}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {report.omittedEntries > 0 ? <Text block>{t("History_Omitted", report.omittedEntries)}</Text> : null}
    </div>
  );
}
