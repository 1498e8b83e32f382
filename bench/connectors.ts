/**
 * The many-connectors scenario of `npm run bench -- --connectors N`: N small connectors (each its own Ion
 * account, on its own Ion simulator) on one Functions app and one Dataverse environment, all due at once on
 * the schedule. One `scheduledSync` tick queues them; the local Functions host runs them `--worker-concurrency`
 * at a time (Azure: the queue trigger's batchSize + newBatchThreshold per instance, host.json). Some
 * connectors are throttled on purpose: their Ion account answers 429 to its first customer page, or
 * Dataverse answers 429 to their sync's first request, both with Retry-After. Measured: per-connector start
 * delay, run time, total time, requests and 429s per service, and whether any caller waited out a
 * Retry-After it was not given (a pause caused by another connector's throttling).
 */
import { randomBytes } from "node:crypto";
import os from "node:os";

import { WEBHOOK_LANE } from "../functions/runtime";
import { type DataverseEmulator, startDataverseEmulator } from "../sandbox/dataverse";
import { type FunctionsHost, startFunctionsHost } from "../sandbox/functions-host";
import { type IonSimulator, startIonSimulator } from "../sandbox/ion";
import type { LatencyModel } from "../sandbox/latency";
import { DataverseClient } from "../src/dataverse";
import { deploySolution } from "../src/deploy";
import { silentLogger } from "../src/shared/logger";
import { mapPool } from "../src/shared/pool";
import { registerSecret } from "../src/shared/redact";
import { loadSolutionModel, writeSolutionZip } from "../src/solution";
import { bindEngine } from "../src/sync/engine";
import { ConnectionStatus } from "../src/sync/schema";

export const DEFAULT_CONNECTORS_CUSTOMERS = 20;
export const DEFAULT_CONNECTORS_SUBSCRIPTIONS = 3;
/** Azure's queue trigger per instance with this app's host.json: batchSize 4 + newBatchThreshold 2. */
export const DEFAULT_WORKER_CONCURRENCY = 6;
/** Retry-After given to the throttled connectors (both services). */
export const THROTTLE_RETRY_AFTER_S = 2;

export interface ConnectorsArgs {
  connectors: number;
  customers: number;
  subscriptionsPerCustomer: number;
  seed: number;
  workerConcurrency: number;
  /** Connectors whose Ion account is throttled, and as many others whose Dataverse calls are. */
  throttleConnectors: number;
  latency?: LatencyModel;
}

export interface Spread {
  p50: number;
  p95: number;
  max: number;
}

export interface ConnectorFigures {
  index: number;
  connectionId: string;
  throttled: "ion" | "dataverse" | null;
  status: string;
  startDelayMs: number;
  runMs: number;
  dataverseRequests: number;
  dataverse429: number;
  /** Waits before sending because this connector's own lane had been answered 429. */
  dataversePauses: number;
  ionRequests: number;
  ion429: number;
  ionPauses: number;
}

export interface ConnectorsResults {
  scenario: {
    connectors: number;
    customersPerConnector: number;
    subscriptionsPerCustomer: number;
    seed: number;
    workerConcurrency: number;
    throttledByIon: number[];
    throttledByDataverse: number[];
    retryAfterSeconds: number;
    latency: LatencyModel | null;
  };
  setup: { connectedBeforeRun: number; setupMs: number };
  totals: {
    /** Timer fired → every queued run finished and the app idle. */
    wallMs: number;
    /** The scheduledSync invocation itself (queueing every due connector). */
    timerMs: number;
    queued: number;
    queueFailed: number;
    succeeded: number;
    notSucceeded: number;
    dataverseRequests: number;
    dataverseRequestsByConnectors: number;
    dataverseRequestsOther: number;
    ionRequests: number;
    dataverse429: number;
    ion429: number;
    ionRefusedForConcurrency: number;
    identityPeakInFlight: number;
    identityCapacity: number;
  };
  startDelayMs: Spread;
  runMs: Spread;
  runMsUnthrottled: Spread;
  runMsThrottled: Spread;
  isolation: {
    /** Connectors that waited out a Retry-After without having received a 429 themselves (must be 0). */
    connectorsPausedByOthers: number;
    /** Waits of the webhooks' lane (the timer's reads and the webhooks during the run; must be 0). */
    webhookLanePauses: number;
    /** Throttled connectors that paused themselves (at least one per throttled connector). */
    throttledConnectorsThatPaused: number;
  };
  perConnector: ConnectorFigures[];
  machine: { cpus: number; node: string; loadAverage: number[] };
  measuredAt: string;
}

/** Nearest-rank percentile of `values` (p in 0..100); 0 for none. Pure. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function spread(values: readonly number[]): Spread {
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: values.length ? Math.max(...values) : 0 };
}

/** Which connectors are throttled: `k` spread evenly for Ion, and the next index of each for Dataverse. Pure. */
export function throttledIndexes(connectors: number, k: number): { ion: number[]; dataverse: number[] } {
  if (k <= 0 || connectors < 3) return { ion: [], dataverse: [] };
  const n = Math.min(k, Math.floor(connectors / 3));
  const step = Math.floor(connectors / n);
  const ion = Array.from({ length: n }, (_, j) => j * step);
  return { ion, dataverse: ion.map((i) => i + 1) };
}

interface Tracked {
  runStart?: number;
  runEnd?: number;
  status?: string;
  dvRequests: number;
  dv429: number;
  dvPauses: number;
  ionPauses: number;
}

async function settle(emulator: DataverseEmulator, host: FunctionsHost): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await emulator.whenIdle();
    await host.whenIdle();
  }
}

export async function runConnectors(args: ConnectorsArgs, log: (s: string) => void): Promise<ConnectorsResults> {
  const setupStarted = Date.now();
  const closers: (() => Promise<void>)[] = [];
  try {
    const emulator = await startDataverseEmulator({
      serviceProtection: { enabled: true },
      ...(args.latency ? { latency: args.latency.dataverse } : {}),
      logger: silentLogger,
    });
    closers.push(() => emulator.close());
    const throttled = throttledIndexes(args.connectors, args.throttleConnectors);
    const ids: string[] = [];
    const tracked = new Map<string, Tracked>();
    const track = (connectionId: string): Tracked => {
      const key = connectionId.toLowerCase();
      let t = tracked.get(key);
      if (!t) tracked.set(key, (t = { dvRequests: 0, dv429: 0, dvPauses: 0, ionPauses: 0 }));
      return t;
    };
    let webhookLanePauses = 0;
    let measuring = false;
    const webhookKey = randomBytes(24).toString("base64url");
    registerSecret(webhookKey);
    const host = await startFunctionsHost({
      dataverseUrl: emulator.url,
      dataverseToken: emulator.integrationToken,
      webhookKey,
      logger: silentLogger,
      workerConcurrency: args.workerConcurrency,
      runtime: {
        laneHooks: ({ name, connectionId }) => {
          if (connectionId) {
            const t = track(connectionId);
            return {
              onRequest: (info) => {
                t.dvRequests++;
                if (info.throttled) t.dv429++;
              },
              onThrottleWait: () => void t.dvPauses++,
            };
          }
          return name === WEBHOOK_LANE ? { onThrottleWait: () => void (measuring && webhookLanePauses++) } : {};
        },
        sync: { ionHttpHooks: { onThrottleWait: ({ connectionId }) => void track(connectionId).ionPauses++ } },
        engine: (deps) => {
          const engine = bindEngine(deps);
          return {
            ...engine,
            // The queue worker runs a queued sync as work items: the run starts with its first item and ends with
            // the item that does not hand off (small runs are one item).
            runSyncWorkItem: async (item, delivery, budget, o) => {
              const t = track(item.connectionId);
              const index = ids.indexOf(item.connectionId.toLowerCase());
              if (measuring && !item.step && throttled.dataverse.includes(index)) {
                // The user's limit is reached at this connector's first request (its opening $batch names its row).
                const id = item.connectionId.toLowerCase();
                emulator.throttleRequests({
                  match: (r) => r.method === "POST" && r.url.includes("$batch") && r.body.toLowerCase().includes(id),
                  times: 1,
                  retryAfterSeconds: THROTTLE_RETRY_AFTER_S,
                });
              }
              if (!item.step) t.runStart = Date.now();
              try {
                const outcome = await engine.runSyncWorkItem(item, delivery, budget, o);
                if (outcome.outcome === "ran" && !outcome.next) {
                  t.status = outcome.summary.status;
                  t.runEnd = Date.now();
                }
                return outcome;
              } catch (error) {
                t.status = "threw";
                t.runEnd = Date.now();
                throw error;
              }
            },
          };
        },
      },
    });
    closers.push(() => host.close());
    const model = await loadSolutionModel();
    await deploySolution({
      environmentUrl: emulator.url,
      auth: { kind: "static", token: emulator.integrationToken },
      zip: await writeSolutionZip(model, { managed: false }),
      settings: { functionsBaseUrl: host.url, webhookKey },
    });
    // Every connector is due at once (the solution's default schedule is 02:00 daily).
    emulator.setEnvironmentVariable("w365_DefaultSyncSchedule", "* * * * * *");

    const sims: IonSimulator[] = [];
    for (let i = 0; i < args.connectors; i++) {
      const sim = await startIonSimulator({
        seed: args.seed + i,
        customers: args.customers,
        subscriptionsPerCustomer: args.subscriptionsPerCustomer,
        accountId: String(2_000_000 + i),
        orderProcessing: { mode: "auto" },
        ...(args.latency ? { latency: args.latency.ion } : {}),
        logger: silentLogger,
      });
      closers.push(() => sim.close());
      registerSecret(sim.credentials.refreshToken);
      registerSecret(sim.credentials.apiSecret);
      sims.push(sim);
    }
    log(`  ${args.connectors} Ion simulators up; creating the connectors (each verified by its Create webhook)`);
    const admin = new DataverseClient({
      url: emulator.url,
      auth: { kind: "static", token: emulator.issueToken({ name: "Connector Admin", fieldSecurity: true }) },
    });
    const created = await mapPool(sims, 8, (sim, i) =>
      admin.create("w365_providerconnections", {
        w365_name: `Ion account ${i + 1}`,
        w365_ionaccountid: sim.accountId,
        w365_ionbaseurl: sim.url,
        w365_refreshtoken: sim.credentials.refreshToken,
        w365_apikey: sim.credentials.apiKey,
        w365_apisecret: sim.credentials.apiSecret,
        w365_country: "US",
        w365_currencycode: "USD",
      }),
    );
    ids.push(...created.map((id) => id.toLowerCase()));
    await settle(emulator, host);
    const reader = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.integrationToken } });
    const rows = await reader.queryAll<{ w365_status?: number }>("w365_providerconnections", { select: ["w365_status"] });
    const connectedBeforeRun = rows.filter((r) => r.w365_status === ConnectionStatus.Connected).length;
    const setupMs = Date.now() - setupStarted;
    log(`  setup ${setupMs} ms: ${connectedBeforeRun} of ${args.connectors} connectors Connected`);

    for (const i of throttled.ion)
      sims[i]!.control.setFaults({
        rules: [
          {
            kind: "status",
            status: 429,
            retryAfterSeconds: THROTTLE_RETRY_AFTER_S,
            method: "GET",
            path: "^/api/v3/accounts/[^/]+/customers$",
            requests: [1],
          },
        ],
      });
    emulator.resetStats();
    sims.forEach((s) => s.control.resetCounters());
    for (const t of tracked.values()) Object.assign(t, { dvRequests: 0, dv429: 0, dvPauses: 0, ionPauses: 0 });

    measuring = true;
    const t0 = Date.now();
    const report = (await host.runTimer("scheduledSync")) as { queued: unknown[]; failed: unknown[] };
    const timerMs = Date.now() - t0;
    log(`  timer queued ${report.queued.length}, failed ${report.failed.length} in ${timerMs} ms; waiting for the runs`);
    await settle(emulator, host);
    const wallMs = Date.now() - t0;
    measuring = false;

    const emu = emulator.stats();
    const perConnector: ConnectorFigures[] = ids.map((id, index) => {
      const t = track(id);
      const sim = sims[index]!;
      const ionLog = sim.control.requestLog();
      return {
        index,
        connectionId: id,
        throttled: throttled.ion.includes(index) ? "ion" : throttled.dataverse.includes(index) ? "dataverse" : null,
        status: t.status ?? "not run",
        startDelayMs: t.runStart !== undefined ? t.runStart - t0 : -1,
        runMs: t.runStart !== undefined && t.runEnd !== undefined ? t.runEnd - t.runStart : -1,
        dataverseRequests: t.dvRequests,
        dataverse429: t.dv429,
        dataversePauses: t.dvPauses,
        ionRequests: ionLog.length,
        ion429: ionLog.filter((e) => e.status === 429).length,
        ionPauses: t.ionPauses,
      };
    });
    const ran = perConnector.filter((c) => c.startDelayMs >= 0);
    const ionLedgers = sims.map((s) => s.control.latencyLedger());
    const identity = host.runtime.dataverse.identityLoad;
    const byConnectors = perConnector.reduce((a, c) => a + c.dataverseRequests, 0);
    return {
      scenario: {
        connectors: args.connectors,
        customersPerConnector: args.customers,
        subscriptionsPerCustomer: args.subscriptionsPerCustomer,
        seed: args.seed,
        workerConcurrency: args.workerConcurrency,
        throttledByIon: throttled.ion,
        throttledByDataverse: throttled.dataverse,
        retryAfterSeconds: THROTTLE_RETRY_AFTER_S,
        latency: args.latency ?? null,
      },
      setup: { connectedBeforeRun, setupMs },
      totals: {
        wallMs,
        timerMs,
        queued: report.queued.length,
        queueFailed: report.failed.length,
        succeeded: perConnector.filter((c) => c.status === "succeeded").length,
        notSucceeded: perConnector.filter((c) => c.status !== "succeeded").length,
        dataverseRequests: emu.requests,
        dataverseRequestsByConnectors: byConnectors,
        dataverseRequestsOther: emu.requests - byConnectors,
        ionRequests: perConnector.reduce((a, c) => a + c.ionRequests, 0),
        dataverse429: emu.throttled,
        ion429: perConnector.reduce((a, c) => a + c.ion429, 0),
        ionRefusedForConcurrency: ionLedgers.reduce((a, l) => a + (l?.refused ?? 0), 0),
        identityPeakInFlight: identity.peakInFlight,
        identityCapacity: identity.capacity,
      },
      startDelayMs: spread(ran.map((c) => c.startDelayMs)),
      runMs: spread(ran.map((c) => c.runMs)),
      runMsUnthrottled: spread(ran.filter((c) => !c.throttled).map((c) => c.runMs)),
      runMsThrottled: spread(ran.filter((c) => c.throttled).map((c) => c.runMs)),
      isolation: {
        connectorsPausedByOthers: perConnector.filter(
          (c) => (c.dataversePauses > 0 && c.dataverse429 === 0) || (c.ionPauses > 0 && c.ion429 === 0),
        ).length,
        webhookLanePauses,
        throttledConnectorsThatPaused: perConnector.filter(
          (c) => (c.throttled === "ion" && c.ion429 > 0) || (c.throttled === "dataverse" && c.dataverse429 > 0),
        ).length,
      },
      perConnector,
      machine: { cpus: os.cpus().length, node: process.version, loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10) },
      measuredAt: new Date().toISOString(),
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

const ms = (n: number) => `${(n / 1000).toFixed(1)} s`;

export function renderConnectorsMarkdown(r: ConnectorsResults): string {
  const s = r.scenario;
  const t = r.totals;
  const line = (name: string, x: Spread) => `| ${name} | ${ms(x.p50)} | ${ms(x.p95)} | ${ms(x.max)} |`;
  return [
    `# Many connectors: ${s.connectors} connectors x ${s.customersPerConnector} customers x ${s.subscriptionsPerCustomer} subscriptions`,
    "",
    `All due at once on one \`scheduledSync\` tick; ${s.workerConcurrency} queued runs at a time (one Functions instance);` +
      ` latency model ${s.latency ? `**${s.latency.name}**` : "off"}; Dataverse service protection on.` +
      ` Throttled on purpose (Retry-After ${s.retryAfterSeconds} s): Ion for connectors ${JSON.stringify(s.throttledByIon)},` +
      ` Dataverse for connectors ${JSON.stringify(s.throttledByDataverse)}.`,
    "",
    "| figure | p50 | p95 | max |",
    "| --- | ---: | ---: | ---: |",
    line("start delay (timer fired → the connector's run starts)", r.startDelayMs),
    line("run time (all connectors)", r.runMs),
    line("run time (not throttled)", r.runMsUnthrottled),
    line("run time (throttled ones)", r.runMsThrottled),
    "",
    "| total | value |",
    "| --- | ---: |",
    `| wall time (timer fired → every run finished) | ${ms(t.wallMs)} |`,
    `| the timer pass itself (queueing ${t.queued}, failed ${t.queueFailed}) | ${ms(t.timerMs)} |`,
    `| runs succeeded / not | ${t.succeeded} / ${t.notSucceeded} |`,
    `| Dataverse requests (emulator count) / by the connectors' lanes / others (timer, webhooks) | ${t.dataverseRequests} / ${t.dataverseRequestsByConnectors} / ${t.dataverseRequestsOther} |`,
    `| Ion requests (all simulators) | ${t.ionRequests} |`,
    `| 429s: Dataverse / Ion (of which refused for concurrency) | ${t.dataverse429} / ${t.ion429} (${t.ionRefusedForConcurrency}) |`,
    `| Dataverse requests in flight at once over the app identity: peak / shared capacity | ${t.identityPeakInFlight} / ${t.identityCapacity} |`,
    `| connectors that waited out a Retry-After they were not given | **${r.isolation.connectorsPausedByOthers}** |`,
    `| Retry-After waits of the webhooks' lane | **${r.isolation.webhookLanePauses}** |`,
    `| throttled connectors that received their 429 | ${r.isolation.throttledConnectorsThatPaused} of ${s.throttledByIon.length + s.throttledByDataverse.length} |`,
    "",
    "How each figure is measured: start delay = the time the worker calls `runSyncWorkItem` for the connector's first item (an engine" +
      " wrapper in the bench) minus the time the bench fired the timer; run time = first item's start to last item's end; wall" +
      " time = timer fired until the emulator and the Functions host are idle; Dataverse requests = the emulator's" +
      " own count (every user), per connector = its lane's `onRequest`; Ion requests and 429s = each simulator's" +
      ' request log; "waited out a Retry-After it was not given" = a connector whose lane or Ion transport reported' +
      " a wait before sending (`onThrottleWait`) without having received a 429 itself.",
    "",
    `Measured ${r.measuredAt} on ${r.machine.cpus} CPUs (load average ${r.machine.loadAverage.join(", ")}), Node ${r.machine.node};` +
      ` setup (not timed above) ${ms(r.setup.setupMs)}, ${r.setup.connectedBeforeRun} connectors Connected before the run.`,
    "",
  ].join("\n");
}
