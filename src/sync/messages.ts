/**
 * The run's one-line w365_message (pure): what the run did, then what is left for the admin to do, e.g.
 * "Created 30, updated 2, unchanged 5, failed 0; auto-mapped 20, suggested 6, unmapped 4 (open the mapping
 * page)". The admin UI shows it next to the counts; the CLI prints it.
 */
import type { Phase } from "./checkpoint";

/**
 * Report count and entry message of a row changed by someone else (an admin's Map / Ignore / Unmap or
 * request, or another run) between this run's read and its write: the run's write is not made over it.
 */
export const CHANGED_BY_ADMIN = "changed-by-admin";
export const CHANGED_BY_ADMIN_MESSAGE = "skipped: changed by an admin while this run was reading it (the next run looks at it again)";

/** Mapping state of the connector's provider accounts (present in Ion) after an accounts phase. */
export interface MappingTotals {
  /** Auto-mapped by this run. */
  autoMapped: number;
  /** Rows waiting for the admin: a suggestion to confirm... */
  suggested: number;
  /** ...or no likely match at all. */
  unmapped: number;
}

export interface RunMessageInput {
  dryRun: boolean;
  /** created/updated/unchanged/failed as written on the run row. */
  totals: { created: number; updated: number; unchanged: number; failed: number };
  /** Every outcome count of the report. */
  counts: Record<string, number>;
  /** Phases this run (or the run it continued) carried out. */
  phases: Phase[];
  /** Present when this run's accounts phase ran. */
  mapping?: MappingTotals;
}

function totalsPhrase(t: RunMessageInput["totals"], dryRun: boolean): string {
  return dryRun
    ? `Dry run: would create ${t.created}, update ${t.updated}, unchanged ${t.unchanged}, failed ${t.failed}`
    : `Created ${t.created}, updated ${t.updated}, unchanged ${t.unchanged}, failed ${t.failed}`;
}

/**
 * What a run's message says beyond its totals, capitalised ("" when nothing): for a UI that prints the totals on
 * their own line, so the counts are not printed twice. A message that does not open with these totals is returned
 * whole.
 */
export function messageBeyondTotals(message: string, totals: RunMessageInput["totals"]): string {
  const lead = totalsPhrase(totals, false);
  if (!message.startsWith(lead)) return message;
  const rest = message.slice(lead.length).replace(/^[;.]\s*/, "");
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

export function runMessage(o: RunMessageInput): string {
  const n = (k: string) => o.counts[k] ?? 0;
  const t = o.totals;
  const parts = [totalsPhrase(t, o.dryRun)];
  if (o.mapping) {
    const m = o.mapping;
    const waiting = m.suggested + m.unmapped;
    parts.push(
      `${o.dryRun ? "would auto-map" : "auto-mapped"} ${m.autoMapped}, suggested ${m.suggested}, unmapped ${m.unmapped}` +
        (waiting > 0 ? " (open the mapping page)" : ""),
    );
    if (n("missing-customer") > 0) parts.push(`${n("missing-customer")} ${plural(n("missing-customer"), "customer")} no longer in Ion`);
  }
  if (o.phases.includes("subscriptions")) {
    const skipped = n("skipped-unmapped");
    parts.push(
      `subscriptions: ${skipped} skipped (customer not mapped${skipped > 0 ? ": map it on the mapping page" : ""}), ${n("external-change")} changed outside Work 365` +
        (n("missing-subscription") > 0 ? `, ${n("missing-subscription")} no longer in Ion` : ""),
    );
  }
  if (o.phases.includes("outbound")) {
    const orders = [
      [o.dryRun ? "would send" : "applied", o.dryRun ? n("would-send") : n("order-completed") + n("cleared")],
      ["pending", n("order-pending")],
      ["conflicts", n("conflict")],
      ["refused", n("refused")],
      ["failed", n("order-failed")],
    ] as const;
    const active = orders.filter(([, v]) => v > 0);
    const attention = n("conflict") + n("refused") + n("order-failed") > 0 ? " (see the subscriptions in Conflict or Error)" : "";
    parts.push(
      active.length === 0 ? "outbound: nothing requested" : `outbound: ${active.map(([k, v]) => `${k} ${v}`).join(", ")}${attention}`,
    );
  }
  if (n(CHANGED_BY_ADMIN) > 0)
    parts.push(`${n(CHANGED_BY_ADMIN)} skipped: changed by an admin while the run was reading (the next run looks at them again)`);
  return `${parts.join("; ")}.`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
