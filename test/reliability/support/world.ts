/**
 * The reliability suite's world: the Dataverse emulator (solution applied, optional file database and
 * injected faults) and the Ion simulator (optional faults), both on 127.0.0.1, with a connector created
 * as an admin would, the reseller's existing accounts seeded, and every secret they issue collected.
 * Optionally both are reached through recording proxies (crash points, issued tokens).
 */
import type { DataverseEmulator, DataverseEmulatorOptions } from "../../../sandbox/dataverse";
import type { IonSimulator } from "../../../sandbox/ion";
import type { FaultConfig } from "../../../sandbox/ion/types";
import { DataverseClient } from "../../../src/dataverse";
import { type Logger, silentLogger } from "../../../src/shared/logger";
import type { SyncDeps } from "../../../src/sync";
import { closeServers, connectionRow, seedCrmAccounts, startServers } from "../../support/world";
import { type ProxyCounter, type RecordingProxy, startRecordingProxy } from "./proxy";

export interface WorldOptions {
  seed?: number;
  customers?: number;
  subscriptionsPerCustomer?: number;
  dbPath?: string;
  dataverseFaults?: DataverseEmulatorOptions["faults"];
  serviceProtection?: DataverseEmulatorOptions["serviceProtection"];
  ionFaults?: FaultConfig;
  /** The emulator's clock (service protection windows); real time when absent. */
  dataverseClock?: { now(): number };
  /** Put recording proxies in front of both servers (the connector and the client use them). */
  proxies?: {
    counter?: ProxyCounter;
    afterUpstream?: Parameters<typeof startRecordingProxy>[0]["afterUpstream"];
    interceptDataverse?: Parameters<typeof startRecordingProxy>[0]["intercept"];
  };
  logger?: Logger;
}

export interface RelWorld {
  ion: IonSimulator;
  emu: DataverseEmulator;
  /** Integration user client (through the proxy when there is one). */
  dv: DataverseClient;
  /** The URL clients should use for Dataverse / Ion. */
  dataverseUrl: string;
  ionUrl: string;
  deps: SyncDeps;
  connectionId: string;
  proxies: RecordingProxy[];
  /** Every secret issued by the simulator, the emulator and the world itself. */
  secrets(): string[];
  close(): Promise<void>;
}

export async function startRelWorld(o: WorldOptions = {}): Promise<RelWorld> {
  const seed = o.seed ?? 5;
  const customers = o.customers ?? 12;
  const servers = await startServers(
    {
      seed,
      customers,
      subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 2,
      orderProcessing: { mode: "manual" },
      faults: o.ionFaults,
    },
    {
      dbPath: o.dbPath,
      faults: o.dataverseFaults,
      serviceProtection: o.serviceProtection,
      logger: o.logger,
      clock: o.dataverseClock,
    },
  );
  const { ion, emu } = servers;
  const proxies: RecordingProxy[] = [];
  let dataverseUrl = emu.url;
  let ionUrl = ion.url;
  if (o.proxies) {
    const counter = o.proxies.counter ?? { n: 0, frozen: false };
    const dvProxy = await startRecordingProxy({
      target: emu.url,
      name: "dataverse",
      counter,
      afterUpstream: o.proxies.afterUpstream,
      intercept: o.proxies.interceptDataverse,
    });
    const ionProxy = await startRecordingProxy({ target: ion.url, name: "ion", counter, afterUpstream: o.proxies.afterUpstream });
    proxies.push(dvProxy, ionProxy);
    dataverseUrl = dvProxy.url;
    ionUrl = ionProxy.url;
  }
  // Setup goes straight to the emulator (no injected 429s on seeding, not counted as crash points).
  const direct = new DataverseClient({
    url: emu.url,
    auth: { kind: "static", token: emu.integrationToken },
    logger: silentLogger,
    sleep: async () => undefined,
  });
  await seedCrmAccounts(direct, seed, customers);
  const connectionId = await direct.create("w365_providerconnections", connectionRow(ion, { ionUrl, status: 365000000 }));
  const dv = new DataverseClient({
    url: dataverseUrl,
    auth: { kind: "static", token: emu.integrationToken },
    logger: o.logger ?? silentLogger,
    sleep: async () => undefined,
  });
  // Small Ion pages: more requests per sync, so more places for a fault or a crash to land.
  const deps: SyncDeps = {
    dataverse: dv,
    logger: o.logger ?? silentLogger,
    sleep: async () => undefined,
    ion: { customerPageSize: 4, subscriptionPageLimit: 8 },
  };
  const extra = new Set<string>();
  return {
    ion,
    emu,
    dv,
    dataverseUrl,
    ionUrl,
    deps,
    connectionId,
    proxies,
    secrets: () => {
      const out = new Set<string>([
        ion.credentials.refreshToken,
        ion.credentials.apiSecret,
        emu.integrationToken,
        emu.adminToken,
        ...extra,
      ]);
      for (const p of proxies) for (const s of p.issuedSecrets) out.add(s);
      return [...out];
    },
    close: () => closeServers(servers, ...proxies),
  };
}

/** Reads the current token columns of the connector (the integration user may read secured columns). */
export async function currentTokens(w: RelWorld): Promise<string[]> {
  const row = await w.dv.retrieve<Record<string, unknown>>("w365_providerconnections", w.connectionId, {
    select: ["w365_refreshtoken", "w365_accesstoken"],
  });
  return [row.w365_refreshtoken, row.w365_accesstoken].filter((v): v is string => typeof v === "string" && v.length > 0);
}
