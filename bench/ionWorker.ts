/**
 * The Ion simulator on its own thread for the benchmark. StreamOne Ion is a remote service: in
 * production its answers never wait for Dataverse. In one thread with the Dataverse emulator, every
 * cloud-profile request of a first sync would wait behind the emulator's synchronous work on a 1,000-row
 * $batch (about 0.1 s each), which measures the sandbox's layout, not the sync. Here the simulator runs
 * in a worker thread (same process, its own event loop and heap) and the bench drives its control API by
 * message.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

import { type IonSimulator, type IonSimulatorControl, type IonSimulatorOptions, startIonSimulator } from "../sandbox/ion";

/** The control calls the bench makes (plain data in and out, so they cross threads). */
export const REMOTE_CONTROL_METHODS = [
  "customers",
  "subscriptions",
  "issuePortalCredentials",
  "resetCounters",
  "counters",
  "latencyLedger",
  "updateCustomer",
  "updateSubscription",
] as const;
type ControlMethod = (typeof REMOTE_CONTROL_METHODS)[number];

export type RemoteIonControl = {
  [K in ControlMethod]: (...args: Parameters<IonSimulatorControl[K]>) => Promise<ReturnType<IonSimulatorControl[K]>>;
};

export interface RemoteIon {
  url: string;
  accountId: string;
  credentials: IonSimulator["credentials"];
  control: RemoteIonControl;
  close(): Promise<void>;
}

/** Options that cross the thread boundary (no logger, no functions). */
export type RemoteIonOptions = Omit<IonSimulatorOptions, "logger">;

interface Call {
  id: number;
  method: ControlMethod | "close";
  args: unknown[];
}
type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
type Started =
  { started: true; url: string; accountId: string; credentials: IonSimulator["credentials"] } | { started: false; error: string };

/** Starts the simulator in a worker thread; resolves once it listens. */
export function startIonWorker(options: RemoteIonOptions): Promise<RemoteIon> {
  const worker = new Worker(__filename, { workerData: { ionWorker: true, options } });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const call = (method: Call["method"], args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, args } satisfies Call);
    });
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (first: Started) => {
      if (!first.started) {
        reject(new Error(`the Ion simulator did not start: ${first.error}`));
        return;
      }
      worker.on("message", (answer: Answer) => {
        const waiting = pending.get(answer.id);
        if (!waiting) return;
        pending.delete(answer.id);
        if (answer.ok) waiting.resolve(answer.value);
        else waiting.reject(new Error(answer.error));
      });
      worker.on("error", (error) => pending.forEach((w) => w.reject(error)));
      const control = Object.fromEntries(
        REMOTE_CONTROL_METHODS.map((method) => [method, (...args: unknown[]) => call(method, args)]),
      ) as RemoteIonControl;
      resolve({
        url: first.url,
        accountId: first.accountId,
        credentials: first.credentials,
        control,
        close: async () => {
          await call("close", []).catch(() => undefined);
          await worker.terminate();
        },
      });
    });
  });
}

async function serve(options: RemoteIonOptions): Promise<void> {
  let simulator: IonSimulator;
  try {
    simulator = await startIonSimulator(options);
  } catch (error) {
    parentPort!.postMessage({ started: false, error: error instanceof Error ? error.message : String(error) } satisfies Started);
    return;
  }
  parentPort!.on("message", (msg: Call) => {
    void (async () => {
      try {
        if (msg.method === "close") {
          await simulator.close();
          parentPort!.postMessage({ id: msg.id, ok: true, value: undefined } satisfies Answer);
          return;
        }
        const fn = simulator.control[msg.method] as (...args: unknown[]) => unknown;
        const value = fn.apply(simulator.control, msg.args);
        parentPort!.postMessage({ id: msg.id, ok: true, value } satisfies Answer);
      } catch (error) {
        parentPort!.postMessage({ id: msg.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies Answer);
      }
    })();
  });
  parentPort!.postMessage({
    started: true,
    url: simulator.url,
    accountId: simulator.accountId,
    credentials: simulator.credentials,
  } satisfies Started);
}

if (!isMainThread && (workerData as { ionWorker?: boolean } | undefined)?.ionWorker)
  void serve((workerData as { options: RemoteIonOptions }).options);
