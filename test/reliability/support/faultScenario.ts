/**
 * The story under injected faults vs the same story clean. Ion: 429 (Retry-After), 503,
 * latency, connections dropped before any work and dropped after the work was done (the client cannot
 * tell that from a timeout: no answer to a request that may have taken effect). Dataverse: 429s from the
 * service protection limits (lowered so a small sync really reaches them, on an emulator clock the
 * client's back-off advances) plus random 429s and 412 ETag conflicts.
 */
import type { FaultConfig } from "../../../sandbox/ion/types";
import { DataverseClient } from "../../../src/dataverse";
import { memoryLogger, silentLogger } from "../../../src/shared/logger";
import { runSync, type SyncRunSummary } from "../../../src/sync";
import { type Dump, dumpCounts, dumpState, duplicates } from "./dump";
import { applyStoryChanges, duplicateOrders } from "./scenario";
import { type RelWorld, startRelWorld } from "./world";

export const ION_FAULTS_10_PERCENT: FaultConfig = {
  seed: 17,
  rules: [
    // Always at least once: Ion accepts an order and the answer never arrives (the duplicate-order trap),
    // and a dropped read.
    { method: "POST", path: "/orders$", kind: "dropAfter", requests: [1] },
    { method: "GET", path: "^/api/", kind: "drop", requests: [9] },
    { path: "^/api/", kind: "status", status: 429, rate: 0.04 },
    { path: "^/api/", kind: "status", status: 503, rate: 0.03 },
    { path: "^/api/", kind: "latency", latencyMs: 120, rate: 0.015 },
    { path: "^/api/", kind: "drop", rate: 0.015 },
    { path: "^/api/", kind: "dropAfter", rate: 0.01 },
    // The token endpoint is throttled and unavailable too, but never drops after rotating: a token
    // Ion rotated and never delivered is lost by definition (that case is in the token tests).
    { path: "^/oauth/token$", kind: "status", status: 429, rate: 0.05 },
    { path: "^/oauth/token$", kind: "status", status: 503, rate: 0.05 },
  ],
};

export interface StoryResult {
  dump: Dump;
  runs: SyncRunSummary[];
  orders: number;
  duplicateOrders: string[];
  logLines: string[];
}

/**
 * A run may end "partial" when a fault left a record for the next run (an order Ion accepted without
 * answering is found by its referenceId next time); the story's last run must succeed.
 */
async function story(w: RelWorld, dv: DataverseClient, logLines: string[]): Promise<StoryResult> {
  const deps = { ...w.deps, dataverse: dv };
  const runs: SyncRunSummary[] = [];
  const sync = async () => {
    // Ion revokes the access token before each run: every run refreshes under the token lease, whose
    // If-Match writes are where Dataverse 412 conflicts land.
    w.ion.control.revokeAccessTokens();
    const r = await runSync(deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
    runs.push(r);
    if (r.status === "failed") throw new Error(`sync ${runs.length} failed: ${r.message}`);
  };
  await sync();
  await applyStoryChanges(dv, w.ion);
  await sync();
  w.ion.control.processOrders();
  await sync();
  const last = runs[runs.length - 1];
  if (last?.status !== "succeeded") throw new Error(`the last sync ended ${last?.status}: ${last?.message}`);
  return {
    dump: await dumpState(dv, { runs: "kind" }),
    runs,
    orders: w.ion.control.orders().length,
    duplicateOrders: duplicateOrders(w.ion),
    logLines,
  };
}

export async function runCleanStory(seed: number, size: { customers: number; subscriptionsPerCustomer: number }): Promise<StoryResult> {
  const w = await startRelWorld({ seed, ...size });
  try {
    return await story(w, w.dv, []);
  } finally {
    await w.close();
  }
}

export interface FaultFigures {
  seed: number;
  ion: { requests: number; faults: Record<string, number> };
  dataverse: { requests: number; throttled429: number; conflicts412: number };
  rows: Record<string, number>;
  orders: number;
  duplicateOrders: number;
  duplicateRows: number;
  sameAsClean: boolean;
  /** Status of each run of the story, and records a run left for the next one. */
  runStatuses: string[];
  recordsRetriedNextRun: number;
}

export async function runFaultedStory(
  seed: number,
  size: { customers: number; subscriptionsPerCustomer: number },
): Promise<{ result: StoryResult; figures: FaultFigures; secrets: string[] }> {
  let emulatorNow = Date.now();
  const emulatorClock = { now: () => emulatorNow };
  const logger = memoryLogger();
  const w = await startRelWorld({
    seed,
    ...size,
    // Each scenario draws its own faults (the rules stay the same, where they land changes).
    ionFaults: { ...ION_FAULTS_10_PERCENT, seed: 17 + seed * 7 },
    // Injected 412s play another writer on the connector row, where the token lease's If-Match writes meet
    // them. On provider rows a 412 means an admin changed the row, which the run leaves for the next run by
    // design (test/integration/sync/inbound-actors.test.ts): a story ending like a clean run cannot have one.
    dataverseFaults: { rate429: 0.08, rate412: 0.3, sets412: ["w365_providerconnections"], seed },
    serviceProtection: { enabled: true, requestsPerWindow: 20, windowMs: 60_000, maxConcurrent: 3 },
    // The emulator's window moves with the client's back-off: Retry-After is honoured without real waits.
    dataverseClock: emulatorClock,
    proxies: {},
    logger: silentLogger,
  });
  try {
    const dv = new DataverseClient({
      url: w.dataverseUrl,
      auth: { kind: "static", token: w.emu.integrationToken },
      logger,
      sleep: async (ms) => void (emulatorNow += ms),
    });
    const result = await story({ ...w, deps: { ...w.deps, logger } }, dv, logger.lines);
    const [dvProxy] = w.proxies;
    const faults: Record<string, number> = {};
    for (const e of w.ion.control.requestLog())
      if (e.fault) faults[e.fault.replace(/^rule\d+:/, "")] = (faults[e.fault.replace(/^rule\d+:/, "")] ?? 0) + 1;
    const figures: FaultFigures = {
      seed,
      ion: { requests: w.ion.control.requestLog().length, faults },
      dataverse: {
        requests: dvProxy?.requests.length ?? 0,
        throttled429: dvProxy?.requests.filter((r) => r.status === 429).length ?? 0,
        conflicts412: dvProxy?.requests.filter((r) => r.status === 412).length ?? 0,
      },
      rows: dumpCounts(result.dump),
      orders: result.orders,
      duplicateOrders: result.duplicateOrders.length,
      duplicateRows: duplicates(result.dump).length,
      sameAsClean: false,
      runStatuses: result.runs.map((r) => r.status),
      recordsRetriedNextRun: result.runs.reduce((n, r) => n + (r.counts.failed ?? 0), 0),
    };
    return { result, figures, secrets: w.secrets() };
  } finally {
    await w.close();
  }
}
