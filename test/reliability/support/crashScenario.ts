/**
 * A sync process killed with SIGKILL at seeded points, then run again. The Dataverse
 * emulator (file database) and the Ion simulator live in this process behind counting proxies; the sync
 * runs in a child process. A kill point N means: the child's Nth request (Dataverse or Ion) reached the
 * server and took effect, and the child is killed before it sees the answer. Points include every order
 * POST (Ion accepted the order, the connector never recorded it).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { runSync } from "../../../src/sync";
import { DEFAULT_STALE_RUN_MS } from "../../../src/sync/checkpoint";
import { bundleChildScript } from "../../support/childScript";
import { type Dump, dumpState, duplicates } from "./dump";
import type { ProxiedRequest, ProxyCounter } from "./proxy";
import { applyStoryChanges, duplicateOrders } from "./scenario";
import { type RelWorld, startRelWorld } from "./world";

const ROOT = path.resolve(__dirname, "../../..");
/** Bundled once per test file (packages stay external and resolve from the repo). */
export function crashChildScript(): string {
  return bundleChildScript(path.join(__dirname, "crash-child.ts"));
}

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runChild(
  w: RelWorld,
  o: { clockOffsetMs?: number; kind?: string; onSpawn?: (kill: () => void) => void },
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crashChildScript()], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        NODE_PATH: path.join(ROOT, "node_modules"),
        DATAVERSE_URL: w.dataverseUrl,
        DATAVERSE_TOKEN: w.emu.integrationToken,
        CONNECTION_ID: w.connectionId,
        CLOCK_OFFSET_MS: String(o.clockOffsetMs ?? 0),
        SYNC_KIND: o.kind ?? "all",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
    o.onSpawn?.(() => child.kill("SIGKILL"));
  });
}

export interface CrashPointResult {
  point: number;
  request: string;
  killed: boolean;
  rerun: string;
  sameAsClean: boolean;
  duplicateRows: number;
  duplicateOrders: number;
  orders: number;
}

interface Prepared {
  w: RelWorld;
  counter: ProxyCounter;
  dir: string;
  hook: { afterUpstream?: (r: ProxiedRequest) => "pass" | "hold" };
}

async function prepare(seed: number, size: { customers: number; subscriptionsPerCustomer: number }): Promise<Prepared> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rel-crash-db-"));
  const counter: ProxyCounter = { n: 0, frozen: false };
  const hook: Prepared["hook"] = {};
  const w = await startRelWorld({
    seed,
    ...size,
    dbPath: path.join(dir, "dataverse.sqlite"),
    proxies: { counter, afterUpstream: (r) => hook.afterUpstream?.(r) ?? "pass" },
  });
  const first = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
  if (first.status !== "succeeded") throw new Error(`first sync ${first.status}: ${first.message}`);
  await applyStoryChanges(w.dv, w.ion);
  counter.n = 0;
  for (const p of w.proxies) p.requests.length = 0;
  return { w, counter, dir, hook };
}

async function finish(p: Prepared): Promise<Dump> {
  p.w.ion.control.processOrders();
  const last = await runSync(p.w.deps, { connectionId: p.w.connectionId, kind: "all", trigger: "cli" });
  if (last.status !== "succeeded") throw new Error(`last sync ${last.status}: ${last.message}`);
  return dumpState(p.w.dv, { runs: "status" });
}

async function close(p: Prepared): Promise<void> {
  await p.w.close();
  rmSync(p.dir, { recursive: true, force: true });
}

export interface CleanReference {
  dump: Dump;
  /** The requests the run under test makes, in order (method + path). */
  requests: ProxiedRequest[];
  orders: number;
}

export async function cleanReference(seed: number, size: { customers: number; subscriptionsPerCustomer: number }): Promise<CleanReference> {
  const p = await prepare(seed, size);
  try {
    const out = await runChild(p.w, {});
    if (out.code !== 0) throw new Error(`clean child failed: ${out.stderr}`);
    const requests = p.w.proxies.flatMap((x) => x.requests).sort((a, b) => a.index - b.index);
    return { dump: await finish(p), requests, orders: p.w.ion.control.orders().length };
  } finally {
    await close(p);
  }
}

/** Kill points: every order POST plus seeded draws over the run's requests (never a token exchange: see REPORT.md). */
export function chooseKillPoints(requests: ProxiedRequest[], count: number, seed: number): number[] {
  const eligible = requests.filter((r) => !/\/oauth\/token$/.test(r.path)).map((r) => r.index);
  const orders = requests.filter((r) => r.method === "POST" && /\/orders$/.test(r.path)).map((r) => r.index);
  const points = new Set<number>(orders);
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  while (points.size < Math.min(count, eligible.length)) points.add(eligible[Math.floor(next() * eligible.length)] as number);
  return [...points].sort((a, b) => a - b);
}

export async function crashAt(
  seed: number,
  size: { customers: number; subscriptionsPerCustomer: number },
  point: number,
  clean: CleanReference,
  logs: string[],
): Promise<CrashPointResult> {
  const p = await prepare(seed, size);
  try {
    let request = "";
    let kill: (() => void) | undefined;
    // A point that was an order placement in the clean run is the same placement here (its ordinal among them):
    // requests that run side by side do not keep their exact global order from one run to the next.
    const isOrder = (r: ProxiedRequest) => r.method === "POST" && /\/orders$/.test(r.path);
    const cleanAt = clean.requests.find((r) => r.index === point);
    const orderOrdinal = cleanAt && isOrder(cleanAt) ? clean.requests.filter((r) => isOrder(r) && r.index <= point).length : undefined;
    let ordersSeen = 0;
    p.hook.afterUpstream = (r) => {
      const hit = orderOrdinal === undefined ? r.index === point : isOrder(r) && ++ordersSeen === orderOrdinal;
      if (!hit) return "pass";
      request = `${r.target} ${r.method} ${r.path.replace(/\d{4,}|[0-9a-f-]{36}/g, "{id}")}`;
      p.counter.frozen = true;
      kill?.();
      return "hold";
    };
    const crashed = await runChild(p.w, { onSpawn: (k) => (kill = k) });
    logs.push(crashed.stderr, crashed.stdout);
    p.hook.afterUpstream = undefined;
    p.counter.frozen = false;
    // The next scheduled run, after the stale-run limit: it takes the dead run over.
    const rerun = await runChild(p.w, { clockOffsetMs: DEFAULT_STALE_RUN_MS + 60_000 });
    logs.push(rerun.stderr, rerun.stdout);
    if (rerun.code !== 0) throw new Error(`rerun after a kill at ${point} failed: ${rerun.stderr}`);
    const summary = JSON.parse(rerun.stdout.trim().split("\n").pop() ?? "{}") as { status?: string; resumed?: boolean };
    const dump = await finish(p);
    return {
      point,
      request,
      killed: crashed.signal === "SIGKILL",
      rerun: `${summary.status ?? "?"}${summary.resumed ? " (resumed the killed run)" : ""}`,
      sameAsClean: JSON.stringify(dump) === JSON.stringify(clean.dump),
      duplicateRows: duplicates(dump).length,
      duplicateOrders: duplicateOrders(p.w.ion).length,
      orders: p.w.ion.control.orders().length,
    };
  } finally {
    await close(p);
  }
}
