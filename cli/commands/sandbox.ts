import { startSandbox } from "../../sandbox";
import { latencyModel, parseLatencyMode } from "../../sandbox/latency";
import type { Output } from "../output";

export interface SandboxCommandOptions {
  ionPort: number;
  dataversePort: number;
  functionsPort: number;
  adminPort: number;
  data?: string;
  customers: number;
  subscriptionsPerCustomer: number;
  seed: number;
  ion: boolean;
  serviceProtection: boolean;
  /** "off" (default) or "cloud": the stand-ins' latency model. */
  latency?: string;
}

/** Starts the sandbox, prints ONE JSON line on stdout (fields in README.md), runs until SIGINT/SIGTERM. */
export async function runSandboxCommand(opts: SandboxCommandOptions, out: Output): Promise<number> {
  const sandbox = await startSandbox({
    ionPort: opts.ionPort,
    dataversePort: opts.dataversePort,
    functionsPort: opts.functionsPort,
    adminPort: opts.adminPort,
    dataDir: opts.data,
    customers: opts.customers,
    subscriptionsPerCustomer: opts.subscriptionsPerCustomer,
    seed: opts.seed,
    ion: opts.ion,
    // The latency model includes Dataverse's service protection limits.
    serviceProtection: opts.serviceProtection || parseLatencyMode(opts.latency) === "cloud",
    latency: latencyModel(parseLatencyMode(opts.latency)),
    runSchedules: true,
  });
  // The line carries credentials by design (it is how a developer or a test connects); write it
  // unredacted on stdout only, never to a log.
  process.stdout.write(JSON.stringify(sandbox.info()) + "\n");
  if (out.isTTY) {
    process.stderr.write(`Sandbox running. Admin Hub page: ${sandbox.adminUrl ?? "(disabled)"}\nPress Ctrl+C to stop.\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await sandbox.close();
  return 0;
}
