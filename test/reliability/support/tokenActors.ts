/**
 * Token actors: an engine instance (its own Dataverse client, clock, holder id and journal, as a separate
 * process has) that rotates one connector's refresh token again and again, with its host clock skewed
 * and its token saves slowed by Dataverse's throttling answer (429 with Retry-After up to the cap) before
 * they reach the emulator. Used in-process by the multi-actor test and, unchanged, by its child processes.
 */
import { DataverseClient } from "../../../src/dataverse";
import { ensureError } from "../../../src/shared/errors";
import { silentLogger } from "../../../src/shared/logger";
import type { SyncDeps } from "../../../src/sync";
import { loadConnection, makeContext } from "../../../src/sync/context";
import { RotationJournal } from "../../../src/tokens";

export interface ActorOptions {
  dataverseUrl: string;
  dataverseToken: string;
  connectionId: string;
  /** The host clock's error, ms (± minutes). */
  clockOffsetMs: number;
  seed: number;
  rotations: number;
  /** Longest Retry-After a token save is answered with, ms; the lease is sized with it. */
  saveRetryAfterCapMs: number;
  /** The Ion token call's timeout, ms; the lease is sized with it. */
  exchangeTimeoutMs: number;
}

export interface ActorResult {
  rotated: number;
  /** Failed rotations by error code (lease waits and lost leases are expected under contention). */
  failed: Record<string, number>;
  /** Token saves answered 429 before they reached the emulator. */
  slowedSaves: number;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** fetch that answers some token saves (PATCH carrying w365_refreshtoken) with 429 and a Retry-After up to the cap. */
export function slowSaveFetch(random: () => number, capMs: number, counter: { slowed: number }): typeof fetch {
  const throttled = new Set<string>();
  return async (input, init) => {
    const body = typeof init?.body === "string" ? init.body : "";
    // Each save is throttled at most once: a slow save, not a failed one (those are tested on their own).
    if (init?.method === "PATCH" && body.includes('"w365_refreshtoken"') && !throttled.has(body) && random() < 0.5) {
      throttled.add(body);
      counter.slowed++;
      // Dataverse's service protection answers 429 with Retry-After in seconds (whole or fractional here, scaled).
      const seconds = ((0.2 + random() * 0.8) * capMs) / 1000;
      return new Response(JSON.stringify({ error: { code: "0x80072322", message: "Number of requests exceeded the limit." } }), {
        status: 429,
        headers: { "Content-Type": "application/json", "Retry-After": seconds.toFixed(3) },
      });
    }
    return fetch(input, init);
  };
}

export async function runTokenActor(o: ActorOptions): Promise<ActorResult> {
  const random = seeded(o.seed);
  const counter = { slowed: 0 };
  const clock = { now: () => Date.now() + o.clockOffsetMs };
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const dataverse = new DataverseClient({
    url: o.dataverseUrl,
    auth: { kind: "static", token: o.dataverseToken },
    logger: silentLogger,
    clock,
    sleep,
    fetch: slowSaveFetch(random, o.saveRetryAfterCapMs, counter),
  });
  const deps: SyncDeps = {
    dataverse,
    logger: silentLogger,
    clock,
    sleep,
    holderId: `actor-${o.seed}`,
    rotations: new RotationJournal(),
    ion: { timeoutMs: o.exchangeTimeoutMs },
    tokenLease: { saveRetryAfterCapMs: o.saveRetryAfterCapMs, leaseMarginMs: 1_000 },
  };
  const result: ActorResult = { rotated: 0, failed: {}, slowedSaves: 0 };
  for (let i = 0; i < o.rotations; i++) {
    await sleep(Math.floor(random() * 50));
    try {
      const ctx = makeContext(deps, await loadConnection(dataverse, o.connectionId));
      await ctx.tokens.rotate();
      result.rotated++;
    } catch (error) {
      const code = (error as { code?: string }).code ?? ensureError(error).name;
      result.failed[code] = (result.failed[code] ?? 0) + 1;
    }
  }
  result.slowedSaves = counter.slowed;
  return result;
}
