/// <reference types="xrm" />
// Command bar for w365_providerconnection (form and grid): Verify Connectivity, Sync Provider Accounts, Sync
// Subscriptions, through the same custom APIs the PCF control and Power Automate use. Registered as
// W365.StreamOne.Commands.<name> with PrimaryControl (form) or SelectedControlSelectedItemIds (grid) as parameter.

import { createXrmCustomApiExecutor, type ExecuteCustomApi, stripBraces } from "../ui-shared/customApi";
import {
  followSyncRun,
  type PollOptions,
  startSync,
  SYNC_PROVIDER_ACCOUNTS,
  SYNC_SUBSCRIPTIONS,
  type SyncApiName,
  verifyConnector,
} from "../ui-shared/operations";
import { type RecordsApi, recordsApiFrom, type SyncRunView } from "../ui-shared/records";

const NOTIFICATION_ID = "w365_command_progress";

export interface CommandDeps {
  readonly records: RecordsApi;
  readonly execute: ExecuteCustomApi;
  /** Shows progress: a form notification on forms, a global notification or alert elsewhere. */
  readonly notify: (level: "INFO" | "WARNING" | "ERROR", message: string) => void;
  readonly poll?: PollOptions;
}

function depsFromXrm(form?: Xrm.FormContext): CommandDeps {
  const xrm = globalThis.Xrm;
  return {
    records: recordsApiFrom(xrm.WebApi),
    execute: createXrmCustomApiExecutor(xrm.WebApi.online as unknown as Parameters<typeof createXrmCustomApiExecutor>[0]),
    notify: (level, message) => {
      if (form) form.ui.setFormNotification(message, level, NOTIFICATION_ID);
      else void xrm.Navigation.openAlertDialog({ text: message });
    },
  };
}

export function describeRun(label: string, run: SyncRunView | undefined): { level: "INFO" | "WARNING" | "ERROR"; message: string } {
  if (!run) return { level: "INFO", message: `${label}: starting…` };
  const counts = `Created ${run.created}, updated ${run.updated}, unchanged ${run.unchanged}, failed ${run.failed}.`;
  const progress = run.progress?.total !== undefined ? ` ${run.progress.done ?? 0} of ${run.progress.total} processed.` : "";
  switch (run.status) {
    case "queued":
      return { level: "INFO", message: `${label}: queued.` };
    case "running":
      return { level: "INFO", message: `${label}: running.${progress} ${counts}` };
    case "succeeded":
      return { level: "INFO", message: `${label} finished. ${counts}${run.message ? ` ${run.message}` : ""}` };
    case "partial":
      return { level: "WARNING", message: `${label} finished with errors. ${counts}${run.message ? ` ${run.message}` : ""}` };
    default:
      return { level: "ERROR", message: `${label} failed. ${run.message || counts}` };
  }
}

export async function runVerify(deps: CommandDeps, connectionId: string): Promise<void> {
  deps.notify("INFO", "Verifying connectivity…");
  try {
    const { connector, finished } = await verifyConnector(deps.records, deps.execute, connectionId, deps.poll);
    const expiry = connector.refreshTokenExpiresOn
      ? ` The refresh token expires on ${connector.refreshTokenExpiresOn.toLocaleString()}.`
      : "";
    if (!finished) deps.notify("WARNING", "Verification is still running. Refresh the form to see the result.");
    else if (connector.status === "connected") deps.notify("INFO", `Connected. ${connector.statusMessage}${expiry}`.trim());
    else if (connector.status === "credentialsExpired")
      deps.notify("ERROR", `Credentials expired: ${connector.statusMessage} Paste a new refresh token.`);
    else deps.notify("ERROR", `Verification failed: ${connector.statusMessage || "no details"}${expiry}`);
  } catch (error) {
    deps.notify("ERROR", `Verification failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

export async function runSync(deps: CommandDeps, connectionId: string, api: SyncApiName): Promise<SyncRunView | undefined> {
  const label = api === SYNC_PROVIDER_ACCOUNTS ? "Sync Provider Accounts" : "Sync Subscriptions";
  deps.notify("INFO", `${label}: starting…`);
  try {
    const { requestId } = await startSync(deps.execute, connectionId, api);
    return await followSyncRun(
      deps.records,
      requestId,
      (run) => {
        const { level, message } = describeRun(label, run);
        deps.notify(level, message);
      },
      deps.poll,
    );
  } catch (error) {
    const err = error as Error & { code?: string };
    deps.notify(
      err.code === "RUN_TIMEOUT" ? "WARNING" : "ERROR",
      err.code === "RUN_TIMEOUT" ? err.message : `${label} could not start: ${err.message}`,
    );
    return undefined;
  }
}

function formId(primaryControl: Xrm.FormContext): string | undefined {
  const id = primaryControl.data?.entity?.getId();
  return id ? stripBraces(id) : undefined;
}

async function onForm(primaryControl: Xrm.FormContext, work: (deps: CommandDeps, id: string) => Promise<unknown>): Promise<void> {
  const id = formId(primaryControl);
  const deps = depsFromXrm(primaryControl);
  if (!id) {
    deps.notify("WARNING", "Save the connector first.");
    return;
  }
  if (primaryControl.data.entity.getIsDirty()) {
    deps.notify("WARNING", "Save your changes before running this command.");
    return;
  }
  await work(deps, id);
  await primaryControl.data.refresh(false);
}

/** Form command: Verify Connectivity. */
export function verify(primaryControl: Xrm.FormContext): Promise<void> {
  return onForm(primaryControl, runVerify);
}

/** Form command: Sync Provider Accounts. */
export function syncAccounts(primaryControl: Xrm.FormContext): Promise<void> {
  return onForm(primaryControl, (deps, id) => runSync(deps, id, SYNC_PROVIDER_ACCOUNTS));
}

/** Form command: Sync Subscriptions. */
export function syncSubscriptions(primaryControl: Xrm.FormContext): Promise<void> {
  return onForm(primaryControl, (deps, id) => runSync(deps, id, SYNC_SUBSCRIPTIONS));
}

/** Grid command: Verify Connectivity for each selected connector, one after another, then one summary dialog. */
export async function verifySelected(selectedIds: readonly string[], gridControl?: { refresh(): void }): Promise<void> {
  const xrm = globalThis.Xrm;
  const outcomes: string[] = [];
  for (const id of selectedIds) {
    let last = "";
    const deps: CommandDeps = { ...depsFromXrm(), notify: (_level, message) => (last = message) };
    await runVerify(deps, stripBraces(id));
    outcomes.push(last);
  }
  gridControl?.refresh();
  await xrm.Navigation.openAlertDialog({ text: outcomes.join("\n") });
}

/** Enable rule: commands need a saved record. */
export function isSavedConnector(primaryControl: Xrm.FormContext): boolean {
  return Boolean(formId(primaryControl));
}
