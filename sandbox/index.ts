/**
 * The embedded sandbox: the whole product on one machine with no cloud account.
 * Starts the Dataverse emulator, imports the packed solution through the production deploy path
 * (ImportSolution over the Web API), starts the local functions host the webhooks call, the Ion
 * simulator, seeds a reseller's existing Work 365 accounts, and serves the Admin Hub page.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";

import { DataverseClient } from "../src/dataverse";
import { deploySolution } from "../src/deploy";
import { entitySets } from "../src/schema";
import { ValidationError } from "../src/shared/errors";
import { type Logger, silentLogger } from "../src/shared/logger";
import { registerSecret } from "../src/shared/redact";
import { loadSolutionModel, writeSolutionZip } from "../src/solution";
import { startAdminHarness } from "./admin";
import { type DataverseEmulator, startDataverseEmulator } from "./dataverse";
import type { ServiceProtectionOptions } from "./dataverse/throttle";
import { startFunctionsHost } from "./functions-host";
import { generateCrmAccounts, type IonSimulator, startIonSimulator } from "./ion";
import type { LatencyModel } from "./latency";

export interface SandboxOptions {
  ionPort?: number;
  dataversePort?: number;
  functionsPort?: number;
  adminPort?: number;
  /** Folder for the emulator's SQLite file; in memory when absent. */
  dataDir?: string;
  customers?: number;
  subscriptionsPerCustomer?: number;
  seed?: number;
  /** Largest page the Ion simulator answers (default 1,000): small pages make a small sync span many pages. */
  ionMaxPageSize?: number;
  /** false = no Ion simulator (connectors point at a real Ion host). */
  ion?: boolean;
  /**
   * Enforce Dataverse's service protection limits in the emulator: true = Dataverse's own limits; an object =
   * enforced with these limits (each defaulting to Dataverse's), e.g. lowered so a run meets real 429s.
   */
  serviceProtection?: boolean | SandboxServiceProtection;
  /**
   * The latency model (sandbox/latency.ts): the emulator and the simulator charge each request real time,
   * Dataverse answers `x-ms-dop-hint`, Ion refuses calls past its concurrency cap. Off when absent. Turns
   * service protection on at Dataverse's limits unless `serviceProtection` says otherwise.
   */
  latency?: LatencyModel;
  /** Seed the reseller's existing accounts (default true). */
  seedAccounts?: boolean;
  /** Serve the Admin Hub page (default true). */
  admin?: boolean;
  /** Fire the functions app's timers (scheduled sync, token keep-alive) on their schedules. */
  runSchedules?: boolean;
  /** Ion orders: processed automatically after a short delay (default) or only on control.processOrders(). */
  orderProcessing?: "auto" | "manual";
  logger?: Logger;
}

/** Custom service protection limits (per user, over a sliding window; docs/platform/dataverse.md 1.8). */
export interface SandboxServiceProtection {
  /** Requests per window (Dataverse: 6 000). */
  requestsPerWindow?: number;
  /** Window length in ms (Dataverse: 300 000). */
  windowMs?: number;
  /** Combined execution time per window in ms (Dataverse: 1 200 000). */
  executionMsPerWindow?: number;
  /** Concurrent requests (Dataverse: 52). */
  maxConcurrent?: number;
  /** Fixed Retry-After in seconds; by default the time until the window frees room. */
  retryAfterSeconds?: number;
}

/** The emulator's service protection options for a sandbox option; refuses limits that are not positive integers. */
export function serviceProtectionOptions(option: SandboxOptions["serviceProtection"]): ServiceProtectionOptions {
  if (option === undefined || option === false) return { enabled: false };
  if (option === true) return { enabled: true };
  const out: ServiceProtectionOptions = { enabled: true };
  for (const name of ["requestsPerWindow", "windowMs", "executionMsPerWindow", "maxConcurrent", "retryAfterSeconds"] as const) {
    const value = option[name];
    if (value === undefined) continue;
    const min = name === "retryAfterSeconds" ? 0 : 1;
    if (!Number.isInteger(value) || value < min)
      throw new ValidationError(`serviceProtection.${name} must be an integer of at least ${min} (got ${String(value)}).`, {
        field: `serviceProtection.${name}`,
      });
    out[name] = value;
  }
  return out;
}

/** The one JSON line `streamone-ion sandbox` prints (its fields are listed in README.md and docs/operator.md). */
export interface SandboxInfo {
  dataverseUrl: string;
  dataverseToken: string;
  functionsUrl: string;
  functionsKey: string;
  adminUrl?: string;
  ionUrl?: string;
  ion?: { accountId: string; refreshToken: string; apiKey: string; apiSecret: string };
}

export interface Sandbox extends SandboxInfo {
  adminToken: string;
  emulator: DataverseEmulator;
  simulator?: IonSimulator;
  functionsHost: Awaited<ReturnType<typeof startFunctionsHost>>;
  /** A Dataverse client signed in as the integration's application user. */
  dataverse: DataverseClient;
  info(): SandboxInfo;
  /** Resolves when no webhook work is queued in the emulator or the functions host. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const logger = options.logger ?? silentLogger;
  const seed = options.seed ?? 1;
  const customers = options.customers ?? 25;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    let dbPath: string | undefined;
    if (options.dataDir) {
      await fs.mkdir(options.dataDir, { recursive: true });
      dbPath = path.join(options.dataDir, "dataverse.sqlite");
    }
    const emulator = await startDataverseEmulator({
      port: options.dataversePort ?? 0,
      dbPath,
      serviceProtection: serviceProtectionOptions(options.serviceProtection ?? (options.latency ? true : undefined)),
      ...(options.latency ? { latency: options.latency.dataverse } : {}),
      logger,
    });
    closers.push(() => emulator.close());

    const functionsKey = randomBytes(24).toString("base64url");
    registerSecret(functionsKey);
    const functionsHost = await startFunctionsHost({
      port: options.functionsPort ?? 0,
      dataverseUrl: emulator.url,
      dataverseToken: emulator.integrationToken,
      webhookKey: functionsKey,
      runSchedules: Boolean(options.runSchedules),
      logger,
    });
    closers.push(() => functionsHost.close());

    // Import the solution exactly as `streamone-ion deploy` would into a real environment.
    const model = await loadSolutionModel();
    const zip = await writeSolutionZip(model, { managed: false });
    await deploySolution({
      environmentUrl: emulator.url,
      auth: { kind: "static", token: emulator.integrationToken },
      zip,
      settings: { functionsBaseUrl: functionsHost.url, webhookKey: functionsKey },
    });

    const dataverse = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.integrationToken } });

    let simulator: IonSimulator | undefined;
    if (options.ion !== false) {
      simulator = await startIonSimulator({
        port: options.ionPort ?? 0,
        seed,
        customers,
        subscriptionsPerCustomer: options.subscriptionsPerCustomer ?? 3,
        ...(options.ionMaxPageSize ? { maxPageSize: options.ionMaxPageSize } : {}),
        orderProcessing: options.orderProcessing === "manual" ? { mode: "manual" } : { mode: "auto" },
        ...(options.latency ? { latency: options.latency.ion } : {}),
        logger,
      });
      closers.push(() => simulator!.close());
      registerSecret(simulator.credentials.refreshToken);
      registerSecret(simulator.credentials.apiSecret);
      if (options.seedAccounts !== false) await seedExistingAccounts(dataverse, seed, customers);
    }

    let adminUrl: string | undefined;
    if (options.admin !== false) {
      // The guide's form has no Ion host field; in the sandbox new connectors point at the simulator.
      const admin = await startAdminHarness({
        port: options.adminPort ?? 0,
        dataverseUrl: emulator.url,
        token: emulator.adminToken,
        ...(simulator ? { ionBaseUrl: simulator.url } : {}),
      });
      closers.push(() => admin.close());
      adminUrl = admin.url;
    }

    const info: SandboxInfo = {
      dataverseUrl: emulator.url,
      dataverseToken: emulator.integrationToken,
      functionsUrl: functionsHost.url,
      functionsKey,
      ...(adminUrl ? { adminUrl } : {}),
      ...(simulator
        ? {
            ionUrl: simulator.url,
            ion: {
              accountId: simulator.accountId,
              refreshToken: simulator.credentials.refreshToken,
              apiKey: simulator.credentials.apiKey,
              apiSecret: simulator.credentials.apiSecret,
            },
          }
        : {}),
    };
    return {
      ...info,
      adminToken: emulator.adminToken,
      emulator,
      simulator,
      functionsHost,
      dataverse,
      info: () => info,
      whenIdle: async () => {
        for (let i = 0; i < 3; i++) {
          await emulator.whenIdle();
          await functionsHost.whenIdle();
        }
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Seeds the reseller's existing Work 365 accounts once (skipped when accounts already exist, e.g. with --data). */
async function seedExistingAccounts(dataverse: DataverseClient, seed: number, customers: number): Promise<number> {
  for await (const page of dataverse.queryPages(entitySets.account, { select: ["accountid"], top: 1 })) {
    if (page.length > 0) return 0;
  }
  const accounts = generateCrmAccounts(seed, customers);
  const results = await dataverse.batch(
    accounts.map((body) => ({ method: "POST" as const, entitySet: entitySets.account, body: body as unknown as Record<string, unknown> })),
    { continueOnError: true },
  );
  return results.filter((r) => r.ok).length;
}
