/**
 * The results file (a contract: bench/README.md lists its keys) and its markdown table. Pure.
 */
import type { LatencyModel } from "../sandbox/latency";
import type { Floor } from "./floor";
import type { InFlightSummary } from "./timeline";

export const RUN_NAMES = ["first", "noChange", "onePercent"] as const;
export type RunName = (typeof RUN_NAMES)[number];

/** The bench's performance targets. */
export const TARGETS = {
  requestsPerFloor: 1.1,
  syncPerLoader: 1.5,
  peakRssMb: 300,
  /** Under the latency model: wall time over the run's lower bound (bench/bound.ts). */
  syncPerBound: 1.5,
} as const;

/** A run under the latency model: its lower bound and what each service was charged. */
export interface LatencyRun {
  boundMs: number;
  /** wallMs / boundMs. */
  ratio: number;
  limitedBy: string;
  boundParts: Record<string, number>;
  /** Requests and busy time the emulator charged during the run (every user: the sync, and the functions app if webhooks fire). */
  dataverse: { requests: number; busyMs: number; byKey: Record<string, { requests: number; busyMs: number }> };
  /** Calls and busy time the simulator charged, and calls it refused with 429 for concurrency. */
  ion: { requests: number; busyMs: number; refusedForConcurrency: number; byKey: Record<string, { requests: number; busyMs: number }> };
  /** Dataverse 429s of any kind (the emulator's count). */
  dataverse429: number;
}

/** One measured run. The first eight keys after wallMs are the contract's; the rest explain them. */
export interface RunResult {
  /** With --work-items: the items the run took, the longest single one (ms) and each one's budget. */
  workItems?: { count: number; longestMs: number; budgetMs: number };
  wallMs: number;
  ionRequests: number;
  dataverseRequests: number;
  dataverseBatchItems: number;
  /** Data rows (provider accounts and subscriptions) created or updated. */
  dataverseWrites: number;
  /** Data rows whose stored content differs after the run (new rows included), read back from the emulator. */
  rowsChanged: number;
  floorRequests: number;
  loaderMs: number;
  peakRssMb: number;
  /** What the peak RSS is made of (peaks sampled every 100 ms in the sync process). */
  memory?: {
    peakHeapUsedMb: number;
    peakHeapTotalMb: number;
    peakExternalMb: number;
    peakArrayBuffersMb: number;
    atEnd?: Record<string, number>;
  };
  /** 429 answers the sync received from Dataverse (request or $batch part) and from Ion. */
  throttled: number;
  status: string;
  /** Part of wallMs the bench itself spent in the sync process (recording written rows for the loader). */
  recordingMs: number;
  ionRequestsByEndpoint: Record<string, number>;
  /** Requests in flight over the run (bench/timeline.ts): Ion against its accepted 8, Dataverse against the dop hint 8. */
  inFlight?: { ion: InFlightSummary; dataverse: InFlightSummary };
  cloudProfileReads: number;
  dataverseRequestsByOperation: Record<string, number>;
  dataverseBatchRequests: number;
  /** Writes to the run's own rows (w365_syncrun, the connector): not data, counted apart from dataverseWrites. */
  bookkeepingWrites: number;
  /** Provider-account writes that only stamp a customer's subscriptions digest (src/sync/digest.ts), apart from dataverseWrites. */
  digestWrites?: number;
  dataverseWritesByTable: Record<string, number>;
  rowsChangedByTable: Record<string, number>;
  /** Rows the bench changed in Ion that the sync should write (onePercent only). */
  expectedChangedRows?: number;
  /** Customers the bench changed in Ion before this run (onePercent only). */
  expectedChangedCustomers?: number;
  floor: Floor;
  requestsPerFloor: number;
  loader: { rows: number; requests: number; failed: number };
  /** wallMs / loaderMs; null when the run wrote nothing (no loader time to compare with). */
  syncPerLoader: number | null;
  /** The bare reader: the floor's Dataverse reads and the run's Ion list and profile reads, no processing. */
  readerMs: number;
  reader: { dataverseRows: number; ionRequests: number };
  /** wallMs / (loaderMs + readerMs): the run against everything a sync must at least read and write. */
  syncPerLoaderAndReader: number;
  syncCounts: Record<string, number>;
  phasesMs?: Record<string, number>;
  /** The run's own per-phase report (counts read, rows held for customers, resumed pages…), as runSync returns it. */
  syncPhases?: unknown;
  emulator: { requests: number; batchItems: number; throttled: number; writes: number };
  /**
   * Webhook deliveries the run's writes set off (Dataverse steps → the functions app), and the Dataverse
   * requests others (the functions app handling them) made meanwhile: work the sync causes but does not send.
   */
  webhooks: { sent: number; failed: number; otherDataverseRequests: number; drainMs: number };
  throttledByDataverse: number;
  throttledByIon: number;
  /** Time from fork to the child's exit (Node start and module loading included). */
  processMs: number;
  /** CPU time (user + system) of the sync process during wallMs (`process.cpuUsage`). */
  syncCpuMs?: number;
  /**
   * CPU time of the bench process while the sync process ran (its start included): the stand-ins (the Dataverse
   * emulator, the Ion simulator's thread, the functions app's webhook steps), which share the machine's cores with
   * the sync here, where a tenant's services have their own.
   */
  standInsCpuMs?: number;
  /** The sync process's event loop (bench/child.ts): busy share, and how late its timers ran. */
  syncEventLoop?: { utilization: number; delayP50Ms: number; delayP99Ms: number; delayMaxMs: number };
  /** Under `--latency cloud` only (the loader and the reader are not run then: the bound is the comparison). */
  latency?: LatencyRun;
}

export interface Check {
  run: RunName;
  target: string;
  value: string;
  met: boolean;
}

export interface BenchResults {
  scenario: {
    customers: number;
    subscriptionsPerCustomer: number;
    seed: number;
    serviceProtection: boolean;
    changeFraction: number;
    syncNodeOptions: string[];
    /** The latency model the stand-ins ran with (absent = off). */
    latency?: LatencyModel;
  };
  runs: Record<RunName, RunResult>;
  setup: Record<string, unknown>;
  checks: Check[];
  machine: { cpus: number; node: string; platform: string; totalMemGb: number };
  measuredAt: string;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Target checks, one line per run and target. */
export function evaluateTargets(runs: Record<RunName, RunResult>): Check[] {
  const checks: Check[] = [];
  for (const run of RUN_NAMES) {
    const r = runs[run];
    checks.push({
      run,
      target: `Dataverse requests <= ${TARGETS.requestsPerFloor} x floor`,
      value: `${r.dataverseRequests} / ${r.floorRequests} = ${round(r.requestsPerFloor)}`,
      met: r.requestsPerFloor <= TARGETS.requestsPerFloor,
    });
    checks.push({ run, target: `peak RSS < ${TARGETS.peakRssMb} MB`, value: `${r.peakRssMb} MB`, met: r.peakRssMb < TARGETS.peakRssMb });
    checks.push({
      run,
      target: "no 429 reaches the admin as a failure",
      value: `${r.throttled} x 429, run ${r.status}`,
      met: r.status === "succeeded",
    });
    checks.push({
      run,
      target: "writes exactly the changed rows",
      value: `${r.dataverseWrites} written, ${r.rowsChanged} changed${r.digestWrites ? ` (and ${r.digestWrites} digest stamps)` : ""}`,
      met: r.dataverseWrites === r.rowsChanged && (r.expectedChangedRows === undefined || r.rowsChanged === r.expectedChangedRows),
    });
    if (r.syncPerLoader !== null)
      checks.push({
        run,
        target: `sync time <= ${TARGETS.syncPerLoader} x bare loader`,
        value: `${r.wallMs} / ${r.loaderMs} ms = ${round(r.syncPerLoader)}`,
        met: r.syncPerLoader <= TARGETS.syncPerLoader,
      });
    if (r.latency) {
      checks.push({
        run,
        target: `sync time <= ${TARGETS.syncPerBound} x lower bound`,
        value: `${r.wallMs} / ${r.latency.boundMs} ms = ${round(r.latency.ratio)} (bound: ${r.latency.limitedBy})`,
        met: r.latency.ratio <= TARGETS.syncPerBound,
      });
      checks.push({
        run,
        target: "0 requests refused for concurrency",
        value: `Ion ${r.latency.ion.refusedForConcurrency}, Dataverse 429s ${r.latency.dataverse429}`,
        met: r.latency.ion.refusedForConcurrency === 0 && r.latency.dataverse429 === 0,
      });
    } else
      checks.push({
        run,
        target: `(extra) sync time <= ${TARGETS.syncPerLoader} x (bare loader + bare reader)`,
        value: `${r.wallMs} / (${r.loaderMs} + ${r.readerMs}) ms = ${round(r.syncPerLoaderAndReader)}`,
        met: r.syncPerLoaderAndReader <= TARGETS.syncPerLoader,
      });
  }
  checks.push({
    run: "noChange",
    target: "zero Dataverse writes when nothing changed",
    value: `${runs.noChange.dataverseWrites}`,
    met: runs.noChange.dataverseWrites === 0,
  });
  for (const run of ["noChange", "onePercent"] as const) {
    const r = runs[run];
    const allowed = run === "noChange" ? 0 : (r.expectedChangedCustomers ?? 0);
    checks.push({
      run,
      target: "cloud-profile reads only for new or changed customers",
      value: `${r.cloudProfileReads} reads, ${allowed} changed customers`,
      met: r.cloudProfileReads <= allowed,
    });
  }
  return checks;
}

/** The contract keys are present and numeric in every run (what the acceptance check reads). */
export function contractProblems(results: { scenario?: unknown; runs?: unknown }): string[] {
  const problems: string[] = [];
  const s = results.scenario as Record<string, unknown> | undefined;
  if (!s || typeof s.customers !== "number" || typeof s.subscriptionsPerCustomer !== "number")
    problems.push("scenario.customers / scenario.subscriptionsPerCustomer missing");
  const runs = results.runs as Record<string, Record<string, unknown>> | undefined;
  for (const name of RUN_NAMES) {
    const r = runs?.[name];
    if (!r) {
      problems.push(`runs.${name} missing`);
      continue;
    }
    for (const key of [
      "wallMs",
      "ionRequests",
      "dataverseRequests",
      "dataverseBatchItems",
      "dataverseWrites",
      "rowsChanged",
      "floorRequests",
      "loaderMs",
      "peakRssMb",
      "throttled",
    ]) {
      if (typeof r[key] !== "number" || !Number.isFinite(r[key] as number)) problems.push(`runs.${name}.${key} is not a number`);
    }
  }
  return problems;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The short markdown table written next to latest.json. */
export function renderMarkdown(results: BenchResults): string {
  const { scenario, runs } = results;
  const latencyCols: [string, (r: RunResult) => string][] = scenario.latency
    ? [
        ["lower bound ms", (r) => fmt(r.latency?.boundMs ?? 0)],
        ["wall / bound", (r) => String(round(r.latency?.ratio ?? 0))],
        ["bound set by", (r) => r.latency?.limitedBy ?? ""],
        ["Dataverse busy ms (charged)", (r) => fmt(Math.round(r.latency?.dataverse.busyMs ?? 0))],
        ["Ion busy ms (charged)", (r) => fmt(Math.round(r.latency?.ion.busyMs ?? 0))],
        ["Ion calls refused (concurrency)", (r) => fmt(r.latency?.ion.refusedForConcurrency ?? 0)],
        ["Dataverse 429s (emulator)", (r) => fmt(r.latency?.dataverse429 ?? 0)],
      ]
    : [];
  const cols: [string, (r: RunResult) => string][] = [
    ["wall ms", (r) => fmt(r.wallMs)],
    ["sync process CPU ms", (r) => (r.syncCpuMs === undefined ? "n/a" : fmt(r.syncCpuMs))],
    ["stand-ins CPU ms (bench process)", (r) => (r.standInsCpuMs === undefined ? "n/a" : fmt(r.standInsCpuMs))],
    ["sync event loop busy", (r) => (r.syncEventLoop === undefined ? "n/a" : `${Math.round(r.syncEventLoop.utilization * 100)} %`)],
    [
      "sync event loop delay p50 / p99 / max ms",
      (r) =>
        r.syncEventLoop === undefined
          ? "n/a"
          : `${r.syncEventLoop.delayP50Ms} / ${r.syncEventLoop.delayP99Ms} / ${r.syncEventLoop.delayMaxMs}`,
    ],
    ...latencyCols,
    ["loader ms", (r) => fmt(r.loaderMs)],
    ["sync / loader", (r) => (r.syncPerLoader === null ? "n/a" : String(round(r.syncPerLoader)))],
    ["reader ms", (r) => fmt(r.readerMs)],
    ["sync / (loader + reader)", (r) => String(round(r.syncPerLoaderAndReader))],
    ["Ion requests", (r) => fmt(r.ionRequests)],
    ["cloud-profile reads", (r) => fmt(r.cloudProfileReads)],
    ["Dataverse requests", (r) => fmt(r.dataverseRequests)],
    ["floor", (r) => fmt(r.floorRequests)],
    ["requests / floor", (r) => String(round(r.requestsPerFloor))],
    ["$batch requests", (r) => fmt(r.dataverseBatchRequests)],
    ["$batch items", (r) => fmt(r.dataverseBatchItems)],
    ["data rows written", (r) => fmt(r.dataverseWrites)],
    ["rows changed", (r) => fmt(r.rowsChanged)],
    ["bookkeeping writes", (r) => fmt(r.bookkeepingWrites)],
    ["subscriptions digest stamps", (r) => fmt(r.digestWrites ?? 0)],
    ["429s", (r) => fmt(r.throttled)],
    ["webhooks set off", (r) => fmt(r.webhooks.sent)],
    ["peak RSS MB", (r) => String(r.peakRssMb)],
    ["status", (r) => r.status],
    ...(Object.values(runs).some((r) => r.workItems)
      ? ([
          ["work items (invocations)", (r) => (r.workItems ? fmt(r.workItems.count) : "n/a")],
          ["longest invocation ms", (r) => (r.workItems ? fmt(r.workItems.longestMs) : "n/a")],
          ["item budget ms", (r) => (r.workItems ? fmt(r.workItems.budgetMs) : "n/a")],
        ] as [string, (r: RunResult) => string][])
      : []),
  ];
  // Under the latency model the loader and the reader are not run: their columns would only show zeros.
  const shown = scenario.latency ? cols.filter(([label]) => !/loader|reader/.test(label)) : cols;
  const lines = [
    `# Benchmark: ${fmt(scenario.customers)} customers x ${scenario.subscriptionsPerCustomer} subscriptions`,
    "",
    ...(scenario.latency
      ? [
          `Latency model **${scenario.latency.name}** (sandbox/latency.ts): Dataverse ${JSON.stringify(scenario.latency.dataverse)}, Ion ${JSON.stringify(scenario.latency.ion)}. The bare loader and reader are not run under the model: the lower bound (bench/bound.ts) is the comparison. Measured on a shared machine (2 CPUs used by other work at the same time).`,
          "",
        ]
      : []),
    `Measured ${results.measuredAt} on ${results.machine.cpus} CPUs, Node ${results.machine.node}; Dataverse service protection ${scenario.serviceProtection ? "on" : "OFF"}; sync process Node options: ${scenario.syncNodeOptions.length ? scenario.syncNodeOptions.join(" ") : "none (as the CLI runs it: its launcher caps V8's heap growth at 1.5x the live set, src/shared/heap.ts)"}. See bench/README.md for what each figure means.`,
    "",
    `| figure | ${RUN_NAMES.join(" | ")} |`,
    `| --- | ${RUN_NAMES.map(() => "---:").join(" | ")} |`,
    ...shown.map(([label, f]) => `| ${label} | ${RUN_NAMES.map((n) => f(runs[n])).join(" | ")} |`),
    "",
    "| run | target | value | met |",
    "| --- | --- | --- | --- |",
    ...results.checks.map((c) => `| ${c.run} | ${c.target} | ${c.value} | ${c.met ? "yes" : "**no**"} |`),
    "",
  ];
  return lines.join("\n");
}
