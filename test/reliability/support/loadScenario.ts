/**
 * The local functions host's webhook endpoint under 50 deliveries per second (the
 * functions engineer's driveWebhookLoad), extended: every 10th delivery replays an earlier one, and a
 * stream of wrong-key deliveries runs alongside. Nothing lost (every distinct delivery is handed to the
 * engine once), nothing doubled (replays and refused deliveries never are).
 */
import { driveWebhookLoad, type WebhookLoadReport } from "../../../sandbox/functions-host/load";
import { startWebhookLoadWorld } from "../../support/world";

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
  const { world, delivery, handed } = await startWebhookLoadWorld();
  try {
    const isReplay = (i: number) => i % 10 === 9;
    const payload = (i: number) => (isReplay(i) ? delivery(i - 7) : delivery(i));
    const wrongRate = 5;
    const [report, wrong] = await Promise.all([
      driveWebhookLoad({ url: world.host.url, key: world.webhookKey, ratePerSecond: rate, seconds, payload }),
      driveWebhookLoad({
        url: world.host.url,
        key: "wrong-key-0123456789abcdef",
        ratePerSecond: wrongRate,
        seconds,
        payload: (i) => delivery(100_000 + i),
      }),
    ]);
    await world.idle();
    const sent = rate * seconds;
    const replays = Array.from({ length: sent }, (_, i) => i).filter(isReplay).length;
    const distinct = sent - replays;
    const handedToEngine = handed.length;
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
