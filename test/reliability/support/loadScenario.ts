/**
 * Issue 9 item 7: the local functions host's webhook endpoint under 50 deliveries per second (the
 * functions engineer's driveWebhookLoad), extended: every 10th delivery replays an earlier one, and a
 * stream of wrong-key deliveries runs alongside. Nothing lost (every distinct delivery is handed to the
 * engine once), nothing doubled (replays and refused deliveries never are).
 */
import { driveWebhookLoad, type WebhookLoadReport } from "../../../sandbox/functions-host/load";
import { subscriptionUpdateContext } from "../../plugins/fixtures";
import { createConnection, rows, startFunctionsWorld } from "../../e2e/functions-world";

export interface LoadFigures {
  ratePerSecond: number;
  seconds: number;
  sent: number;
  distinct: number;
  replays: number;
  handedToEngine: number;
  wrongKey: { sent: number; byStatus: Record<string, number> };
  byStatus: Record<string, number>;
  failures: number;
  latencyMs: WebhookLoadReport["latencyMs"];
  wallMs: number;
  poisoned: number;
  lost: number;
  doubled: number;
}

export async function runWebhookLoad(seconds: number, rate = 50): Promise<LoadFigures> {
  const world = await startFunctionsWorld({ customers: 1, subscriptionsPerCustomer: 1 });
  try {
    const connectionId = await createConnection(world);
    await world.idle();
    await world.admin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [account] = await rows<Record<string, unknown>>(world.dv, "w365_provideraccounts");
    await world.admin.executeAction("w365_MapProviderAccount", { CreateNew: true }, { entitySet: "w365_provideraccounts", id: String(account?.w365_provideraccountid) });
    await world.admin.executeAction("w365_SyncSubscriptions", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [sub] = await rows<Record<string, unknown>>(world.dv, "w365_providersubscriptions");
    const subscriptionId = String(sub?.w365_providersubscriptionid);
    const organizationId = (await world.dv.whoAmI()).OrganizationId;
    const handed = new Map<string, number>();
    const engine = world.host.runtime.engine;
    const original = engine.runOutboundForSubscription.bind(engine);
    engine.runOutboundForSubscription = (deps, o) => {
      handed.set(o.subscriptionId, (handed.get(o.subscriptionId) ?? 0) + 1);
      return original(deps, o);
    };
    const cache = new Map<number, unknown>();
    const delivery = (i: number) => {
      if (!cache.has(i)) {
        const hex = i.toString(16).padStart(12, "0");
        cache.set(i, subscriptionUpdateContext({ w365_requestedquantity: 1 + (i % 5) }, { id: subscriptionId, organizationId, operationId: `00000000-0000-4000-a000-${hex}`, requestId: `00000000-0000-4000-b000-${hex}`, correlationId: `00000000-0000-4000-c000-${hex}` }));
      }
      return cache.get(i);
    };
    const isReplay = (i: number) => i % 10 === 9;
    const payload = (i: number) => (isReplay(i) ? delivery(i - 7) : delivery(i));
    const wrongRate = 5;
    const [report, wrong] = await Promise.all([
      driveWebhookLoad({ url: world.host.url, key: world.webhookKey, ratePerSecond: rate, seconds, payload }),
      driveWebhookLoad({ url: world.host.url, key: "wrong-key-0123456789abcdef", ratePerSecond: wrongRate, seconds, payload: (i) => delivery(100_000 + i) }),
    ]);
    await world.idle();
    const sent = rate * seconds;
    const replays = Array.from({ length: sent }, (_, i) => i).filter(isReplay).length;
    const distinct = sent - replays;
    const handedToEngine = [...handed.values()].reduce((a, b) => a + b, 0);
    return {
      ratePerSecond: rate,
      seconds,
      sent,
      distinct,
      replays,
      handedToEngine,
      wrongKey: { sent: wrongRate * seconds, byStatus: wrong.byStatus },
      byStatus: report.byStatus,
      failures: report.failures + wrong.failures,
      latencyMs: report.latencyMs,
      wallMs: report.wallMs,
      poisoned: world.host.stats().poisoned,
      lost: Math.max(0, distinct - handedToEngine),
      doubled: Math.max(0, handedToEngine - distinct),
    };
  } finally {
    await world.close();
  }
}
