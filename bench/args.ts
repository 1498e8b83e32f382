/**
 * Command-line arguments of `npm run bench`. Pure: parsed and validated here, used by run.ts.
 */
import { type LatencyModel, latencyModel, parseLatencyMode } from "../sandbox/latency";
import { ValidationError } from "../src/shared/errors";
import { DEFAULT_CONNECTORS_CUSTOMERS, DEFAULT_CONNECTORS_SUBSCRIPTIONS, DEFAULT_WORKER_CONCURRENCY } from "./connectors";
import { THROTTLED_DEFAULT_CUSTOMERS, THROTTLED_LIMITS, type ThrottleLimits } from "./throttled";

/** Scenario L: a large reseller. */
export const DEFAULT_CUSTOMERS = 10_000;
export const DEFAULT_SUBSCRIPTIONS_PER_CUSTOMER = 5;
export const DEFAULT_SEED = 8;
/** Share of customers and of subscriptions changed in Ion before the third run. */
export const DEFAULT_CHANGE_FRACTION = 0.01;

export interface BenchArgs {
  customers: number;
  subscriptionsPerCustomer: number;
  seed: number;
  changeFraction: number;
  /** Folder for latest.json / latest.md (default bench/results). */
  outDir?: string;
  /** Dataverse service protection in the emulator (default on, at Dataverse's documented limits). */
  serviceProtection: boolean;
  /** V8 old-space budget of the sync process (--max-old-space-size); absent = Node's default, as the CLI runs. */
  syncHeapMb?: number;
  /** The throttled scenario (throttled.ts) instead of scenario L: lowered limits, writes throttled.json/.md. */
  throttled: boolean;
  /** Service protection limits of the throttled scenario (THROTTLED_LIMITS unless overridden). */
  throttleLimits: ThrottleLimits;
  /** The stand-ins' latency model (--latency cloud, --latency-set overrides); absent = off. Results go to cloud.json / cloud.md. */
  latency?: LatencyModel;
  /** The many-connectors scenario (connectors.ts): this many connectors, each its own Ion account; absent = off. */
  connectors?: number;
  /** Many connectors: queued runs at a time (one Functions instance). */
  workerConcurrency: number;
  /** Many connectors: connectors throttled by Ion, and as many by Dataverse. */
  throttleConnectors: number;
  /**
   * --work-items: run each sync as the functions app does, as work items of at most this budget (ms) each
   * (src/sync/workItems.ts), one after the other; the results then give the number of items and the longest.
   */
  itemBudgetMs?: number;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

  --customers N                     Ion customers (default ${DEFAULT_CUSTOMERS})
  --subscriptions-per-customer M    average subscriptions per customer (default ${DEFAULT_SUBSCRIPTIONS_PER_CUSTOMER})
  --seed N                          simulator data seed (default ${DEFAULT_SEED})
  --change-fraction F               share of customers and subscriptions changed before run 3 (default ${DEFAULT_CHANGE_FRACTION})
  --out DIR                         where latest.json and latest.md go (default bench/results)
  --no-service-protection           run the emulator without Dataverse's limits (diagnosis only)
  --sync-heap-mb N                  run the sync process with --max-old-space-size=N (a deployment's heap budget)
  --throttled                       the throttled scenario: limits lowered so 429s really happen; default
                                    ${THROTTLED_DEFAULT_CUSTOMERS} customers; writes throttled.json and throttled.md
  --throttle-requests N             throttled: requests per window (default ${THROTTLED_LIMITS.requestsPerWindow})
  --throttle-window-ms N            throttled: window length (default ${THROTTLED_LIMITS.windowMs})
  --throttle-execution-ms N         throttled: combined execution time per window (default ${THROTTLED_LIMITS.executionMsPerWindow})
  --throttle-concurrent N           throttled: concurrent requests (default ${THROTTLED_LIMITS.maxConcurrent})
  --latency off|cloud               the stand-ins' latency model (sandbox/latency.ts); cloud writes cloud.json and
                                    cloud.md with each run's lower bound (bench/bound.ts) instead of latest.*
  --latency-set K=V[,K=V]           override model figures, e.g. dataverse.writeRowMs=2,ion.maxConcurrent=4
  --connectors N                    the many-connectors scenario: N connectors (each its own Ion account) on one
                                    Functions app, all due at once; default ${DEFAULT_CONNECTORS_CUSTOMERS} customers x ${DEFAULT_CONNECTORS_SUBSCRIPTIONS} subscriptions each;
                                    writes connectors.json and connectors.md (200 with --latency cloud: the full run)
  --worker-concurrency N            many connectors: queued runs at a time (default ${DEFAULT_WORKER_CONCURRENCY}, host.json per instance)
  --throttle-connectors K           many connectors: K connectors throttled by Ion and K by Dataverse (default 2)
  --work-items                      run each sync as the functions app does: work items handed from one to the next
                                    (src/sync/workItems.ts); reports the items and the longest single invocation
  --item-budget-seconds N           with --work-items: one item's budget (default 120, the functions app's default)
  -h, --help                        this text
`;

function wholeNumber(name: string, raw: string | undefined, min: number): number {
  if (raw === undefined || raw.trim() === "") throw new ValidationError(`${name} needs a value`, { field: name });
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ValidationError(`${name} must be a whole number >= ${min}, got "${raw}"`, { field: name });
  return n;
}

/** Parses argv (without node and script); `--name=value` and `--name value` both work. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = {
    customers: DEFAULT_CUSTOMERS,
    subscriptionsPerCustomer: DEFAULT_SUBSCRIPTIONS_PER_CUSTOMER,
    seed: DEFAULT_SEED,
    changeFraction: DEFAULT_CHANGE_FRACTION,
    serviceProtection: true,
    throttled: false,
    throttleLimits: { ...THROTTLED_LIMITS },
    workerConcurrency: DEFAULT_WORKER_CONCURRENCY,
    throttleConnectors: 2,
    help: false,
  };
  let subscriptionsGiven = false;
  let connectorOption: string | undefined;
  let customersGiven = false;
  let limitGiven: string | undefined;
  let latencyMode = parseLatencyMode("off");
  let latencySet = "";
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const eq = token.indexOf("=");
    const name = eq > 0 ? token.slice(0, eq) : token;
    const inline = eq > 0 ? token.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new ValidationError(`${name} needs a value`, { field: name });
      i++;
      return next;
    };
    switch (name) {
      case "--customers":
        out.customers = wholeNumber(name, value(), 1);
        customersGiven = true;
        break;
      case "--subscriptions-per-customer":
        out.subscriptionsPerCustomer = wholeNumber(name, value(), 0);
        subscriptionsGiven = true;
        break;
      case "--connectors":
        out.connectors = wholeNumber(name, value(), 1);
        break;
      case "--worker-concurrency":
        out.workerConcurrency = wholeNumber(name, value(), 1);
        connectorOption = name;
        break;
      case "--throttle-connectors":
        out.throttleConnectors = wholeNumber(name, value(), 0);
        connectorOption = name;
        break;
      case "--seed":
        out.seed = wholeNumber(name, value(), 0);
        break;
      case "--change-fraction": {
        const raw = value();
        const f = Number(raw);
        if (!Number.isFinite(f) || f <= 0 || f > 1)
          throw new ValidationError(`--change-fraction must be in (0, 1], got "${raw}"`, { field: name });
        out.changeFraction = f;
        break;
      }
      case "--out":
        out.outDir = value();
        break;
      case "--work-items":
        out.itemBudgetMs ??= 120_000;
        break;
      case "--item-budget-seconds":
        out.itemBudgetMs = wholeNumber(name, value(), 1) * 1000;
        break;
      case "--sync-heap-mb":
        out.syncHeapMb = wholeNumber(name, value(), 64);
        break;
      case "--no-service-protection":
        out.serviceProtection = false;
        break;
      case "--throttled":
        out.throttled = true;
        break;
      case "--throttle-requests":
        out.throttleLimits.requestsPerWindow = wholeNumber(name, value(), 1);
        limitGiven = name;
        break;
      case "--throttle-window-ms":
        out.throttleLimits.windowMs = wholeNumber(name, value(), 1000);
        limitGiven = name;
        break;
      case "--throttle-execution-ms":
        out.throttleLimits.executionMsPerWindow = wholeNumber(name, value(), 1);
        limitGiven = name;
        break;
      case "--throttle-concurrent":
        out.throttleLimits.maxConcurrent = wholeNumber(name, value(), 1);
        limitGiven = name;
        break;
      case "--latency":
        latencyMode = parseLatencyMode(value());
        break;
      case "--latency-set":
        latencySet = value();
        break;
      case "-h":
      case "--help":
        out.help = true;
        break;
      default:
        throw new ValidationError(`unknown option "${token}"\n\n${USAGE}`, { field: token });
    }
  }
  const model = latencyModel(latencyMode, latencySet);
  if (model) out.latency = model;
  if (model && out.throttled)
    throw new ValidationError("--latency and --throttled are separate scenarios: run them one at a time", { field: "--latency" });
  if (limitGiven && !out.throttled)
    throw new ValidationError(`${limitGiven} applies to the throttled scenario: add --throttled`, { field: limitGiven });
  if (out.throttled && !out.serviceProtection)
    throw new ValidationError("--throttled and --no-service-protection contradict each other", { field: "--throttled" });
  if (out.throttled && !customersGiven) out.customers = THROTTLED_DEFAULT_CUSTOMERS;
  if (connectorOption && out.connectors === undefined)
    throw new ValidationError(`${connectorOption} applies to the many-connectors scenario: add --connectors N`, { field: connectorOption });
  if (out.connectors !== undefined) {
    if (out.throttled) throw new ValidationError("--connectors and --throttled are separate scenarios", { field: "--connectors" });
    if (!out.serviceProtection) throw new ValidationError("--connectors runs with service protection on", { field: "--connectors" });
    if (!customersGiven) out.customers = DEFAULT_CONNECTORS_CUSTOMERS;
    if (!subscriptionsGiven) out.subscriptionsPerCustomer = DEFAULT_CONNECTORS_SUBSCRIPTIONS;
  }
  return out;
}
