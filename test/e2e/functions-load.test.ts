/**
 * Webhook load through the full stack: 50 deliveries per second (each a distinct admin change on a
 * subscription) for FUNCTIONS_LOAD_SECONDS seconds (default 3 here; the soak runs 60), plus replays
 * of some of them. Every delivery is answered, each change is queued exactly once, replays do nothing.
 */
import { driveWebhookLoad } from "../../sandbox/functions-host/load";
import { startWebhookLoadWorld, type WebhookLoadSetup } from "../support/world";

jest.setTimeout(180_000);
const SECONDS = Number(process.env.FUNCTIONS_LOAD_SECONDS ?? 3);
const RATE = 50;

describe("webhook endpoint under load", () => {
  let setup: WebhookLoadSetup;

  beforeAll(async () => {
    setup = await startWebhookLoadWorld();
  });
  afterAll(async () => {
    await setup?.world.close();
  });

  it(`holds ${RATE} deliveries per second with nothing lost or doubled`, async () => {
    const { world, delivery: payload, handed } = setup;
    const report = await driveWebhookLoad({ url: world.host.url, key: world.webhookKey, ratePerSecond: RATE, seconds: SECONDS, payload });
    const replays = await driveWebhookLoad({ url: world.host.url, key: world.webhookKey, ratePerSecond: RATE, seconds: 1, payload });
    await world.idle();
    expect(report.failures).toBe(0);
    expect(report.byStatus).toStrictEqual({ 202: RATE * SECONDS });
    expect(replays.byStatus).toStrictEqual({ 202: RATE });
    expect(handed.length).toBe(RATE * SECONDS);
    expect(world.host.stats().poisoned).toBe(0);
    process.stdout.write(`webhook load: ${JSON.stringify({ ...report, replays: replays.byStatus })}\n`);
  });
});
