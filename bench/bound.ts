/**
 * The lower bound a run can reach under the latency model (sandbox/latency.ts). Pure.
 *
 * Each service works on at most so many requests at once (Dataverse: its `x-ms-dop-hint`, the workers the
 * emulator serves with; Ion: its concurrency cap), so a run needs at least its busy time on that service
 * (the sum of what the model charged for the requests the run made) divided by that concurrency. Some calls
 * must also follow one another whatever the concurrency: Ion's customer pages (each page's token comes
 * from the one before) and the pages of one Dataverse read (each `@odata.nextLink` comes from the page
 * before; the reads of one entity set are counted as one chain). The bound is the largest of these.
 */
import type { LatencyLedger, LatencyModel } from "../sandbox/latency";

export interface BoundInput {
  services: { name: string; busyMs: number; concurrency: number }[];
  chains: { name: string; ms: number }[];
}

export interface Bound {
  ms: number;
  /** The part that sets the bound, e.g. "ion busy / 8" or "chain: ion customer pages". */
  limitedBy: string;
  /** Every part, ms. */
  parts: Record<string, number>;
}

export function lowerBound(input: BoundInput): Bound {
  const parts: Record<string, number> = {};
  for (const s of input.services) parts[`${s.name} busy / ${s.concurrency}`] = s.busyMs / Math.max(1, s.concurrency);
  for (const c of input.chains) parts[`chain: ${c.name}`] = c.ms;
  let limitedBy = "";
  let ms = 0;
  for (const [name, value] of Object.entries(parts))
    if (value > ms) {
      ms = value;
      limitedBy = name;
    }
  for (const k of Object.keys(parts)) parts[k] = Math.round(parts[k]!);
  return { ms: Math.round(ms), limitedBy, parts };
}

/** Ion's token-paged customer list: its pages are a chain. */
export const ION_CUSTOMER_PAGES = "GET /api/v3/accounts/{A}/customers";

/**
 * The bound's input from what the two layers charged during a run. Dataverse's chains are the page chains
 * the emulator linked by their skip tokens (`ledger.chains`): two reads of one entity set side by side are
 * two chains, not one (summing them would raise the bound above what the run had to wait). Ion's customer
 * list is read once per run, so all its pages are one chain.
 */
export function boundInput(model: LatencyModel, dataverse: LatencyLedger, ion: LatencyLedger): BoundInput {
  const chains: BoundInput["chains"] = [{ name: "ion customer pages", ms: ion.byKey[ION_CUSTOMER_PAGES]?.busyMs ?? 0 }];
  let longest: { name: string; ms: number } | undefined;
  const linked = dataverse.chains ?? {};
  for (const [key, ms] of Object.entries(linked))
    if (key.startsWith("GET ") && (!longest || ms > longest.ms)) longest = { name: `dataverse ${key} pages`, ms };
  if (longest) chains.push(longest);
  return {
    services: [
      { name: "dataverse", busyMs: dataverse.busyMs, concurrency: model.dataverse.dopHint },
      { name: "ion", busyMs: ion.busyMs, concurrency: model.ion.maxConcurrent },
    ],
    chains,
  };
}
