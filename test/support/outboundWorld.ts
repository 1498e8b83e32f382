/**
 * Several actors on one connector: the Dataverse emulator (solution applied) and the Ion simulator, with
 * every customer mapped and its subscriptions synced, and a factory of independent engine instances
 * (each its own Dataverse client and holder id, as separate Functions instances or CLI processes are).
 */
import type { DataverseEmulator } from "../../sandbox/dataverse";
import { type IonSimulator, type IonSimulatorOptions, startIonSimulator } from "../../sandbox/ion";
import { DataverseClient } from "../../src/dataverse";
import { silentLogger } from "../../src/shared/logger";
import { mapProviderAccount, runSync, type SyncDeps } from "../../src/sync";
import { connectionRow, startSolutionEmulator } from "./world";

export interface OutboundWorld {
  ion: IonSimulator;
  emu: DataverseEmulator;
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

export async function startOutboundWorld(
  o: { seed?: number; customers?: number; ion?: Partial<IonSimulatorOptions> } = {},
): Promise<OutboundWorld> {
  const ion = await startIonSimulator({
    seed: o.seed ?? 5,
    customers: o.customers ?? 2,
    subscriptionsPerCustomer: 2,
    orderProcessing: { mode: "manual" },
    ...o.ion,
  });
  const emu = await startSolutionEmulator();
  const dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken }, logger: silentLogger });
  const admin = new DataverseClient({
    url: emu.url,
    auth: { kind: "static", token: emu.issueToken({ name: "Subscription Admin", fieldSecurity: true }) },
    logger: silentLogger,
  });
  const connectionId = await admin.create("w365_providerconnections", connectionRow(ion, { status: 365000001 }));
  let n = 0;
  const engine: OutboundWorld["engine"] = (name, e = {}) => ({
    dataverse: new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken }, logger: silentLogger }),
    logger: silentLogger,
    holderId: `${name}-${++n}`,
    sleep: e.sleep ?? shortSleep,
    ion: { timeoutMs: e.timeoutMs ?? 300 },
    ...(e.hooks ? { hooks: e.hooks } : {}),
  });
  const setup = engine("setup");
  await runSync(setup, { connectionId, kind: "accounts", trigger: "manual" });
  for (const a of await dv.queryAll<Record<string, unknown>>("w365_provideraccounts", {
    select: ["w365_provideraccountid", "w365_mappingstatus"],
  })) {
    if (a.w365_mappingstatus !== 365000002)
      await mapProviderAccount(setup, { providerAccountId: String(a.w365_provideraccountid), action: "create", force: true });
  }
  await runSync(setup, { connectionId, kind: "subscriptions", trigger: "manual" });
  const subscriptions = (
    await dv.queryAll<Record<string, unknown>>("w365_providersubscriptions", {
      select: ["w365_providersubscriptionid", "w365_ionsubscriptionid", "w365_quantity", "w365_autorenew", "w365_status"],
    })
  )
    .filter((r) => r.w365_status === "active")
    .map((r) => ({
      id: String(r.w365_providersubscriptionid),
      ionId: String(r.w365_ionsubscriptionid),
      quantity: Number(r.w365_quantity),
      autoRenew: r.w365_autorenew === true,
    }));
  return {
    ion,
    emu,
    dv,
    admin,
    connectionId,
    subscriptions,
    engine,
    async close() {
      await emu.whenIdle().catch(() => undefined);
      await emu.close();
      await ion.close();
    },
  };
}

/** Orders Ion holds for one provider subscription row's Ion subscription. */
export function ordersFor(world: OutboundWorld, ionSubscriptionId: string) {
  const sub = world.ion.control.getSubscription(ionSubscriptionId);
  return world.ion.control.orders().filter((order) => order.items.some((i) => i.resourceId === sub?.subscriptionId));
}
