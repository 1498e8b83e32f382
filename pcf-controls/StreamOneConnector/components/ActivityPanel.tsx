import { Button, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle, ProgressBar, Text } from "@fluentui/react-components";
import * as React from "react";

import { messageBeyondTotals } from "../../../src/sync/messages";
import { splitTechnicalDetail } from "../../../src/sync/vocabulary";
import type { SyncRunView } from "../../../ui-shared/records";
import type { Localize } from "../services/strings";

export type ActivityKind = "verify" | "syncAccounts" | "syncSubscriptions" | "syncOutbound" | "syncAll";
export type ActivityState = "running" | "success" | "warning" | "error";

/** What the admin sees about one connector's latest command while it runs and after it ends. */
export interface Activity {
  readonly connectorId: string;
  readonly connectorName: string;
  readonly kind: ActivityKind;
  readonly state: ActivityState;
  readonly title: string;
  readonly detail?: string;
  /** A second line under the detail, e.g. when the refresh token expires. */
  readonly note?: string;
  readonly run?: SyncRunView;
}

export interface ActivityPanelProps {
  readonly activities: readonly Activity[];
  readonly t: Localize;
  readonly onDismiss: (connectorId: string) => void;
  /** Offered after Sync Provider Accounts, the guide's next step; absent when the host cannot open the mapping page. */
  readonly onOpenMapping?: (connectorId: string) => void;
  /** Opens the connector's sync history, where every run's per-record detail is. */
  readonly onOpenHistory?: (connectorId: string) => void;
  /** Asks the running sync to stop; offered once its run row is known. */
  readonly onCancelRun?: (activity: Activity) => void;
}

const INTENT: Record<ActivityState, "info" | "success" | "warning" | "error"> = {
  running: "info",
  success: "success",
  warning: "warning",
  error: "error",
};

/** Outcome and progress messages, in a polite live region so screen readers hear each change. */
export function ActivityPanel(props: ActivityPanelProps): React.ReactElement {
  const { activities, t, onDismiss, onOpenMapping, onOpenHistory, onCancelRun } = props;
  return (
    <div aria-live="polite" role="status" data-testid="activity" style={{ display: "grid", gap: 8, margin: "8px 0" }}>
      {activities.map((activity) => {
        const run = activity.run;
        const progress = run?.progress;
        const counts = run ? t("Run_Counts", run.created, run.updated, run.unchanged, run.failed) : "";
        const running = activity.state === "running";
        // The engine writes counts when the run ends; while it runs, zeros would read as "nothing happened".
        const showCounts = run !== undefined && (!running || run.created + run.updated + run.unchanged + run.failed > 0);
        // The engine's message opens with the counts printed on their own line below: show only what it says beyond them.
        const detail = (run && activity.detail ? messageBeyondTotals(activity.detail, run) : activity.detail) || undefined;
        const fraction = progress?.total && progress.done !== undefined ? Math.min(1, progress.done / progress.total) : undefined;
        return (
          <MessageBar
            key={activity.connectorId}
            intent={INTENT[activity.state]}
            layout="multiline"
            data-kind={activity.kind}
            data-state={activity.state}
          >
            <MessageBarBody>
              <MessageBarTitle>{activity.title}</MessageBarTitle>
              {detail ? <Detail text={detail} t={t} /> : null}
              {activity.note ? (
                <Text block data-testid="activity-note">
                  {activity.note}
                </Text>
              ) : null}
              {running && progress?.phase ? <Text block>{t("Run_Phase", progress.phase)}</Text> : null}
              {running && progress?.total !== undefined ? (
                <Text block data-testid="run-progress">
                  {t("Run_Progress", progress.done ?? 0, progress.total)}
                </Text>
              ) : running && progress?.text ? (
                <Text block data-testid="run-progress">
                  {t("Run_ProgressText", progress.text)}
                </Text>
              ) : null}
              {showCounts ? (
                <Text block data-testid="run-counts">
                  {counts}
                </Text>
              ) : null}
              {running ? <ProgressBar value={fraction} thickness="medium" aria-label={activity.title} /> : null}
            </MessageBarBody>
            {running && onCancelRun && activity.kind !== "verify" && run?.id ? (
              <MessageBarActions>
                <Button
                  size="small"
                  disabled={run.cancelRequestedOn !== undefined}
                  aria-label={t("Run_CancelAria", activity.connectorName)}
                  onClick={() => onCancelRun(activity)}
                >
                  {t("Run_Cancel")}
                </Button>
              </MessageBarActions>
            ) : null}
            {activity.state !== "running" ? (
              <MessageBarActions>
                {onOpenMapping && activity.kind === "syncAccounts" && activity.state !== "error" ? (
                  <Button size="small" appearance="primary" onClick={() => onOpenMapping(activity.connectorId)}>
                    {t("Action_MapAccounts")}
                  </Button>
                ) : null}
                {onOpenHistory && activity.kind !== "verify" ? (
                  <Button size="small" onClick={() => onOpenHistory(activity.connectorId)}>
                    {t("Action_SeeHistory")}
                  </Button>
                ) : null}
                <Button size="small" onClick={() => onDismiss(activity.connectorId)}>
                  {t("Run_Dismiss")}
                </Button>
              </MessageBarActions>
            ) : null}
          </MessageBar>
        );
      })}
    </div>
  );
}

/** The message for the admin, then its technical part (an address, a network error) behind a disclosure. */
function Detail(props: { text: string; t: Localize }): React.ReactElement {
  const { text, detail } = splitTechnicalDetail(props.text);
  return (
    <Text block data-testid="activity-detail">
      {text}
      {detail ? (
        <details className="w365-details">
          <summary>{props.t("Error_TechnicalDetails")}</summary>
          <code>{detail}</code>
        </details>
      ) : null}
    </Text>
  );
}
