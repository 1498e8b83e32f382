/**
 * Multi-actor refresh tokens: Ion's refresh token is single-use, so no interleaving of engine instances
 * and OS processes (host clocks up to ±5 minutes apart, token saves slowed by Retry-After up to the cap)
 * may present a used token. Ion (the simulator) counts every presentation of an already-used token; it
 * must stay 0. Lease and save rules are also proven one by one: the lease is judged by Dataverse's clock,
 * is extended before the exchange and must cover it, a save succeeds while the row holds the token it
 * rotated from (even after the lease moved on), and a remembered rotation saved by the keep-alive sets the
 * connector back to Connected. Figures go to multi-actor-tokens.json (test/reliability/multi-actor/tokens.md).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

import { DataverseClient, DataverseServerError } from "../../src/dataverse";
import { IonTransport } from "../../src/ion";
import { silentLogger } from "../../src/shared/logger";
import { ConnectionStatus, runKeepAlive, runSync, type SyncDeps } from "../../src/sync";
import { loadConnection, makeContext } from "../../src/sync/context";
import {
  connectorKey,
  DataverseTokenStore,
  leaseHolderOf,
  MAX_LEASE_CHECKS_PER_HOLDER,
  RotationJournal,
  TokenLeaseTimeoutError,
  TokenLeaseTooShortError,
  TokenManager,
} from "../../src/tokens";
import { bundleChildScript } from "../support/childScript";
import { startWorld, type World } from "../support/world";
import { recordFigures } from "./support/figures";
import { type ActorResult, runTokenActor } from "./support/tokenActors";

const CONN = "w365_providerconnections";
const MINUTE = 60_000;
/** Scaled-down lease inputs (the production defaults are 60 s and 60 s): the same rules, in test time. */
const EXCHANGE_TIMEOUT_MS = 1_000;
const SAVE_RETRY_AFTER_CAP_MS = 1_000;
const SEEDS = [11, 12, 13, 14, 15];
const figures: Record<string, unknown> = {};

afterAll(() => recordFigures("multi-actor-tokens", figures));

function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Clock errors for n actors: the two extremes (±5 min) and seeded values between. */
function skews(seed: number, n: number): number[] {
  const random = seeded(seed);
  return Array.from({ length: n }, (_, i) => (i === 0 ? -5 * MINUTE : i === 1 ? 5 * MINUTE : Math.round((random() * 2 - 1) * 5 * MINUTE)));
}

function sum(results: ActorResult[], pick: (r: ActorResult) => number): number {
  return results.reduce((n, r) => n + pick(r), 0);
}

function failures(results: ActorResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.failed)) out[k] = (out[k] ?? 0) + v;
  return out;
}

async function row(w: World): Promise<Record<string, unknown>> {
  return w.dv.retrieve(CONN, w.connectionId, {
    select: ["w365_status", "w365_statusmessage", "w365_refreshtoken", "w365_tokenleaseholder"],
  });
}

describe("engine instances in one process, host clocks up to ±5 min apart, slow saves", () => {
  const runs: Array<Record<string, unknown>> = [];
  afterAll(() => (figures.inProcess = runs));

  it.each(SEEDS)("seed %i: 4 instances rotating at once never present a refresh token twice", async (seed) => {
    const w = await startWorld({ seed, customers: 2, subscriptionsPerCustomer: 1 });
    try {
      const offsets = skews(seed, 4);
      const results = await Promise.all(
        offsets.map((clockOffsetMs, i) =>
          runTokenActor({
            dataverseUrl: w.emu.url,
            dataverseToken: w.emu.integrationToken,
            connectionId: w.connectionId,
            clockOffsetMs,
            seed: seed * 10 + i,
            rotations: 4,
            saveRetryAfterCapMs: SAVE_RETRY_AFTER_CAP_MS,
            exchangeTimeoutMs: EXCHANGE_TIMEOUT_MS,
          }),
        ),
      );
      const usage = w.ion.control.tokenUsage();
      expect(usage.reusedRefreshTokens).toBe(0);
      expect(usage.rejected).toBe(0);
      expect(sum(results, (r) => r.rotated)).toBeGreaterThan(0);
      expect(usage.presented).toBe(sum(results, (r) => r.rotated));
      // The row holds Ion's live token: one more rotation works.
      const after = await makeContext(w.deps, await loadConnection(w.dv, w.connectionId)).tokens.rotate();
      expect(after.refreshToken).toBe((await row(w)).w365_refreshtoken);
      expect((await row(w)).w365_tokenleaseholder ?? null).toBeNull();
      runs.push({
        seed,
        actors: 4,
        clockOffsetsMin: offsets.map((o) => Math.round(o / 6_000) / 10),
        rotations: sum(results, (r) => r.rotated),
        slowedSaves: sum(results, (r) => r.slowedSaves),
        refused: failures(results),
        presented: usage.presented,
        presentedTwice: usage.reusedRefreshTokens,
      });
    } finally {
      await w.close();
    }
  });
});

describe("OS processes and in-process instances together", () => {
  let childScript: string;
  beforeAll(() => {
    childScript = bundleChildScript(path.join(__dirname, "support", "token-child.ts"));
  });

  function child(w: World, o: { clockOffsetMs: number; seed: number; rotations: number }): Promise<ActorResult> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [childScript], {
        cwd: path.resolve(__dirname, "../.."),
        env: {
          PATH: process.env.PATH ?? "",
          NODE_PATH: path.resolve(__dirname, "../../node_modules"),
          DATAVERSE_URL: w.emu.url,
          DATAVERSE_TOKEN: w.emu.integrationToken,
          CONNECTION_ID: w.connectionId,
          CLOCK_OFFSET_MS: String(o.clockOffsetMs),
          SEED: String(o.seed),
          ROTATIONS: String(o.rotations),
          SAVE_RETRY_AFTER_CAP_MS: String(SAVE_RETRY_AFTER_CAP_MS),
          EXCHANGE_TIMEOUT_MS: String(EXCHANGE_TIMEOUT_MS),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      proc.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
      proc.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      proc.on("error", reject);
      proc.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(stdout.trim()) as ActorResult) : reject(new Error(`child failed: ${stderr}`)),
      );
    });
  }

  it("3 processes (clocks -5, 0, +5 min) and 2 in-process instances never present a refresh token twice", async () => {
    const seed = 31;
    const w = await startWorld({ seed, customers: 2, subscriptionsPerCustomer: 1 });
    try {
      const offsets = [-5 * MINUTE, 0, 5 * MINUTE];
      const results = await Promise.all([
        ...offsets.map((clockOffsetMs, i) => child(w, { clockOffsetMs, seed: seed * 10 + i, rotations: 4 })),
        ...[-2 * MINUTE, 3 * MINUTE].map((clockOffsetMs, i) =>
          runTokenActor({
            dataverseUrl: w.emu.url,
            dataverseToken: w.emu.integrationToken,
            connectionId: w.connectionId,
            clockOffsetMs,
            seed: seed * 10 + 5 + i,
            rotations: 4,
            saveRetryAfterCapMs: SAVE_RETRY_AFTER_CAP_MS,
            exchangeTimeoutMs: EXCHANGE_TIMEOUT_MS,
          }),
        ),
      ]);
      const usage = w.ion.control.tokenUsage();
      expect(usage.reusedRefreshTokens).toBe(0);
      expect(usage.rejected).toBe(0);
      expect(sum(results.slice(0, 3), (r) => r.rotated)).toBeGreaterThan(0);
      expect(usage.presented).toBe(sum(results, (r) => r.rotated));
      const after = await makeContext(w.deps, await loadConnection(w.dv, w.connectionId)).tokens.rotate();
      expect(after.refreshToken).toBe((await row(w)).w365_refreshtoken);
      figures.processes = {
        seed,
        processes: 3,
        inProcess: 2,
        clockOffsetsMin: [-5, 0, 5, -2, 3],
        rotations: sum(results, (r) => r.rotated),
        slowedSaves: sum(results, (r) => r.slowedSaves),
        refused: failures(results),
        presented: usage.presented,
        presentedTwice: usage.reusedRefreshTokens,
      };
    } finally {
      await w.close();
    }
  });
});

describe("lease and save rules, one at a time", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 41, customers: 2, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => {
    await w?.close();
  });

  function manager(o: {
    clockOffsetMs?: number;
    dv?: DataverseClient;
    holder: string;
    journal?: RotationJournal;
    clock?: { now(): number };
    maxWaitMs?: number;
    exchangeTimeoutMs?: number;
    sleep?: (ms: number) => Promise<void>;
  }) {
    const clock = o.clock ?? { now: () => Date.now() + (o.clockOffsetMs ?? 0) };
    const store = new DataverseTokenStore(o.dv ?? w.dv, w.connectionId, {
      holderId: o.holder,
      clock,
      ...(o.maxWaitMs ? { maxWaitMs: o.maxWaitMs } : {}),
      exchangeTimeoutMs: o.exchangeTimeoutMs ?? EXCHANGE_TIMEOUT_MS,
      saveRetryAfterCapMs: SAVE_RETRY_AFTER_CAP_MS,
      leaseMarginMs: 1_000,
      sleep: o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50)))),
    });
    const transport = new IonTransport({ clock, timeoutMs: EXCHANGE_TIMEOUT_MS, sleep: async () => undefined });
    return {
      store,
      tokens: new TokenManager({ baseUrl: w.ion.url, store, transport, clock, journal: o.journal ?? new RotationJournal() }),
    };
  }

  /** A Dataverse client that calls `onRead` after each read of the connector row with Dataverse's time (the lease's judgement). */
  function watchingReads(onRead: () => void): DataverseClient {
    return new Proxy(w.dv, {
      get(target, prop, receiver) {
        if (prop === "retrieveWithServerTime") {
          return async (...args: Parameters<DataverseClient["retrieveWithServerTime"]>) => {
            const result = await target.retrieveWithServerTime(...args);
            onRead();
            return result;
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** A Dataverse client that awaits `afterRead(n)` after its n-th read of the connector row with Dataverse's time. */
  function steppingReads(afterRead: (n: number) => Promise<void>): DataverseClient {
    let reads = 0;
    return new Proxy(w.dv, {
      get(target, prop, receiver) {
        if (prop === "retrieveWithServerTime") {
          return async (...args: Parameters<DataverseClient["retrieveWithServerTime"]>) => {
            const result = await target.retrieveWithServerTime(...args);
            await afterRead(++reads);
            return result;
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Resolves once the connector row's lease names `holder` (the take landed). */
  async function leaseNames(holder: string): Promise<void> {
    for (;;) {
      const value = String((await row(w)).w365_tokenleaseholder ?? "");
      if (leaseHolderOf(value) === holder) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("a host whose clock runs 5 min ahead does not judge a live lease of a host 5 min behind as expired", async () => {
    w.ion.control.resetTokenUsage();
    const behind = manager({ holder: "behind", clockOffsetMs: -5 * MINUTE });
    // "ahead" reports each judgement of the lease it makes: the event the assertion waits for.
    let judged = 0;
    let judgedThrice!: () => void;
    const thrice = new Promise<void>((r) => (judgedThrice = r));
    const ahead = manager({
      holder: "ahead",
      clockOffsetMs: 5 * MINUTE,
      dv: watchingReads(() => {
        if (++judged === 3) judgedThrice();
      }),
    });
    // "behind" takes the lease and holds it while "ahead" tries; both then rotate in turn.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = behind.store.withRefreshLease(async () => {
      await held;
    });
    await leaseNames(behind.store.holderId);
    const second = ahead.tokens.rotate();
    // "ahead" has read the held lease three times (its load, then two judgements) and presented nothing.
    await thrice;
    expect(w.ion.control.tokenUsage().presented).toBe(0);
    expect(leaseHolderOf(String((await row(w)).w365_tokenleaseholder))).toBe(behind.store.holderId);
    release();
    await first;
    await second;
    expect(w.ion.control.tokenUsage()).toMatchObject({ presented: 1, reusedRefreshTokens: 0 });
  });

  it("a crashed holder's lease runs out although other writers keep updating the connector row", async () => {
    w.ion.control.resetTokenUsage();
    const crashed = manager({ holder: "crashed" });
    // It takes the lease and stops there: no extension, no release, ever.
    void crashed.store.withRefreshLease(() => new Promise<never>(() => undefined));
    await leaseNames(crashed.store.holderId);
    // Runs and the admin keep writing the row (status, messages) faster than a lease.
    let writing = true;
    let statusWrites = 0;
    const writer = (async () => {
      while (writing) {
        await w.dv.update(CONN, w.connectionId, { w365_statusmessage: `run ${++statusWrites}` });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Another instance waits at most four leases (3 s each here) before giving up.
    const next = manager({ holder: "next", maxWaitMs: 12_000 });
    try {
      const rotated = await next.tokens.rotate();
      expect((await row(w)).w365_refreshtoken).toBe(rotated.refreshToken);
    } finally {
      writing = false;
      await writer;
    }
    expect(statusWrites).toBeGreaterThan(next.store.leaseMs / 100);
    expect(w.ion.control.tokenUsage()).toMatchObject({ presented: 1, reusedRefreshTokens: 0, rejected: 0 });
    expect((await row(w)).w365_tokenleaseholder ?? null).toBeNull();
    figures.crashedHolder = { leaseMs: next.store.leaseMs, statusWritesWhileWaiting: statusWrites, presented: 1, presentedTwice: 0 };
  });

  // Leases far longer than the test, and a waiter whose own clock stands still: only the count of checks ends a wait.
  const queueing = { exchangeTimeoutMs: 10 * MINUTE, clock: { now: () => 0 }, sleep: () => new Promise<void>((r) => setImmediate(r)) };
  const setLease = (value: string | null) => w.dv.update(CONN, w.connectionId, { w365_tokenleaseholder: value });

  it("a waiter behind a queue of holders keeps waiting while the lease moves on, however many checks the queue costs", async () => {
    w.ion.control.resetTokenUsage();
    const holders = 3;
    const checksEach = Math.round(MAX_LEASE_CHECKS_PER_HOLDER * 0.75);
    await setLease("queued-0~1");
    // Every `checksEach` reads of the waiter, the lease passes to the next holder; then it is released.
    const waiter = manager({
      holder: "waiter",
      ...queueing,
      dv: steppingReads(async (n) => {
        if (n % checksEach !== 0 || n > holders * checksEach) return;
        const next = n / checksEach;
        await setLease(next < holders ? `queued-${next}~1` : null);
      }),
    });
    const rotated = await waiter.tokens.rotate();
    expect((await row(w)).w365_refreshtoken).toBe(rotated.refreshToken);
    expect(w.ion.control.tokenUsage()).toMatchObject({ presented: 1, reusedRefreshTokens: 0, rejected: 0 });
    figures.leaseQueue = {
      holders,
      checksOnEach: checksEach,
      checksInAll: holders * checksEach,
      limitPerHolder: MAX_LEASE_CHECKS_PER_HOLDER,
    };
  });

  it("a waiter gives up on one holder that keeps the lease through its checks, and presents nothing", async () => {
    w.ion.control.resetTokenUsage();
    await setLease("stuck~1");
    try {
      const waiter = manager({ holder: "waiter", ...queueing });
      const failure = waiter.tokens.rotate();
      await expect(failure).rejects.toBeInstanceOf(TokenLeaseTimeoutError);
      await expect(failure).rejects.toThrow(`${MAX_LEASE_CHECKS_PER_HOLDER} of them on this holder`);
      expect(w.ion.control.tokenUsage().presented).toBe(0);
    } finally {
      await setLease(null);
    }
  });

  it("a holder releases its lease although other writers land on the connector row between its read and its write, 8 times in a row", async () => {
    await manager({ holder: "first" }).tokens.rotate(); // a valid access token is stored: the next lease exchanges nothing
    w.ion.control.resetTokenUsage();
    let interfered = 0;
    const holder = manager({
      holder: "holder",
      dv: steppingReads(async () => {
        // Once the lease is taken, each read of the row is followed by a run's status write (a new ETag).
        if (holder.store.counters.leases === 0 || interfered >= 8) return;
        interfered++;
        await w.dv.update(CONN, w.connectionId, { w365_statusmessage: `run status ${interfered}` });
      }),
    });
    await holder.tokens.forceRefresh("AN-ACCESS-TOKEN-ION-REFUSED");
    expect(interfered).toBe(8);
    expect((await row(w)).w365_tokenleaseholder ?? null).toBeNull();
    expect(w.ion.control.tokenUsage().presented).toBe(0);
  });

  it("a save succeeds while the row holds the token it rotated from, even after the lease moved to a holder that has not rotated", async () => {
    w.ion.control.resetTokenUsage();
    const slow = manager({ holder: "slow" });
    const other = manager({ holder: "other" });
    // "slow" exchanges; before its save, the lease passes to "other" (as if "slow" had stalled past it).
    const original = slow.store.save.bind(slow.store);
    slow.store.save = async (from, next) => {
      await w.dv.update(CONN, w.connectionId, { w365_tokenleaseholder: other.store.holderId });
      return original(from, next);
    };
    const rotated = await slow.tokens.rotate();
    const stored = await row(w);
    expect(stored.w365_refreshtoken).toBe(rotated.refreshToken);
    expect(stored.w365_tokenleaseholder).toBe(other.store.holderId); // not ours to release
    // "other" now holds a lease on a token it never read: it re-reads and rotates from the saved one.
    await w.dv.update(CONN, w.connectionId, { w365_tokenleaseholder: null });
    await other.tokens.rotate();
    expect(w.ion.control.tokenUsage()).toMatchObject({ presented: 2, reusedRefreshTokens: 0, rejected: 0 });
  });

  it("a process that cannot hold the lease for the exchange plus the save presents nothing", async () => {
    w.ion.control.resetTokenUsage();
    let offset = 0;
    const clock = { now: () => Date.now() + offset };
    // The extension PATCH "takes" a whole lease (a paused VM, a slow network): the lease may have passed.
    const stalling = new Proxy(w.dv, {
      get(target, prop, receiver) {
        if (prop === "update") {
          return async (set: string, key: string, body: Record<string, unknown>, o?: Parameters<DataverseClient["update"]>[3]) => {
            await target.update(set, key, body, o);
            if (Object.keys(body).length === 1 && "w365_tokenleaseholder" in body) offset += 10_000;
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { tokens, store } = manager({ holder: "stalled", dv: stalling, clock });
    await expect(tokens.rotate()).rejects.toBeInstanceOf(TokenLeaseTooShortError);
    // Each of the three fresh leases it takes is too short: it gives up without presenting anything.
    expect(store.counters.tooShort).toBe(3);
    expect(w.ion.control.tokenUsage().presented).toBe(0);
  });
});

describe("keep-alive saving a remembered rotation", () => {
  it("saves the token a run could not, and sets the connector back to Connected", async () => {
    const w = await startWorld({ seed: 51, customers: 2, subscriptionsPerCustomer: 1 });
    try {
      const journal = new RotationJournal();
      // A short lease (1 s token timeout + 0.5 s save cap + 0.5 s margin) and real waits: the keep-alive
      // comes after the failed run's lease ran out by Dataverse's clock.
      const deps: SyncDeps = {
        ...w.deps,
        rotations: journal,
        logger: silentLogger,
        ion: { timeoutMs: 1_000 },
        tokenLease: { saveRetryAfterCapMs: 500, leaseMarginMs: 500 },
        sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))),
      };
      await w.dv.update(CONN, w.connectionId, { w365_status: ConnectionStatus.Connected });
      let failSaves = true;
      const failing = new Proxy(w.dv, {
        get(target, prop, receiver) {
          if (prop === "update") {
            return async (set: string, key: string, body: Record<string, unknown>, o?: Parameters<DataverseClient["update"]>[3]) => {
              if (failSaves && "w365_refreshtoken" in body)
                throw new DataverseServerError("Injected outage of the token save.", { statusCode: 500 });
              return target.update(set, key, body, o);
            };
          }
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const run = await runSync({ ...deps, dataverse: failing }, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
      expect(run.status).toBe("failed");
      expect(journal.has(connectorKey(w.dv, w.connectionId))).toBe(true);
      expect((await row(w)).w365_status).toBe(ConnectionStatus.Failed);
      failSaves = false;
      // Not due by age (the token was saved minutes ago); the remembered rotation makes it due.
      expect((await row(w)).w365_tokenleaseholder).toBeTruthy(); // kept after the failed save: others wait
      const report = await runKeepAlive(deps);
      expect(report.connections[0]).toMatchObject({ action: "rotated", status: ConnectionStatus.Connected });
      const healed = await row(w);
      expect(healed.w365_status).toBe(ConnectionStatus.Connected);
      expect(String(healed.w365_statusmessage)).toContain("has now been saved");
      expect(journal.has(connectorKey(w.dv, w.connectionId))).toBe(false);
      expect(w.ion.control.tokenUsage()).toMatchObject({ reusedRefreshTokens: 0, rejected: 0 });
      figures.keepAliveRecovery = { status: "Connected", presentedTwice: 0 };
    } finally {
      await w.close();
    }
  });
});
