/**
 * Micro-benchmark of the per-row CPU of a sync: mapping + content hashing of 50,000 Ion
 * subscriptions, building 57 $batch bodies of 1,000 upserts, reading a 1,000-part $batch response.
 * Not part of `npm test`. Run after `npm run build`: `node build/bench/micro/rows.js [--rounds N]`.
 */
import { randomUUID } from "node:crypto";

import { writeBatchResponse } from "../../sandbox/dataverse/batch";
import { type BatchRequestUnit, contentIdReferences, readBatchResponse, writeBatchBody } from "../../src/dataverse/batch";
import { type SubscriptionInput, toProviderSubscriptionRow } from "../../src/sync/rows/toProviderSubscriptionRow";

const ROWS = 50_000;
const BATCHES = 57;
const BATCH_SIZE = 1_000;

/** Deterministic pseudo-random numbers, so every run maps the same rows. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
}

/** Subscriptions shaped like the simulator's (dates with milliseconds) and like Ion's (whole seconds). */
function subscriptions(count: number): SubscriptionInput[] {
  const rnd = lcg(8);
  const base = Date.UTC(2024, 0, 1);
  const date = (withMs: boolean) => {
    const text = new Date(base + Math.floor(rnd() * 400 * 86_400_000)).toISOString();
    return withMs ? text : text.replace(/\.\d{3}Z$/, "Z");
  };
  return Array.from({ length: count }, (_, i) => {
    const withMs = i % 2 === 0;
    return {
      id: String(2_000_000 + i),
      subscriptionId: randomUUID(),
      customerId: String(1_000 + Math.floor(i / 5)),
      name: `Microsoft 365 Business Premium ${i % 7}`,
      productName: "Microsoft 365 Business Premium",
      skuName: "Microsoft 365 Business Premium (NCE, monthly)",
      quantity: 1 + Math.floor(rnd() * 300),
      status: "active",
      autoRenew: rnd() < 0.8,
      billingCycle: "monthly",
      billingTerm: "P1Y",
      startDate: date(withMs),
      endDate: date(withMs),
      renewalDate: date(withMs),
      cancellationAllowedUntil: date(withMs),
      currency: "USD",
      cost: Math.round(rnd() * 30_000) / 100,
      price: Math.round(rnd() * 36_000) / 100,
      lastUpdatedDate: date(withMs),
    };
  });
}

function time(label: string, rounds: number, fn: () => unknown): void {
  fn(); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // CPU time of this process, not wall time: the machine is shared, and waiting for a core is not work.
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    runs.push((used.user + used.system) / 1000);
  }
  runs.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(58)} CPU median ${runs[Math.floor(runs.length / 2)]!.toFixed(1).padStart(7)} ms   min ${runs[0]!.toFixed(1).padStart(7)} ms`,
  );
}

function main(): void {
  const roundsArg = process.argv.indexOf("--rounds");
  const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 9;
  const subs = subscriptions(ROWS);
  const links = { providerAccountId: randomUUID(), accountId: randomUUID() };
  const connectionId = randomUUID();
  let sink = 0;

  time(`map + hash ${ROWS} subscriptions (no-change run)`, rounds, () => {
    for (let i = 0; i < subs.length; i++) sink += toProviderSubscriptionRow(connectionId, subs[i]!, links, i % 50 === 0).hash.length;
  });
  time(`map + hash + body + JSON ${ROWS} subscriptions (first run)`, rounds, () => {
    for (let i = 0; i < subs.length; i++)
      sink += JSON.stringify(toProviderSubscriptionRow(connectionId, subs[i]!, links, i % 50 === 0).body).length;
  });

  // What the client sends: one PATCH part per changed row, its body already JSON (BatchWriter).
  const jsonBodies = subs
    .slice(0, BATCH_SIZE)
    .map((s, i) => JSON.stringify(toProviderSubscriptionRow(connectionId, s, links, i % 50 === 0).body));
  const units: BatchRequestUnit[] = jsonBodies.map((body, i) => ({
    kind: "single",
    part: {
      method: "PATCH",
      url: `/api/data/v9.2/w365_providersubscriptions(w365_connectionid=${connectionId},w365_ionsubscriptionid='${2_000_000 + i}')`,
      headers: { "Content-Type": "application/json; type=entry" },
      body,
    },
  }));
  time(`${BATCHES} x contentIdReferences over ${BATCH_SIZE} parts`, rounds, () => {
    for (let b = 0; b < BATCHES; b++) for (const u of units) if (u.kind === "single") sink += contentIdReferences(u.part).length;
  });
  time(`${BATCHES} x writeBatchBody of ${BATCH_SIZE} parts`, rounds, () => {
    // byteLength reads the whole text, as sending it does (a concatenated string is flattened then).
    for (let b = 0; b < BATCHES; b++) sink += Buffer.byteLength(writeBatchBody(units, `batch_${b}`, (i) => `changeset_${i}`));
  });

  const response = writeBatchResponse(
    Array.from({ length: BATCH_SIZE }, () => ({
      kind: "response" as const,
      response: {
        status: 204,
        headers: {
          "OData-Version": "4.0",
          "OData-EntityId": `https://org.crm.dynamics.com/api/data/v9.2/w365_providersubscriptions(${randomUUID()})`,
        },
      },
    })),
  );
  time(`${BATCHES} x readBatchResponse of ${BATCH_SIZE} parts`, rounds, () => {
    for (let b = 0; b < BATCHES; b++) sink += readBatchResponse(response.contentType, response.body).length;
  });
  if (sink === 42) console.log("");
}

main();
