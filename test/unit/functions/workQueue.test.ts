import { InvocationContext } from "@azure/functions";

import { createSyncWorker } from "../../../functions/syncWorker";
import { InProcessWorkQueue, parseWorkMessage, poisonMessage, WorkMessageError } from "../../../functions/workQueue";
import { ConnectorError } from "../../../src/shared/errors";
import { memoryLogger, silentLogger } from "../../../src/shared/logger";
import { CONNECTION_ID, recordingDeps, SUBSCRIPTION_ID } from "../../support/pluginFixtures";

const RUN_ID = "9b2d1a3c-0000-4000-8000-000000000001";
const syncMessage = {
  type: "sync" as const,
  runId: RUN_ID,
  connectionId: CONNECTION_ID,
  kind: "accounts" as const,
  trigger: "manual" as const,
  requestId: "r-1",
};
const ctx = (dequeueCount = 1) =>
  new InvocationContext({ invocationId: "i", functionName: "syncWorker", triggerMetadata: { dequeueCount }, logHandler: () => undefined });

describe("parseWorkMessage", () => {
  it("accepts JSON text and parsed objects", () => {
    expect(parseWorkMessage(JSON.stringify(syncMessage))).toStrictEqual(syncMessage);
    expect(parseWorkMessage({ type: "outbound", subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" })).toStrictEqual({
      type: "outbound",
      subscriptionId: SUBSCRIPTION_ID,
      trigger: "webhook",
    });
  });
  it.each(["nope", { type: "sync" }, { type: "delete", id: 1 }, { ...syncMessage, runId: "x" }])("refuses %p", (raw) => {
    expect(() => parseWorkMessage(raw)).toThrow(WorkMessageError);
  });
});

describe("sync worker", () => {
  it("runs a queued sync as a work item of its run, identified by the queue message and its delivery", async () => {
    const { deps, calls } = recordingDeps();
    const context = new InvocationContext({
      invocationId: "i",
      functionName: "syncWorker",
      triggerMetadata: { id: "m-1", dequeueCount: 2 },
      logHandler: () => undefined,
    });
    await createSyncWorker({ engine: deps.engine, logger: silentLogger })(syncMessage, context);
    expect(calls).toStrictEqual([
      {
        fn: "runSyncWorkItem",
        args: {
          item: { runId: RUN_ID, connectionId: CONNECTION_ID, kind: "accounts", trigger: "manual", requestId: "r-1" },
          delivery: { messageId: "m-1", dequeueCount: 2 },
        },
      },
    ]);
  });

  it("enqueues the next work item the engine hands back, through the invocation's queue", async () => {
    const { deps } = recordingDeps();
    deps.engine.runSyncWorkItem = async (item) => ({
      outcome: "skipped",
      reason: "handed off",
      next: { ...item, step: 3, phase: "subscriptions", page: 7 },
    });
    const sent: unknown[] = [];
    await createSyncWorker({ engine: deps.engine, logger: silentLogger, queueFor: () => ({ enqueue: async (m) => void sent.push(m) }) })(
      syncMessage,
      ctx(),
    );
    expect(sent).toStrictEqual([{ ...syncMessage, step: 3, phase: "subscriptions", page: 7 }]);
  });

  it("runs an outbound change", async () => {
    const { deps, calls } = recordingDeps();
    await createSyncWorker({ engine: deps.engine, logger: silentLogger })(
      { type: "outbound", subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" },
      ctx(),
    );
    expect(calls).toStrictEqual([{ fn: "runOutboundForSubscription", args: { subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" } }]);
  });

  it("logs what the engine answered: the run's status, the outbound change's outcome", async () => {
    const { deps } = recordingDeps();
    const logger = memoryLogger();
    const worker = createSyncWorker({ engine: deps.engine, logger });
    await worker(syncMessage, ctx());
    await worker({ type: "outbound", subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" }, ctx());
    const finished = logger.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => String(l.message).endsWith("finished") || String(l.message).endsWith("skipped"));
    expect(finished).toMatchObject([
      { runId: RUN_ID, reason: "recording double" },
      { subscriptionId: SUBSCRIPTION_ID, outcome: "none" },
    ]);
  });

  it("rethrows transient failures so the queue retries, completes permanent ones", async () => {
    const { deps } = recordingDeps();
    const worker = createSyncWorker({ engine: deps.engine, logger: silentLogger });
    deps.engine.runSyncWorkItem = async () => {
      throw new ConnectorError("DATAVERSE_THROTTLED", "busy", { retryable: true });
    };
    await expect(worker(syncMessage, ctx())).rejects.toThrow("busy");
    deps.engine.runSyncWorkItem = async () => {
      throw new ConnectorError("ION_REFRESH_TOKEN_REJECTED", "token used");
    };
    await expect(worker(syncMessage, ctx())).resolves.toBeUndefined();
  });
});

describe("InProcessWorkQueue", () => {
  const make = (handler: (m: unknown) => Promise<void>, maxDequeueCount = 3) =>
    new InProcessWorkQueue(async (m) => handler(m), {
      concurrency: 2,
      maxDequeueCount,
      retryDelayMs: () => 1,
      createContext: (_m, d) => ctx(d.dequeueCount),
    });

  it("delivers each message once through a JSON round trip and reports idle", async () => {
    const seen: unknown[] = [];
    const q = make(async (m) => void seen.push(m));
    await q.enqueue(syncMessage);
    await q.enqueue({ type: "outbound", subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" });
    await q.whenIdle();
    expect(seen).toStrictEqual([syncMessage, { type: "outbound", subscriptionId: SUBSCRIPTION_ID, trigger: "webhook" }]);
    expect(q.processed()).toBe(2);
    await q.close();
  });

  it("retries a failing message, then moves it to the poison list", async () => {
    let attempts = 0;
    const q = make(async () => {
      attempts++;
      throw new Error("always");
    });
    await q.enqueue(syncMessage);
    await q.whenIdle();
    expect(attempts).toBe(3);
    expect(q.poison).toStrictEqual([syncMessage]);
    await q.close();
  });

  it("succeeds on a retry after a transient failure", async () => {
    let attempts = 0;
    const q = make(async () => {
      attempts++;
      if (attempts === 1) throw new Error("once");
    });
    await q.enqueue(syncMessage);
    await q.whenIdle();
    expect([attempts, q.processed(), q.poison.length]).toStrictEqual([2, 1, 0]);
    await q.close();
  });

  it("runs at most `concurrency` items at once", async () => {
    let running = 0;
    let peak = 0;
    const q = make(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
    });
    for (let i = 0; i < 10; i++) await q.enqueue(syncMessage);
    await q.whenIdle();
    expect(peak).toBe(2);
    await q.close();
  });
});

describe("poisonMessage", () => {
  const delivery = { id: "m1", dequeueCount: 5, message: { kind: "sync" } };
  const sinkWith = () => {
    const handled: unknown[] = [];
    const sink = { poison: [] as unknown[], logger: silentLogger, onPoison: async (m: unknown) => void handled.push(m) };
    return { sink, handled };
  };

  it("records the message and runs the poison function once it is moved", async () => {
    const { sink, handled } = sinkWith();
    await poisonMessage(sink, delivery, new Error("boom"), async () => true);
    expect(sink.poison).toStrictEqual([delivery.message]);
    expect(handled).toStrictEqual([delivery.message]);
  });

  it("does neither when the copy to the poison queue failed: the message comes back and is moved then", async () => {
    const { sink, handled } = sinkWith();
    await poisonMessage(sink, delivery, new Error("boom"), async () => false);
    expect(sink.poison).toStrictEqual([]);
    expect(handled).toStrictEqual([]);
  });
});
