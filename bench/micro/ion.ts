/**
 * Micro-benchmark of the Ion client's own CPU per request. The simulator runs in a forked
 * child so that `process.cpuUsage()` of this process is the client side only. Not part of `npm test`.
 *
 *   npx esbuild bench/micro/ion.ts --bundle --platform=node --packages=external --outfile=/tmp/ion-micro.js
 *   node /tmp/ion-micro.js [--customers 10000] [--subscriptions-per-customer 5] [--profiles 10000] [--rounds 3]
 *
 * Phases, as the first sync at scenario L runs them: every customer page (pageSize 1000), `--profiles`
 * `customers.microsoftProfile(id)` calls at concurrency 8, every subscription page (limit 1000);
 * `--only cloudProfiles,subscriptions` runs some of them.
 */
import { fork } from "node:child_process";

import { IonClient } from "../../src/ion";
import { MemoryTokenStore, TokenManager } from "../../src/tokens";

interface ServerReady {
  url: string;
  accountId: string;
  refreshToken: string;
  customerIds: string[];
}

function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function serve(): Promise<void> {
  const { startIonSimulator } = await import("../../sandbox/ion");
  const sim = await startIonSimulator({
    customers: argNumber("customers", 10_000),
    subscriptionsPerCustomer: argNumber("subscriptions-per-customer", 5),
    seed: 8,
    maxPageSize: 1000,
  });
  const ready: ServerReady = {
    url: sim.url,
    accountId: sim.accountId,
    refreshToken: sim.credentials.refreshToken,
    customerIds: sim.control.customers().map((c) => c.id),
  };
  process.send?.(ready);
  process.on("disconnect", () => void sim.close().then(() => process.exit(0)));
}

async function mapPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** The lowest CPU µs per request seen per phase: the machine is shared, so the minimum is the stable figure. */
const best = new Map<string, number>();

async function phase(name: string, requests: () => number, run: () => Promise<void>): Promise<void> {
  const only = process.argv.indexOf("--only");
  if (only >= 0 && !process.argv[only + 1]?.split(",").includes(name)) return;
  const before = requests();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const n = requests() - before;
  const cpuMs = (used.user + used.system) / 1000;
  const perRequestUs = (cpuMs * 1000) / Math.max(1, n);
  best.set(name, Math.min(best.get(name) ?? Infinity, perRequestUs));
  console.log(
    `${name.padEnd(14)} ${String(n).padStart(6)} req  wall ${wall.toFixed(0).padStart(6)} ms  cpu ${cpuMs.toFixed(0).padStart(6)} ms (user ${(used.user / 1000).toFixed(0)}, sys ${(used.system / 1000).toFixed(0)})  ${perRequestUs.toFixed(0).padStart(5)} µs/req`,
  );
}

async function main(): Promise<void> {
  const child = fork(__filename, ["--serve", ...process.argv.slice(2)], { stdio: "inherit" });
  const ready = await new Promise<ServerReady>((resolve) => child.once("message", (m) => resolve(m as ServerReady)));
  const store = new MemoryTokenStore({ refreshToken: ready.refreshToken });
  const tokens = new TokenManager({ baseUrl: ready.url, store });
  let requests = 0;
  const count = () => requests;
  const countingClient = new IonClient({
    baseUrl: ready.url,
    accountId: ready.accountId,
    tokens,
    maxConcurrency: 8,
    onRequest: () => requests++,
  });
  const ids = ready.customerIds.slice(0, argNumber("profiles", 10_000));
  // Warm-up: JIT, sockets, token.
  await mapPool(ids.slice(0, 500), 8, (id) => countingClient.customers.microsoftProfile(id));
  for (let round = 1; round <= argNumber("rounds", 3); round++) {
    console.log(`round ${round}`);
    await phase("customers", count, async () => {
      for await (const page of countingClient.customers.listPages({ pageSize: 1000 })) void page;
    });
    await phase("cloudProfiles", count, () => mapPool(ids, 8, (id) => countingClient.customers.microsoftProfile(id)));
    await phase("subscriptions", count, async () => {
      for await (const page of countingClient.subscriptions.listPages({ limit: 1000 })) void page;
    });
  }
  console.log(`best CPU per request: ${[...best].map(([name, us]) => `${name} ${us.toFixed(0)} µs`).join(", ")}`);
  child.disconnect();
}

if (process.argv.includes("--serve")) void serve();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
