import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  FluentProvider,
  MessageBar,
  MessageBarBody,
  Spinner,
  type Theme,
  webLightTheme,
} from "@fluentui/react-components";
import * as React from "react";

import type { RunHistoryEntry } from "../../../ui-shared/history";
import { SYNC_PROVIDER_ACCOUNTS, SYNC_SUBSCRIPTIONS } from "../../../ui-shared/operations";
import type { ConnectorView, SyncRunView } from "../../../ui-shared/records";
import type { NormalizedConnector } from "../../../ui-shared/validation";
import type { ConnectorService } from "../services/connectorService";
import type { StringKey } from "../services/stringKeys";
import type { FormatDate, Localize } from "../services/strings";
import { type Activity, type ActivityKind, ActivityPanel } from "./ActivityPanel";
import { ConnectorForm } from "./ConnectorForm";
import { type ConnectorAction, ConnectorList } from "./ConnectorList";
import { Heading } from "./Heading";
import { IntegrationsGallery } from "./IntegrationsGallery";
import { ProviderRecords, type RecordsTab } from "./ProviderRecords";
import { RunHistory } from "./RunHistory";

export interface StreamOneAdminProps {
  readonly service: ConnectorService;
  readonly t: Localize;
  readonly formatDate: FormatDate;
  /** Opens the provider account mapping page for a connector; absent when the host cannot navigate. */
  readonly openMapping?: (connectorId: string) => void;
  readonly theme?: Theme;
  /** The admin's language (BCP 47) for country and currency names. */
  readonly locale?: string;
}

type View =
  | { readonly kind: "list" }
  | { readonly kind: "gallery" }
  | { readonly kind: "form"; readonly connector?: ConnectorView }
  | { readonly kind: "history"; readonly connector: ConnectorView }
  | { readonly kind: "records"; readonly connector: ConnectorView; readonly tab: RecordsTab };

const RUN_LABEL: Record<Exclude<ActivityKind, "verify">, StringKey> = {
  syncAccounts: "Action_SyncAccounts",
  syncSubscriptions: "Action_SyncSubscriptions",
};

/** Admin Hub → Integrations: the connector list, the Add New gallery and the connector form. */
export function StreamOneAdmin(props: StreamOneAdminProps): React.ReactElement {
  const { service, t, formatDate, openMapping, theme, locale } = props;
  const [view, setView] = React.useState<View>({ kind: "list" });
  const [connectors, setConnectors] = React.useState<ConnectorView[] | undefined>(undefined);
  const [loadError, setLoadError] = React.useState("");
  const [notice, setNotice] = React.useState("");
  const [activities, setActivities] = React.useState<Record<string, Activity>>({});
  // Lives here, not in the form: a modal closed in the same render that unmounts it leaves the page aria-hidden.
  const [confirmDiscard, setConfirmDiscard] = React.useState(false);
  const stopped = React.useRef({ aborted: false });
  const listHeading = React.useRef<HTMLHeadingElement>(null);

  React.useEffect(() => {
    const signal = stopped.current;
    return () => {
      signal.aborted = true;
    };
  }, []);

  // Runs started before a reload, in another tab, by the schedule or a workflow: shown as running and followed.
  const following = React.useRef(new Set<string>());
  const resumeLiveRuns = async (list: readonly ConnectorView[]): Promise<void> => {
    let live: Map<string, RunHistoryEntry>;
    try {
      live = await service.activeRuns(list.map((c) => c.id));
    } catch {
      return; // The list itself loaded; a failed look-up of running syncs only means none is shown as running.
    }
    for (const connector of list) {
      const run = live.get(connector.id.toLowerCase());
      if (!run || following.current.has(run.id) || stopped.current.aborted) continue;
      following.current.add(run.id);
      const kind: ActivityKind = run.kind === "subscriptions" ? "syncSubscriptions" : "syncAccounts";
      const label = t(RUN_LABEL[kind]);
      const base = { connectorId: connector.id, connectorName: connector.name, kind };
      setActivities((prev) =>
        prev[connector.id]?.state === "running" ? prev : { ...prev, [connector.id]: describeRun(t, base, label, run) },
      );
      void service
        .followRun(run, (r) => setActivity(describeRun(t, base, label, r)), { signal: stopped.current })
        .then(async (r) => {
          setActivity(describeRun(t, base, label, r));
          following.current.delete(run.id);
          if (!stopped.current.aborted) setConnectors(await service.listConnectors());
        })
        .catch(() => following.current.delete(run.id));
    }
  };

  const reload = React.useCallback(async () => {
    try {
      const list = await service.listConnectors();
      if (stopped.current.aborted) return;
      setConnectors(list);
      setLoadError("");
      void resumeLiveRuns(list);
    } catch (error) {
      if (stopped.current.aborted) return;
      setLoadError(t("Integrations_LoadFailed", (error as Error)?.message ?? String(error)));
    }
  }, [service, t]);

  React.useEffect(() => {
    void reload();
  }, [reload]);

  const setActivity = (activity: Activity): void => {
    if (stopped.current.aborted) return;
    setActivities((prev) => ({ ...prev, [activity.connectorId]: activity }));
  };

  const replaceConnector = (updated: ConnectorView): void => setConnectors((prev) => prev?.map((c) => (c.id === updated.id ? updated : c)));

  const verify = async (connector: ConnectorView): Promise<void> => {
    const base = { connectorId: connector.id, connectorName: connector.name, kind: "verify" as const };
    setActivity({ ...base, state: "running", title: t("Verify_Running", connector.name) });
    try {
      const outcome = await service.verify(connector.id, { signal: stopped.current });
      const c = outcome.connector;
      replaceConnector(c);
      const expiry = c.refreshTokenExpiresOn ? t("Verify_TokenExpires", formatDate(c.refreshTokenExpiresOn)) : undefined;
      // Short title (what happened), then the handler's own message (which credential, what to do), then the token expiry.
      if (!outcome.finished) setActivity({ ...base, state: "warning", title: t("Verify_StillRunning") });
      else if (c.status === "connected")
        setActivity({ ...base, state: "success", title: t("Verify_Connected", c.name), detail: c.statusMessage, note: expiry });
      else if (c.status === "credentialsExpired")
        setActivity({
          ...base,
          state: "error",
          title: t("Verify_Expired", c.name),
          detail: c.statusMessage,
          note: t("Verify_ExpiredHint"),
        });
      else
        setActivity({
          ...base,
          state: "error",
          title: t("Verify_Failed", c.name),
          detail: c.statusMessage || t("Status_NotVerified"),
          note: expiry,
        });
    } catch (error) {
      if (stopped.current.aborted) return;
      setActivity({
        ...base,
        state: "error",
        title: t("Verify_Failed", connector.name),
        detail: (error as Error)?.message ?? String(error),
      });
    }
  };

  const sync = async (connector: ConnectorView, kind: "syncAccounts" | "syncSubscriptions"): Promise<void> => {
    const label = t(RUN_LABEL[kind]);
    const base = { connectorId: connector.id, connectorName: connector.name, kind };
    setActivity({ ...base, state: "running", title: t("Run_Starting", label) });
    const describe = (run: SyncRunView | undefined): Activity => describeRun(t, base, label, run);
    try {
      const run = await service.runSync(
        connector.id,
        kind === "syncAccounts" ? SYNC_PROVIDER_ACCOUNTS : SYNC_SUBSCRIPTIONS,
        (r) => setActivity(describe(r)),
        {
          signal: stopped.current,
        },
      );
      setActivity(describe(run));
      await reload();
    } catch (error) {
      if (stopped.current.aborted) return;
      const err = error as Error & { code?: string };
      const title = err.code === "RUN_TIMEOUT" ? t("Run_Timeout", label) : t("Run_StartFailed", label, err?.message ?? String(error));
      setActivity({ ...base, state: err.code === "RUN_TIMEOUT" ? "warning" : "error", title });
    }
  };

  const onAction = (action: ConnectorAction, connector: ConnectorView): void => {
    // An old "saved" notice next to a new outcome reads as part of it.
    setNotice("");
    switch (action) {
      case "verify":
        void verify(connector);
        break;
      case "syncAccounts":
      case "syncSubscriptions":
        void sync(connector, action);
        break;
      case "mapAccounts":
        openMapping?.(connector.id);
        break;
      case "edit":
        setNotice("");
        setView({ kind: "form", connector });
        break;
      case "history":
        setView({ kind: "history", connector });
        break;
      case "accounts":
      case "subscriptions":
        setView({ kind: "records", connector, tab: action });
        break;
    }
  };

  // Keyboard focus returns to where the admin was: the row's ⚙️ button after a row action, else the heading.
  const [focusRowId, setFocusRowId] = React.useState<string | undefined>(undefined);
  const backToList = (message = "", rowId?: string): void => {
    setNotice(message);
    setView({ kind: "list" });
    setFocusRowId(rowId);
    if (!rowId) setTimeout(() => listHeading.current?.focus(), 0);
  };

  const save = async (value: NormalizedConnector, existingId?: string): Promise<void> => {
    await service.saveConnector(value, existingId);
    await reload();
    backToList(t("Form_Saved", value.name));
  };

  const busyIds = new Set(
    Object.values(activities)
      .filter((a) => a.state === "running")
      .map((a) => a.connectorId),
  );

  let body: React.ReactElement;
  if (view.kind === "gallery") {
    body = <IntegrationsGallery t={t} onCreate={() => setView({ kind: "form" })} onBack={() => backToList()} />;
  } else if (view.kind === "history") {
    body = (
      <RunHistory
        connector={view.connector}
        service={service}
        t={t}
        formatDate={formatDate}
        onBack={() => backToList("", view.connector.id)}
      />
    );
  } else if (view.kind === "records") {
    body = (
      <ProviderRecords
        connector={view.connector}
        service={service}
        t={t}
        formatDate={formatDate}
        initialTab={view.tab}
        onBack={() => backToList("", view.connector.id)}
        onOpenMapping={openMapping}
      />
    );
  } else if (view.kind === "form") {
    body = (
      <ConnectorForm
        connector={view.connector}
        t={t}
        formatDate={formatDate}
        onSave={save}
        onCancel={(dirty) => (dirty ? setConfirmDiscard(true) : backToList())}
        locale={locale}
      />
    );
  } else {
    body = (
      <section aria-labelledby="w365-list-title">
        <div style={{ display: "flex", alignItems: "center", gap: 12 }}>
          <Heading level={1} id="w365-list-title" ref={listHeading}>
            {t("Integrations_Title")}
          </Heading>
          <Button
            appearance="primary"
            onClick={() => {
              setNotice("");
              setView({ kind: "gallery" });
            }}
          >
            {t("Integrations_AddNew")}
          </Button>
          <Button appearance="subtle" onClick={() => void reload()}>
            {t("Integrations_Refresh")}
          </Button>
        </div>
        <div role="status" aria-live="polite" data-testid="notice">
          {notice ? (
            <MessageBar intent="success">
              <MessageBarBody>{notice}</MessageBarBody>
            </MessageBar>
          ) : null}
        </div>
        {loadError ? (
          <MessageBar intent="error" role="alert">
            <MessageBarBody>{loadError}</MessageBarBody>
          </MessageBar>
        ) : null}
        <ActivityPanel
          activities={Object.values(activities)}
          t={t}
          onOpenMapping={openMapping}
          onOpenHistory={(id) => {
            const connector = connectors?.find((c) => c.id === id);
            if (connector) setView({ kind: "history", connector });
          }}
          onDismiss={(id) =>
            setActivities((prev) => {
              const next = { ...prev };
              delete next[id];
              return next;
            })
          }
        />
        {connectors === undefined && !loadError ? <Spinner label={t("Integrations_Loading")} /> : null}
        {connectors && connectors.length === 0 ? <p>{t("Integrations_Empty")}</p> : null}
        {connectors && connectors.length > 0 ? (
          <div className="w365-scroll">
            <ConnectorList
              connectors={connectors}
              t={t}
              formatDate={formatDate}
              busyIds={busyIds}
              onAction={onAction}
              canOpenMapping={openMapping !== undefined}
              focusRowId={focusRowId}
            />
          </div>
        ) : null}
      </section>
    );
  }

  return (
    <FluentProvider theme={theme ?? webLightTheme} className="w365-streamone">
      <style>
        {".w365-commandbar{position:sticky;top:0;z-index:2;display:flex;gap:8px;padding:8px 0;margin-bottom:8px;" +
          "background:var(--colorNeutralBackground1);border-bottom:1px solid var(--colorNeutralStroke2)}" +
          ".w365-toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:12px}" +
          ".w365-scroll{overflow-x:auto;max-width:100%}" +
          ".w365-details summary{cursor:pointer}.w365-details code{white-space:pre-wrap;word-break:break-word}" +
          ".w365-visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
          ".w365-clamp{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden;max-width:320px}"}
      </style>
      <div style={{ padding: 16 }}>{body}</div>
      <Dialog open={confirmDiscard} modalType="alert" onOpenChange={(_e, data) => setConfirmDiscard(data.open)}>
        <DialogSurface aria-describedby="w365-discard-text">
          <DialogBody>
            <DialogTitle>{t("Form_DiscardTitle")}</DialogTitle>
            <DialogContent id="w365-discard-text">{t("Form_DiscardText")}</DialogContent>
            <DialogActions>
              <Button appearance="primary" onClick={() => setConfirmDiscard(false)}>
                {t("Form_KeepEditing")}
              </Button>
              <Button
                onClick={() => {
                  setConfirmDiscard(false);
                  backToList();
                }}
              >
                {t("Form_Discard")}
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </FluentProvider>
  );
}

/** What the admin sees of a sync run, whoever started it. */
function describeRun(
  t: Localize,
  base: { connectorId: string; connectorName: string; kind: ActivityKind },
  label: string,
  run: SyncRunView | undefined,
): Activity {
  if (!run) return { ...base, state: "running", title: t("Run_Starting", label) };
  switch (run.status) {
    case "queued":
      return { ...base, state: "running", title: t("Run_Queued", label), run };
    case "running":
      return { ...base, state: "running", title: t("Run_Running", label), run };
    case "succeeded":
      return { ...base, state: "success", title: t("Run_Succeeded", label), detail: run.message, run };
    case "partial":
      return { ...base, state: "warning", title: t("Run_Partial", label), detail: run.message, run };
    default:
      return { ...base, state: "error", title: t("Run_Failed", label), detail: run.message, run };
  }
}
