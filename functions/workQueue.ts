/**
 * The work queue between the fast webhook/timer handlers and the sync worker.
 * - Azure: the declarative storage-queue output binding `syncQueueOutput`; messages set on
 *   `context.extraOutputs` are written by the host when the invocation succeeds, and the
 *   `syncWorker` queue trigger picks them up (with the host's retries and poison queue).
 * - Local host and tests: `InProcessWorkQueue` runs the same worker handler in this process,
 *   with the same JSON round trip and the same dequeue-count retry rule.
 */
import { type InvocationContext, output } from "@azure/functions";
import { z } from "zod";

import type { WorkMessage, WorkQueue } from "../plugins/types";
import { ConnectorError, ensureError } from "../src/shared/errors";
import { GUID_PATTERN } from "../src/shared/guid";
import type { Logger } from "../src/shared/logger";
import { silentLogger } from "../src/shared/logger";
import { SYNC_KINDS, TRIGGERS } from "../src/sync/vocabulary";
import { QUEUE_CONNECTION_SETTING, SYNC_QUEUE_NAME } from "./config";

export type { WorkMessage, WorkQueue } from "../plugins/types";

export const syncQueueOutput = output.storageQueue({ queueName: SYNC_QUEUE_NAME, connection: QUEUE_CONNECTION_SETTING });
/** Azure's default maxDequeueCount: after this many failed attempts a message goes to the poison queue. */
export const MAX_DEQUEUE_COUNT = 5;

const trigger = z.enum(TRIGGERS);
const guid = z.string().regex(GUID_PATTERN);
export const workMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("sync"),
    runId: guid,
    connectionId: guid,
    kind: z.enum(SYNC_KINDS),
    trigger,
    dryRun: z.boolean().optional(),
    requestId: z.string().max(200).optional(),
    providerAccountId: guid.optional(),
  }),
  z.object({ type: z.literal("outbound"), subscriptionId: guid, trigger }),
]);

/** Work offered after the in-process queue was closed (the host is shutting down). */
export class WorkQueueClosedError extends ConnectorError {
  constructor() {
    super("QUEUE_CLOSED", "The work queue is closed.");
  }
}

export class WorkMessageError extends ConnectorError {
  constructor(message: string) {
    super("WORK_MESSAGE_INVALID", message);
  }
}

/** Queue messages arrive as parsed JSON (the host decodes them) or as a JSON string. */
export function parseWorkMessage(raw: unknown): WorkMessage {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new WorkMessageError("The queue message is not JSON.");
    }
  }
  const parsed = workMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkMessageError(
      `The queue message is not a work item: ${issue ? `${issue.path.join(".")} ${issue.message}` : "unknown shape"}.`,
    );
  }
  return parsed.data as WorkMessage;
}

/** Per-invocation queue over the output binding (the binding must be listed in the function's extraOutputs). */
export class BindingWorkQueue implements WorkQueue {
  private readonly messages: WorkMessage[] = [];
  constructor(private readonly context: InvocationContext) {}

  async enqueue(message: WorkMessage): Promise<void> {
    this.messages.push(message);
    // Setting the whole array each time: the host writes one queue message per element.
    this.context.extraOutputs.set(syncQueueOutput, [...this.messages]);
  }
}

export type WorkerHandler = (message: unknown, context: InvocationContext) => Promise<void>;

export interface InProcessWorkQueueOptions {
  concurrency?: number;
  maxDequeueCount?: number;
  logger?: Logger;
  /** Delay before a failed message is retried; Azure's visibility timeout plays this role. */
  retryDelayMs?: (dequeueCount: number) => number;
  createContext: (message: unknown, dequeueCount: number) => InvocationContext;
}

/** An in-process stand-in for the storage queue: same handler, same JSON, same retry-then-poison rule. */
export class InProcessWorkQueue implements WorkQueue {
  private readonly waiting: { body: string; dequeueCount: number }[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;
  readonly poison: unknown[] = [];
  private processedCount = 0;

  constructor(
    private readonly handler: WorkerHandler,
    private readonly options: InProcessWorkQueueOptions,
  ) {}

  async enqueue(message: WorkMessage): Promise<void> {
    if (this.closed) throw new WorkQueueClosedError();
    this.waiting.push({ body: JSON.stringify(message), dequeueCount: 0 });
    this.pump();
  }

  /** Messages completed successfully so far. */
  processed(): number {
    return this.processedCount;
  }

  pendingCount(): number {
    return this.waiting.length + this.running + this.timers.size;
  }

  whenIdle(): Promise<void> {
    if (this.pendingCount() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking messages and waits for the running ones; messages still waiting are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.whenIdle();
  }

  private get logger(): Logger {
    return this.options.logger ?? silentLogger;
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 4;
    while (!this.closed && this.running < limit && this.waiting.length > 0) {
      const item = this.waiting.shift() as { body: string; dequeueCount: number };
      this.running++;
      void this.process(item).finally(() => {
        this.running--;
        this.pump();
        this.notifyIfIdle();
      });
    }
    this.notifyIfIdle();
  }

  private async process(item: { body: string; dequeueCount: number }): Promise<void> {
    const dequeueCount = item.dequeueCount + 1;
    const message: unknown = JSON.parse(item.body);
    try {
      await this.handler(message, this.options.createContext(message, dequeueCount));
      this.processedCount++;
    } catch (error) {
      const max = this.options.maxDequeueCount ?? MAX_DEQUEUE_COUNT;
      if (dequeueCount >= max || this.closed) {
        this.poison.push(message);
        this.logger.error("work item moved to the poison queue", { dequeueCount, error: ensureError(error).message });
        return;
      }
      const delay = this.options.retryDelayMs?.(dequeueCount) ?? 1000 * dequeueCount;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.waiting.push({ body: item.body, dequeueCount });
        this.pump();
      }, delay);
      this.timers.add(timer);
    }
  }

  private notifyIfIdle(): void {
    if (this.pendingCount() !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
