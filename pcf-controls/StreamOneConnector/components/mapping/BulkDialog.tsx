// Review, run and report a bulk change: the admin sees each row with what will happen (for suggestions: the account,
// the score and the engine's reason), can untick rows, then watches the run. Results stay next to their rows and the
// summary counts up ("12 of 40 mapped, 1 failed"); Stop lets the call in flight finish and starts no other.
import {
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  makeStyles,
  ProgressBar,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  tokens,
} from "@fluentui/react-components";
import * as React from "react";

import {
  type ApplyResult,
  type BulkAction,
  type BulkProgress,
  type BulkResult,
  bulkResultText,
  bulkSummary,
  formatScore,
  type ProviderAccountView,
  runBulk,
} from "../../../../ui-shared/mapping";
import type { Localize } from "../../services/strings";
import { useReturnFocus } from "./dialogs";

const useStyles = makeStyles({
  list: { maxHeight: "50vh", overflowY: "auto", marginTop: tokens.spacingVerticalS },
  reason: { color: tokens.colorNeutralForeground3 },
  failed: { color: tokens.colorPaletteRedForeground1 },
  done: { color: tokens.colorPaletteGreenForeground1 },
  summary: { display: "block", marginTop: tokens.spacingVerticalS, fontWeight: tokens.fontWeightSemibold },
});

export interface BulkDialogProps {
  readonly title: string;
  readonly intro: string;
  readonly action: BulkAction;
  readonly rows: readonly ProviderAccountView[];
  /** The label of the start button for n ticked rows, e.g. "Accept 12". */
  readonly startLabel: (n: number) => string;
  readonly apply: (row: ProviderAccountView) => Promise<ApplyResult>;
  /** Each row's new state as it lands, so the view behind stays current. */
  readonly onRowUpdated: (row: ProviderAccountView) => void;
  readonly onClose: (progress?: BulkProgress) => void;
  readonly t: Localize;
}

export function BulkDialog(props: BulkDialogProps): React.ReactElement {
  const styles = useStyles();
  useReturnFocus();
  const { rows, action, t } = props;
  const [ticked, setTicked] = React.useState<ReadonlySet<string>>(() => new Set(rows.map((r) => r.id)));
  const [results, setResults] = React.useState<ReadonlyMap<string, BulkResult>>(new Map());
  const [progress, setProgress] = React.useState<BulkProgress | undefined>(undefined);
  const [stopping, setStopping] = React.useState(false);
  const cancelRef = React.useRef(false);
  const mounted = React.useRef(true);
  React.useEffect(
    () => () => {
      mounted.current = false;
      cancelRef.current = true;
    },
    [],
  );
  const running = progress !== undefined && !progress.finished;
  const chosen = rows.filter((r) => ticked.has(r.id));

  const start = async (): Promise<void> => {
    cancelRef.current = false;
    setProgress({ total: chosen.length, done: 0, failed: 0, notStarted: chosen.length, cancelled: false, finished: false });
    const final = await runBulk(
      chosen,
      props.apply,
      (result, p, updated) => {
        if (!mounted.current) return;
        setResults((previous) => new Map(previous).set(result.id, result));
        setProgress(p);
        if (updated) props.onRowUpdated(updated);
      },
      () => cancelRef.current,
    );
    if (mounted.current) setProgress(final);
  };

  const toggle = (id: string, on: boolean): void =>
    setTicked((previous) => {
      const next = new Set(previous);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allTicked = chosen.length === rows.length;

  return (
    <Dialog
      open
      onOpenChange={(_event, data) => {
        if (!data.open && !running) props.onClose(progress);
      }}
    >
      <DialogSurface aria-describedby="w365-bulk-intro">
        <DialogBody>
          <DialogTitle>{props.title}</DialogTitle>
          <DialogContent>
            <Text id="w365-bulk-intro" block>
              {props.intro}
            </Text>
            {progress ? (
              <div>
                <ProgressBar
                  aria-label={t("Map_Progress")}
                  value={progress.total === 0 ? 1 : (progress.done + progress.failed) / progress.total}
                  thickness="large"
                />
                <Text role="status" aria-live="polite" className={styles.summary} id="w365-bulk-summary">
                  {bulkSummary(action, progress, t)}
                </Text>
              </div>
            ) : null}
            <div className={styles.list}>
              <Table size="small" aria-label={t("Map_BulkRows")}>
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell style={{ width: 44 }}>
                      <Checkbox
                        aria-label={t("Map_IncludeAll")}
                        disabled={progress !== undefined}
                        checked={allTicked ? true : chosen.length === 0 ? false : "mixed"}
                        onChange={(_e, data) => setTicked(data.checked === true ? new Set(rows.map((r) => r.id)) : new Set())}
                      />
                    </TableHeaderCell>
                    <TableHeaderCell>{t("Map_Col_Customer")}</TableHeaderCell>
                    {action === "map" ? <TableHeaderCell>{t("Map_Col_Suggested")}</TableHeaderCell> : null}
                    {action === "map" ? <TableHeaderCell>{t("Map_Col_ScoreReason")}</TableHeaderCell> : null}
                    <TableHeaderCell>{t("Map_Col_Result")}</TableHeaderCell>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {rows.map((row) => {
                    const result = results.get(row.id);
                    return (
                      <TableRow key={row.id} data-id={row.id}>
                        <TableCell>
                          <Checkbox
                            aria-label={t("Map_Include", row.name)}
                            disabled={progress !== undefined}
                            checked={ticked.has(row.id)}
                            onChange={(_e, data) => toggle(row.id, data.checked === true)}
                          />
                        </TableCell>
                        <TableCell>{row.name}</TableCell>
                        {action === "map" ? <TableCell>{row.suggestedAccountName ?? row.suggestedAccountId}</TableCell> : null}
                        {action === "map" ? (
                          <TableCell>
                            <strong>{formatScore(row.score)}</strong> <span className={styles.reason}>{row.reason}</span>
                          </TableCell>
                        ) : null}
                        <TableCell>
                          {result ? (
                            <span className={result.outcome === "done" ? styles.done : styles.failed}>
                              {bulkResultText(action, result, t)}
                            </span>
                          ) : progress && ticked.has(row.id) ? (
                            <span className={styles.reason}>{t(progress.finished ? "Map_NotStarted" : "Map_Waiting")}</span>
                          ) : progress ? (
                            <span className={styles.reason}>{t("Map_LeftOut")}</span>
                          ) : null}
                        </TableCell>
                      </TableRow>
                    );
                  })}
                </TableBody>
              </Table>
            </div>
          </DialogContent>
          <DialogActions>
            {progress === undefined ? (
              <>
                <Button appearance="primary" disabled={chosen.length === 0} onClick={() => void start()}>
                  {props.startLabel(chosen.length)}
                </Button>
                <Button onClick={() => props.onClose()}>{t("Map_Cancel")}</Button>
              </>
            ) : running ? (
              <Button
                disabled={stopping}
                onClick={() => {
                  cancelRef.current = true;
                  setStopping(true);
                }}
              >
                {t(stopping ? "Map_Stopping" : "Map_Stop")}
              </Button>
            ) : (
              <Button appearance="primary" onClick={() => props.onClose(progress)}>
                {t("Map_Close")}
              </Button>
            )}
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
