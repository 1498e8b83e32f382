import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  FluentProvider,
  Input,
  MessageBar,
  MessageBarBody,
  Spinner,
  type Theme,
  tokens,
  webLightTheme,
} from "@fluentui/react-components";
import * as React from "react";

import type { RunKind } from "../../../src/sync/runs";
import type { RunHistoryEntry } from "../../../ui-shared/history";
import { SYNC_PROVIDER_ACCOUNTS, SYNC_SUBSCRIPTIONS } from "../../../ui-shared/operations";
import type { ConnectorView, SyncRunView } from "../../../ui-shared/records";
import type { NormalizedConnector } from "../../../ui-shared/validation";
import type { ConnectorService, DeleteImpact, DeleteProgress, RowCount } from "../services/connectorService";
import type { MappingServiceFactory } from "../services/mappingService";
import type { StringKey } from "../services/stringKeys";
import type { FormatDate, Localize } from "../services/strings";
import { type Activity, type ActivityKind, ActivityPanel } from "./ActivityPanel";
import { ConnectorForm } from "./ConnectorForm";
import { type ConnectorAction, ConnectorList } from "./ConnectorList";
import { Heading } from "./Heading";
import { IntegrationsGallery } from "./IntegrationsGallery";
import { MappingView } from "./mapping/MappingView";
import { ProviderRecords, type RecordsTab } from "./ProviderRecords";
import { RunHistory } from "./RunHistory";

export interface StreamOneAdminProps {
  readonly service: ConnectorService;
  readonly t: Localize;
  readonly formatDate: FormatDate;
  /** Data access of the provider account mapping view; absent: the view (⚙️ → Map provider accounts) is not offered. */
  readonly createMapping?: MappingServiceFactory;
  /**
   * Open on the mapping view instead of the list: the mapping web resource (bookmarks, site map) hands the admin over
   * to the control this way. `connectorId` absent: every connector's customers.
   */
  readonly initialMapping?: { readonly connectorId?: string };
  readonly theme?: Theme;
  /** The admin's language (BCP 47) for country and currency names. */
  readonly locale?: string;
}

type View =
  | { readonly kind: "list" }
  | { readonly kind: "gallery" }
  | { readonly kind: "form"; readonly connector?: ConnectorView }
  | { readonly kind: "history"; readonly connector: ConnectorView }
  | { readonly kind: "mapping"; readonly connectorId?: string }
  | { readonly kind: "records"; readonly connector: ConnectorView; readonly tab: RecordsTab };

/** A confirmation in progress: deactivate (what stops, what stays) or delete (what happens to each kind of row). */
type Lifecycle = {
  readonly connector: ConnectorView;
  /** Where it was opened: focus goes back to the row's ⚙️ button, or the form stays open when dismissed. */
  readonly from: "list" | "form";
  readonly busy?: boolean;
  readonly error?: string;
} & (
  | { readonly kind: "deactivate" }
  | {
      readonly kind: "delete";
      readonly impact?: DeleteImpact;
      readonly countError?: string;
      /** The admin opened "Delete connector and its provider records": the destructive part is shown. */
      readonly withRows?: boolean;
      /** What the admin typed to confirm (must be the connector's name). */
      readonly typed?: string;
      /** Progress lines of this dialog's deletes, appended, never replaced (a stop or a retry adds to them). */
      readonly progress?: readonly string[];
    }
);

const RUN_LABEL: Record<Exclude<ActivityKind, "verify">, StringKey> = {
  syncAccounts: "Action_SyncAccounts",
  syncSubscriptions: "Action_SyncSubscriptions",
  syncOutbound: "Run_KindOutbound",
  syncAll: "Run_KindAll",
};

/** What the admin sees a run as, from the kind the engine recorded on its row. */
function activityKind(kind: string): ActivityKind {
  const kinds: Record<RunKind, ActivityKind> = {
    verify: "verify",
    accounts: "syncAccounts",
    subscriptions: "syncSubscriptions",
    outbound: "syncOutbound",
    all: "syncAll",
  };
  return Object.prototype.hasOwnProperty.call(kinds, kind) ? kinds[kind as RunKind] : "syncAll";
}

/** Admin Hub → Integrations: the connector list, the Add New gallery and the connector form. */
export function StreamOneAdmin(props: StreamOneAdminProps): React.ReactElement {
  const { service, t, formatDate, createMapping, theme, locale } = props;
  const [view, setView] = React.useState<View>(() =>
    props.initialMapping && createMapping ? { kind: "mapping", connectorId: props.initialMapping.connectorId } : { kind: "list" },
  );
  const openMapping = createMapping
    ? (connectorId: string): void => {
        setNotice("");
        setView({ kind: "mapping", connectorId });
      }
    : undefined;
  const [connectors, setConnectors] = React.useState<ConnectorView[] | undefined>(undefined);
  const [loadError, setLoadError] = React.useState("");
  const [notice, setNotice] = React.useState("");
  const [activities, setActivities] = React.useState<Record<string, Activity>>({});
  // Lives here, not in the form: a modal closed in the same render that unmounts it leaves the page aria-hidden.
  const [confirmDiscard, setConfirmDiscard] = React.useState(false);
  const [lifecycle, setLifecycle] = React.useState<Lifecycle | undefined>(undefined);
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
  // A verify run (Save's own verify of new credentials, or one started elsewhere): its outcome is the connector's status.
  const followVerify = (connector: ConnectorView, run: RunHistoryEntry): void => {
    const base = { connectorId: connector.id, connectorName: connector.name, kind: "verify" as const };
    const running: Activity = { ...base, state: "running", title: t("Verify_Running", connector.name), run };
    setActivities((prev) => (prev[connector.id]?.state === "running" ? prev : { ...prev, [connector.id]: running }));
    void service
      .followRun(run, () => undefined, { signal: stopped.current })
      .then(async () => {
        following.current.delete(run.id);
        if (stopped.current.aborted) return;
        const list = await service.listConnectors();
        setConnectors(list);
        const verified = list.find((c) => c.id === connector.id);
        // Only replaces what this follower showed: a Verify the admin started here reports its own outcome.
        if (verified && !stopped.current.aborted)
          setActivities((prev) =>
            prev[connector.id]?.run?.id === run.id ? { ...prev, [connector.id]: verifyOutcome(t, formatDate, base, verified) } : prev,
          );
      })
      .catch(() => following.current.delete(run.id));
  };
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
      const kind = activityKind(run.kind);
      if (kind === "verify") {
        followVerify(connector, run);
        continue;
      }
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
      replaceConnector(outcome.connector);
      setActivity(
        outcome.finished
          ? verifyOutcome(t, formatDate, base, outcome.connector)
          : { ...base, state: "warning", title: t("Verify_StillRunning") },
      );
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
      case "deactivate":
      case "activate":
      case "delete":
        onLifecycle(action, connector, "list");
        break;
    }
  };

  // Keyboard focus returns to where the admin was: the row's ⚙️ button after a row action, else the heading.
  const [focusRowId, setFocusRowId] = React.useState<string | undefined>(undefined);
  const [focusTick, setFocusTick] = React.useState(0);
  const focusRow = (rowId: string): void => {
    setFocusRowId(rowId);
    setFocusTick((n) => n + 1);
  };
  const backToList = (message = "", rowId?: string): void => {
    setNotice(message);
    setView({ kind: "list" });
    setFocusRowId(rowId);
    setFocusTick((n) => n + 1);
    if (!rowId) setTimeout(() => listHeading.current?.focus(), 0);
  };

  const count = (c: RowCount): string => {
    const n = c.count.toLocaleString(locale);
    return c.more ? t("Count_AtLeast", n) : n;
  };

  const countForDelete = async (connector: ConnectorView): Promise<void> => {
    const same = (prev: Lifecycle | undefined): prev is Lifecycle & { kind: "delete" } =>
      prev?.kind === "delete" && prev.connector.id === connector.id;
    try {
      const impact = await service.deleteImpact(connector.id);
      setLifecycle((prev) => (same(prev) ? { ...prev, impact, countError: undefined } : prev));
    } catch (error) {
      const countError = t("Delete_CountFailed", (error as Error)?.message ?? String(error));
      setLifecycle((prev) => (same(prev) ? { ...prev, countError } : prev));
    }
  };

  const setActive = async (connector: ConnectorView, active: boolean, from: "list" | "form"): Promise<boolean> => {
    try {
      await service.setActive(connector.id, active);
    } catch (error) {
      const message = t("Lifecycle_Failed", connector.name, (error as Error)?.message ?? String(error));
      if (lifecycle) setLifecycle((prev) => (prev ? { ...prev, busy: false, error: message } : prev));
      else setNotice(message);
      return false;
    }
    await reload();
    const message = active ? t("Activated_Notice", connector.name) : t("Deactivated_Notice", connector.name);
    if (from === "form") backToList(message, connector.id);
    else {
      setNotice(message);
      focusRow(connector.id);
    }
    return true;
  };

  function onLifecycle(action: "deactivate" | "activate" | "delete", connector: ConnectorView, from: "list" | "form"): void {
    setNotice("");
    if (action === "activate") void setActive(connector, true, from);
    else if (action === "deactivate") setLifecycle({ kind: "deactivate", connector, from });
    else {
      setLifecycle({ kind: "delete", connector, from });
      void countForDelete(connector);
    }
  }

  /** Closes the dialog without a change: focus goes back to the row's ⚙️ button (the form keeps its own). */
  const dismissLifecycle = (): void => {
    const current = lifecycle;
    setLifecycle(undefined);
    if (current?.from === "list") focusRow(current.connector.id);
  };

  const confirmDeactivate = async (): Promise<void> => {
    if (!lifecycle) return;
    setLifecycle({ ...lifecycle, busy: true, error: undefined });
    if (await setActive(lifecycle.connector, false, lifecycle.from)) setLifecycle(undefined);
  };

  /** The connector is gone: its dialog and live activity with it, and the list says so. */
  const deleted = async (connector: ConnectorView): Promise<void> => {
    setLifecycle(undefined);
    setActivities((prev) => {
      const next = { ...prev };
      delete next[connector.id];
      return next;
    });
    await reload();
    backToList(t("Deleted_Notice", connector.name));
  };

  const confirmDelete = async (): Promise<void> => {
    if (lifecycle?.kind !== "delete") return;
    const { connector } = lifecycle;
    setLifecycle({ ...lifecycle, busy: true, error: undefined });
    try {
      await service.deleteConnector(connector.id);
    } catch (error) {
      // Refused (a sync added rows since the counts were read) or failed: say why, and count again.
      setLifecycle((prev) => (prev ? { ...prev, busy: false, error: (error as Error)?.message ?? String(error) } : prev));
      void countForDelete(connector);
      return;
    }
    await deleted(connector);
  };

  const progressLine = (p: DeleteProgress): string => {
    switch (p.step) {
      case "deactivated":
        return t("Delete_Progress_Deactivated");
      case "subscriptions":
        return t("Delete_Progress_Subscriptions", p.deleted.toLocaleString(locale));
      case "accounts":
        return t("Delete_Progress_Accounts", p.deleted.toLocaleString(locale));
      default:
        return t("Delete_Progress_Connector");
    }
  };

  const confirmDeleteWithRows = async (): Promise<void> => {
    if (lifecycle?.kind !== "delete" || lifecycle.typed?.trim() !== lifecycle.connector.name) return;
    const { connector } = lifecycle;
    const isThis = (prev: Lifecycle | undefined): prev is Lifecycle & { kind: "delete" } =>
      prev?.kind === "delete" && prev.connector.id === connector.id;
    const append = (line: string) =>
      setLifecycle((prev) => (isThis(prev) ? { ...prev, progress: [...(prev.progress ?? []), line] } : prev));
    setLifecycle((prev) => (isThis(prev) ? { ...prev, busy: true, error: undefined } : prev));
    try {
      await service.deleteWithProviderRows(connector.id, (p) => append(progressLine(p)));
    } catch (error) {
      // Stopped (activated again elsewhere, refused, or a sync still writing): say why, keep the progress, count again.
      append(t("Delete_Progress_Stopped"));
      setLifecycle((prev) => (isThis(prev) ? { ...prev, busy: false, error: (error as Error)?.message ?? String(error) } : prev));
      void countForDelete(connector);
      void reload();
      return;
    }
    await deleted(connector);
  };

  const cancelRun = async (activity: Activity): Promise<void> => {
    const run = activity.run;
    if (!run || activity.kind === "verify") return;
    const label = t(RUN_LABEL[activity.kind]);
    const base = { connectorId: activity.connectorId, connectorName: activity.connectorName, kind: activity.kind };
    try {
      const result = await service.cancelRun(run.id);
      const shown = describeRun(t, base, label, result.run);
      setActivity(result.outcome === "finished" ? { ...shown, note: t("Run_AlreadyFinished", label, result.run.status) } : shown);
    } catch (error) {
      setActivity({ ...activity, note: t("Run_CancelFailed", label, (error as Error)?.message ?? String(error)) });
    }
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
  } else if (view.kind === "mapping" && createMapping) {
    const connectorId = view.connectorId;
    body = (
      <MappingView
        createService={createMapping}
        connectionId={connectorId}
        t={t}
        onBack={() => {
          // Connectors may have been mapped or synced meanwhile: the list is read again.
          void reload();
          const row = connectorId ? connectors?.find((c) => c.id.toLowerCase() === connectorId.toLowerCase()) : undefined;
          backToList("", row?.id);
        }}
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
        onLifecycle={view.connector ? (action) => onLifecycle(action, view.connector!, "form") : undefined}
        canDelete={service.canDelete}
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
          onCancelRun={(activity) => void cancelRun(activity)}
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
              focusTick={focusTick}
              canDelete={service.canDelete}
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
      <LifecycleDialog
        lifecycle={lifecycle}
        t={t}
        count={count}
        onDismiss={dismissLifecycle}
        onDeactivate={() => void confirmDeactivate()}
        onDelete={() => void confirmDelete()}
        canDeleteWithRows={service.canDeleteWithRows}
        onOpenDeleteWithRows={() => setLifecycle((prev) => (prev?.kind === "delete" ? { ...prev, withRows: true, typed: "" } : prev))}
        onType={(typed) => setLifecycle((prev) => (prev?.kind === "delete" ? { ...prev, typed } : prev))}
        onDeleteWithRows={() => void confirmDeleteWithRows()}
        onDeactivateInstead={() =>
          setLifecycle((prev) => (prev ? { kind: "deactivate", connector: prev.connector, from: prev.from } : prev))
        }
      />
    </FluentProvider>
  );
}

/** The deactivate and delete confirmations: each says what happens before the admin confirms. */
function LifecycleDialog(props: {
  lifecycle: Lifecycle | undefined;
  t: Localize;
  count: (c: RowCount) => string;
  onDismiss: () => void;
  onDeactivate: () => void;
  onDelete: () => void;
  onDeactivateInstead: () => void;
  canDeleteWithRows: boolean;
  onOpenDeleteWithRows: () => void;
  onType: (typed: string) => void;
  onDeleteWithRows: () => void;
}): React.ReactElement {
  const { lifecycle, t, count, onDismiss, onDeactivate, onDelete, onDeactivateInstead } = props;
  const open = lifecycle !== undefined;
  const name = lifecycle?.connector.name ?? "";
  let title = "";
  let body: React.ReactNode = null;
  let actions: React.ReactNode = null;
  if (lifecycle?.kind === "deactivate") {
    title = t("Deactivate_Title", name);
    body = <p>{t("Deactivate_Text")}</p>;
    actions = (
      <>
        <Button appearance="primary" disabled={lifecycle.busy} onClick={onDeactivate}>
          {t("Deactivate_Confirm")}
        </Button>
        <Button disabled={lifecycle.busy} onClick={onDismiss}>
          {t("Deactivate_Keep")}
        </Button>
      </>
    );
  } else if (lifecycle?.kind === "delete") {
    title = t("Delete_Title", name);
    const impact = lifecycle.impact;
    if (lifecycle.countError) body = <p>{lifecycle.countError}</p>;
    else if (!impact) body = <Spinner size="tiny" label={t("Delete_Counting")} />;
    else
      body = (
        <>
          <p data-testid="delete-rows">
            {impact.deletable
              ? t("Delete_NoRows")
              : t(
                  lifecycle.withRows ? "Delete_HasRows" : "Delete_Blocked",
                  count(impact.providerAccounts),
                  count(impact.providerSubscriptions),
                )}
          </p>
          <p data-testid="delete-accounts">
            {impact.mappedAccounts.count > 0 ? t("Delete_MappedAccounts", count(impact.mappedAccounts)) : t("Delete_NoAccounts")}
          </p>
          {impact.deletable ? (
            <>
              <p data-testid="delete-runs">{t("Delete_Runs", count(impact.syncRuns))}</p>
              <p>{t("Delete_Permanent")}</p>
            </>
          ) : null}
          {lifecycle.withRows && !impact.deletable ? (
            <section data-testid="delete-with-rows" aria-label={t("Delete_WithRows_Confirm")}>
              <p>{t("Delete_WithRows_Intro")}</p>
              <ol>
                <li>{t("Delete_WithRows_Subscriptions", count(impact.providerSubscriptions))}</li>
                <li>{t("Delete_WithRows_Accounts", count(impact.providerAccounts))}</li>
                <li>{t("Delete_WithRows_Connector", name)}</li>
              </ol>
              <p>{t("Delete_WithRows_Deactivates")}</p>
              <p>{t("Delete_WithRows_Kept", count(impact.syncRuns))}</p>
              {impact.sentToIon.count > 0 ? (
                <MessageBar intent="warning" data-testid="delete-sent-to-ion">
                  <MessageBarBody>{t("Delete_WithRows_SentToIon", count(impact.sentToIon))}</MessageBarBody>
                </MessageBar>
              ) : null}
              <p>
                {t("Delete_WithRows_NoIon")} {t("Delete_Permanent")}
              </p>
              <Field label={t("Delete_WithRows_TypeName", name)}>
                <Input
                  data-testid="delete-type-name"
                  value={lifecycle.typed ?? ""}
                  disabled={lifecycle.busy}
                  autoComplete="off"
                  onChange={(_e, data) => props.onType(data.value)}
                />
              </Field>
            </section>
          ) : null}
          {lifecycle.progress?.length ? (
            <section aria-label={t("Delete_Progress_Label")}>
              <ol data-testid="delete-progress" aria-live="polite">
                {lifecycle.progress.map((line, i) => (
                  <li key={i}>{line}</li>
                ))}
              </ol>
            </section>
          ) : null}
        </>
      );
    const canDelete = impact?.deletable === true && !lifecycle.busy;
    const offerWithRows = impact !== undefined && !impact.deletable && props.canDeleteWithRows;
    const nameTyped = lifecycle.typed?.trim() === name;
    actions = (
      <>
        {impact && !impact.deletable && lifecycle.connector.active && !lifecycle.withRows ? (
          <Button appearance="primary" onClick={onDeactivateInstead}>
            {t("Delete_DeactivateInstead")}
          </Button>
        ) : null}
        {offerWithRows && !lifecycle.withRows ? <Button onClick={props.onOpenDeleteWithRows}>{t("Delete_WithRows_Open")}</Button> : null}
        {offerWithRows && lifecycle.withRows ? (
          <Button
            appearance="primary"

            data-testid="delete-with-rows-confirm"
            // Red when it can be pressed: this one deletes rows for good.
            style={
              nameTyped && !lifecycle.busy
                ? { backgroundColor: tokens.colorPaletteRedBackground3, color: tokens.colorNeutralForegroundOnBrand }
                : undefined
            }
            disabled={!nameTyped || lifecycle.busy}
            onClick={props.onDeleteWithRows}
          >
            {t("Delete_WithRows_Confirm")}
          </Button>
        ) : null}
        {impact?.deletable ? (
          <Button appearance="primary" disabled={!canDelete} onClick={onDelete}>
            {t("Delete_Confirm")}
          </Button>
        ) : null}
        <Button disabled={lifecycle.busy} onClick={onDismiss}>
          {t("Delete_Keep")}
        </Button>
      </>
    );
  }
  return (
    <Dialog open={open} modalType="alert" onOpenChange={(_e, data) => (data.open ? undefined : onDismiss())}>
      <DialogSurface aria-describedby="w365-lifecycle-text">
        <DialogBody>
          <DialogTitle>{title}</DialogTitle>
          <DialogContent id="w365-lifecycle-text">
            {body}
            {lifecycle?.error ? (
              <MessageBar intent="error" role="alert">
                <MessageBarBody>{lifecycle.error}</MessageBarBody>
              </MessageBar>
            ) : null}
          </DialogContent>
          <DialogActions>{actions}</DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

/** A finished verify, from the connector's status: short title (what happened), the handler's own message (which
 * credential, what to do), then the token expiry. */
function verifyOutcome(
  t: Localize,
  formatDate: FormatDate,
  base: { connectorId: string; connectorName: string; kind: "verify" },
  c: ConnectorView,
): Activity {
  const expiry = c.refreshTokenExpiresOn ? t("Verify_TokenExpires", formatDate(c.refreshTokenExpiresOn)) : undefined;
  if (c.status === "connected")
    return { ...base, state: "success", title: t("Verify_Connected", c.name), detail: c.statusMessage, note: expiry };
  if (c.status === "credentialsExpired")
    return { ...base, state: "error", title: t("Verify_Expired", c.name), detail: c.statusMessage, note: t("Verify_ExpiredHint") };
  return { ...base, state: "error", title: t("Verify_Failed", c.name), detail: c.statusMessage || t("Status_NotVerified"), note: expiry };
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
      return { ...base, state: "running", title: t(run.cancelRequestedOn ? "Run_Canceling" : "Run_Running", label), run };
    case "succeeded":
      return { ...base, state: "success", title: t("Run_Succeeded", label), detail: run.message, run };
    case "partial":
      return { ...base, state: "warning", title: t("Run_Partial", label), detail: run.message, run };
    case "canceled":
      return { ...base, state: "warning", title: t("Run_Canceled", label), detail: run.message, run };
    default:
      return { ...base, state: "error", title: t("Run_Failed", label), detail: run.message, run };
  }
}
