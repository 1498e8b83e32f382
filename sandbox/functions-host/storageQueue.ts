/**
 * The queue trigger over a real Azure Storage queue (Azurite locally, or a storage account): what the
 * Functions host does for `syncWorker`, through @azure/storage-queue. It polls the queue, takes up to
 * batchSize messages whenever no more than newBatchThreshold run, hides each while its invocation runs
 * (a lease renewed before it lapses, see `MessageLease`), deletes it when the invocation succeeds (after
 * writing the invocation's queue output), makes it visible again after the visibility timeout when it
 * fails, and moves it to `<queue>-poison` once it has failed maxDequeueCount times. Messages are base64
 * JSON, the Functions host's default encoding. docs/platform/functions.md, "Queue trigger".
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json
 */
import type { InvocationContext } from "@azure/functions";
import { QueueClient, QueueServiceClient } from "@azure/storage-queue";

import type { DeliveryInfo, WorkerHandler } from "../../functions/workQueue";
import { MAX_DEQUEUE_COUNT, poisonMessage, QUEUE_BATCH_SIZE, QUEUE_NEW_BATCH_THRESHOLD } from "../../functions/workQueue";
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
  /**
   * Seconds a message is hidden at a time while its invocation runs (the host's message lease), renewed at
   * half that time for as long as the invocation runs; default `MESSAGE_LEASE_SECONDS`.
   */
  leaseSeconds?: number;
  /** Wait between polls of an empty queue. */
  pollMs?: number;
  logger?: Logger;
  createContext: (message: unknown, delivery: DeliveryInfo) => InvocationContext;
  onPoison?: (message: unknown, delivery: DeliveryInfo) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The runtime's message lease: 10 minutes (QueueListener's `_visibilityTimeout`, see `MessageLease`). */
export const MESSAGE_LEASE_SECONDS = 600;
/** The shortest wait between renewals after failed ones (QueueListener's `MinimumVisibilityRenewalInterval`). */
const MIN_RENEWAL_INTERVAL_MS = 60_000;

/** The message is gone or was handed to another consumer (a newer pop receipt): renewing again cannot help. */
function leaseLost(error: unknown): boolean {
  const e = error as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  return e.statusCode === 404 || (e.statusCode === 400 && [e.code, e.details?.errorCode].includes("PopReceiptMismatch"));
}

/**
 * Keeps a received message hidden while its invocation runs, as the Functions runtime does: the WebJobs
 * storage extension receives with a 10-minute visibility timeout and, while the function runs, updates the
 * message's visibility back to that timeout each time half of it has passed, keeping the pop receipt each
 * update returns (a later update or delete needs the newest one). A failed update is tried again sooner
 * (the interval halved, down to one minute); once the message is gone or its pop receipt no longer matches
 * it stops, the message being someone else's now.
 * https://github.com/Azure/azure-sdk-for-net/blob/main/sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueListener.cs
 * (`CreateUpdateMessageVisibilityTimer`) and
 * https://github.com/Azure/azure-sdk-for-net/blob/main/sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/UpdateQueueMessageVisibilityCommand.cs
 */
class MessageLease {
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  private stopped = false;
  private readonly normalMs: number;
  private readonly minimumMs: number;
  private intervalMs: number;
  /** Renewals that landed (a report figure for tests). */
  renewals = 0;

  constructor(
    private readonly queue: QueueClient,
    private readonly messageId: string,
    private popReceipt: string,
    private readonly leaseSeconds: number,
    private readonly logger: Logger,
  ) {
    this.normalMs = (leaseSeconds * 1000) / 2;
    this.minimumMs = Math.min(MIN_RENEWAL_INTERVAL_MS, this.normalMs);
    this.intervalMs = this.normalMs;
    this.schedule(this.normalMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.renewing = this.renew();
    }, ms);
  }

  private async renew(): Promise<void> {
    try {
      const answer = await this.queue.updateMessage(this.messageId, this.popReceipt, undefined, this.leaseSeconds);
      if (answer.popReceipt) this.popReceipt = answer.popReceipt;
      this.renewals++;
      this.intervalMs = this.normalMs;
    } catch (error) {
      if (leaseLost(error)) {
        this.logger.warn("work item lease lost: the message is gone or delivered again", {
          messageId: this.messageId,
          error: ensureError(error).message,
        });
        return;
      }
      this.intervalMs = Math.max(this.minimumMs, this.intervalMs / 2);
      this.logger.warn("work item lease not renewed; trying again sooner", {
        messageId: this.messageId,
        retryInMs: this.intervalMs,
        error: ensureError(error).message,
      });
    }
    this.schedule(this.intervalMs);
  }

  /** Stops renewing (waiting for a renewal under way) and gives the newest pop receipt. */
  async stop(): Promise<string> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.renewing;
    return this.popReceipt;
  }
}

export class StorageQueueTrigger implements WorkQueue {
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;
  private running = 0;
  private closed = false;
  private loop?: Promise<void>;
  private readonly outputs = new Map<string, WorkMessage[]>();
  readonly poison: unknown[] = [];
  private processedCount = 0;
  readonly invocations = { count: 0, longestMs: 0 };
  /** Lease renewals that landed, over every invocation (a report figure, never asserted on as a time). */
  private renewalCount = 0;

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

  /** Lease renewals that landed so far. */
  leaseRenewals(): number {
    return this.renewalCount;
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
          visibilityTimeout: this.options.leaseSeconds ?? MESSAGE_LEASE_SECONDS,
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
    const lease = new MessageLease(this.queue, id, popReceipt, this.options.leaseSeconds ?? MESSAGE_LEASE_SECONDS, this.logger);
    let failure: { error: unknown } | undefined;
    try {
      await this.handler(message, context);
      // The invocation's queue output is written, then the message completed.
      for (const m of output) await this.enqueue(m);
    } catch (error) {
      failure = { error };
    } finally {
      this.outputs.delete(context.invocationId);
      this.invocations.count++;
      this.invocations.longestMs = Math.max(this.invocations.longestMs, Date.now() - started);
    }
    // As the runtime does, the renewals stop before the message is completed or released.
    const receipt = await lease.stop();
    this.renewalCount += lease.renewals;
    if (!failure) {
      // A message that cannot be completed after the work succeeded (its pop receipt expired) is delivered
      // again, at least once as the runtime does; it is never counted as a failure or sent to the poison queue.
      await this.queue
        .deleteMessage(id, receipt)
        .catch((e: unknown) =>
          this.logger.warn("completed work item not deleted; it will be delivered again", { error: ensureError(e).message }),
        );
      this.processedCount++;
      return;
    }
    const max = this.options.maxDequeueCount ?? MAX_DEQUEUE_COUNT;
    if (dequeueCount >= max) {
      const sink = { poison: this.poison, logger: this.logger, onPoison: this.options.onPoison };
      await poisonMessage(sink, delivery, failure.error, async () => {
        // Copied to the poison queue, then deleted; a copy that fails leaves the message to come back and be moved then.
        try {
          await this.poisonQueue.sendMessage(text);
        } catch (e) {
          this.logger.warn("work item not moved to the poison queue; it will be delivered again", { error: ensureError(e).message });
          return false;
        }
        await this.queue
          .deleteMessage(id, receipt)
          .catch((e: unknown) =>
            this.logger.warn("poisoned work item copied but not deleted; it comes back once more", { error: ensureError(e).message }),
          );
        return true;
      });
    } else {
      // Visible again after the visibility timeout, for the next delivery.
      await this.queue
        .updateMessage(id, receipt, undefined, this.options.visibilityTimeoutSeconds ?? 30)
        .catch((e: unknown) =>
          this.logger.warn("failed work item not released; it is delivered again when its lease lapses", { error: ensureError(e).message }),
        );
    }
  }
}
