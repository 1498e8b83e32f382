/**
 * A paced load driver for the local host's webhook endpoint (50 concurrent
 * deliveries per second for a minute). Sends `ratePerSecond` deliveries at the start of every second
 * without waiting for earlier ones, and reports what came back. Timing figures are for reports only;
 * tests assert the counts (nothing lost, nothing doubled).
 */
import { sleep } from "../../src/shared/retry";
import { WEBHOOK_PATH } from "../../src/solution/contract";

export interface WebhookLoadOptions {
  url: string;
  key: string;
  ratePerSecond: number;
  seconds: number;
  /** The RemoteExecutionContext of delivery `i` (make ids distinct unless testing replays). */
  payload: (i: number) => unknown;
  headers?: Record<string, string>;
}

export interface WebhookLoadReport {
  sent: number;
  byStatus: Record<string, number>;
  failures: number;
  latencyMs: { p50: number; p95: number; max: number };
  wallMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function driveWebhookLoad(o: WebhookLoadOptions): Promise<WebhookLoadReport> {
  const started = Date.now();
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let failures = 0;
  const inFlight: Promise<void>[] = [];
  const target = `${o.url.replace(/\/+$/, "")}${WEBHOOK_PATH}`;
  for (let second = 0; second < o.seconds; second++) {
    const tickAt = started + second * 1000;
    const wait = tickAt - Date.now();
    if (wait > 0) await sleep(wait);
    for (let j = 0; j < o.ratePerSecond; j++) {
      const i = second * o.ratePerSecond + j;
      const t0 = Date.now();
      inFlight.push(
        fetch(target, {
          method: "POST",
          headers: { "content-type": "application/json", "x-functions-key": o.key, ...(o.headers ?? {}) },
          body: JSON.stringify(o.payload(i)),
        }).then(
          async (res) => {
            await res.arrayBuffer();
            latencies.push(Date.now() - t0);
            byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
          },
          () => {
            failures++;
          },
        ),
      );
    }
  }
  await Promise.all(inFlight);
  latencies.sort((a, b) => a - b);
  return {
    sent: o.ratePerSecond * o.seconds,
    byStatus,
    failures,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies[latencies.length - 1] ?? 0 },
    wallMs: Date.now() - started,
  };
}
