/** Test world: the Dataverse emulator (solution applied) + the Ion simulator, in-process on 127.0.0.1. */
import { DataverseClient } from "../../../src/dataverse";
import { silentLogger } from "../../../src/shared/logger";
import { readSolutionSource } from "../../../src/solution/io";
import type { SolutionModel } from "../../../src/solution/model";
import type { SyncDeps } from "../../../src/sync";
import { startDataverseEmulator, type DataverseEmulator } from "../../../sandbox/dataverse";
import { generateCrmAccounts, startIonSimulator, type IonSimulator } from "../../../sandbox/ion";

let model: Promise<SolutionModel> | undefined;

export interface World {
  ion: IonSimulator;
  emu: DataverseEmulator;
  dv: DataverseClient;
  deps: SyncDeps;
  connectionId: string;
  close(): Promise<void>;
}

export async function startWorld(o: { seed?: number; customers?: number; subscriptionsPerCustomer?: number; crmAccounts?: boolean; orderProcessing?: { mode: "manual" } | { mode: "auto"; delayMs?: number } } = {}): Promise<World> {
  const seed = o.seed ?? 3;
  const customers = o.customers ?? 20;
  const ion = await startIonSimulator({ seed, customers, subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 2, orderProcessing: o.orderProcessing ?? { mode: "manual" } });
  const emu = await startDataverseEmulator({});
  model ??= readSolutionSource();
  emu.applySolutionModel(await model);
  const dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken }, logger: silentLogger });
  if (o.crmAccounts !== false) {
    const accounts = generateCrmAccounts(seed, customers);
    const results = await dv.batch(accounts.map((a) => ({ method: "POST" as const, entitySet: "accounts", body: { ...a } })));
    const bad = results.filter((r) => !r.ok);
    if (bad.length) throw new Error(`seeding accounts failed: ${JSON.stringify(bad[0])}`);
  }
  const connectionId = await dv.create("w365_providerconnections", {
    w365_name: "StreamOne Ion",
    w365_ionaccountid: ion.accountId,
    w365_ionbaseurl: ion.url,
    w365_refreshtoken: ion.credentials.refreshToken,
    w365_apikey: ion.credentials.apiKey,
    w365_apisecret: ion.credentials.apiSecret,
    w365_country: "US",
    w365_currencycode: "USD",
    w365_status: 365000000,
  });
  const deps: SyncDeps = { dataverse: dv, logger: silentLogger, sleep: async () => undefined };
  return {
    ion,
    emu,
    dv,
    deps,
    connectionId,
    close: async () => {
      await emu.whenIdle().catch(() => undefined);
      await emu.close();
      await ion.close();
    },
  };
}

export async function all<T = Record<string, unknown>>(dv: DataverseClient, set: string, filter?: string, select?: string[]): Promise<T[]> {
  const out: T[] = [];
  for await (const r of dv.query<T>(set, { filter, select })) out.push(r);
  return out;
}
