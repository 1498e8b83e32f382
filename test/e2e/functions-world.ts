/**
 * End-to-end world for the functions app: Dataverse emulator (solution applied, webhook env vars
 * pointing at the local host) + Ion simulator + local functions host, all on 127.0.0.1. The admin
 * acts through the emulator with the admin token, so the emulator fires the real webhook steps.
 */
import { DataverseClient } from "../../src/dataverse";
import { memoryLogger } from "../../src/shared/logger";
import { readSolutionSource } from "../../src/solution/io";
import type { SolutionModel } from "../../src/solution/model";
import { startDataverseEmulator, type DataverseEmulator } from "../../sandbox/dataverse";
import { startFunctionsHost, type FunctionsHost } from "../../sandbox/functions-host";
import { startIonSimulator, type IonSimulator } from "../../sandbox/ion";

let model: Promise<SolutionModel> | undefined;

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

export async function startFunctionsWorld(o: { customers?: number; subscriptionsPerCustomer?: number } = {}): Promise<FunctionsWorld> {
  const ion = await startIonSimulator({ seed: 11, customers: o.customers ?? 3, subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 1, orderProcessing: { mode: "auto", delayMs: 0 } });
  const emu = await startDataverseEmulator({});
  model ??= readSolutionSource();
  emu.applySolutionModel(await model);
  const webhookKey = "e2e-functions-key-0123456789";
  const logger = memoryLogger();
  const host = await startFunctionsHost({
    dataverseUrl: emu.url,
    dataverseToken: emu.integrationToken,
    webhookKey,
    logger,
    retryDelayMs: () => 5,
    runtime: { sync: { sleep: () => new Promise((r) => setTimeout(r, 5)) } },
  });
  emu.setEnvironmentVariable("w365_FunctionsBaseUrl", host.url);
  emu.setEnvironmentVariable("w365_FunctionsWebhookKey", webhookKey);
  // A connector admin may write the secured credential columns (field security: create/update), as the form does.
  const admin = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.issueToken({ name: "Connector Admin", fieldSecurity: true }) } });
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

export async function rows<T = Record<string, unknown>>(dv: DataverseClient, set: string, filter?: string): Promise<T[]> {
  const out: T[] = [];
  for await (const r of dv.query<T>(set, filter ? { filter } : {})) out.push(r);
  return out;
}

export function createConnection(world: FunctionsWorld): Promise<string> {
  const { ion } = world;
  return world.admin.create("w365_providerconnections", {
    w365_name: "StreamOne Ion",
    w365_ionaccountid: ion.accountId,
    w365_ionbaseurl: ion.url,
    w365_refreshtoken: ion.credentials.refreshToken,
    w365_apikey: ion.credentials.apiKey,
    w365_apisecret: ion.credentials.apiSecret,
    w365_country: "US",
    w365_currencycode: "USD",
  });
}
