/**
 * The sync process of the benchmark. run.ts forks it once per measured run so that its peak
 * RSS is the sync's own (VmHWM, see ownPeakRssMb), not the emulator's or the simulator's.
 *
 * It receives one ChildRequest over IPC, runs the sync exactly as the CLI does (runSync with kind
 * "all"), counts every Dataverse and Ion HTTP request on the client side, appends every data row it
 * wrote to `opsFile` (JSON lines, for the bare loader) and answers with one ChildResult.
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

import { type BatchOperation, type BatchOptions, type BatchResult, DataverseClient } from "../src/dataverse";
import { startIonIoThread } from "../src/ion/transport";
import { ensureError } from "../src/shared/errors";
import { tuneHeapGrowth } from "../src/shared/heap";
import { silentLogger } from "../src/shared/logger";
import { runSync, SETS, type SyncDeps, type SyncKind, type SyncRunSummary } from "../src/sync";
import { startQueuedRun } from "../src/sync/index";
import { runSyncWorkItem, type SyncWorkItem } from "../src/sync/workItems";
import { type InFlightSummary, InFlightTimeline } from "./timeline";

/** The tables whose rows are the sync's data (everything else it writes is bookkeeping). */
export const DATA_SETS = new Set<string>([SETS.providerAccount, SETS.providerSubscription]);

/** A write that only stamps a provider account's subscriptions digest. */
export function isDigestStamp(op: Pick<BatchOperation, "entitySet" | "body" | "bodyJson">): boolean {
  if (op.entitySet !== SETS.providerAccount) return false;
  const body =
    op.bodyJson !== undefined ? (JSON.parse(op.bodyJson) as Record<string, unknown>) : (op.body as Record<string, unknown> | undefined);
  const keys = body ? Object.keys(body) : [];
  return keys.length === 1 && keys[0] === "w365_subscriptionsdigest";
}

export interface ChildRequest {
  dataverseUrl: string;
  dataverseToken: string;
  connectionId: string;
  kinds: SyncKind[];
  /** JSON-lines file the data writes are appended to ({entitySet, key, body} per line). */
  opsFile: string;
  /** Run each sync as work items of this budget (ms), as the functions app does; absent = one runSync. */
  itemBudgetMs?: number;
}

export interface RecordedOp {
  entitySet: string;
  key?: BatchOperation["key"];
  body?: object;
}

export interface ChildRunSummary {
  kind: SyncKind;
  status: string;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  counts: Record<string, number>;
  phases: unknown;
  message: string;
  /** With work items: how many ran and the longest single one (ms), as the functions app would invoke them. */
  workItems?: { count: number; longestMs: number; budgetMs: number };
}

export interface ChildResult {
  ok: boolean;
  error?: string;
  /** Time inside runSync (module loading and process start excluded). */
  wallMs: number;
  /** CPU time (user + system) the sync process spent during wallMs: on a shared machine, wall time far above it is time spent waiting for a core or a server. */
  cpuMs: number;
  /** Part of wallMs the bench spent recording the written rows for the loader (not the sync's work). */
  recordingMs: number;
  /**
   * The sync process's event loop during wallMs: the share of time it was busy (`eventLoopUtilization`) and how
   * late a timer ran (`monitorEventLoopDelay`, 10 ms resolution): an answer that arrives while the loop is busy
   * waits that long before the sync sees it, so a busy loop lengthens every call the sync times.
   */
  eventLoop: { utilization: number; delayP50Ms: number; delayP99Ms: number; delayMaxMs: number };
  runs: ChildRunSummary[];
  dataverse: {
    requests: number;
    batchRequests: number;
    batchItems: number;
    throttled: number;
    retries: number;
    /** "GET w365_providersubscriptions", "$batch", "PATCH w365_syncruns"… */
    byOperation: Record<string, number>;
    /** Rows written per entity set (ok results, in $batch or single requests). */
    writesBySet: Record<string, number>;
    failedWritesBySet: Record<string, number>;
    /**
     * Of the provider-account writes, those that only stamp a customer's subscriptions digest (the sync's
     * index of what it wrote, src/sync/digest.ts): reported apart from the data writes.
     */
    digestWrites: number;
  };
  ion: { requests: number; byEndpoint: Record<string, number>; throttled: number };
  /** Requests in flight over the run (./timeline.ts): Ion against its 8, Dataverse against its 8 (dop hint). */
  inFlight?: { ion: InFlightSummary; dataverse: InFlightSummary };
  peakRssMb: number;
  /** Peaks sampled every 100 ms: which part of the memory the peak RSS is made of. */
  memory: {
    peakHeapUsedMb: number;
    peakHeapTotalMb: number;
    peakExternalMb: number;
    peakArrayBuffersMb: number;
    atEnd?: Record<string, number>;
  };
}

/**
 * The sync process's own peak resident memory. On Linux this is VmHWM, the high-water mark of this
 * process's address space, which starts afresh at exec. `process.resourceUsage().maxRSS` (getrusage) is
 * not: it keeps the larger of the forking process's RSS and this one's, and the bench process that forks
 * the sync holds the emulator and the simulator (250-300 MB at scenario L), so it reported the bench's
 * size for runs whose sync stayed far below it. maxRSS is the fallback where /proc is missing.
 */
export function ownPeakRssMb(statusText?: string): number {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/status", "utf8");
    } catch {
      text = "";
    }
  }
  const hwm = residentByKind(text).VmHWMMb;
  return hwm ?? Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** Linux: resident memory at the end by kind (anonymous = heap and malloc, file = the node binary and libraries). */
export function residentByKind(statusText: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ["VmRSS", "RssAnon", "RssFile", "VmHWM"]) {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(statusText);
    if (m) out[`${key}Mb`] = Math.round((Number(m[1]) / 1024) * 10) / 10;
  }
  return out;
}

/** "w365_syncruns(1234…)?$select=…" → "w365_syncruns"; "$batch" stays. */
export function entitySetOfPath(path: string): string {
  const clean = path.replace(/^.*\/api\/data\/v[0-9.]+\//, "");
  const m = /^([A-Za-z0-9_$.]+)/.exec(clean);
  return m ? m[1]! : clean;
}

/** One JSON line of the ops file for a written operation (a pre-serialized body is spliced in as is). */
export function recordedLine(op: BatchOperation): string {
  if (op.bodyJson === undefined) return JSON.stringify({ entitySet: op.entitySet, key: op.key, body: op.body } satisfies RecordedOp) + "\n";
  const head = JSON.stringify({ entitySet: op.entitySet, key: op.key });
  return `${head.slice(0, -1)},"body":${op.bodyJson}}\n`;
}

function add(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

export async function runChild(req: ChildRequest): Promise<ChildResult> {
  const dv = {
    byOperation: {} as Record<string, number>,
    writesBySet: {} as Record<string, number>,
    digestWrites: 0,
    failedWritesBySet: {} as Record<string, number>,
    batchRequests: 0,
  };
  const ion = { requests: 0, byEndpoint: {} as Record<string, number>, throttled: 0 };
  const ionTimeline = new InFlightTimeline();
  const dvTimeline = new InFlightTimeline();
  // Diagnosis only: BENCH_TRACE_FILE=path writes every request's span (ms from the run's start) as JSON lines.
  const trace: [string, number, number][] | undefined = process.env.BENCH_TRACE_FILE ? [] : undefined;
  const client = new DataverseClient({
    url: req.dataverseUrl,
    auth: { kind: "static", token: req.dataverseToken },
    logger: silentLogger,
    onRequest: (info) => {
      const end = performance.now();
      dvTimeline.add(end - info.durationMs, end);
      trace?.push([
        `dv ${info.method} ${info.path.slice(0, 80)}${info.batchItems ? ` (${info.batchItems})` : ""}`,
        end - info.durationMs,
        end,
      ]);
      const set = entitySetOfPath(info.path);
      if (set === "$batch") dv.batchRequests++;
      add(dv.byOperation, set === "$batch" ? "$batch" : `${info.method} ${set}`);
    },
  });
  const fd = openSync(req.opsFile, "a");
  // The bench's own cost inside the sync process (recording the rows for the loader), reported apart.
  let recordingMs = 0;
  // Every write the sync makes goes through these methods: count rows per table, record data rows for the loader.
  const originalBatch = client.batch.bind(client);
  client.batch = async (ops: BatchOperation[], o?: BatchOptions): Promise<BatchResult[]> => {
    const results = await originalBatch(ops, o);
    const recordStart = performance.now();
    // Written in small chunks: one string per batch would itself be a megabyte of the sync process's memory.
    let lines = "";
    results.forEach((r, i) => {
      const op = ops[i]!;
      if (op.method === "GET") return;
      if (!r.ok) return add(dv.failedWritesBySet, op.entitySet);
      if (isDigestStamp(op)) {
        dv.digestWrites++;
        return;
      }
      add(dv.writesBySet, op.entitySet);
      if (!DATA_SETS.has(op.entitySet)) return;
      lines += recordedLine(op);
      if (lines.length > 32_768) {
        writeSync(fd, lines);
        lines = "";
      }
    });
    if (lines) writeSync(fd, lines);
    recordingMs += performance.now() - recordStart;
    return results;
  };
  for (const method of ["create", "update", "updateReturning", "upsert"] as const) {
    const original = (client[method] as (...a: unknown[]) => Promise<unknown>).bind(client);
    (client as unknown as Record<string, unknown>)[method] = async (set: string, ...rest: unknown[]) => {
      const out = await original(set, ...rest);
      add(dv.writesBySet, set);
      if (DATA_SETS.has(set))
        writeSync(
          fd,
          JSON.stringify({
            entitySet: set,
            key: method === "create" ? undefined : (rest[0] as RecordedOp["key"]),
            body: rest[method === "create" ? 0 : 1] as object,
          }) + "\n",
        );
      return out;
    };
  }
  const runs: ChildRunSummary[] = [];
  const memory: ChildResult["memory"] = { peakHeapUsedMb: 0, peakHeapTotalMb: 0, peakExternalMb: 0, peakArrayBuffersMb: 0 };
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  const sample = () => {
    const m = process.memoryUsage();
    memory.peakHeapUsedMb = Math.max(memory.peakHeapUsedMb, mb(m.heapUsed));
    memory.peakHeapTotalMb = Math.max(memory.peakHeapTotalMb, mb(m.heapTotal));
    memory.peakExternalMb = Math.max(memory.peakExternalMb, mb(m.external));
    memory.peakArrayBuffersMb = Math.max(memory.peakArrayBuffersMb, mb(m.arrayBuffers));
  };
  const sampler = setInterval(sample, 100);
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const loopAtStart = performance.eventLoopUtilization();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let error: string | undefined;
  try {
    for (const kind of req.kinds) {
      const deps: SyncDeps = {
        dataverse: client,
        logger: silentLogger,
        ionHttpHooks: {
          onRequest: (info) => {
            const end = performance.now();
            ionTimeline.add(end - info.durationMs, end);
            trace?.push([`ion ${info.endpoint}`, end - info.durationMs, end]);
            ion.requests++;
            add(ion.byEndpoint, info.endpoint);
            if (info.status === 429) ion.throttled++;
          },
        },
      };
      let s: SyncRunSummary;
      let workItems: ChildRunSummary["workItems"];
      if (req.itemBudgetMs) {
        // The functions app's path: a queued run, then one item after the other, each handing off to the next.
        const { runId } = await startQueuedRun(deps, { connectionId: req.connectionId, kind, trigger: "cli" });
        let item: SyncWorkItem | undefined = { runId, connectionId: req.connectionId, kind, trigger: "cli", step: 0 };
        let last: SyncRunSummary | undefined;
        workItems = { count: 0, longestMs: 0, budgetMs: req.itemBudgetMs };
        while (item) {
          const t0 = performance.now();
          const out = await runSyncWorkItem(
            deps,
            item,
            { messageId: `bench-${runId}-${item.step ?? 0}`, dequeueCount: 1 },
            { ms: req.itemBudgetMs },
          );
          workItems.count++;
          workItems.longestMs = Math.max(workItems.longestMs, Math.round(performance.now() - t0));
          if (out.outcome === "ran") last = out.summary;
          item = out.next;
        }
        if (!last) throw new Error(`run ${runId}: no work item ran`);
        s = last;
      } else {
        s = await runSync(deps, { connectionId: req.connectionId, kind, trigger: "cli" });
      }
      const report = s.report as { phases?: unknown } | undefined;
      runs.push({
        kind,
        status: s.status,
        created: s.created,
        updated: s.updated,
        unchanged: s.unchanged,
        failed: s.failed,
        counts: s.counts,
        phases: report?.phases,
        message: s.message,
        ...(workItems ? { workItems } : {}),
      });
    }
  } catch (e) {
    error = ensureError(e).message;
  } finally {
    clearInterval(sampler);
    sample();
    try {
      memory.atEnd = residentByKind(readFileSync("/proc/self/status", "utf8"));
    } catch {
      // not Linux: the peaks above still say what the heap did
    }
    closeSync(fd);
  }
  const ended = performance.now();
  const wallMs = ended - started;
  if (trace && process.env.BENCH_TRACE_FILE)
    writeFileSync(
      `${process.env.BENCH_TRACE_FILE}.${req.kinds.join("-")}.${Math.round(started)}`,
      trace.map(([l, s, e]) => JSON.stringify([l, Math.round(s - started), Math.round(e - started)])).join("\n") + "\n",
    );
  const cpu = process.cpuUsage(cpuAtStart);
  loopDelay.disable();
  const loop = performance.eventLoopUtilization(loopAtStart);
  const delayMs = (ns: number) => Math.round(ns / 1e5) / 10;
  const stats = client.stats();
  return {
    ok: !error && runs.every((r) => r.status === "succeeded"),
    error,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    recordingMs: Math.round(recordingMs),
    eventLoop: {
      utilization: Math.round(loop.utilization * 100) / 100,
      delayP50Ms: delayMs(loopDelay.percentile(50)),
      delayP99Ms: delayMs(loopDelay.percentile(99)),
      delayMaxMs: delayMs(loopDelay.max),
    },
    runs,
    dataverse: {
      requests: stats.requests,
      batchRequests: dv.batchRequests,
      batchItems: stats.batchItems,
      throttled: stats.throttled,
      retries: stats.retries,
      byOperation: dv.byOperation,
      writesBySet: dv.writesBySet,
      failedWritesBySet: dv.failedWritesBySet,
      digestWrites: dv.digestWrites,
    },
    ion,
    inFlight: { ion: ionTimeline.summary(started, ended, 8), dataverse: dvTimeline.summary(started, ended, 8) },
    peakRssMb: ownPeakRssMb(),
    memory,
  };
}

// Entry point when forked by run.ts: one request in, one result out, then exit.
if (require.main === module && typeof process.send === "function") {
  // As the CLI launcher does (bin/streamone-ion.js), unless the bench passes its own heap options.
  tuneHeapGrowth();
  // The sync runs as in a warm functions app, whose Ion I/O thread started with the app (functions/runtime.ts).
  startIonIoThread();
  process.once("message", (req: ChildRequest) => {
    runChild(req).then(
      (result) => process.send!(result, () => process.exit(0)),
      (e: unknown) => process.send!({ ok: false, error: ensureError(e).message } as Partial<ChildResult>, () => process.exit(1)),
    );
  });
}
