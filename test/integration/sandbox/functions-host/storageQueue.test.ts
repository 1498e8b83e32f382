/**
 * The local host's queue trigger over a real storage queue (Azurite): a message whose invocation runs longer
 * than its lease stays hidden, its lease renewed as the Functions runtime renews it, so neither this host nor
 * a second one polling the same queue receives it again; a renewal that fails is logged; a poisoned message
 * is moved to `<queue>-poison` and handed to the poison-queue function once.
 */
import { randomUUID } from "node:crypto";

import { InvocationContext } from "@azure/functions";
import { QueueServiceClient } from "@azure/storage-queue";

import type { DeliveryInfo } from "../../../../functions/workQueue";
import { StorageQueueTrigger, type StorageQueueTriggerOptions } from "../../../../sandbox/functions-host/storageQueue";
import { memoryLogger } from "../../../../src/shared/logger";
import { type AzuriteQueue, startAzuriteQueue } from "../../../support/azurite";

/** Seconds a message is hidden at a time: renewed every second while its invocation runs. */
const LEASE_SECONDS = 2;

const until = async (what: () => boolean, label: string): Promise<void> => {
  for (let i = 0; i < 600; i++) {
    if (what()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${label}`);
};

describe("the local host's storage-queue trigger (Azurite)", () => {
  let azurite: AzuriteQueue;
  let queueName: string;
  const triggers: StorageQueueTrigger[] = [];
  /** Invocations held by a test: released when it ends, pass or fail, so the triggers can close. */
  let release: () => void = () => undefined;
  let released: Promise<void> = Promise.resolve();
  const hold = () => {
    released = new Promise<void>((r) => (release = r));
  };

  const context = (_message: unknown, delivery: DeliveryInfo) =>
    new InvocationContext({ invocationId: randomUUID(), functionName: "syncWorker", triggerMetadata: { ...delivery } });
  const start = async (o: Partial<StorageQueueTriggerOptions>, handler: (m: unknown, d: DeliveryInfo) => Promise<void>) => {
    const logger = memoryLogger();
    const deliveries: DeliveryInfo[] = [];
    const trigger = new StorageQueueTrigger(
      async (message, ctx) => {
        const delivery = ctx.triggerMetadata as unknown as DeliveryInfo;
        deliveries.push(delivery);
        await handler(message, delivery);
      },
      {
        connectionString: azurite.connectionString,
        queueName,
        leaseSeconds: LEASE_SECONDS,
        visibilityTimeoutSeconds: 1,
        pollMs: 50,
        logger,
        createContext: context,
        ...o,
      },
    );
    await trigger.start();
    triggers.push(trigger);
    return { trigger, logger, deliveries };
  };
  const queue = () => QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(queueName);

  beforeAll(async () => {
    azurite = await startAzuriteQueue();
  });
  beforeEach(() => {
    queueName = `lease-${randomUUID().slice(0, 8)}`;
  });
  afterEach(async () => {
    release();
    for (const t of triggers.splice(0)) await t.close();
  });
  afterAll(async () => {
    await azurite?.close();
  });

  it("keeps a message held longer than its lease hidden from this host and another one: delivered once", async () => {
    hold();
    const a = await start({}, () => released);
    const b = await start({}, () => released);
    await a.trigger.enqueue({ type: "outbound", subscriptionId: randomUUID(), trigger: "schedule" });
    await until(() => a.deliveries.length + b.deliveries.length > 0, "the first delivery");
    // Held for three leases: without renewal the message would be visible again after the first.
    await new Promise((r) => setTimeout(r, 3 * LEASE_SECONDS * 1000));
    release();
    await a.trigger.whenIdle();
    await b.trigger.whenIdle();
    expect([...a.deliveries, ...b.deliveries].map((d) => d.dequeueCount)).toStrictEqual([1]);
    expect(a.trigger.processed() + b.trigger.processed()).toBe(1);
    expect(a.trigger.leaseRenewals() + b.trigger.leaseRenewals()).toBeGreaterThan(0);
    // Completed with the newest pop receipt: deleted, not left to come back.
    expect([...a.logger.lines, ...b.logger.lines].filter((l) => l.includes("not deleted"))).toStrictEqual([]);
    expect((await queue().getProperties()).approximateMessagesCount).toBe(0);
  });

  it("logs a renewal that fails because the message is gone, and stops renewing it", async () => {
    hold();
    const a = await start({}, () => released);
    await a.trigger.enqueue({ type: "outbound", subscriptionId: randomUUID(), trigger: "schedule" });
    await until(() => a.deliveries.length > 0, "the delivery");
    await queue().clearMessages();
    await until(() => a.logger.lines.some((l) => l.includes("work item lease lost")), "the failed renewal's log line");
    release();
    await a.trigger.whenIdle();
    expect(a.deliveries).toHaveLength(1);
    expect(a.logger.lines.filter((l) => l.includes("work item lease lost"))).toHaveLength(1);
  });

  it("moves a message that failed its last delivery to the poison queue and runs the poison function once", async () => {
    const poisoned: unknown[] = [];
    const a = await start({ maxDequeueCount: 2, onPoison: async (m) => void poisoned.push(m) }, async () => {
      throw new Error("fails every time");
    });
    const message = { type: "outbound" as const, subscriptionId: randomUUID(), trigger: "schedule" as const };
    await a.trigger.enqueue(message);
    await until(() => poisoned.length > 0, "the poison function");
    await a.trigger.whenIdle();
    expect(a.deliveries.map((d) => d.dequeueCount)).toStrictEqual([1, 2]);
    expect(poisoned).toStrictEqual([message]);
    expect(a.trigger.poison).toStrictEqual([message]);
    const [moved] = (
      await QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(`${queueName}-poison`).receiveMessages()
    ).receivedMessageItems;
    expect(JSON.parse(Buffer.from(moved!.messageText, "base64").toString("utf8"))).toStrictEqual(message);
  });
});
