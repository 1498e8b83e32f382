import { redactValue } from "../shared/redact";

/** One record's outcome in a run report. */
export type OutcomeAction =
  | "created"
  | "updated"
  | "unchanged"
  | "failed"
  | "skipped"
  | "mapped"
  | "suggested"
  | "missing"
  | "external-change"
  | "conflict"
  | "refused"
  | "order-placed"
  | "order-completed"
  | "order-pending"
  | "order-failed"
  | "cleared"
  | "would-create"
  | "would-update"
  | "would-send";

export interface ReportEntry {
  entity: "connection" | "provideraccount" | "providersubscription" | "order";
  key: string;
  name?: string;
  action: OutcomeAction;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  message?: string;
  error?: { code: string; message: string };
}

export interface ReportJson {
  version: 1;
  kind: string;
  dryRun: boolean;
  counts: Record<string, number>;
  phases: Record<string, unknown>;
  entries: ReportEntry[];
  /** Entries left out to keep the report under the column's size; counts stay complete. */
  omittedEntries: number;
  errors: string[];
}

/** Memo columns hold up to 1,048,576 characters; stay well under so a row stays quick to read. */
export const DEFAULT_REPORT_MAX_CHARS = 200_000;
/** Entries kept in memory; beyond this only counts grow (bounded memory at 50,000 subscriptions). */
export const DEFAULT_MAX_ENTRIES = 2_000;

/**
 * Collects per-record outcomes for a run. Unchanged records are only counted. Values are redacted when
 * added. `toJson` caps the size: when the entries do not fit, the tail is dropped and counted.
 */
export class RunReport {
  readonly counts: Record<string, number> = {};
  readonly phases: Record<string, unknown> = {};
  private readonly entries: ReportEntry[] = [];
  private omitted = 0;
  private readonly errors: string[] = [];

  constructor(
    readonly kind: string,
    readonly dryRun: boolean,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  count(action: string, by = 1): void {
    this.counts[action] = (this.counts[action] ?? 0) + by;
  }

  add(entry: ReportEntry): void {
    this.count(entry.action);
    if (entry.action === "unchanged") return;
    if (this.entries.length >= this.maxEntries) {
      this.omitted++;
      return;
    }
    this.entries.push(redactValue(entry));
  }

  error(message: string): void {
    if (this.errors.length < 50) this.errors.push(redactValue(message));
  }

  phase(name: string, info: unknown): void {
    this.phases[name] = redactValue(info);
  }

  /** Restores counts from a checkpoint when a run resumes. */
  restore(counts: Record<string, number> | undefined): void {
    for (const [k, v] of Object.entries(counts ?? {})) this.counts[k] = (this.counts[k] ?? 0) + v;
  }

  get entryList(): readonly ReportEntry[] {
    return this.entries;
  }

  n(action: string): number {
    return this.counts[action] ?? 0;
  }

  toJson(): ReportJson {
    return {
      version: 1,
      kind: this.kind,
      dryRun: this.dryRun,
      counts: { ...this.counts },
      phases: { ...this.phases },
      entries: [...this.entries],
      omittedEntries: this.omitted,
      errors: [...this.errors],
    };
  }

  /** Serialised report no longer than maxChars (drops entries from the end, never the counts). */
  serialize(maxChars = DEFAULT_REPORT_MAX_CHARS): string {
    const json = this.toJson();
    let text = JSON.stringify(json);
    if (text.length <= maxChars) return text;
    // Binary search for how many entries fit.
    let lo = 0;
    let hi = json.entries.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const trial = JSON.stringify({
        ...json,
        entries: json.entries.slice(0, mid),
        omittedEntries: json.omittedEntries + json.entries.length - mid,
      });
      if (trial.length <= maxChars) lo = mid;
      else hi = mid - 1;
    }
    text = JSON.stringify({
      ...json,
      entries: json.entries.slice(0, lo),
      omittedEntries: json.omittedEntries + json.entries.length - lo,
      truncated: true,
    });
    if (text.length <= maxChars) return text;
    return JSON.stringify({
      version: 1,
      kind: json.kind,
      dryRun: json.dryRun,
      counts: json.counts,
      truncated: true,
      omittedEntries: json.omittedEntries + json.entries.length,
    }).slice(0, maxChars);
  }
}
