/**
 * Local functions host: serves the functions app's own handlers over HTTP on 127.0.0.1, since Azure
 * Functions Core Tools cannot be installed here. It does what the Azure host does for this app:
 * enforces the function key (?code= or x-functions-key, else 401), adapts node:http requests into
 * `HttpRequest` + `InvocationContext`, runs the storage-queue worker through an in-process queue the way
 * the queue trigger does (host.json batches, message ids and dequeue counts, visibility timeout, the
 * poison queue and its `syncPoison` function, queue output written only when an invocation succeeds),
 * and runs the timers on demand (`runTimer`) or on schedule.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

import { HttpRequest, type HttpResponseInit, InvocationContext, type Timer } from "@azure/functions";

import { loadConfig, SYNC_QUEUE_NAME } from "../../functions/config";
import { createWebhookHandler } from "../../functions/dataverseWebhook";
import { createRuntime, type FunctionsRuntime, type RuntimeOptions } from "../../functions/runtime";
import { createScheduledSync } from "../../functions/scheduledSync";
import { createSyncPoison, createSyncWorker } from "../../functions/syncWorker";
import { createTokenKeepAlive } from "../../functions/tokenKeepAlive";
import { keysMatch, presentedKey } from "../../functions/webhookSecurity";
import { type DeliveryInfo, InProcessWorkQueue, QUEUE_BATCH_SIZE, QUEUE_NEW_BATCH_THRESHOLD } from "../../functions/workQueue";
import type { Clock } from "../../src/shared/clock";
import { systemClock } from "../../src/shared/clock";
import { nextOccurrence, parseNcrontab } from "../../src/shared/cron";
import { ensureError, ValidationError } from "../../src/shared/errors";
import { createLogger, type Logger } from "../../src/shared/logger";
import { redact, registerSecret } from "../../src/shared/redact";
import { WEBHOOK_PATH } from "../../src/solution/contract";
import { StorageQueueTrigger } from "./storageQueue";

export type TimerName = "scheduledSync" | "tokenKeepAlive";

export interface FunctionsHostOptions {
  /** 0 or absent = any free port. Always 127.0.0.1. */
  port?: number;
  dataverseUrl: string;
  dataverseToken: string;
  webhookKey: string;
  logger?: Logger;
  clock?: Clock;
  /** Run the timers on their NCRONTAB schedules too (the sandbox CLI does; tests call runTimer). */
  runSchedules?: boolean;
  /** Further app settings (SYNC_SCHEDULE, STALE_RUN_MINUTES, INTEGRATION_USER_ID…), validated like Azure's. */
  settings?: Record<string, string>;
  /** At most this many work items at once (replaces the batch rule below). */
  workerConcurrency?: number;
  /** Delay before a failed queue message is retried (Azure: the visibility timeout). */
  retryDelayMs?: (dequeueCount: number) => number;
  /** The queue trigger's settings (host.json: batchSize 4, newBatchThreshold 2, maxDequeueCount 5) and fault injection. */
  queue?: {
    batchSize?: number;
    newBatchThreshold?: number;
    maxDequeueCount?: number;
    killAfterMs?: (delivery: DeliveryInfo) => number | undefined;
    duplicate?: (delivery: DeliveryInfo) => boolean;
  };
  /**
   * Run the worker from a real Azure Storage queue (Azurite, or an account) through @azure/storage-queue
   * instead of the in-process queue: the same protocol as Azure (pop receipts, visibility, dequeue counts).
   * Fault injection (queue.killAfterMs, queue.duplicate) applies to the in-process queue only.
   */
  storageQueue?: {
    connectionString: string;
    queueName?: string;
    visibilityTimeoutSeconds?: number;
    leaseSeconds?: number;
    pollMs?: number;
  };
  /** Overrides for tests (e.g. an engine wrapper counting calls). */
  runtime?: Pick<RuntimeOptions, "engine" | "dataverse" | "sync" | "laneHooks" | "connectorConcurrency">;
}

export interface FunctionsHost {
  url: string;
  key: string;
  runtime: FunctionsRuntime;
  queue: InProcessWorkQueue | StorageQueueTrigger;
  /** Runs a timer function now, as the Azure host does on its schedule; resolves with its result. */
  runTimer(name: TimerName): Promise<unknown>;
  /** Resolves when no webhook is being handled and the work queue is empty. */
  whenIdle(): Promise<void>;
  stats(): {
    requests: number;
    unauthorized: number;
    inFlight: number;
    workProcessed: number;
    poisoned: number;
    /** Invocations killed and messages delivered twice by fault injection: the in-process queue only. */
    killed?: number;
    duplicated?: number;
    /** Message leases renewed while invocations ran: the storage queue only. */
    leaseRenewals?: number;
    invocations: number;
    longestInvocationMs: number;
  };
  close(): Promise<void>;
}

function contextFor(functionName: string, logger: Logger, triggerMetadata?: Record<string, unknown>): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    ...(triggerMetadata ? { triggerMetadata } : {}),
    logHandler: (level, ...args) => {
      const text = redact(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      if (level === "error") logger.error(text, { function: functionName });
      else if (level === "warning") logger.warn(text, { function: functionName });
      else logger.debug(text, { function: functionName });
    },
  });
}

function timerInfo(now: Date, next: Date | undefined): Timer {
  const iso = now.toISOString();
  return {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: iso, next: next?.toISOString() ?? iso, lastUpdated: iso },
  };
}

/** Reads a request body, refusing it once it passes `limit` bytes (the Azure host has its own cap too). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      total += chunk.length;
      if (total > limit) {
        done = true;
        resolve("too-large");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on("error", (e) => (done ? undefined : reject(e)));
  });
}

function send(res: http.ServerResponse, init: HttpResponseInit): void {
  const headers: Record<string, string> = {};
  if (init.headers) new Headers(init.headers as HeadersInit).forEach((v, k) => (headers[k] = v));
  let payload = "";
  if (init.jsonBody !== undefined) {
    payload = JSON.stringify(init.jsonBody);
    headers["content-type"] ??= "application/json; charset=utf-8";
  } else if (typeof init.body === "string") payload = init.body;
  res.writeHead(init.status ?? 200, { ...headers, "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

export async function startFunctionsHost(options: FunctionsHostOptions): Promise<FunctionsHost> {
  registerSecret(options.webhookKey);
  registerSecret(options.dataverseToken);
  const logger = options.logger ?? createLogger({ base: { app: "functions-host" } });
  const clock = options.clock ?? systemClock;
  const config = loadConfig({
    DATAVERSE_URL: options.dataverseUrl,
    DATAVERSE_TOKEN: options.dataverseToken,
    WEBHOOK_KEY: options.webhookKey,
    ...(options.settings ?? {}),
  });

  // The queue runs the worker, and the worker needs the runtime, which hands out the queue: the
  // worker is bound once the runtime exists.
  const bound: { worker?: ReturnType<typeof createSyncWorker>; poison?: ReturnType<typeof createSyncPoison> } = {};
  const q = options.queue ?? {};
  const worker = (message: unknown, context: InvocationContext) => (bound.worker as ReturnType<typeof createSyncWorker>)(message, context);
  // The queue trigger's metadata: the message id is the same for every delivery of one message.
  const createContext = (_message: unknown, delivery: DeliveryInfo) =>
    contextFor("syncWorker", logger, { id: delivery.id, dequeueCount: delivery.dequeueCount });
  const onPoison = (message: unknown) => (bound.poison as ReturnType<typeof createSyncPoison>)(message, contextFor("syncPoison", logger));
  const workQueue: InProcessWorkQueue | StorageQueueTrigger = options.storageQueue
    ? new StorageQueueTrigger(worker, {
        connectionString: options.storageQueue.connectionString,
        queueName: options.storageQueue.queueName ?? SYNC_QUEUE_NAME,
        batchSize: q.batchSize ?? QUEUE_BATCH_SIZE,
        newBatchThreshold: q.newBatchThreshold ?? QUEUE_NEW_BATCH_THRESHOLD,
        ...(q.maxDequeueCount !== undefined ? { maxDequeueCount: q.maxDequeueCount } : {}),
        ...(options.storageQueue.visibilityTimeoutSeconds !== undefined
          ? { visibilityTimeoutSeconds: options.storageQueue.visibilityTimeoutSeconds }
          : {}),
        ...(options.storageQueue.pollMs !== undefined ? { pollMs: options.storageQueue.pollMs } : {}),
        ...(options.storageQueue.leaseSeconds !== undefined ? { leaseSeconds: options.storageQueue.leaseSeconds } : {}),
        logger,
        createContext,
        onPoison,
      })
    : new InProcessWorkQueue(worker, {
        ...(options.workerConcurrency !== undefined
          ? { concurrency: options.workerConcurrency }
          : { batchSize: q.batchSize ?? QUEUE_BATCH_SIZE, newBatchThreshold: q.newBatchThreshold ?? QUEUE_NEW_BATCH_THRESHOLD }),
        ...(q.maxDequeueCount !== undefined ? { maxDequeueCount: q.maxDequeueCount } : {}),
        ...(q.killAfterMs ? { killAfterMs: q.killAfterMs } : {}),
        ...(q.duplicate ? { duplicate: q.duplicate } : {}),
        logger,
        ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
        createContext,
        onPoison,
      });
  const runtime = createRuntime(config, {
    logger,
    clock,
    holderId: `functions-host-${process.pid}-${randomUUID().slice(0, 8)}`,
    queueFor: (context) => workQueue.queueFor(context),
    ...(options.runtime ?? {}),
  });
  bound.worker = createSyncWorker(runtime);
  bound.poison = createSyncPoison(runtime);
  if (workQueue instanceof StorageQueueTrigger) await workQueue.start();
  const webhook = createWebhookHandler(runtime);
  const timers: Record<TimerName, { schedule: string; run: (t: Timer, c: InvocationContext) => Promise<unknown> }> = {
    scheduledSync: { schedule: config.syncSchedule, run: createScheduledSync(runtime) },
    tokenKeepAlive: { schedule: config.keepAliveSchedule, run: createTokenKeepAlive(runtime) },
  };

  let inFlight = 0;
  let requests = 0;
  let unauthorized = 0;
  let idleWaiters: (() => void)[] = [];
  const settleIdle = () => {
    if (inFlight > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    requests++;
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    // The host checks the function key before anything else, as Azure does for authLevel "function".
    const key = presentedKey(headers, url.searchParams);
    if (!key || !keysMatch(key, config.webhookKey)) {
      unauthorized++;
      req.resume();
      send(res, { status: 401 });
      return;
    }
    if (url.pathname.toLowerCase() !== WEBHOOK_PATH) {
      req.resume();
      send(res, { status: 404, jsonBody: { error: { code: "NOT_FOUND", message: `No function at ${url.pathname}.` } } });
      return;
    }
    if (req.method !== "POST") {
      req.resume();
      send(res, { status: 405, jsonBody: { error: { code: "WEBHOOK_METHOD_NOT_ALLOWED", message: "Dataverse webhooks are POSTs." } } });
      return;
    }
    const body = await readBody(req, config.maxBodyBytes);
    if (body === "too-large") {
      send(res, {
        status: 413,
        jsonBody: {
          error: { code: "WEBHOOK_PAYLOAD_TOO_LARGE", message: `The webhook body is larger than ${config.maxBodyBytes} bytes.` },
        },
      });
      return;
    }
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (query[k] = v));
    const headerRecord: Record<string, string> = {};
    headers.forEach((v, k) => (headerRecord[k] = v));
    const request = new HttpRequest({ method: "POST", url: url.toString(), headers: headerRecord, query, body: { bytes: body } });
    const response = await webhook(request, contextFor("dataverseWebhook", logger));
    send(res, response);
  };

  const server = http.createServer((req, res) => {
    inFlight++;
    handle(req, res)
      .catch((error: unknown) => {
        logger.error("functions host request failed", { error: ensureError(error).message });
        if (!res.headersSent)
          send(res, { status: 500, jsonBody: { error: { code: "HOST_ERROR", message: "The local functions host failed." } } });
      })
      .finally(() => {
        inFlight--;
        settleIdle();
      });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  // Learn the integration user and organization now, so the first webhook does not pay for WhoAmI.
  await Promise.all([runtime.identity(), runtime.expectedOrganization()]).catch((error: unknown) =>
    logger.warn("could not read the integration identity yet", { error: ensureError(error).message }),
  );

  const runTimer = async (name: TimerName): Promise<unknown> => {
    const timer = timers[name];
    if (!timer) throw new ValidationError(`Unknown timer ${String(name)}.`, { field: "timer" });
    const now = new Date(clock.now());
    return timer.run(timerInfo(now, nextOccurrence(parseNcrontab(timer.schedule), now)), contextFor(name, logger));
  };

  const scheduled = new Set<NodeJS.Timeout>();
  let closed = false;
  const arm = (name: TimerName) => {
    if (closed) return;
    const next = nextOccurrence(parseNcrontab(timers[name].schedule), new Date(clock.now()));
    if (!next) return;
    // setTimeout caps at ~24.8 days; re-arm in steps for schedules further out.
    const delay = Math.min(next.getTime() - clock.now(), 2 ** 31 - 1);
    const handle = setTimeout(
      () => {
        scheduled.delete(handle);
        if (next.getTime() <= clock.now()) {
          runTimer(name).catch((error: unknown) => logger.error("timer failed", { timer: name, error: ensureError(error).message }));
        }
        arm(name);
      },
      Math.max(0, delay),
    );
    handle.unref();
    scheduled.add(handle);
  };
  if (options.runSchedules) {
    arm("scheduledSync");
    arm("tokenKeepAlive");
  }

  return {
    url: `http://127.0.0.1:${port}`,
    key: config.webhookKey,
    runtime,
    queue: workQueue,
    runTimer,
    async whenIdle() {
      // A webhook may queue work and queued work may finish after; loop until both are quiet.
      for (let i = 0; i < 100; i++) {
        if (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
        await workQueue.whenIdle();
        if (inFlight === 0 && workQueue.pendingCount() === 0) return;
      }
    },
    stats: () => ({
      requests,
      unauthorized,
      inFlight,
      workProcessed: workQueue.processed(),
      poisoned: workQueue.poison.length,
      ...(workQueue instanceof InProcessWorkQueue
        ? { killed: workQueue.faults.killed, duplicated: workQueue.faults.duplicated }
        : { leaseRenewals: workQueue.leaseRenewals() }),
      invocations: workQueue.invocations.count,
      longestInvocationMs: workQueue.invocations.longestMs,
    }),
    async close() {
      closed = true;
      for (const t of scheduled) clearTimeout(t);
      scheduled.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await workQueue.close();
    },
  };
}
