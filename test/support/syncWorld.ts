/** Test world: the Dataverse emulator (solution applied) + the Ion simulator, in-process on 127.0.0.1. */
import type { DataverseEmulator } from "../../sandbox/dataverse";
import { type IonSimulator, startIonSimulator } from "../../sandbox/ion";
import { DataverseClient } from "../../src/dataverse";
import { silentLogger } from "../../src/shared/logger";
import type { SyncDeps } from "../../src/sync";
import { connectionRow, seedCrmAccounts, startSolutionEmulator } from "./world";

export interface World {
  ion: IonSimulator;
  emu: DataverseEmulator;
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
  } = {},
): Promise<World> {
  const seed = o.seed ?? 3;
  const customers = o.customers ?? 20;
  const ion = await startIonSimulator({
    seed,
    customers,
    subscriptionsPerCustomer: o.subscriptionsPerCustomer ?? 2,
    orderProcessing: o.orderProcessing ?? { mode: "manual" },
  });
  const emu = await startSolutionEmulator();
  const dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken }, logger: silentLogger });
  if (o.crmAccounts !== false) await seedCrmAccounts(dv, seed, customers);
  const connectionId = await dv.create("w365_providerconnections", connectionRow(ion, { status: 365000000 }));
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

export function all<T = Record<string, unknown>>(dv: DataverseClient, set: string, filter?: string, select?: string[]): Promise<T[]> {
  return dv.queryAll<T>(set, { filter, select });
}
