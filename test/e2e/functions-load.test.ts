/**
 * Webhook load through the full stack: 50 deliveries per second (each a distinct admin change on a
 * subscription) for FUNCTIONS_LOAD_SECONDS seconds (default 3 here; the soak runs 60), plus replays
 * of some of them. Every delivery is answered, each change is queued exactly once, replays do nothing.
 */
import { driveWebhookLoad } from "../../sandbox/functions-host/load";
import { subscriptionUpdateContext } from "../plugins/fixtures";
import { createConnection, rows, startFunctionsWorld, type FunctionsWorld } from "./functions-world";

jest.setTimeout(180_000);
const SECONDS = Number(process.env.FUNCTIONS_LOAD_SECONDS ?? 3);
const RATE = 50;

describe("webhook endpoint under load", () => {
  let world: FunctionsWorld;
  let subscriptionId: string;
  let organizationId: string;
  let queuedOutbound = 0;

  beforeAll(async () => {
    world = await startFunctionsWorld({ customers: 1, subscriptionsPerCustomer: 1 });
    const connectionId = await createConnection(world);
    await world.idle();
    await world.admin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [account] = await rows<Record<string, unknown>>(world.dv, "w365_provideraccounts");
    await world.admin.executeAction("w365_MapProviderAccount", { CreateNew: true }, { entitySet: "w365_provideraccounts", id: String(account?.w365_provideraccountid) });
    await world.admin.executeAction("w365_SyncSubscriptions", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const [sub] = await rows<Record<string, unknown>>(world.dv, "w365_providersubscriptions");
    subscriptionId = String(sub?.w365_providersubscriptionid);
    organizationId = (await world.dv.whoAmI()).OrganizationId;
    // Count what the worker is handed, without changing what it does.
    const engine = world.host.runtime.engine;
    const original = engine.runOutboundForSubscription.bind(engine);
    engine.runOutboundForSubscription = (deps, o) => {
      queuedOutbound++;
      return original(deps, o);
    };
  });
  afterAll(async () => {
    await world?.close();
  });

  it(`holds ${RATE} deliveries per second with nothing lost or doubled`, async () => {
    // Distinct synthetic deliveries (the row itself holds no request): each is queued once and the
    // engine then finds nothing to send, so this measures the webhook path, not Ion order processing.
    const cache = new Map<number, unknown>();
    const payload = (i: number) => {
      const hex = i.toString(16).padStart(12, "0");
      if (!cache.has(i)) {
        cache.set(
          i,
          subscriptionUpdateContext(
            { w365_requestedquantity: 1 + (i % 5) },
            { id: subscriptionId, organizationId, operationId: `00000000-0000-4000-a000-${hex}`, requestId: `00000000-0000-4000-b000-${hex}`, correlationId: `00000000-0000-4000-c000-${hex}` },
          ),
        );
      }
      return cache.get(i);
    };
    const report = await driveWebhookLoad({ url: world.host.url, key: world.webhookKey, ratePerSecond: RATE, seconds: SECONDS, payload });
    const replays = await driveWebhookLoad({ url: world.host.url, key: world.webhookKey, ratePerSecond: RATE, seconds: 1, payload });
    await world.idle();
    expect(report.failures).toBe(0);
    expect(report.byStatus).toStrictEqual({ 202: RATE * SECONDS });
    expect(replays.byStatus).toStrictEqual({ 202: RATE });
    expect(queuedOutbound).toBe(RATE * SECONDS);
    expect(world.host.stats().poisoned).toBe(0);
    process.stdout.write(`webhook load: ${JSON.stringify({ ...report, replays: replays.byStatus })}\n`);
  });
});
