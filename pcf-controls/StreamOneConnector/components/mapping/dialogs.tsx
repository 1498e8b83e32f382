// The one-row dialogs: Map… (search accounts) and Create new account (the engine's duplicate check, then Create
// anyway). Fluent's Dialog keeps Tab inside, closes on Escape and gives focus back to the button that opened it.
import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  makeStyles,
  ProgressBar,
  Text,
  tokens,
} from "@fluentui/react-components";
import * as React from "react";

import { type AccountRef, errorMessage, formatScore, type LikelyDuplicate, type ProviderAccountView } from "../../../../ui-shared/mapping";
import type { Localize } from "../../services/strings";

const useStyles = makeStyles({
  list: { listStyleType: "none", paddingLeft: 0, display: "grid", rowGap: tokens.spacingVerticalS, marginTop: tokens.spacingVerticalS },
  item: { display: "flex", flexWrap: "wrap", alignItems: "center", columnGap: tokens.spacingHorizontalS },
  muted: { color: tokens.colorNeutralForeground3 },
  error: { color: tokens.colorPaletteRedForeground1 },
});

/**
 * Gives focus back to the control that opened a dialog when the dialog goes away. The view mounts a dialog only
 * while it is open, so Fluent's own restore (which follows its DialogTrigger) does not apply.
 */
export function useReturnFocus(): void {
  // Read while rendering, before any effect: Fluent's own effects move focus into the dialog.
  const [returnTo] = React.useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null));
  React.useEffect(
    () => () => {
      // After Fluent has unmounted the surface and its focus trap.
      setTimeout(() => {
        if (returnTo?.isConnected) returnTo.focus();
      }, 0);
    },
    [returnTo],
  );
}

export interface MapDialogProps {
  readonly row: ProviderAccountView;
  readonly search: (query: string) => Promise<AccountRef[]>;
  readonly onMap: (account: AccountRef) => void;
  readonly onClose: () => void;
  readonly t: Localize;
}

export function MapDialog({ row, search, onMap, onClose, t }: MapDialogProps): React.ReactElement {
  const styles = useStyles();
  useReturnFocus();
  const [query, setQuery] = React.useState(row.suggestedAccountName ?? "");
  const [results, setResults] = React.useState<AccountRef[] | undefined>(undefined);
  const [error, setError] = React.useState("");
  const seq = React.useRef(0);
  React.useEffect(() => {
    const mine = ++seq.current;
    setError("");
    if (!query.trim()) {
      setResults(undefined);
      return;
    }
    search(query)
      .then((found) => mine === seq.current && setResults(found))
      .catch((e: unknown) => mine === seq.current && setError(t("Map_SearchFailed", errorMessage(e))));
  }, [query, search, t]);
  return (
    <Dialog open onOpenChange={(_e, data) => !data.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>{t("Map_MapTitle", row.name)}</DialogTitle>
          <DialogContent>
            <Field label={t("Map_SearchAccounts")}>
              <Input value={query} type="search" autoComplete="off" onChange={(_e, data) => setQuery(data.value)} />
            </Field>
            <ul className={styles.list} aria-live="polite" id="w365-account-results">
              {error ? <li className={styles.error}>{error}</li> : null}
              {results?.length === 0 ? <li className={styles.muted}>{t("Map_NoAccounts")}</li> : null}
              {results?.map((account) => (
                <li key={account.id} className={styles.item}>
                  <Button size="small" aria-label={t("Map_MapToAria", account.name)} onClick={() => onMap(account)}>
                    {account.name}
                  </Button>
                  {account.domain ? <span className={styles.muted}>{account.domain}</span> : null}
                  {account.city ? <span className={styles.muted}>{account.city}</span> : null}
                </li>
              ))}
            </ul>
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>{t("Map_Cancel")}</Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

export type CreateState =
  | { readonly step: "confirm" }
  | { readonly step: "checking" }
  | { readonly step: "duplicates"; readonly duplicates: readonly LikelyDuplicate[] }
  | { readonly step: "creating" }
  | { readonly step: "failed"; readonly message: string };

export interface CreateDialogProps {
  readonly row: ProviderAccountView;
  readonly state: CreateState;
  readonly onCreate: (force: boolean) => void;
  readonly onMap: (duplicate: LikelyDuplicate) => void;
  readonly onClose: () => void;
  readonly t: Localize;
}

/**
 * Create new account asks the engine (w365_MapProviderAccount, Action=create): it creates the account only when no
 * existing account looks like the customer. Otherwise nothing is created and the likely duplicates are listed with
 * the engine's scores and reasons; Create anyway sends Force=true.
 */
export function CreateDialog({ row, state, onCreate, onMap, onClose, t }: CreateDialogProps): React.ReactElement {
  const styles = useStyles();
  useReturnFocus();
  const busy = state.step === "checking" || state.step === "creating";
  const title = t(state.step === "duplicates" ? "Map_DupTitle" : "Map_CreateTitle", row.name);
  return (
    <Dialog open onOpenChange={(_e, data) => !data.open && !busy && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>{title}</DialogTitle>
          <DialogContent>
            {state.step === "confirm" ? <Text block>{t("Map_CreateText", row.name)}</Text> : null}
            {busy ? (
              <div role="status">
                <Text block>{t(state.step === "checking" ? "Map_Checking" : "Map_Creating")}</Text>
                <ProgressBar aria-label={t("Map_Working")} />
              </div>
            ) : null}
            {state.step === "failed" ? (
              <Text block className={styles.error} role="alert">
                {state.message}
              </Text>
            ) : null}
            {state.step === "duplicates" ? (
              <>
                <Text block>{t("Map_DupText")}</Text>
                <ul className={styles.list} aria-label={t("Map_DupList")}>
                  {state.duplicates.map((d) => (
                    <li key={d.accountId} className={styles.item} data-account={d.accountId}>
                      <strong>{d.accountName}</strong>
                      <span>{t("Map_DupScore", formatScore(d.score))}</span>
                      <span className={styles.muted}>{d.reasons.join(", ")}</span>
                      <Button size="small" aria-label={t("Map_MapToThisAria", d.accountName)} onClick={() => onMap(d)}>
                        {t("Map_MapToThis")}
                      </Button>
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </DialogContent>
          <DialogActions>
            {state.step === "confirm" || state.step === "failed" ? (
              <Button appearance="primary" onClick={() => onCreate(false)}>
                {t("Map_CreateAccount")}
              </Button>
            ) : null}
            {state.step === "duplicates" ? (
              <Button appearance="primary" onClick={() => onCreate(true)}>
                {t("Map_CreateAnyway")}
              </Button>
            ) : null}
            <Button disabled={busy} onClick={onClose}>
              {t("Map_Cancel")}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
