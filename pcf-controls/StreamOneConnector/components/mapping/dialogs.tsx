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
}

export function MapDialog({ row, search, onMap, onClose }: MapDialogProps): React.ReactElement {
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
      .catch((e: unknown) => mine === seq.current && setError(`Search failed: ${errorMessage(e)}`));
  }, [query, search]);
  return (
    <Dialog open onOpenChange={(_e, data) => !data.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Map {row.name}</DialogTitle>
          <DialogContent>
            <Field label="Search accounts by name or domain">
              <Input value={query} type="search" autoComplete="off" onChange={(_e, data) => setQuery(data.value)} />
            </Field>
            <ul className={styles.list} aria-live="polite" id="w365-account-results">
              {error ? <li className={styles.error}>{error}</li> : null}
              {results?.length === 0 ? <li className={styles.muted}>No accounts match.</li> : null}
              {results?.map((account) => (
                <li key={account.id} className={styles.item}>
                  <Button size="small" aria-label={`Map to ${account.name}`} onClick={() => onMap(account)}>
                    {account.name}
                  </Button>
                  {account.domain ? <span className={styles.muted}>{account.domain}</span> : null}
                  {account.city ? <span className={styles.muted}>{account.city}</span> : null}
                </li>
              ))}
            </ul>
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>Cancel</Button>
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
}

/**
 * Create new account asks the engine (w365_MapProviderAccount, Action=create): it creates the account only when no
 * existing account looks like the customer. Otherwise nothing is created and the likely duplicates are listed with
 * the engine's scores and reasons; Create anyway sends Force=true.
 */
export function CreateDialog({ row, state, onCreate, onMap, onClose }: CreateDialogProps): React.ReactElement {
  const styles = useStyles();
  useReturnFocus();
  const busy = state.step === "checking" || state.step === "creating";
  const title = state.step === "duplicates" ? `Possible duplicates of ${row.name}` : `Create a new account for ${row.name}?`;
  return (
    <Dialog open onOpenChange={(_e, data) => !data.open && !busy && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>{title}</DialogTitle>
          <DialogContent>
            {state.step === "confirm" ? (
              <Text block>
                A new account named &ldquo;{row.name}&rdquo; is created from the Ion customer and mapped to it. Work 365 first checks for
                existing accounts that look like this customer (name, domain, Microsoft tenant, contact email, postal code) and lists them
                here instead of creating a duplicate.
              </Text>
            ) : null}
            {busy ? (
              <div role="status">
                <Text block>{state.step === "checking" ? "Checking for likely duplicates…" : "Creating the account…"}</Text>
                <ProgressBar aria-label="Working" />
              </div>
            ) : null}
            {state.step === "failed" ? (
              <Text block className={styles.error} role="alert">
                {state.message}
              </Text>
            ) : null}
            {state.step === "duplicates" ? (
              <>
                <Text block>
                  No account was created: these accounts may already be this customer. Map to one of them, or create a new account anyway.
                </Text>
                <ul className={styles.list} aria-label="Likely duplicates">
                  {state.duplicates.map((d) => (
                    <li key={d.accountId} className={styles.item} data-account={d.accountId}>
                      <strong>{d.accountName}</strong>
                      <span>score {formatScore(d.score)}</span>
                      <span className={styles.muted}>{d.reasons.join(", ")}</span>
                      <Button size="small" aria-label={`Map to this: ${d.accountName}`} onClick={() => onMap(d)}>
                        Map to this
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
                Create account
              </Button>
            ) : null}
            {state.step === "duplicates" ? (
              <Button appearance="primary" onClick={() => onCreate(true)}>
                Create anyway
              </Button>
            ) : null}
            <Button disabled={busy} onClick={onClose}>
              Cancel
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
