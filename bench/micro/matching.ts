/**
 * Micro-benchmark of customer-to-account matching, outside `npm test`: the first sync of
 * scenario L matches 10,000 Ion customers against ~12,400 existing accounts, built here as the bench
 * builds them (the simulator's customers, the sandbox's CRM accounts plus one exact account per customer
 * they leave without a sure match).
 *
 *   npm run build && node build/bench/micro/matching.js [--customers 10000] [--seed 8] [--rounds 5]
 *
 * Prints the index build time, the matching time per round (best and median, wall and CPU) and a digest of every
 * decision, so two implementations can be compared for sameness as well as speed.
 */
import { createHash } from "node:crypto";

import { generateDataset, type SimCustomer } from "../../sandbox/ion";
import { DEFAULT_START_TIME } from "../../sandbox/ion/dataset";
import { AccountIndex, type AccountRecord, matchCustomer, type MatchDecision, type MatchQuery } from "../../src/sync/matching";
import { benchAccounts } from "../run";

function option(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

/** Deterministic GUID-shaped account ids, as Dataverse would assign (their order breaks score ties). */
function accountIds(count: number, seed: number): string[] {
  let state = seed >>> 0 || 1;
  const hex = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state.toString(16).padStart(8, "0");
  };
  return Array.from({ length: count }, () => {
    const h = hex() + hex() + hex() + hex();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  });
}

/** What the sync passes to matchCustomer for a new customer (cloud profile tenant and domain). */
export function queryOf(c: SimCustomer): MatchQuery {
  return {
    organization: c.customerOrganization,
    tenantId: c.cloudProfiles[0]?.customerTenantId ?? null,
    domain: c.cloudProfiles[0]?.customerDomain ?? c.customerDomain ?? null,
    email: c.customerEmail,
    postalCode: c.customerAddress.zip,
    country: c.customerAddress.country?.toUpperCase() ?? null,
  };
}

/** The bench's accounts and the simulator's customers for a seed. */
export function matchingData(seed: number, customers: number): { accounts: AccountRecord[]; queries: MatchQuery[] } {
  const ds = generateDataset({
    seed,
    customers,
    subscriptionsPerCustomer: 0,
    accountId: "1000123",
    startTime: DEFAULT_START_TIME,
    country: "US",
    currency: "USD",
  });
  const rows = benchAccounts(seed, ds.customers);
  const ids = accountIds(rows.length, seed);
  const accounts = rows.map((row, i) => ({ ...(row as Omit<AccountRecord, "accountid">), accountid: ids[i]! }));
  return { accounts, queries: ds.customers.map(queryOf) };
}

function digest(decisions: MatchDecision[]): string {
  return createHash("sha256").update(JSON.stringify(decisions)).digest("hex").slice(0, 16);
}

function main(argv: string[]): void {
  const customers = option(argv, "customers", 10_000);
  const seed = option(argv, "seed", 8);
  const rounds = option(argv, "rounds", 5);
  const { accounts, queries } = matchingData(seed, customers);

  const t0 = performance.now();
  const index = new AccountIndex();
  for (const a of accounts) index.add(a);
  const indexMs = performance.now() - t0;

  // CPU time as well as wall time: the machine is shared, and CPU time moves less with the neighbours' load.
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let decisions: MatchDecision[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    decisions = queries.map((q) => matchCustomer(index, q));
    const cpu = process.cpuUsage(cpuStart);
    times.push(performance.now() - start);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  // The sync matches once per run: the first round (cold code, lazily built lists) is its figure.
  const firstMs = times[0]!;
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const counts = { map: 0, suggest: 0, none: 0 };
  for (const d of decisions) counts[d.decision]++;
  process.stdout.write(
    `${customers} customers x ${index.size} accounts (seed ${seed}): index ${indexMs.toFixed(0)} ms; ` +
      `match first round ${firstMs.toFixed(0)} ms, best ${times[0]!.toFixed(0)} ms, median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms over ${rounds} rounds ` +
      `(CPU best ${cpuTimes[0]!.toFixed(0)} ms, median ${cpuTimes[Math.floor(cpuTimes.length / 2)]!.toFixed(0)} ms); ` +
      `decisions ${JSON.stringify(counts)} digest ${digest(decisions)}\n`,
  );
}

if (require.main === module) main(process.argv.slice(2));
