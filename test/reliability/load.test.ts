/**
 * Webhook endpoint load, npm test variant (5 seconds; the soak holds it for 60).
 */
import { recordFigures } from "./support/figures";
import { runWebhookLoad } from "./support/loadScenario";

const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 5);

describe("webhook endpoint load", () => {
  it(`holds 50 deliveries per second for ${SECONDS} s with replays and forged deliveries mixed in: nothing lost or doubled`, async () => {
    const f = await runWebhookLoad(SECONDS);
    recordFigures("load", { ...f });
    expect(f.failures).toBe(0);
    expect(f.byStatus).toStrictEqual({ 202: f.sent });
    expect(f.wrongKey.byStatus).toStrictEqual({ 401: f.wrongKey.sent });
    expect(f.handedToEngine).toBe(f.distinct);
    expect({ lost: f.lost, doubled: f.doubled, poisoned: f.poisoned }).toStrictEqual({ lost: 0, doubled: 0, poisoned: 0 });
  });
});
