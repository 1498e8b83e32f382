/**
 * The throttled scenario of `npm run bench -- --throttled`: the same three runs as scenario L, smaller, with
 * Dataverse's service protection limits lowered so that the sync really meets 429s (request count, execution
 * time and concurrency). It shows that the sync absorbs them (Retry-After, resends) and still writes exactly
 * the changed rows. Pure: limits, checks and the markdown; run.ts measures.
 */
import type { Check, RunName } from "./result";
import { RUN_NAMES } from "./result";

export interface ThrottleLimits {
  requestsPerWindow: number;
  windowMs: number;
  executionMsPerWindow: number;
  maxConcurrent: number;
}

export const THROTTLED_DEFAULT_CUSTOMERS = 1000;

/**
 * A 1,000 x 5 first run sends about 15 Dataverse requests, the writes as $batch of 1,000 rows at 3 at a time:
 * 10 requests and 1 s of execution time per 5 s, 2 at a time, are all exceeded, yet each 429's Retry-After
 * (at most the window) leaves room for the resend.
 */
export const THROTTLED_LIMITS: ThrottleLimits = { requestsPerWindow: 10, windowMs: 5000, executionMsPerWindow: 1000, maxConcurrent: 2 };

export interface ThrottledRun {
  status: string;
  /** The sync's summary message (why, when it did not succeed). */
  message: string;
  wallMs: number;
  dataverseRequests: number;
  /** Resends the sync's Dataverse client made (throttled requests and $batch parts). */
  dataverseRetries: number;
  /** 429s the sync received from Dataverse (a request or a $batch part) and absorbed or not. */
  throttledByDataverse: number;
  throttledByIon: number;
  /** 429s the emulator answered to anyone during the run (the sync, and the functions app on the same user). */
  emulatorThrottled: number;
  dataverseWrites: number;
  rowsChanged: number;
  expectedChangedRows?: number;
}

export interface ThrottledResults {
  scenario: { customers: number; subscriptionsPerCustomer: number; seed: number; changeFraction: number; limits: ThrottleLimits };
  runs: Record<RunName, ThrottledRun>;
  totals: { throttledByDataverse: number; dataverseRetries: number; emulatorThrottled: number };
  checks: Check[];
  setup: Record<string, unknown>;
  machine: { cpus: number; node: string; platform: string; totalMemGb: number };
  measuredAt: string;
}

export function throttledTotals(runs: Record<RunName, ThrottledRun>): ThrottledResults["totals"] {
  const sum = (f: (r: ThrottledRun) => number) => RUN_NAMES.reduce((a, n) => a + f(runs[n]), 0);
  return {
    throttledByDataverse: sum((r) => r.throttledByDataverse),
    dataverseRetries: sum((r) => r.dataverseRetries),
    emulatorThrottled: sum((r) => r.emulatorThrottled),
  };
}

/** What the scenario must show: every run succeeds with exactly the changed rows written, and the limits bit. */
export function throttledChecks(runs: Record<RunName, ThrottledRun>): Check[] {
  const checks: Check[] = [];
  for (const run of RUN_NAMES) {
    const r = runs[run];
    checks.push({
      run,
      target: "the run succeeds despite the 429s",
      value: `${r.throttledByDataverse} x 429 absorbed, run ${r.status}`,
      met: r.status === "succeeded",
    });
    checks.push({
      run,
      target: "writes exactly the changed rows",
      value: `${r.dataverseWrites} written, ${r.rowsChanged} changed${r.expectedChangedRows !== undefined ? `, ${r.expectedChangedRows} expected` : ""}`,
      met: r.dataverseWrites === r.rowsChanged && (r.expectedChangedRows === undefined || r.rowsChanged === r.expectedChangedRows),
    });
  }
  const totals = throttledTotals(runs);
  checks.push({
    run: "first",
    target: "the lowered limits really throttled the sync (at least one 429)",
    value: `${totals.throttledByDataverse} x 429 over the three runs`,
    met: totals.throttledByDataverse > 0,
  });
  return checks;
}

const fmt = (n: number) => n.toLocaleString("en-US");

export function renderThrottledMarkdown(results: ThrottledResults): string {
  const { scenario, runs } = results;
  const l = scenario.limits;
  const cols: [string, (r: ThrottledRun) => string][] = [
    ["wall ms", (r) => fmt(r.wallMs)],
    ["Dataverse requests", (r) => fmt(r.dataverseRequests)],
    ["429s absorbed (Dataverse)", (r) => fmt(r.throttledByDataverse)],
    ["resends", (r) => fmt(r.dataverseRetries)],
    ["429s answered by the emulator", (r) => fmt(r.emulatorThrottled)],
    ["429s from Ion", (r) => fmt(r.throttledByIon)],
    ["data rows written", (r) => fmt(r.dataverseWrites)],
    ["rows changed", (r) => fmt(r.rowsChanged)],
    ["status", (r) => r.status],
  ];
  return [
    `# Throttled benchmark: ${fmt(scenario.customers)} customers x ${scenario.subscriptionsPerCustomer} subscriptions`,
    "",
    `Measured ${results.measuredAt} on ${results.machine.cpus} CPUs, Node ${results.machine.node}. Dataverse service protection lowered to ${fmt(l.requestsPerWindow)} requests and ${fmt(l.executionMsPerWindow)} ms of execution time per ${fmt(l.windowMs)} ms window, ${l.maxConcurrent} concurrent requests (Dataverse: 6,000, 1,200,000 ms per 300,000 ms, 52). See bench/README.md.`,
    "",
    `| figure | ${RUN_NAMES.join(" | ")} |`,
    `| --- | ${RUN_NAMES.map(() => "---:").join(" | ")} |`,
    ...cols.map(([label, f]) => `| ${label} | ${RUN_NAMES.map((n) => f(runs[n])).join(" | ")} |`),
    "",
    "| run | check | value | met |",
    "| --- | --- | --- | --- |",
    ...results.checks.map((c) => `| ${c.run} | ${c.target} | ${c.value} | ${c.met ? "yes" : "**no**"} |`),
    "",
  ].join("\n");
}
