/**
 * Micro-benchmark of what a no-change sync spends per Ion subscription before any Dataverse work: one
 * 1,000-subscription page as the simulator renders it (the wire text), parsed, mapped to the row's data,
 * content-hashed and turned into its digest token. Reports CPU ns per record and bytes allocated per record.
 * Not part of `npm test`. Run after `npm run build`: `node build/bench/micro/subscriptionPage.js [--rounds N]`.
 *
 * Bytes are counted as the growth of the V8 heap over one page with young generations large enough that no
 * collection runs meanwhile (the script restarts itself with those flags): every byte the path allocates,
 * garbage included, which is what the collector later pays for.
 */
import { spawnSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";

import { generateDataset } from "../../sandbox/ion";
import { DEFAULT_START_TIME } from "../../sandbox/ion/dataset";
import { renderSubscription } from "../../sandbox/ion/render";
import { fromIonSubscriptionPage, fromIonSubscriptionRecordPage } from "../../src/ion/parse/subscription";
import { subscriptionToken } from "../../src/sync/digest";
import { toProviderSubscriptionRow } from "../../src/sync/rows/toProviderSubscriptionRow";

const PAGE = 1_000;
const ALLOCATION_FLAGS = ["--expose-gc", "--min-semi-space-size=256", "--max-semi-space-size=256"];

/** One page of Ion's `GET /subscriptions` as the simulator answers it (seeded: the same text every run). */
export function subscriptionPageText(count = PAGE): string {
  const accountId = "1000123";
  const data = generateDataset({
    seed: 8,
    customers: Math.ceil(count / 5),
    subscriptionsPerCustomer: 5,
    accountId,
    startTime: DEFAULT_START_TIME,
    country: "US",
    currency: "USD",
  });
  const org = new Map(data.customers.map((c) => [c.id, c.customerOrganization]));
  const items = data.subscriptions
    .slice(0, count)
    .map((s) => renderSubscription(accountId, data.partnerName, org.get(s.customerId) ?? "", s, false));
  return JSON.stringify({ items, totalCount: String(items.length), paginationResponse: { totalSize: items.length } });
}

export interface Path {
  name: string;
  /** Handles one page's text; returns something derived from every record, so nothing is optimised away. */
  run: (text: string) => number;
}

const links = { providerAccountId: "0b6b1e8e-6a55-4f1e-9d53-3c2d0f1f6a11", accountId: "5f0d2c71-1b7e-4b43-a1d5-0f4b7a3e9c22" };
const connectionId = "7a1c9e55-2f61-4d7c-8f3e-6b9d1a2c4e00";

export const PATHS: Path[] = [
  { name: "JSON.parse only", run: (text) => (JSON.parse(text) as { items: unknown[] }).items.length },
  {
    name: "parse + IonSubscription objects (with raw)",
    run: (text) => fromIonSubscriptionPage(JSON.parse(text)).items.length,
  },
  {
    name: "parse + records (what the sync reads)",
    run: (text) => fromIonSubscriptionRecordPage(JSON.parse(text)).items.length,
  },
  {
    name: "parse + records + map + hash + token (sync)",
    run: (text) => {
      let n = 0;
      for (const s of fromIonSubscriptionRecordPage(JSON.parse(text)).items) {
        const row = toProviderSubscriptionRow(connectionId, s, links, false);
        n += subscriptionToken(s.id, row.hash).length;
      }
      return n;
    },
  },
];

function cpuNs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
}

/** Median and minimum CPU ns per record over `rounds` rounds of `pages` pages each. */
function timePath(path: Path, text: string, rounds: number, pages: number): { median: number; min: number } {
  let sink = 0;
  for (let i = 0; i < 20; i++) sink += path.run(text); // warm-up: JIT
  const runs: number[] = [];
  for (let r = 0; r < rounds; r++)
    runs.push(
      cpuNs(() => {
        for (let p = 0; p < pages; p++) sink += path.run(text);
      }) /
        (pages * PAGE),
    );
  if (sink === 42) console.log("");
  runs.sort((a, b) => a - b);
  return { median: runs[Math.floor(runs.length / 2)]!, min: runs[0]! };
}

/** Bytes allocated per record over one page (in the process started with ALLOCATION_FLAGS). */
async function allocatedPerRecord(path: Path, text: string): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 20; i++) path.run(text);
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    observer.observe({ entryTypes: ["gc"] });
    collections = 0;
    const before = process.memoryUsage().heapUsed;
    path.run(text);
    const after = process.memoryUsage().heapUsed;
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    if (collections === 0) samples.push((after - before) / PAGE);
  }
  if (samples.length === 0) throw new Error(`${path.name}: a collection ran during every measured page`);
  return Math.min(...samples);
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const text = subscriptionPageText();
  if (process.argv.includes("--allocations")) {
    const out: Record<string, number> = {};
    for (const path of PATHS) out[path.name] = await allocatedPerRecord(path, text);
    process.stdout.write(JSON.stringify(out));
    return;
  }
  const child = spawnSync(process.execPath, [...ALLOCATION_FLAGS, __filename, "--allocations"], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`allocation run failed: ${child.stderr}`);
  const bytes = JSON.parse(child.stdout) as Record<string, number>;
  console.log(`one page: ${PAGE} subscriptions, ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB of JSON`);
  for (const path of PATHS) {
    const t = timePath(path, text, arg("rounds", 9), arg("pages", 10));
    console.log(
      `${path.name.padEnd(52)} CPU median ${t.median.toFixed(0).padStart(6)} ns/record  min ${t.min.toFixed(0).padStart(6)}   allocated ${bytes[path.name]!.toFixed(0).padStart(6)} B/record`,
    );
  }
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
