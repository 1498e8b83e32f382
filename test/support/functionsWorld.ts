/**
 * End-to-end world for the functions app: Dataverse emulator (solution applied, webhook env vars
 * pointing at the local host) + Ion simulator + local functions host, all on 127.0.0.1. The admin
 * acts through the emulator with the admin token, so the emulator fires the real webhook steps.
 */
import type { DataverseEmulator } from "../../sandbox/dataverse";
import { type FunctionsHost, type FunctionsHostOptions, startFunctionsHost } from "../../sandbox/functions-host";
import { type IonSimulator, startIonSimulator } from "../../sandbox/ion";
import { DataverseClient } from "../../src/dataverse";
import { memoryLogger } from "../../src/shared/logger";
import { subscriptionUpdateContext } from "./pluginFixtures";
import { connectionRow, startSolutionEmulator } from "./world";

export interface FunctionsWorld {
  emu: DataverseEmulator;
  ion: IonSimulator;
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
  const ion = await startIonSimulator({
    seed: o.seed ?? 11,
    customers: o.customers ?? 3,
    subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 1,
    orderProcessing: { mode: "auto", delayMs: 0 },
  });
  const emu = await startSolutionEmulator();
  const webhookKey = "e2e-functions-key-0123456789";
  const logger = memoryLogger();
  const host = await startFunctionsHost({
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
  emu.setEnvironmentVariable("w365_FunctionsBaseUrl", host.url);
  emu.setEnvironmentVariable("w365_FunctionsWebhookKey", webhookKey);
  // A connector admin may write the secured credential columns (field security: create/update), as the form does.
  const admin = new DataverseClient({
    url: emu.url,
    auth: { kind: "static", token: emu.issueToken({ name: "Connector Admin", fieldSecurity: true }) },
  });
  const dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken } });
  const idle = async () => {
    // Webhooks queue work and work writes rows that fire webhooks: settle both sides until quiet.
    for (let i = 0; i < 5; i++) {
      await emu.whenIdle();
      await host.whenIdle();
    }
  };
  return {
    emu,
    ion,
    host,
    admin,
    dv,
    logLines: logger.lines,
    webhookKey,
    idle,
    async close() {
      await idle().catch(() => undefined);
      await host.close();
      await emu.close();
      await ion.close();
    },
  };
}

export function rows<T = Record<string, unknown>>(dv: DataverseClient, set: string, filter?: string): Promise<T[]> {
  return dv.queryAll<T>(set, filter ? { filter } : {});
}

export function createConnection(world: FunctionsWorld): Promise<string> {
  return world.admin.create("w365_providerconnections", connectionRow(world.ion));
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
    await world.admin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [account] = await rows<Record<string, unknown>>(world.dv, "w365_provideraccounts");
    await world.admin.executeAction(
      "w365_MapProviderAccount",
      { CreateNew: true },
      { entitySet: "w365_provideraccounts", id: String(account?.w365_provideraccountid) },
    );
    await world.admin.executeAction("w365_SyncSubscriptions", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [sub] = await rows<Record<string, unknown>>(world.dv, "w365_providersubscriptions");
    const subscriptionId = String(sub?.w365_providersubscriptionid);
    const organizationId = (await world.dv.whoAmI()).OrganizationId;
    const handed: string[] = [];
    const engine = world.host.runtime.engine;
    const original = engine.runOutboundForSubscription;
    engine.runOutboundForSubscription = (o) => {
      handed.push(o.subscriptionId);
      return original(o);
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
