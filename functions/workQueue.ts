/**
 * The work queue between the fast webhook/timer handlers and the sync worker.
 * - Azure: the declarative storage-queue output binding `syncQueueOutput`; messages set on
 *   `context.extraOutputs` are written by the host when the invocation succeeds, and the
 *   `syncWorker` queue trigger picks them up (with the host's retries and poison queue).
 * - Local host and tests: `InProcessWorkQueue` runs the same worker handler in this process the way the
 *   Functions queue trigger does: batches (batchSize / newBatchThreshold of host.json), at-least-once
 *   delivery with a message id and a dequeue count, a visibility timeout before a failed message is
 *   delivered again, the poison queue after maxDequeueCount, and the output binding's rule that an
 *   invocation's queue messages are written only when it succeeds. It can also kill invocations and
 *   deliver a message twice, as production sometimes does, so tests can prove a run survives both.
 *   https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#concurrency
 *   https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages
 */
import { randomUUID } from "node:crypto";

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
/** Where the Functions host moves a message after maxDequeueCount failed deliveries (`<queue>-poison`). */
export const SYNC_POISON_QUEUE_NAME = `${SYNC_QUEUE_NAME}-poison`;
/**
 * host.json `extensions.queues`, which the local host copies: at most 4 + 2 items at once per instance, since one
 * large connector's sync item holds 200-300 MB (bench scenario L) and a Consumption instance has 1.5 GB.
 */
export const QUEUE_BATCH_SIZE = 4;
export const QUEUE_NEW_BATCH_THRESHOLD = 2;

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
    step: z.number().int().min(0).optional(),
    phase: z.enum(["accounts", "subscriptions", "outbound"]).optional(),
    page: z.number().int().min(0).optional(),
    branch: z
      .string()
      .regex(/^\d{1,2}$/)
      .optional(),
    turn: z.number().int().min(0).optional(),
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

/** What the queue knows of one delivery, as the Functions host passes it in triggerMetadata. */
export interface DeliveryInfo {
  id: string;
  dequeueCount: number;
  message: unknown;
}

export interface InProcessWorkQueueOptions {
  /** Messages fetched at once (host.json batchSize); default QUEUE_BATCH_SIZE. */
  batchSize?: number;
  /** A new batch is fetched once no more than this many run (host.json newBatchThreshold); default batchSize / 2. */
  newBatchThreshold?: number;
  /** Older option: at most this many at once (batchSize = concurrency, newBatchThreshold = 0). */
  concurrency?: number;
  maxDequeueCount?: number;
  logger?: Logger;
  /** Delay before a failed message is visible again; Azure's visibility timeout plays this role. */
  retryDelayMs?: (dequeueCount: number) => number;
  createContext: (message: unknown, delivery: DeliveryInfo) => InvocationContext;
  /** Called for a message moved to the poison queue (the app's poison-queue function). */
  onPoison?: (message: unknown, delivery: DeliveryInfo) => Promise<void>;
  /**
   * Fault injection: milliseconds after which this delivery's invocation is killed (undefined: not killed).
   * A killed invocation counts as failed (its queue output is dropped, the message comes back after the
   * visibility timeout); its code may still be running, like a hung instance whose message lease lapsed.
   */
  killAfterMs?: (delivery: DeliveryInfo) => number | undefined;
  /** Fault injection: deliver this message a second time at once (at-least-once delivery). */
  duplicate?: (delivery: DeliveryInfo) => boolean;
}

/** Where a message that failed its last allowed delivery goes: the poison list, the log, the poison-queue function. */
export interface PoisonSink {
  readonly poison: unknown[];
  readonly logger: Logger;
  /** The app's poison-queue function; undefined when none runs (a queue shutting down). */
  readonly onPoison?: ((message: unknown, delivery: DeliveryInfo) => Promise<void>) | undefined;
}

/**
 * What the queue trigger does after a message's last allowed delivery failed (maxDequeueCount): moves it to
 * `<queue>-poison` (`move`: the storage queue copies it there and deletes it, false when the copy failed; the
 * in-process queue has nothing to move), then records it and runs the poison-queue function, whose failure is
 * logged, never thrown. A message not copied comes back and is moved then: the function runs once per copy.
 */
export async function poisonMessage(
  sink: PoisonSink,
  delivery: DeliveryInfo,
  error: unknown,
  move?: () => Promise<boolean>,
): Promise<void> {
  if (move && !(await move())) return;
  sink.poison.push(delivery.message);
  sink.logger.error("work item moved to the poison queue", { dequeueCount: delivery.dequeueCount, error: ensureError(error).message });
  await sink
    .onPoison?.(delivery.message, delivery)
    .catch((e: unknown) => sink.logger.error("poison-queue handler failed", { error: ensureError(e).message }));
}

interface QueuedMessage {
  id: string;
  body: string;
  dequeueCount: number;
}

/** Queue output of one invocation, written only when the invocation succeeds (the output binding's rule). */
class InvocationOutput implements WorkQueue {
  readonly messages: WorkMessage[] = [];
  async enqueue(message: WorkMessage): Promise<void> {
    this.messages.push(message);
  }
}

class InvocationKilledError extends Error {
  constructor() {
    super("The invocation was killed (fault injection).");
  }
}

/** An in-process stand-in for the storage queue and its trigger: see the header. */
export class InProcessWorkQueue implements WorkQueue {
  private readonly waiting: QueuedMessage[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Invocations killed whose code still runs: the queue is idle only once they end too. */
  private zombies = new Set<Promise<unknown>>();
  private readonly outputs = new Map<string, InvocationOutput>();
  readonly poison: unknown[] = [];
  private processedCount = 0;
  readonly faults = { killed: 0, duplicated: 0 };
  /** Longest invocation so far (ms) and how many ran: a report figure, never asserted on. */
  readonly invocations = { count: 0, longestMs: 0 };

  constructor(
    private readonly handler: WorkerHandler,
    private readonly options: InProcessWorkQueueOptions,
  ) {}

  async enqueue(message: WorkMessage): Promise<void> {
    if (this.closed) throw new WorkQueueClosedError();
    this.waiting.push({ id: randomUUID(), body: JSON.stringify(message), dequeueCount: 0 });
    this.pump();
  }

  /**
   * The queue an invocation writes to: for a worker invocation, its output (written when it succeeds);
   * for anything else (a webhook handled by the local host), this queue directly.
   */
  queueFor(context: InvocationContext): WorkQueue {
    return this.outputs.get(context.invocationId) ?? this;
  }

  /** Messages completed successfully so far. */
  processed(): number {
    return this.processedCount;
  }

  pendingCount(): number {
    return this.waiting.length + this.running + this.timers.size + this.zombies.size;
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

  private get limits(): { batchSize: number; threshold: number } {
    if (this.options.batchSize === undefined && this.options.concurrency !== undefined)
      return { batchSize: this.options.concurrency, threshold: 0 };
    const batchSize = this.options.batchSize ?? QUEUE_BATCH_SIZE;
    return { batchSize, threshold: this.options.newBatchThreshold ?? Math.floor(batchSize / 2) };
  }

  private pump(): void {
    const { batchSize, threshold } = this.limits;
    // The host fetches a batch once the messages it runs drop to the threshold: at most batchSize + threshold at once.
    if (!this.closed && this.running <= threshold && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, batchSize);
      for (const item of batch) this.dispatch(item);
    }
    this.notifyIfIdle();
  }

  private dispatch(item: QueuedMessage): void {
    item.dequeueCount++;
    this.running++;
    let delivery: DeliveryInfo = { id: item.id, dequeueCount: item.dequeueCount, message: JSON.parse(item.body) };
    if (this.options.duplicate?.(delivery)) {
      // The message is handed to a second instance while the first still runs (its lease lapsed). Storage
      // honours only the newest pop receipt: the older delivery can no longer delete or release the message,
      // but its queue output is written if it succeeds. The newer delivery decides the message's fate.
      this.faults.duplicated++;
      const older = this.invoke(delivery).then(
        (out) => this.commit(out),
        () => undefined,
      );
      this.zombies.add(older);
      void older.finally(() => {
        this.zombies.delete(older);
        this.notifyIfIdle();
      });
      item.dequeueCount++;
      delivery = { id: item.id, dequeueCount: item.dequeueCount, message: JSON.parse(item.body) };
    }
    void this.process(item, delivery).finally(() => {
      this.running--;
      this.pump();
      this.notifyIfIdle();
    });
  }

  /** Runs the handler for one delivery; resolves with its queue output when it succeeds. */
  private async invoke(delivery: DeliveryInfo): Promise<WorkMessage[]> {
    const context = this.options.createContext(delivery.message, delivery);
    const output = new InvocationOutput();
    this.outputs.set(context.invocationId, output);
    const started = Date.now();
    const work = this.handler(delivery.message, context).finally(() => this.outputs.delete(context.invocationId));
    const killAfter = this.options.killAfterMs?.(delivery);
    try {
      if (killAfter === undefined) await work;
      else {
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new InvocationKilledError()), killAfter);
        });
        try {
          await Promise.race([work, killed]);
        } catch (error) {
          if (error instanceof InvocationKilledError) {
            this.faults.killed++;
            // Its code goes on (a hung instance); the queue waits for it before it reports idle.
            const zombie = work.catch(() => undefined);
            this.zombies.add(zombie);
            void zombie.finally(() => {
              this.zombies.delete(zombie);
              this.notifyIfIdle();
            });
          }
          throw error;
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      const ms = Date.now() - started;
      this.invocations.count++;
      this.invocations.longestMs = Math.max(this.invocations.longestMs, ms);
    }
    return output.messages;
  }

  private async commit(messages: WorkMessage[]): Promise<void> {
    for (const m of messages) if (!this.closed) await this.enqueue(m);
  }

  private async process(item: QueuedMessage, delivery: DeliveryInfo): Promise<void> {
    try {
      const out = await this.invoke(delivery);
      this.processedCount++;
      await this.commit(out);
    } catch (error) {
      const max = this.options.maxDequeueCount ?? MAX_DEQUEUE_COUNT;
      if (item.dequeueCount >= max || this.closed) {
        // A queue shutting down drops the message without running the poison-queue function.
        await poisonMessage(
          { poison: this.poison, logger: this.logger, onPoison: this.closed ? undefined : this.options.onPoison },
          delivery,
          error,
        );
        return;
      }
      const delay = this.options.retryDelayMs?.(item.dequeueCount) ?? 1000 * item.dequeueCount;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.waiting.push(item);
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
