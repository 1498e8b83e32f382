/**
 * The latency model of the stand-ins: what a request costs in a real tenant, charged in real time
 * (setTimeout) by a layer in each server's request pipeline. Off by default (the emulator and the
 * simulator answer as fast as the machine allows); `--latency cloud` turns it on in the sandbox, the
 * bench and the demo. Every number of the model lives here, with what it is based on.
 *
 * Dataverse (the emulator):
 * - Service protection, per user: 52 concurrent requests and 1,200,000 ms of combined execution time per
 *   300 s window, answered with 429 and Retry-After. Those are enforced by ./dataverse/throttle.ts; under
 *   this model the charged time below is real execution time, so the execution-time limit bites as it would.
 *   https://learn.microsoft.com/power-apps/developer/data-platform/api-limits
 * - `x-ms-dop-hint`: every response carries the degree of parallelism the environment recommends, and the
 *   server works on at most that many requests at once (more wait for a worker, still counting against the
 *   52). https://learn.microsoft.com/power-apps/developer/data-platform/send-parallel-requests
 * - A request costs a base (network round trip and the Web API pipeline), plus a cost per row written
 *   inside it (each `$batch` operation runs in its own database transaction, so a 1,000-row `$batch` takes
 *   seconds of server time), plus a cost per row read.
 *   https://learn.microsoft.com/power-apps/developer/data-platform/org-service/execute-multiple-requests
 *   https://learn.microsoft.com/power-apps/developer/data-platform/optimize-performance-create-update
 *   Measured public figures put a single-threaded `$batch` load of a plain table at a few hundred rows per
 *   second, and show throughput growing with parallel requests rather than with batch size:
 *   https://rnwood.co.uk/posts/getting-data-into-dataverse-fast/ , https://powerplatform.se/incorrect-api-optimization-recommendations-by-microsoft
 *
 * StreamOne Ion (the simulator): TD SYNNEX documents no rate limits, 429 or Retry-After (its v3 reference
 * at https://www.tdsynnex.com/ion/v3api/), so the numbers are assumptions kept modest: a round trip between
 * Azure and a public API in another region (Azure's own inter-region round trips are 30-80 ms within a
 * continent: https://learn.microsoft.com/azure/networking/azure-network-latency), a server time per call
 * and per item returned, and a per-account cap on concurrent calls answered with 429 and Retry-After.
 *
 * A charge is the request's whole time in the service, the stand-in's own work included: the layer waits
 * only what is left of it once the stand-in has built the answer (`spentMs`). The stand-ins share this
 * machine's cores with the sync, and a real service's server time already covers its work: waiting the
 * full charge on top of that would make every call longer than the model says (a 1,000-row Ion page takes
 * the simulator 15-20 ms to build and more to write as JSON: both count), and the lower bound
 * (bench/bound.ts) is computed from the charges.
 */
import { ValidationError } from "../src/shared/errors";

export interface DataverseLatency {
  /** Per request: round trip plus the Web API pipeline. */
  baseMs: number;
  /** Per row created, updated or deleted (top-level or inside a `$batch`). */
  writeRowMs: number;
  /** Per row returned by a read. */
  readRowMs: number;
  /** The `x-ms-dop-hint` answered, and how many requests the server works on at once. */
  dopHint: number;
}

export interface IonLatency {
  /** Network round trip per call. */
  roundTripMs: number;
  /** Server time per call. */
  serverMs: number;
  /** Server time per item of a list answer (customers, subscriptions, cloud profiles, orders, products). */
  itemMs: number;
  /** Concurrent calls per account; more are answered 429. */
  maxConcurrent: number;
  /** Retry-After (seconds) on those 429s. */
  retryAfterSeconds: number;
}

export interface LatencyModel {
  name: string;
  dataverse: DataverseLatency;
  ion: IonLatency;
}

export const LATENCY_MODES = ["off", "cloud"] as const;
export type LatencyMode = (typeof LATENCY_MODES)[number];

/** The cloud model: see the header for what each figure is based on. */
export const CLOUD_LATENCY: LatencyModel = {
  name: "cloud",
  dataverse: { baseMs: 40, writeRowMs: 4, readRowMs: 0.1, dopHint: 8 },
  ion: { roundTripMs: 40, serverMs: 25, itemMs: 0.2, maxConcurrent: 8, retryAfterSeconds: 1 },
};

/** Reads `--latency`: `off` or `cloud`; anything else is refused with the accepted values. */
export function parseLatencyMode(value: string | undefined): LatencyMode {
  const v = (value ?? "off").trim().toLowerCase();
  if ((LATENCY_MODES as readonly string[]).includes(v)) return v as LatencyMode;
  throw new ValidationError(`--latency must be one of ${LATENCY_MODES.join(", ")} (got '${String(value)}').`, { field: "latency" });
}

/**
 * The model for a mode, with overrides such as `dataverse.writeRowMs=2,ion.maxConcurrent=4` applied
 * (the bench's `--latency-set`); undefined for `off`.
 */
export function latencyModel(mode: LatencyMode, overrides = ""): LatencyModel | undefined {
  if (mode === "off") {
    if (overrides.trim()) throw new ValidationError("--latency-set needs --latency cloud.", { field: "latency" });
    return undefined;
  }
  const model: LatencyModel = { name: mode, dataverse: { ...CLOUD_LATENCY.dataverse }, ion: { ...CLOUD_LATENCY.ion } };
  for (const part of overrides
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(dataverse|ion)\.([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(part);
    const service = m?.[1] as "dataverse" | "ion" | undefined;
    const target = service ? (model[service] as unknown as Record<string, number>) : undefined;
    if (!m || !target || !(m[2]! in target))
      throw new ValidationError(
        `Latency override '${part}' is not understood: write service.field=number, fields: ${[
          ...Object.keys(model.dataverse).map((k) => `dataverse.${k}`),
          ...Object.keys(model.ion).map((k) => `ion.${k}`),
        ].join(", ")}.`,
        { field: "latency" },
      );
    const value = Number(m[3]);
    if ((m[2] === "dopHint" || m[2] === "maxConcurrent") && (!Number.isInteger(value) || value < 1))
      throw new ValidationError(`Latency override '${part}': ${m[2]} must be an integer of at least 1.`, { field: "latency" });
    target[m[2]!] = value;
  }
  return model;
}

/** What one Dataverse request did, for its charge. */
export interface DataverseWork {
  rowsWritten: number;
  rowsRead: number;
}

export function dataverseCostMs(model: DataverseLatency, work: DataverseWork): number {
  return model.baseMs + work.rowsWritten * model.writeRowMs + work.rowsRead * model.readRowMs;
}

export function ionCostMs(model: IonLatency, items: number): number {
  return model.roundTripMs + model.serverMs + items * model.itemMs;
}

const WRITE_LINE = /^(POST|PATCH|PUT|DELETE) /gm;

/**
 * The work of a Web API request, read from the request and the answer the emulator gives: rows written
 * are the write request lines of a `$batch` body (or 1 for a top-level write), rows read are the entity
 * annotations (`@odata.etag`, which Dataverse returns on every row it reads) in a successful answer.
 */
export function dataverseWork(
  method: string,
  path: string,
  requestBody: string,
  status: number,
  responseBody: string | undefined,
): DataverseWork {
  const batch = /\$batch(\?|$)/.test(path);
  let rowsWritten = 0;
  if (batch) rowsWritten = requestBody.match(WRITE_LINE)?.length ?? 0;
  else if (method !== "GET" && status < 400) rowsWritten = 1;
  let rowsRead = 0;
  if (responseBody && status < 400 && (batch || method === "GET")) {
    for (let at = responseBody.indexOf('"@odata.etag"'); at >= 0; at = responseBody.indexOf('"@odata.etag"', at + 13)) rowsRead++;
  }
  return { rowsWritten, rowsRead };
}

/** Items in an Ion answer: the length of its list (any top-level array), 0 for a single resource. */
export function ionItems(body: unknown): number {
  if (!body || typeof body !== "object") return 0;
  let items = 0;
  for (const value of Object.values(body as Record<string, unknown>)) if (Array.isArray(value)) items += value.length;
  return items;
}

/** Busy time and requests charged by a server, by key (Dataverse: method + entity set; Ion: endpoint). */
export interface LatencyLedger {
  requests: number;
  busyMs: number;
  refused: number;
  byKey: Record<string, { requests: number; busyMs: number }>;
  /**
   * Dataverse reads: per key, the charged time of the longest chain of pages, each page linked to the one
   * whose `@odata.nextLink` it followed (a page can only be asked for once the page before answered).
   * Independent reads of the same entity set are separate chains.
   */
  chains?: Record<string, number>;
}

export function emptyLedger(): LatencyLedger {
  return { requests: 0, busyMs: 0, refused: 0, byKey: {} };
}

/** The `$skiptoken` of a request URL or a next link (decoded), if any. */
export function skipTokenOf(url: string): string | undefined {
  try {
    return new URL(url, "http://host").searchParams.get("$skiptoken") ?? undefined;
  } catch {
    return undefined;
  }
}

/** The `$skiptoken` of the `@odata.nextLink` of a read's answer, if any. */
export function nextSkipToken(responseBody: string | undefined): string | undefined {
  if (!responseBody) return undefined;
  const at = responseBody.lastIndexOf('"@odata.nextLink"');
  if (at < 0) return undefined;
  const m = /^"@odata\.nextLink"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(responseBody.slice(at));
  if (!m) return undefined;
  let link: string;
  try {
    link = JSON.parse(`"${m[1]!}"`) as string;
  } catch {
    return undefined;
  }
  return skipTokenOf(link);
}

export function charge(ledger: LatencyLedger, key: string, ms: number): void {
  ledger.requests++;
  ledger.busyMs += ms;
  const entry = (ledger.byKey[key] ??= { requests: 0, busyMs: 0 });
  entry.requests++;
  entry.busyMs += ms;
}

/**
 * Real time for a charge: waits for one of `capacity` workers, then holds it for `ms`. Requests beyond
 * the capacity queue (a server busy with others), so parallelism past it gains nothing.
 */
export class Workers {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly capacity: number) {}

  async serve(ms: number): Promise<void> {
    if (this.active < this.capacity) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      if (ms > 0)
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            resolve();
          }, ms);
          this.timers.add(t);
        });
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** In flight plus waiting. */
  get load(): number {
    return this.active + this.waiting.length;
  }
}

/** Dataverse's layer: charges each answered request, holds one of the `dopHint` workers meanwhile, answers the hint. */
export class DataverseLatencyLayer {
  readonly ledger = emptyLedger();
  private readonly workers: Workers;
  /** Open read chains by the skip token their last page handed out. */
  private chainBySkipToken = new Map<string, { key: string; ms: number }>();

  constructor(readonly model: DataverseLatency) {
    this.workers = new Workers(model.dopHint);
  }

  /** Header every response carries under the model. */
  get headers(): Record<string, string> {
    return { "x-ms-dop-hint": String(this.model.dopHint) };
  }

  /**
   * Waits the request's cost, less the `spentMs` the emulator already spent on it (call before the response
   * is sent, inside service protection's admission).
   */
  charge(request: { method: string; url: string; body: string }, response: { status: number; body?: string }, spentMs = 0): Promise<void> {
    const path = request.url.split("?")[0] ?? "";
    const work = dataverseWork(request.method.toUpperCase(), path, request.body, response.status, response.body);
    const ms = dataverseCostMs(this.model, work);
    const key = dataverseKey(request.method, path);
    charge(this.ledger, key, ms);
    if (request.method.toUpperCase() === "GET" && response.status < 400) this.chain(key, request.url, response.body, ms);
    return this.workers.serve(Math.max(0, ms - spentMs));
  }

  /** Adds a read page to its chain: a new chain, or the one whose next link it follows. */
  private chain(key: string, url: string, body: string | undefined, ms: number): void {
    const token = skipTokenOf(url);
    const chain = (token !== undefined ? this.chainBySkipToken.get(token) : undefined) ?? { key, ms: 0 };
    if (token !== undefined) this.chainBySkipToken.delete(token);
    chain.ms += ms;
    const chains = (this.ledger.chains ??= {});
    chains[key] = Math.max(chains[key] ?? 0, chain.ms);
    const next = nextSkipToken(body);
    if (next !== undefined) this.chainBySkipToken.set(next, chain);
  }

  resetLedger(): void {
    Object.assign(this.ledger, emptyLedger(), { chains: {} });
    this.chainBySkipToken = new Map();
  }
}

/** `GET accounts`, `POST $batch`, `PATCH w365_providersubscriptions`: method and entity set, keys left out. */
export function dataverseKey(method: string, path: string): string {
  const segment =
    path
      .replace(/^https?:\/\/[^/]+/i, "")
      .replace(/^\/api\/data\/v9\.[0-2]\/?/i, "")
      .split("/")[0] ?? "";
  return `${method.toUpperCase()} ${segment.replace(/\(.*$/, "") || "/"}`;
}

/** Ion's layer: refuses calls past `maxConcurrent` (429), charges the others and waits their cost. */
export class IonLatencyLayer {
  readonly ledger = emptyLedger();
  private inFlight = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly model: IonLatency) {}

  /** Takes a slot, or returns false when `maxConcurrent` calls are in flight (answer 429 with `retryAfterSeconds`). */
  admit(): boolean {
    if (this.inFlight >= this.model.maxConcurrent) {
      this.ledger.refused++;
      return false;
    }
    this.inFlight++;
    return true;
  }

  /**
   * Waits the cost of a call answering `items` list items (`ionItems` of its answer), less the `spentMs` the
   * simulator already spent on it (its slot stays taken until `release`).
   */
  charge(endpoint: string, items: number, spentMs = 0): Promise<void> {
    const ms = ionCostMs(this.model, items);
    charge(this.ledger, endpoint, ms);
    const wait = Math.max(0, ms - spentMs);
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, wait);
      this.timers.add(t);
    });
  }

  /** Frees the slot `admit` took, once the call is answered (or dropped). */
  release(): void {
    this.inFlight--;
  }

  /** Calls in flight now. */
  get load(): number {
    return this.inFlight;
  }

  resetLedger(): void {
    Object.assign(this.ledger, emptyLedger());
  }
}
