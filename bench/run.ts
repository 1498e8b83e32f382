/**
 * `npm run bench`: the sync at reseller scale against the sandbox, with Dataverse's service
 * protection limits on. Three runs (first, noChange, onePercent), each in a child process (child.ts),
 * each compared with its floor (floor.ts) and with a bare loader writing the same rows (loader.ts).
 * Writes bench/results/latest.json (a contract: its keys are listed in bench/README.md) and latest.md. See bench/README.md.
 */
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { type Sandbox, startSandbox } from "../sandbox";
import { generateCrmAccounts, type IonSimulator } from "../sandbox/ion";
import type { LatencyModel } from "../sandbox/latency";
import { DataverseClient } from "../src/dataverse";
import { ensureError, ValidationError } from "../src/shared/errors";
import { silentLogger } from "../src/shared/logger";
import { redact, registerSecret } from "../src/shared/redact";
import { ConnectionStatus, MappingStatus, SETS } from "../src/sync";
import { PROFILE_CONCURRENCY } from "../src/sync/accounts";
import { WRITE_CONCURRENCY } from "../src/sync/writer";
import { type BenchArgs, parseBenchArgs, USAGE } from "./args";
import { boundInput, lowerBound } from "./bound";
import type { ChildRequest, ChildResult } from "./child";
import { renderConnectorsMarkdown, runConnectors } from "./connectors";
import { computeFloor, requiredReads } from "./floor";
import { type RemoteIon, startIonWorker } from "./ionWorker";
import { ION_ID_COLUMN, readRecordedOps, runLoader, toLoaderOperation } from "./loader";
import { runReader } from "./reader";
import { type BenchResults, contractProblems, evaluateTargets, renderMarkdown, RUN_NAMES, type RunName, type RunResult } from "./result";
import { renderThrottledMarkdown, throttledChecks, type ThrottledResults, type ThrottledRun, throttledTotals } from "./throttled";

const DATA_TABLES = [SETS.providerAccount, SETS.providerSubscription] as const;
type DataTable = (typeof DATA_TABLES)[number];
/** Columns that change on every write whatever the content (not content). */
const SYSTEM_COLUMNS = new Set([
  "modifiedon",
  "versionnumber",
  "_modifiedby_value",
  "_modifiedonbehalfby_value",
  "createdon",
  "_createdby_value",
  "_createdonbehalfby_value",
  "overriddencreatedon",
  // The sync's index of the subscriptions it wrote (src/sync/digest.ts): its writes are counted apart (digestWrites).
  "w365_subscriptionsdigest",
]);
const CLOUD_PROFILES = "GET /api/v3/accounts/{A}/customers/{C}/cloudProfiles";

/** One stored row, reduced to what the bench compares: its Ion id, mapping status and a content hash. */
interface SnapshotRow {
  ionId: string;
  hash: string;
  mappingStatus?: number;
}
type Snapshot = Record<DataTable, Map<string, SnapshotRow>>;

/** Pure: a hash of a row's content, system columns and annotations left out. */
export function contentOf(row: Record<string, unknown>): string {
  const keys = Object.keys(row)
    .filter((k) => !k.includes("@") && !SYSTEM_COLUMNS.has(k))
    .sort();
  return createHash("sha1")
    .update(JSON.stringify(keys.map((k) => [k, row[k]])))
    .digest("base64");
}

/** Pure: rows new or different in `after` compared with `before`. */
export function changedRows(before: Map<string, SnapshotRow>, after: Map<string, SnapshotRow>): number {
  let n = 0;
  for (const [id, row] of after) if (before.get(id)?.hash !== row.hash) n++;
  return n;
}

async function snapshot(dv: DataverseClient, connectionId: string): Promise<Snapshot> {
  const out = { [SETS.providerAccount]: new Map(), [SETS.providerSubscription]: new Map() } as Snapshot;
  for (const table of DATA_TABLES) {
    const idColumn = table === SETS.providerAccount ? "w365_provideraccountid" : "w365_providersubscriptionid";
    for await (const page of dv.queryPages<Record<string, unknown>>(table, {
      filter: `_w365_connection_value eq ${connectionId}`,
      pageSize: 5000,
    })) {
      for (const row of page) {
        out[table].set(String(row[idColumn]), {
          ionId: String(row[ION_ID_COLUMN[table]!]),
          hash: contentOf(row),
          mappingStatus: typeof row.w365_mappingstatus === "number" ? row.w365_mappingstatus : undefined,
        });
      }
    }
  }
  return out;
}

/**
 * The reseller's existing accounts: the sandbox's CRM data (tenant, domain, typo, suffix, ambiguous and
 * e-mail matches, unrelated accounts) plus, for every customer that data leaves without a sure match,
 * one account with the customer's exact name, tenant and domain. So nearly every customer auto-maps and
 * its subscriptions really sync; the few left (ambiguous names) stay Suggested, as in production.
 */
export function benchAccounts(seed: number, customers: ReturnType<IonSimulator["control"]["customers"]>): Record<string, unknown>[] {
  const crm = generateCrmAccounts(seed, customers.length, { withTruth: true }) as unknown as (Record<string, unknown> & {
    truth?: { kind: string; ionCustomerId?: string };
  })[];
  const sure = new Set(["tenant", "domain", "name-typo", "name-suffix"]);
  const covered = new Set(crm.filter((a) => a.truth && sure.has(a.truth.kind)).map((a) => String(a.truth!.ionCustomerId)));
  const rows = crm.map(({ truth: _truth, ...rest }) => rest);
  for (const c of customers) {
    if (covered.has(String(c.id))) continue;
    const tenant = c.cloudProfiles[0]?.customerTenantId;
    rows.push({
      name: c.customerOrganization,
      ...(tenant ? { w365_microsofttenantid: tenant } : {}),
      ...(c.customerDomain ? { w365_primarydomain: c.customerDomain, websiteurl: `https://www.${c.customerDomain}` } : {}),
      address1_postalcode: c.customerAddress.zip,
      address1_country: c.customerAddress.country,
    });
  }
  return rows;
}

/**
 * Node options of the sync process: `--sync-heap-mb`, plus BENCH_CHILD_NODE_ARGS for diagnosis
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the sync process).
 */
export function childExecArgv(syncHeapMb: number | undefined, extra = process.env.BENCH_CHILD_NODE_ARGS ?? ""): string[] {
  return [...(syncHeapMb ? [`--max-old-space-size=${syncHeapMb}`] : []), ...extra.split(/\s+/).filter(Boolean)];
}

function runChildProcess(request: ChildRequest, execArgv: string[]): Promise<{ result: ChildResult; processMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = fork(path.join(__dirname, "child.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
    let result: ChildResult | undefined;
    child.on("message", (m) => (result = m as ChildResult));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result) resolve({ result, processMs: Math.round(performance.now() - started) });
      else reject(new Error(`the sync process exited with code ${code} without a result`));
    });
    child.send(request);
  });
}

function sumValues(m: Record<string, number>, keys: readonly string[]): number {
  return keys.reduce((a, k) => a + (m[k] ?? 0), 0);
}

/** The measured run's outcome: "failed" when the sync process threw, else the first run status that is not "succeeded". */
function runStatus(child: ChildResult): string {
  return child.error ? "failed" : (child.runs.map((r) => r.status).find((s) => s !== "succeeded") ?? "succeeded");
}

/** Ion ids of the provider accounts a snapshot shows Mapped. */
function mappedIonIds(snap: Snapshot): Set<string> {
  return new Set([...snap.w365_provideraccounts.values()].filter((r) => r.mappingStatus === MappingStatus.Mapped).map((r) => r.ionId));
}

function machineInfo(): BenchResults["machine"] {
  return {
    cpus: os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    totalMemGb: Math.round(os.totalmem() / 2 ** 30),
  };
}

interface World {
  sandbox: Sandbox;
  emulator: Sandbox["emulator"];
  /** The Ion simulator, on its own thread (ionWorker.ts). */
  ion: RemoteIon;
  /** Bench's own client (another Dataverse user: its reads do not use the sync user's request budget). */
  inspect: DataverseClient;
  /** The sync user's client for the loader (same user, same limits as the sync). */
  loaderClient: DataverseClient;
  connectionId: string;
  loaderConnectionId: string;
  accounts: number;
  tmp: string;
  /** Node options of the sync process. */
  execArgv: string[];
  /** --work-items: each item's budget. */
  itemBudgetMs?: number;
  /** Bearer token for the bare reader's Ion reads ("Request New Credentials" in the portal). */
  ionAccessToken: string;
  /** The stand-ins' latency model, when on. */
  latency?: LatencyModel;
}

async function setUp(args: BenchArgs, log: (s: string) => void): Promise<{ world: World; setup: Record<string, unknown> }> {
  const t0 = performance.now();
  // The product as deployed: emulator (solution imported through the deploy path, webhook steps included)
  // and the local functions host the webhooks call, in this process; the Ion simulator on its own thread
  // (a remote service: its answers must not wait for the emulator's work, see ionWorker.ts).
  const sandbox = await startSandbox({
    customers: args.customers,
    subscriptionsPerCustomer: args.subscriptionsPerCustomer,
    seed: args.seed,
    serviceProtection: args.throttled ? args.throttleLimits : args.serviceProtection,
    ...(args.latency ? { latency: args.latency } : {}),
    seedAccounts: false,
    admin: false,
    orderProcessing: "manual",
    ion: false,
    logger: silentLogger,
  });
  const emulator = sandbox.emulator;
  const ion = await startIonWorker({
    seed: args.seed,
    customers: args.customers,
    subscriptionsPerCustomer: args.subscriptionsPerCustomer,
    orderProcessing: { mode: "manual" },
    ...(args.latency ? { latency: args.latency.ion } : {}),
  }).catch(async (error: unknown) => {
    await sandbox.close();
    throw error;
  });
  registerSecret(ion.credentials.refreshToken);
  registerSecret(ion.credentials.apiSecret);
  const inspectToken = emulator.issueToken({ name: "Bench inspector", fieldSecurity: true, applicationUser: true });
  const inspect = new DataverseClient({
    url: emulator.url,
    auth: { kind: "static", token: inspectToken },
    logger: silentLogger,
    maxConcurrency: 4,
  });
  const loaderClient = new DataverseClient({
    url: emulator.url,
    auth: { kind: "static", token: emulator.integrationToken },
    logger: silentLogger,
  });
  const accounts = benchAccounts(args.seed, await ion.control.customers());
  const seeded = await inspect.batch(
    accounts.map((body) => ({ method: "POST" as const, entitySet: SETS.account, body })),
    { batchSize: 1000, concurrency: 2 },
  );
  const bad = seeded.find((r) => !r.ok);
  if (bad && !bad.ok) throw new Error(`seeding accounts failed: ${bad.error.message}`);
  // The Ion Account ID is the connector's alternate key (unique): the loader's connector, never synced, gets its own.
  const connection = (name: string, withCredentials: boolean) => ({
    w365_name: name,
    w365_ionaccountid: withCredentials ? ion.accountId : `${ion.accountId}-loader`,
    w365_ionbaseurl: ion.url,
    ...(withCredentials
      ? { w365_refreshtoken: ion.credentials.refreshToken, w365_apikey: ion.credentials.apiKey, w365_apisecret: ion.credentials.apiSecret }
      : {}),
    w365_country: "US",
    w365_currencycode: "USD",
    w365_status: ConnectionStatus.NotVerified,
  });
  // A create resent after an answer lost under load (a 429 or a dropped connection) finds its own row by the
  // connector's alternate key (Ion Account ID) and answers 412: that row is the one created.
  const createConnector = async (body: ReturnType<typeof connection>): Promise<string> => {
    try {
      return await inspect.create(SETS.connection, body);
    } catch (error) {
      const found = await inspect.queryFirst<{ w365_providerconnectionid: string }>(SETS.connection, {
        select: ["w365_providerconnectionid"],
        filter: `w365_ionaccountid eq '${body.w365_ionaccountid}' and w365_name eq '${body.w365_name.replace(/'/g, "''")}'`,
      });
      if (!found) throw error;
      log(`setup: the connector '${body.w365_name}' was created by an earlier attempt of the same request`);
      return found.w365_providerconnectionid;
    }
  };
  const connectionId = await createConnector(connection("StreamOne Ion (bench)", true));
  const loaderConnectionId = await createConnector(connection("Bare loader (bench, never synced)", false));
  // Creating a connector starts Verify Connectivity through its webhook (as for an admin): let it finish.
  await sandbox.whenIdle();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "streamone-bench-"));
  const setupMs = Math.round(performance.now() - t0);
  const ionSubscriptions = (await ion.control.subscriptions()).length;
  log(`setup: ${args.customers} customers, ${ionSubscriptions} subscriptions, ${accounts.length} existing accounts (${setupMs} ms)`);
  return {
    world: {
      sandbox,
      emulator,
      ion,
      inspect,
      loaderClient,
      connectionId,
      loaderConnectionId,
      accounts: accounts.length,
      tmp,
      execArgv: childExecArgv(args.syncHeapMb),
      ...(args.itemBudgetMs ? { itemBudgetMs: args.itemBudgetMs } : {}),
      ionAccessToken: (await ion.control.issuePortalCredentials()).accessToken,
      ...(args.latency ? { latency: args.latency } : {}),
    },
    setup: {
      ionCustomers: args.customers,
      ionSubscriptions,
      existingAccounts: accounts.length,
      accountSeeding: "sandbox CRM accounts + one exact account per customer they leave without a sure match",
      setupMs,
      serviceProtectionLimits: args.throttled
        ? args.throttleLimits
        : args.serviceProtection
          ? { requestsPer5Min: 6000, executionMsPer5Min: 1_200_000, concurrent: 52 }
          : "off",
    },
  };
}

/** Undoes setUp: the recorded rows' folder, the Ion worker, the sandbox. */
async function tearDown(world: World): Promise<void> {
  rmSync(world.tmp, { recursive: true, force: true });
  await world.ion.close();
  await world.sandbox.close();
}

/** Whether the customer edit below changes an input of matching (it changes the contact name, which matching does not read). */
const CUSTOMER_CHANGE_TOUCHES_MATCHING = false;

/**
 * Portal-side edits in Ion before the third run: `fraction` of the customers (contact name) and of the
 * subscriptions (quantity + 1), spread evenly over the data set. Deterministic.
 */
export function pickEvenly<T>(items: readonly T[], fraction: number): T[] {
  const n = Math.max(1, Math.round(items.length * fraction));
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step + step / 2)]!).filter((x) => x !== undefined);
}

async function measureRun(
  world: World,
  name: RunName,
  before: Snapshot,
  extra: { expectedChangedRows?: number; expectedChangedCustomers?: number; changedCustomerIds?: Set<string> },
  log: (s: string) => void,
): Promise<{ result: RunResult; after: Snapshot }> {
  const { emulator, ion } = world;
  emulator.resetStats();
  await ion.control.resetCounters();
  const opsFile = path.join(world.tmp, `${name}.ops.jsonl`);
  writeFileSync(opsFile, "");
  const standInsCpuAtStart = process.cpuUsage();
  const { result: child, processMs } = await runChildProcess(
    {
      dataverseUrl: emulator.url,
      dataverseToken: emulator.integrationToken,
      connectionId: world.connectionId,
      kinds: ["all"],
      opsFile,
      ...(world.itemBudgetMs ? { itemBudgetMs: world.itemBudgetMs } : {}),
    },
    world.execArgv,
  );
  const standInsCpu = process.cpuUsage(standInsCpuAtStart);
  // Webhook steps the run's writes fired (the functions app handles them, as in production).
  const drainStart = performance.now();
  await world.sandbox.whenIdle();
  const webhookDrainMs = Math.round(performance.now() - drainStart);
  const emu = emulator.stats();
  const ionCounters = await ion.control.counters();
  const dvLedger = emulator.latencyLedger();
  const ionLedger = await ion.control.latencyLedger();
  if (child.error) log(`  ${name}: the sync failed: ${redact(child.error)}`);
  const after = await snapshot(world.inspect, world.connectionId);

  const rowsChangedByTable: Record<string, number> = {};
  for (const t of DATA_TABLES) rowsChangedByTable[t] = changedRows(before[t], after[t]);
  const rowsChanged = sumValues(rowsChangedByTable, DATA_TABLES);
  const dataverseWritesByTable = child.dataverse.writesBySet;
  const dataverseWrites = sumValues(dataverseWritesByTable, DATA_TABLES);
  const bookkeepingWrites = Object.entries(dataverseWritesByTable)
    .filter(([k]) => !(DATA_TABLES as readonly string[]).includes(k))
    .reduce((a, [, v]) => a + v, 0);

  // Matching is needed for new customers, and for changed customers not yet Mapped or Ignored whose change touches
  // what matching reads (src/sync/accounts.ts `matchInputsChanged`). The bench's customer change (a contact name,
  // `changeOnePercent`) touches none of it: no sync needs the accounts for it.
  const unsettled = [...before.w365_provideraccounts.values()]
    .filter((r) => r.mappingStatus !== MappingStatus.Mapped && r.mappingStatus !== MappingStatus.Ignored)
    .map((r) => r.ionId);
  const matchingNeeded =
    before.w365_provideraccounts.size < (await ion.control.customers()).length ||
    (CUSTOMER_CHANGE_TOUCHES_MATCHING && unsettled.some((id) => extra.changedCustomerIds?.has(id)));
  const reads = requiredReads({
    providerAccounts: before.w365_provideraccounts.size,
    providerSubscriptions: before.w365_providersubscriptions.size,
    accounts: world.accounts,
    matchingNeeded,
  });
  const floor = computeFloor({ reads, changedRows: rowsChanged });

  // The bare loader: the same rows, in $batch of 1000, same concurrency as the sync's writer, under the loader's connector.
  const ionIds = new Map<string, string>();
  for (const t of DATA_TABLES) for (const [id, row] of after[t]) ionIds.set(`${t}|${id}`, row.ionId);
  const ops = (await readRecordedOps(opsFile)).map((op) =>
    toLoaderOperation(op, world.loaderConnectionId, (set, id) => ionIds.get(`${set}|${id}`)),
  );
  // Under the latency model the lower bound is the comparison; the loader and the reader would only add minutes.
  const skipBaselines = world.latency !== undefined;
  const loader = skipBaselines
    ? { ms: 0, rows: 0, requests: 0, failed: 0, firstError: undefined }
    : await runLoader(world.loaderClient, ops, WRITE_CONCURRENCY);
  if (loader.failed) log(`  ${name}: the loader had ${loader.failed} failed rows: ${loader.firstError ?? ""}`);
  const reader = skipBaselines
    ? { ms: 0, dataverseRows: 0, ionRequests: 0 }
    : await runReader({
        dv: world.loaderClient,
        connectionId: world.connectionId,
        reads,
        ion: { url: ion.url, accountId: ion.accountId, accessToken: world.ionAccessToken },
        cloudProfiles: ionCounters[CLOUD_PROFILES] ?? 0,
        pageLimit: 1000,
        profileConcurrency: PROFILE_CONCURRENCY,
      });

  const syncCounts: Record<string, number> = {};
  const phasesMs: Record<string, number> = {};
  for (const r of child.runs) {
    for (const [k, v] of Object.entries(r.counts)) syncCounts[k] = (syncCounts[k] ?? 0) + v;
    const durations = (r.phases as { durationsMs?: Record<string, number> } | undefined)?.durationsMs;
    for (const [k, v] of Object.entries(durations ?? {})) phasesMs[k] = (phasesMs[k] ?? 0) + v;
  }
  const ionRequests = Object.values(ionCounters).reduce((a, b) => a + b, 0);
  const status = runStatus(child);
  const result: RunResult = {
    wallMs: child.wallMs,
    syncCpuMs: child.cpuMs,
    standInsCpuMs: Math.round((standInsCpu.user + standInsCpu.system) / 1000),
    syncEventLoop: child.eventLoop,
    ionRequests,
    dataverseRequests: child.dataverse.requests,
    dataverseBatchItems: child.dataverse.batchItems,
    dataverseWrites,
    rowsChanged,
    floorRequests: floor.requests,
    loaderMs: loader.ms,
    peakRssMb: child.peakRssMb,
    memory: child.memory,
    ...(child.runs[0]?.workItems ? { workItems: child.runs[0].workItems } : {}),
    throttled: child.dataverse.throttled + child.ion.throttled,
    status,
    recordingMs: child.recordingMs,
    ionRequestsByEndpoint: ionCounters,
    ...(child.inFlight ? { inFlight: child.inFlight } : {}),
    cloudProfileReads: ionCounters[CLOUD_PROFILES] ?? 0,
    dataverseRequestsByOperation: child.dataverse.byOperation,
    dataverseBatchRequests: child.dataverse.batchRequests,
    bookkeepingWrites,
    digestWrites: child.dataverse.digestWrites,
    dataverseWritesByTable,
    rowsChangedByTable,
    ...(extra.expectedChangedRows !== undefined ? { expectedChangedRows: extra.expectedChangedRows } : {}),
    ...(extra.expectedChangedCustomers !== undefined ? { expectedChangedCustomers: extra.expectedChangedCustomers } : {}),
    floor,
    requestsPerFloor: Math.round((child.dataverse.requests / floor.requests) * 1000) / 1000,
    loader: { rows: loader.rows, requests: loader.requests, failed: loader.failed },
    syncPerLoader: loader.ms > 0 ? Math.round((child.wallMs / loader.ms) * 1000) / 1000 : null,
    readerMs: reader.ms,
    reader: { dataverseRows: reader.dataverseRows, ionRequests: reader.ionRequests },
    syncPerLoaderAndReader: Math.round((child.wallMs / Math.max(1, loader.ms + reader.ms)) * 1000) / 1000,
    syncCounts,
    phasesMs,
    syncPhases: child.runs[0]?.phases,
    emulator: { requests: emu.requests, batchItems: emu.batchItems, throttled: emu.throttled, writes: emu.writes },
    webhooks: {
      sent: emu.webhooksSent,
      failed: emu.webhooksFailed,
      otherDataverseRequests: Math.max(0, emu.requests - child.dataverse.requests),
      drainMs: webhookDrainMs,
    },
    throttledByDataverse: child.dataverse.throttled,
    throttledByIon: child.ion.throttled,
    processMs,
    ...(world.latency && dvLedger && ionLedger
      ? { latency: latencyRun(world.latency, dvLedger, ionLedger, child.wallMs, emu.throttled) }
      : {}),
  };
  if (result.latency)
    log(
      `  ${name}: lower bound ${result.latency.boundMs} ms (${result.latency.limitedBy}), wall / bound ${result.latency.ratio}; Ion refused ${result.latency.ion.refusedForConcurrency}, Dataverse 429s ${result.latency.dataverse429}`,
    );
  log(
    `  ${name}: ${result.status} in ${result.wallMs} ms (loader ${result.loaderMs} ms); Dataverse ${result.dataverseRequests} requests (floor ${result.floorRequests}), ${result.dataverseBatchItems} batch items, ${dataverseWrites} data writes, ${rowsChanged} rows changed, ${bookkeepingWrites} bookkeeping writes, ${child.dataverse.digestWrites} digest stamps; Ion ${ionRequests} requests (${result.cloudProfileReads} cloud profiles); ${result.throttled} x 429; peak RSS ${result.peakRssMb} MB`,
  );
  return { result, after };
}

/** A run's figures under the latency model: what each service was charged and the lower bound they allow. */
function latencyRun(
  model: LatencyModel,
  dv: NonNullable<ReturnType<Sandbox["emulator"]["latencyLedger"]>>,
  ion: NonNullable<ReturnType<Sandbox["emulator"]["latencyLedger"]>>,
  wallMs: number,
  dataverse429: number,
): NonNullable<RunResult["latency"]> {
  const bound = lowerBound(boundInput(model, dv, ion));
  const round = (n: number) => Math.round(n);
  const byKey = (l: typeof dv) =>
    Object.fromEntries(Object.entries(l.byKey).map(([k, v]) => [k, { requests: v.requests, busyMs: round(v.busyMs) }]));
  return {
    boundMs: bound.ms,
    ratio: Math.round((wallMs / Math.max(1, bound.ms)) * 100) / 100,
    limitedBy: bound.limitedBy,
    boundParts: bound.parts,
    dataverse: { requests: dv.requests, busyMs: round(dv.busyMs), byKey: byKey(dv) },
    ion: { requests: ion.requests, busyMs: round(ion.busyMs), refusedForConcurrency: ion.refused, byKey: byKey(ion) },
    dataverse429,
  };
}

/** Applies the 1% change in Ion; returns what the sync should then write. */
async function changeIon(
  world: World,
  fraction: number,
  mappedCustomers: Set<string>,
): Promise<{ customers: Set<string>; expectedRows: number }> {
  const { control } = world.ion;
  const customers = pickEvenly(await control.customers(), fraction);
  for (const c of customers) await control.updateCustomer(c.id, { customerName: `${c.customerName} (changed)` });
  const subscriptions = pickEvenly(await control.subscriptions(), fraction);
  for (const s of subscriptions) await control.updateSubscription(s.id, { quantity: s.quantity + 1 });
  // A changed customer rewrites its provider account; a changed subscription syncs only when its customer is mapped.
  const expectedRows = customers.length + subscriptions.filter((s) => mappedCustomers.has(String(s.customerId))).length;
  return { customers: new Set(customers.map((c) => String(c.id))), expectedRows };
}

export async function runBench(args: BenchArgs, log: (s: string) => void = (s) => process.stderr.write(s + "\n")): Promise<BenchResults> {
  const { world, setup } = await setUp(args, log);
  try {
    const runs = {} as Record<RunName, RunResult>;
    let before = await snapshot(world.inspect, world.connectionId);
    for (const name of RUN_NAMES) {
      let extra: Parameters<typeof measureRun>[3] = {};
      if (name === "onePercent") {
        const change = await changeIon(world, args.changeFraction, mappedIonIds(before));
        extra = {
          expectedChangedRows: change.expectedRows,
          expectedChangedCustomers: change.customers.size,
          changedCustomerIds: change.customers,
        };
      }
      const { result, after } = await measureRun(world, name, before, extra, log);
      runs[name] = result;
      before = after;
    }
    const mappedAfter = mappedIonIds(before).size;
    setup.mappedCustomersAfterFirstRun = mappedAfter;
    setup.unmappedCustomersAfterFirstRun = before.w365_provideraccounts.size - mappedAfter;
    setup.note =
      "Customers left Unmapped/Suggested after auto-mapping keep their subscriptions out of the sync (skipped-unmapped), as in production; no admin mapping is done between phases.";
    return {
      scenario: {
        customers: args.customers,
        subscriptionsPerCustomer: args.subscriptionsPerCustomer,
        seed: args.seed,
        serviceProtection: args.serviceProtection,
        changeFraction: args.changeFraction,
        syncNodeOptions: world.execArgv,
        ...(args.latency ? { latency: args.latency } : {}),
      },
      runs,
      setup,
      checks: evaluateTargets(runs),
      machine: machineInfo(),
      measuredAt: new Date().toISOString(),
    };
  } finally {
    await tearDown(world);
  }
}

/**
 * The throttled scenario: the three runs under lowered limits, each in its own sync process; what the sync
 * absorbed and whether it still wrote exactly the changed rows. No loader or reader: nothing is compared here.
 */
export async function runThrottled(
  args: BenchArgs,
  log: (s: string) => void = (s) => process.stderr.write(s + "\n"),
): Promise<ThrottledResults> {
  const { world, setup } = await setUp(args, log);
  try {
    const runs = {} as Record<RunName, ThrottledRun>;
    let before = await snapshot(world.inspect, world.connectionId);
    for (const name of RUN_NAMES) {
      let expectedChangedRows: number | undefined;
      if (name === "onePercent") {
        expectedChangedRows = (await changeIon(world, args.changeFraction, mappedIonIds(before))).expectedRows;
      }
      world.emulator.resetStats();
      await world.ion.control.resetCounters();
      const opsFile = path.join(world.tmp, `${name}.ops.jsonl`);
      writeFileSync(opsFile, "");
      const { result: child } = await runChildProcess(
        {
          dataverseUrl: world.emulator.url,
          dataverseToken: world.emulator.integrationToken,
          connectionId: world.connectionId,
          kinds: ["all"],
          opsFile,
        },
        world.execArgv,
      );
      await world.sandbox.whenIdle();
      const emu = world.emulator.stats();
      const after = await snapshot(world.inspect, world.connectionId);
      const rowsChanged = DATA_TABLES.reduce((a, t) => a + changedRows(before[t], after[t]), 0);
      const run: ThrottledRun = {
        status: runStatus(child),
        message: redact(child.error ?? child.runs.map((r) => r.message).join(" ")),
        wallMs: child.wallMs,
        dataverseRequests: child.dataverse.requests,
        dataverseRetries: child.dataverse.retries,
        throttledByDataverse: child.dataverse.throttled,
        throttledByIon: child.ion.throttled,
        emulatorThrottled: emu.throttled,
        dataverseWrites: sumValues(child.dataverse.writesBySet, DATA_TABLES),
        rowsChanged,
        ...(expectedChangedRows !== undefined ? { expectedChangedRows } : {}),
      };
      log(
        `  ${name}: ${run.status} in ${run.wallMs} ms; ${run.dataverseRequests} Dataverse requests, ${run.throttledByDataverse} x 429 absorbed (${run.dataverseRetries} resends); ${run.dataverseWrites} rows written, ${run.rowsChanged} changed`,
      );
      runs[name] = run;
      before = after;
    }
    return {
      scenario: {
        customers: args.customers,
        subscriptionsPerCustomer: args.subscriptionsPerCustomer,
        seed: args.seed,
        changeFraction: args.changeFraction,
        limits: args.throttleLimits,
      },
      runs,
      totals: throttledTotals(runs),
      checks: throttledChecks(runs),
      setup,
      machine: machineInfo(),
      measuredAt: new Date().toISOString(),
    };
  } finally {
    await tearDown(world);
  }
}

export function writeThrottledResults(results: ThrottledResults, outDir: string): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, "throttled.json");
  const md = path.join(outDir, "throttled.md");
  writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
  writeFileSync(md, renderThrottledMarkdown(results));
  return { json, md };
}

export function writeResults(results: BenchResults, outDir: string): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  // Runs under the latency model go beside the zero-latency figures, not over them.
  const base = results.scenario.latency ? results.scenario.latency.name : "latest";
  const json = path.join(outDir, `${base}.json`);
  const md = path.join(outDir, `${base}.md`);
  writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
  writeFileSync(md, renderMarkdown(results));
  return { json, md };
}

/** The `npm run bench` entry point; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (e) {
    process.stderr.write(`${ensureError(e).message}\n`);
    return e instanceof ValidationError ? 2 : 1;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const outDir = args.outDir ?? path.join(__dirname, "..", "..", "bench", "results");
  if (args.connectors !== undefined) {
    try {
      const results = await runConnectors(
        {
          connectors: args.connectors,
          customers: args.customers,
          subscriptionsPerCustomer: args.subscriptionsPerCustomer,
          seed: args.seed,
          workerConcurrency: args.workerConcurrency,
          throttleConnectors: args.throttleConnectors,
          ...(args.latency ? { latency: args.latency } : {}),
        },
        (s) => process.stderr.write(s + "\n"),
      );
      mkdirSync(outDir, { recursive: true });
      const json = path.join(outDir, "connectors.json");
      const md = path.join(outDir, "connectors.md");
      writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
      writeFileSync(md, renderConnectorsMarkdown(results));
      process.stdout.write(renderConnectorsMarkdown(results) + "\n");
      process.stderr.write(`wrote ${json} and ${md}\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`bench failed: ${redact(ensureError(e).message)}\n`);
      return 1;
    }
  }
  if (args.throttled) {
    try {
      const results = await runThrottled(args);
      const files = writeThrottledResults(results, outDir);
      process.stdout.write(renderThrottledMarkdown(results) + "\n");
      process.stderr.write(`wrote ${files.json} and ${files.md}\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`bench failed: ${redact(ensureError(e).message)}\n`);
      return 1;
    }
  }
  try {
    const results = await runBench(args);
    const problems = contractProblems(results);
    const files = writeResults(results, outDir);
    process.stdout.write(renderMarkdown(results) + "\n");
    process.stderr.write(`wrote ${files.json} and ${files.md}\n`);
    if (problems.length) {
      process.stderr.write(`results are incomplete: ${problems.join("; ")}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`bench failed: ${redact(ensureError(e).message)}\n`);
    return 1;
  }
}
