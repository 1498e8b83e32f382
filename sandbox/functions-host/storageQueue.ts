/**
 * The queue trigger over a real Azure Storage queue (Azurite locally, or a storage account): what the
 * Functions host does for `syncWorker`, through @azure/storage-queue. It polls the queue, takes up to
 * batchSize messages whenever no more than newBatchThreshold run, hides each for the time its invocation
 * runs, deletes it when the invocation succeeds (after writing the invocation's queue output), makes it
 * visible again after the visibility timeout when it fails, and moves it to `<queue>-poison` once it has
 * failed maxDequeueCount times. Messages are base64 JSON, the Functions host's default encoding.
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json
 */
import type { InvocationContext } from "@azure/functions";
import { QueueClient, QueueServiceClient } from "@azure/storage-queue";

import type { DeliveryInfo, WorkerHandler } from "../../functions/workQueue";
import { MAX_DEQUEUE_COUNT, QUEUE_BATCH_SIZE, QUEUE_NEW_BATCH_THRESHOLD } from "../../functions/workQueue";
import type { WorkMessage, WorkQueue } from "../../plugins/types";
import { ensureError } from "../../src/shared/errors";
import type { Logger } from "../../src/shared/logger";
import { silentLogger } from "../../src/shared/logger";

export interface StorageQueueTriggerOptions {
  connectionString: string;
  queueName: string;
  batchSize?: number;
  newBatchThreshold?: number;
  maxDequeueCount?: number;
  /** Seconds a failed message stays hidden before its next delivery (host.json visibilityTimeout). */
  visibilityTimeoutSeconds?: number;
  /** Seconds a message is hidden while its invocation runs (the host's message lease). */
  leaseSeconds?: number;
  /** Wait between polls of an empty queue. */
  pollMs?: number;
  logger?: Logger;
  createContext: (message: unknown, delivery: DeliveryInfo) => InvocationContext;
  onPoison?: (message: unknown, delivery: DeliveryInfo) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StorageQueueTrigger implements WorkQueue {
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;
  private running = 0;
  private closed = false;
  private loop?: Promise<void>;
  private readonly outputs = new Map<string, WorkMessage[]>();
  readonly poison: unknown[] = [];
  private processedCount = 0;
  readonly faults = { killed: 0, duplicated: 0 };
  readonly invocations = { count: 0, longestMs: 0 };

  constructor(
    private readonly handler: WorkerHandler,
    private readonly options: StorageQueueTriggerOptions,
  ) {
    const service = QueueServiceClient.fromConnectionString(options.connectionString);
    this.queue = service.getQueueClient(options.queueName);
    this.poisonQueue = service.getQueueClient(`${options.queueName}-poison`);
  }

  async start(): Promise<void> {
    await this.queue.createIfNotExists();
    await this.poisonQueue.createIfNotExists();
    this.loop = this.poll();
  }

  async enqueue(message: WorkMessage): Promise<void> {
    await this.queue.sendMessage(Buffer.from(JSON.stringify(message)).toString("base64"));
  }

  queueFor(context: InvocationContext): WorkQueue {
    const out = this.outputs.get(context.invocationId);
    return out ? { enqueue: async (m) => void out.push(m) } : this;
  }

  processed(): number {
    return this.processedCount;
  }

  pendingCount(): number {
    return this.running;
  }

  /** Resolves once nothing runs and the queue holds no message, visible or hidden. */
  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.running === 0) {
        const props = await this.queue.getProperties();
        if ((props.approximateMessagesCount ?? 0) === 0 && this.running === 0) return;
      }
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
    while (this.running > 0) await sleep(20);
  }

  private get logger(): Logger {
    return this.options.logger ?? silentLogger;
  }

  private async poll(): Promise<void> {
    const batchSize = this.options.batchSize ?? QUEUE_BATCH_SIZE;
    const threshold = this.options.newBatchThreshold ?? QUEUE_NEW_BATCH_THRESHOLD;
    while (!this.closed) {
      if (this.running > threshold) {
        await sleep(10);
        continue;
      }
      let items;
      try {
        const answer = await this.queue.receiveMessages({
          // Storage hands out at most 32 at once.
          numberOfMessages: Math.min(32, batchSize),
          visibilityTimeout: this.options.leaseSeconds ?? 600,
        });
        items = answer.receivedMessageItems;
      } catch (error) {
        this.logger.warn("queue poll failed", { error: ensureError(error).message });
        await sleep(this.options.pollMs ?? 100);
        continue;
      }
      if (items.length === 0) {
        await sleep(this.options.pollMs ?? 100);
        continue;
      }
      for (const item of items) {
        this.running++;
        void this.process(item.messageId, item.popReceipt, item.messageText, item.dequeueCount).finally(() => this.running--);
      }
    }
  }

  private async process(id: string, popReceipt: string, text: string, dequeueCount: number): Promise<void> {
    let message: unknown;
    try {
      message = JSON.parse(Buffer.from(text, "base64").toString("utf8"));
    } catch {
      message = text;
    }
    const delivery: DeliveryInfo = { id, dequeueCount, message };
    const context = this.options.createContext(message, delivery);
    const output: WorkMessage[] = [];
    this.outputs.set(context.invocationId, output);
    const started = Date.now();
    try {
      await this.handler(message, context);
      // The invocation's queue output is written, then the message completed.
      for (const m of output) await this.enqueue(m);
      // A message that cannot be completed after the work succeeded (its pop receipt expired) is delivered
      // again, at least once as the runtime does; it is never counted as a failure or sent to the poison queue.
      await this.queue
        .deleteMessage(id, popReceipt)
        .catch((e: unknown) =>
          this.logger.warn("completed work item not deleted; it will be delivered again", { error: ensureError(e).message }),
        );
      this.processedCount++;
    } catch (error) {
      const max = this.options.maxDequeueCount ?? MAX_DEQUEUE_COUNT;
      if (dequeueCount >= max) {
        this.poison.push(message);
        this.logger.error("work item moved to the poison queue", { dequeueCount, error: ensureError(error).message });
        await this.poisonQueue.sendMessage(text);
        await this.queue.deleteMessage(id, popReceipt).catch(() => undefined);
        await this.options
          .onPoison?.(message, delivery)
          .catch((e: unknown) => this.logger.error("poison-queue handler failed", { error: ensureError(e).message }));
      } else {
        // Visible again after the visibility timeout, for the next delivery.
        await this.queue.updateMessage(id, popReceipt, undefined, this.options.visibilityTimeoutSeconds ?? 30).catch(() => undefined);
      }
    } finally {
      this.outputs.delete(context.invocationId);
      this.invocations.count++;
      this.invocations.longestMs = Math.max(this.invocations.longestMs, Date.now() - started);
    }
  }
}
