/**
 * The test worlds, written once: the Dataverse emulator with the connector's solution applied, the Ion
 * simulator, the reseller's existing CRM accounts and the provider connection an admin creates, then the
 * worlds that compose them:
 *
 * - `startWorld`: emulator + simulator + one connector, for the sync engine in-process;
 * - `startOutboundWorld`: every customer mapped and its subscriptions synced, and a factory of independent
 *   engine instances (several actors on one connector);
 * - `startFunctionsWorld`: emulator + simulator + the local functions host, the emulator firing the real
 *   webhook steps at it; `startWebhookLoadWorld` builds on it for webhook load.
 *
 * The reliability suite's `startRelWorld` (test/reliability/support/world.ts) adds proxies, faults and
 * secret collection on the same pieces.
 */
import { type DataverseEmulator, type DataverseEmulatorOptions, startDataverseEmulator } from "../../sandbox/dataverse";
import { type FunctionsHost, type FunctionsHostOptions, startFunctionsHost } from "../../sandbox/functions-host";
import { generateCrmAccounts, type IonSimulator, type IonSimulatorOptions, startIonSimulator } from "../../sandbox/ion";
import { DataverseClient, type DataverseClientOptions } from "../../src/dataverse";
import { WEBHOOK_ENDPOINT, WEBHOOK_STEPS } from "../../src/deploy/webhookRegistration";
import {
  w365_provideraccount_w365_mappingstatus as MappingStatus,
  w365_providerconnection_w365_status as ConnectionStatus,
} from "../../src/schema/generated";
import { memoryLogger, silentLogger } from "../../src/shared/logger";
import { loadSolutionModel, writeSolutionZip } from "../../src/solution";
import { ENV_FUNCTIONS_BASE_URL, ENV_FUNCTIONS_WEBHOOK_KEY } from "../../src/solution/contract";
import { readSolutionSource } from "../../src/solution/io";
import type { SolutionModel } from "../../src/solution/model";
import { mapProviderAccount, runSync, type SyncDeps } from "../../src/sync";
import { subscriptionUpdateContext } from "./pluginFixtures";
import { makeUiBuild } from "./uiFixture";

let model: Promise<SolutionModel> | undefined;

/** The solution source, read once per test file. */
export function solutionModel(): Promise<SolutionModel> {
  model ??= readSolutionSource();
  return model;
}

/**
 * The solution as an environment holds it once deploy has also registered the webhook (src/deploy/
 * webhookRegistration.ts): its endpoint and steps, seeded with it. The endpoint follows w365_FunctionsBaseUrl
 * and w365_FunctionsWebhookKey, so a world points the webhook at its functions host by setting those two.
 */
export async function registeredSolutionModel(): Promise<SolutionModel> {
  const m = await solutionModel();
  return {
    ...m,
    serviceEndpoints: [
      {
        ...WEBHOOK_ENDPOINT,
        url: "https://streamone-ion-functions.invalid/api/dataverse/webhook",
        urlEnvironmentVariable: ENV_FUNCTIONS_BASE_URL,
        keyEnvironmentVariable: ENV_FUNCTIONS_WEBHOOK_KEY,
      },
    ],
    steps: [...WEBHOOK_STEPS],
  };
}

/** A Dataverse emulator on 127.0.0.1 with the connector's solution applied and its webhook registered. */
export async function startSolutionEmulator(options: DataverseEmulatorOptions = {}): Promise<DataverseEmulator> {
  const emu = await startDataverseEmulator(options);
  try {
    emu.applySolutionModel(await registeredSolutionModel());
  } catch (e) {
    await emu.close();
    throw e;
  }
  return emu;
}

/**
 * A Dataverse emulator into which the packed solution (with a minimal UI build) was imported as a zip, as
 * deploy imports it, and a client as the integration user.
 */
export async function startImportedSolutionEmulator(): Promise<{ emulator: DataverseEmulator; client: DataverseClient }> {
  const emulator = await startDataverseEmulator();
  try {
    const model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    await emulator.importSolution(await writeSolutionZip(model, { managed: false }));
  } catch (e) {
    await emulator.close();
    throw e;
  }
  return { emulator, client: integrationClient(emulator) };
}

/** Seeds the reseller's existing CRM accounts matching the simulator's customers (same seed and count). */
export async function seedCrmAccounts(dv: DataverseClient, seed: number, customers: number): Promise<void> {
  const accounts = generateCrmAccounts(seed, customers);
  const results = await dv.batch(accounts.map((a) => ({ method: "POST" as const, entitySet: "accounts", body: { ...a } })));
  const bad = results.filter((r) => !r.ok);
  if (bad.length) throw new Error(`seeding accounts failed: ${JSON.stringify(bad[0])}`);
}

/**
 * The provider connection row for an Ion simulator (or the flat sign-in `startSandbox` hands out as `sandbox.ion`,
 * which has no URL: pass `ionUrl`), as the admin fills the form. `ionUrl` overrides the simulator's URL (a proxy in
 * front of it); `status` is set only when given (the form leaves it to the default); `name` replaces "StreamOne Ion".
 */
export function connectionRow(
  ion: IonSimulator | { accountId: string; refreshToken: string; apiKey: string; apiSecret: string },
  o: { ionUrl?: string | undefined; status?: number; name?: string } = {},
): Record<string, unknown> {
  const c = "credentials" in ion ? { ...ion.credentials, accountId: ion.accountId, url: ion.url } : { ...ion, url: undefined };
  return {
    w365_name: o.name ?? "StreamOne Ion",
    w365_ionaccountid: c.accountId,
    w365_ionbaseurl: o.ionUrl ?? c.url,
    w365_refreshtoken: c.refreshToken,
    w365_apikey: c.apiKey,
    w365_apisecret: c.apiSecret,
    w365_country: "US",
    w365_currencycode: "USD",
    ...(o.status === undefined ? {} : { w365_status: o.status }),
  };
}

// ------------------------------------------------------------------------------------------------
// Shared start, clients and stop.

/** The two servers every world starts: the Ion simulator and the emulator with the solution applied. */
export interface Servers {
  ion: IonSimulator;
  emu: DataverseEmulator;
}

/** Starts the simulator, then the emulator; a failure of the second closes the first, so nothing stays open. */
export async function startServers(ion: IonSimulatorOptions, emu: DataverseEmulatorOptions = {}): Promise<Servers> {
  const simulator = await startIonSimulator(ion);
  try {
    return { ion: simulator, emu: await startSolutionEmulator(emu) };
  } catch (e) {
    await simulator.close();
    throw e;
  }
}

/** Waits for the emulator's webhooks to settle, closes what runs in front of or beside the servers, then both servers. */
export async function closeServers(s: Servers, ...others: Array<{ close(): Promise<void> }>): Promise<void> {
  await s.emu.whenIdle().catch(() => undefined);
  for (const other of others) await other.close();
  await s.emu.close();
  await s.ion.close();
}

/** A client as the integration's application user (the emulator's own URL unless `url` names a proxy). */
export function integrationClient(emu: DataverseEmulator, o: Partial<Omit<DataverseClientOptions, "auth">> = {}): DataverseClient {
  return new DataverseClient({ url: emu.url, logger: silentLogger, ...o, auth: { kind: "static", token: emu.integrationToken } });
}

/** A client as an admin who may write the secured credential columns (field security: create/update), as the form does. */
export function adminClient(emu: DataverseEmulator, name = "Connector Admin"): DataverseClient {
  return new DataverseClient({
    url: emu.url,
    logger: silentLogger,
    auth: { kind: "static", token: emu.issueToken({ name, fieldSecurity: true }) },
  });
}

/** Every row of a table (optionally filtered and narrowed). */
export function all<T = Record<string, unknown>>(dv: DataverseClient, set: string, filter?: string, select?: string[]): Promise<T[]> {
  return dv.queryAll<T>(set, { filter, select });
}

// ------------------------------------------------------------------------------------------------
// The sync engine's world.

export interface World extends Servers {
  dv: DataverseClient;
  deps: SyncDeps;
  connectionId: string;
  close(): Promise<void>;
}

export async function startWorld(
  o: {
    seed?: number;
    customers?: number;
    subscriptionsPerCustomer?: number;
    crmAccounts?: boolean;
    orderProcessing?: { mode: "manual" } | { mode: "auto"; delayMs?: number };
    /** Other simulator options (for example unauthorizedStatus: 403, as Ion documents). */
    ion?: Omit<IonSimulatorOptions, "seed" | "customers" | "subscriptionsPerCustomer" | "orderProcessing">;
    /** Dataverse emulator options (for example failedChangeSet). */
    emulator?: DataverseEmulatorOptions;
  } = {},
): Promise<World> {
  const seed = o.seed ?? 3;
  const customers = o.customers ?? 20;
  const servers = await startServers(
    {
      seed,
      customers,
      subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 2,
      orderProcessing: o.orderProcessing ?? { mode: "manual" },
      ...o.ion,
    },
    o.emulator,
  );
  try {
    const dv = integrationClient(servers.emu);
    if (o.crmAccounts !== false) await seedCrmAccounts(dv, seed, customers);
    const connectionId = await dv.create("w365_providerconnections", connectionRow(servers.ion, { status: ConnectionStatus.NotVerified }));
    const deps: SyncDeps = { dataverse: dv, logger: silentLogger, sleep: async () => undefined };
    return { ...servers, dv, deps, connectionId, close: () => closeServers(servers) };
  } catch (e) {
    await closeServers(servers);
    throw e;
  }
}

// ------------------------------------------------------------------------------------------------
// Several actors on one connector (outbound and inbound at once).

export interface OutboundWorld extends Servers {
  /** As the integration user. */
  dv: DataverseClient;
  /** As an admin (what the form writes). */
  admin: DataverseClient;
  connectionId: string;
  /** Subscription rows (id, Ion customer id, quantity) of mapped customers, active in Ion. */
  subscriptions: { id: string; ionId: string; quantity: number; autoRenew: boolean }[];
  /** A new engine instance: its own HTTP client and holder id; `sleep` is real (short) unless given. */
  engine(name: string, o?: { sleep?: (ms: number) => Promise<void>; timeoutMs?: number; hooks?: SyncDeps["hooks"] }): SyncDeps;
  close(): Promise<void>;
}

/**
 * Real pauses, capped so order tracking stays quick; with the client timeout of these engines (300 ms) the
 * settle window (src/sync/outbound/intent.ts settleDelays) still lasts about half a second of real time.
 */
export const shortSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 120)));

/**
 * The Dataverse emulator and the Ion simulator with every customer mapped and its subscriptions synced, and a
 * factory of independent engine instances (each its own Dataverse client and holder id, as separate Functions
 * instances or CLI processes are).
 */
export async function startOutboundWorld(
  o: { seed?: number; customers?: number; ion?: Partial<IonSimulatorOptions> } = {},
): Promise<OutboundWorld> {
  const servers = await startServers({
    seed: o.seed ?? 5,
    customers: o.customers ?? 2,
    subscriptionsPerCustomer: 2,
    orderProcessing: { mode: "manual" },
    ...o.ion,
  });
  try {
    const { emu, ion } = servers;
    const dv = integrationClient(emu);
    const admin = adminClient(emu, "Subscription Admin");
    const connectionId = await admin.create("w365_providerconnections", connectionRow(ion, { status: ConnectionStatus.Connected }));
    let n = 0;
    const engine: OutboundWorld["engine"] = (name, e = {}) => ({
      dataverse: integrationClient(emu),
      logger: silentLogger,
      holderId: `${name}-${++n}`,
      sleep: e.sleep ?? shortSleep,
      ion: { timeoutMs: e.timeoutMs ?? 300 },
      ...(e.hooks ? { hooks: e.hooks } : {}),
    });
    const setup = engine("setup");
    await runSync(setup, { connectionId, kind: "accounts", trigger: "manual" });
    for (const a of await all(dv, "w365_provideraccounts", undefined, ["w365_provideraccountid", "w365_mappingstatus"])) {
      if (a.w365_mappingstatus !== MappingStatus.Mapped)
        await mapProviderAccount(setup, { providerAccountId: String(a.w365_provideraccountid), action: "create", force: true });
    }
    await runSync(setup, { connectionId, kind: "subscriptions", trigger: "manual" });
    const subscriptions = (
      await all(dv, "w365_providersubscriptions", undefined, [
        "w365_providersubscriptionid",
        "w365_ionsubscriptionid",
        "w365_quantity",
        "w365_autorenew",
        "w365_status",
      ])
    )
      .filter((r) => r.w365_status === "active")
      .map((r) => ({
        id: String(r.w365_providersubscriptionid),
        ionId: String(r.w365_ionsubscriptionid),
        quantity: Number(r.w365_quantity),
        autoRenew: r.w365_autorenew === true,
      }));
    return { ...servers, dv, admin, connectionId, subscriptions, engine, close: () => closeServers(servers) };
  } catch (e) {
    await closeServers(servers);
    throw e;
  }
}

/** Orders Ion holds for one provider subscription row's Ion subscription. */
export function ordersFor(world: Servers, ionSubscriptionId: string) {
  const sub = world.ion.control.getSubscription(ionSubscriptionId);
  return world.ion.control.orders().filter((order) => order.items.some((i) => i.resourceId === sub?.subscriptionId));
}

// ------------------------------------------------------------------------------------------------
// The functions app end to end: the admin acts through the emulator with the admin token, so the emulator
// fires the real webhook steps at the local functions host (the webhook environment variables point at it).

export interface FunctionsWorld extends Servers {
  host: FunctionsHost;
  /** As the admin (no field security): what the UI and flows do. */
  admin: DataverseClient;
  /** As the integration's application user: for reading results. */
  dv: DataverseClient;
  logLines: string[];
  webhookKey: string;
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startFunctionsWorld(
  o: {
    customers?: number;
    subscriptionsPerCustomer?: number;
    seed?: number;
    /** Host options on top of the world's (settings, queue faults, Ion page sizes...). */
    host?: Pick<FunctionsHostOptions, "settings" | "queue" | "runtime" | "storageQueue">;
    /** The fetch the host's Dataverse client sends through (a test placing another writer between two requests). */
    dataverseFetch?: typeof fetch;
  } = {},
): Promise<FunctionsWorld> {
  const servers = await startServers({
    seed: o.seed ?? 11,
    customers: o.customers ?? 3,
    subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 1,
    orderProcessing: { mode: "auto", delayMs: 0 },
  });
  const { emu } = servers;
  const webhookKey = "e2e-functions-key-0123456789";
  const logger = memoryLogger();
  let host: FunctionsHost;
  try {
    host = await startFunctionsHost({
      dataverseUrl: emu.url,
      dataverseToken: emu.integrationToken,
      webhookKey,
      logger,
      retryDelayMs: () => 5,
      ...(o.host?.settings ? { settings: o.host.settings } : {}),
      ...(o.host?.queue ? { queue: o.host.queue } : {}),
      ...(o.host?.storageQueue ? { storageQueue: o.host.storageQueue } : {}),
      runtime: {
        ...o.host?.runtime,
        ...(o.dataverseFetch
          ? {
              dataverse: new DataverseClient({
                url: emu.url,
                auth: { kind: "static", token: emu.integrationToken },
                fetch: o.dataverseFetch,
              }),
            }
          : {}),
        sync: { sleep: () => new Promise((r) => setTimeout(r, 5)), ...o.host?.runtime?.sync },
      },
    });
  } catch (e) {
    await closeServers(servers);
    throw e;
  }
  emu.setEnvironmentVariable(ENV_FUNCTIONS_BASE_URL, host.url);
  emu.setEnvironmentVariable(ENV_FUNCTIONS_WEBHOOK_KEY, webhookKey);
  const idle = async () => {
    // Webhooks queue work and work writes rows that fire webhooks: settle both sides until quiet.
    for (let i = 0; i < 5; i++) {
      await emu.whenIdle();
      await host.whenIdle();
    }
  };
  return {
    ...servers,
    host,
    admin: adminClient(emu),
    dv: integrationClient(emu),
    logLines: logger.lines,
    webhookKey,
    idle,
    async close() {
      await idle().catch(() => undefined);
      await closeServers(servers, host);
    },
  };
}

export function createConnection(world: FunctionsWorld): Promise<string> {
  return world.admin.create("w365_providerconnections", connectionRow(world.ion));
}

/** Through the admin's actions: the connector's customers synced, the first mapped to a new account, its subscriptions synced. */
export async function syncFirstCustomer(world: FunctionsWorld, connectionId: string): Promise<void> {
  await world.admin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id: connectionId });
  await world.idle();
  const [account] = await all(world.dv, "w365_provideraccounts");
  await world.admin.executeAction(
    "w365_MapProviderAccount",
    { CreateNew: true },
    { entitySet: "w365_provideraccounts", id: String(account?.w365_provideraccountid) },
  );
  await world.admin.executeAction("w365_SyncSubscriptions", {}, { entitySet: "w365_providerconnections", id: connectionId });
  await world.idle();
}

export interface WebhookLoadSetup {
  world: FunctionsWorld;
  /** Distinct admin changes on the one subscription, by index; the same index gives the same delivery (a replay). */
  delivery(i: number): unknown;
  /** Subscription ids the worker was handed, in order (counted without changing what it does). */
  handed: string[];
}

/**
 * A functions world with one customer mapped and its one subscription synced, for webhook load: the
 * deliveries are synthetic changes on that subscription (the row holds no request), so each is queued
 * once and the engine then finds nothing to send: the load measures the webhook path, not Ion.
 */
export async function startWebhookLoadWorld(): Promise<WebhookLoadSetup> {
  const world = await startFunctionsWorld({ customers: 1, subscriptionsPerCustomer: 1 });
  try {
    const connectionId = await createConnection(world);
    await world.idle();
    await syncFirstCustomer(world, connectionId);
    const [sub] = await all(world.dv, "w365_providersubscriptions");
    const subscriptionId = String(sub?.w365_providersubscriptionid);
    const organizationId = (await world.dv.whoAmI()).OrganizationId;
    const handed: string[] = [];
    const engine = world.host.runtime.engine;
    const original = engine.runOutboundForSubscription;
    engine.runOutboundForSubscription = (run) => {
      handed.push(run.subscriptionId);
      return original(run);
    };
    const cache = new Map<number, unknown>();
    const delivery = (i: number) => {
      if (!cache.has(i)) {
        const hex = i.toString(16).padStart(12, "0");
        const ids = {
          operationId: `00000000-0000-4000-a000-${hex}`,
          requestId: `00000000-0000-4000-b000-${hex}`,
          correlationId: `00000000-0000-4000-c000-${hex}`,
        };
        cache.set(i, subscriptionUpdateContext({ w365_requestedquantity: 1 + (i % 5) }, { id: subscriptionId, organizationId, ...ids }));
      }
      return cache.get(i);
    };
    return { world, delivery, handed };
  } catch (e) {
    await world.close();
    throw e;
  }
}

/**
 * A run row of kind "all" whose worker stopped for good an hour ago with its accounts phase done: what the
 * stale-run takeover must continue from its checkpoint.
 */
export function createStaleRun(dv: DataverseClient, connectionId: string): Promise<string> {
  const hourAgo = Date.now() - 3_600_000;
  return dv.create("w365_syncruns", {
    w365_name: "all (stopped)",
    "w365_connection@odata.bind": `/w365_providerconnections(${connectionId})`,
    w365_kind: "all",
    w365_trigger: "schedule",
    w365_status: "running",
    w365_dryrun: false,
    w365_startedon: new Date(hourAgo).toISOString(),
    w365_checkpoint: JSON.stringify({
      version: 1,
      phases: ["accounts", "subscriptions", "outbound"],
      done: ["accounts"],
      pagesDone: 0,
      counts: { created: 4 },
      updatedAt: hourAgo,
      item: { step: 3, messageId: "lost", dequeueCount: 1 },
    }),
  });
}
