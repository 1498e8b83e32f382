/**
 * The scheduled sync through the Azure queue output binding: the host writes the binding's messages
 * only when the invocation succeeds, so one connector that cannot be queued must not fail the pass
 * and drop the messages of the connectors already queued (their runs would stay "queued").
 */
import { InvocationContext, type Timer } from "@azure/functions";

import { createScheduledSync, ScheduledSyncError } from "../../../functions/scheduledSync";
import { BindingWorkQueue, syncQueueOutput, type WorkMessage } from "../../../functions/workQueue";
import { ConnectorError } from "../../../src/shared/errors";
import { silentLogger } from "../../../src/shared/logger";
import { recordingDeps } from "../../support/pluginFixtures";

const CONNECTED = 365000001;
const ids = ["0f8fad5b-d9cb-469f-a165-000000000001", "0f8fad5b-d9cb-469f-a165-000000000002", "0f8fad5b-d9cb-469f-a165-000000000003"];
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

/** Runs the timer as the Azure host does: the output binding is written only if the handler resolves. */
async function runAsAzure(failing: Set<string>) {
  const recorded = recordingDeps();
  recorded.deps.dataverse.query = <T>(entitySet: string) =>
    (async function* () {
      if (entitySet === "w365_providerconnections")
        yield* ids.map((id) => ({ w365_providerconnectionid: id, w365_name: id, w365_status: CONNECTED })) as T[];
    })();
  let run = 0;
  recorded.deps.engine.startQueuedRun = async (o) => {
    if (failing.has(o.connectionId)) throw new ConnectorError("DATAVERSE_API", "Dataverse refused the run row.", { retryable: true });
    return { runId: `9b2d1a3c-0000-4000-8000-${String(++run).padStart(12, "0")}` };
  };
  const context = new InvocationContext({ invocationId: "timer-1", functionName: "scheduledSync", logHandler: () => undefined });
  const handler = createScheduledSync({
    logger: silentLogger,
    pluginDeps: (ctx) => ({ ...recorded.deps, queue: new BindingWorkQueue(ctx) }),
  });
  let written: WorkMessage[] = [];
  let error: unknown;
  try {
    await handler(timer, context);
    written = (context.extraOutputs.get(syncQueueOutput) as WorkMessage[] | undefined) ?? [];
  } catch (caught) {
    error = caught;
  }
  return { written, error };
}

describe("scheduledSync", () => {
  it("queues every due connector even when one of them fails", async () => {
    const { written, error } = await runAsAzure(new Set([ids[1]!]));
    expect(error).toBeUndefined();
    expect(written.map((m) => (m.type === "sync" ? m.connectionId : ""))).toStrictEqual([ids[0], ids[2]]);
  });

  it("fails the pass, so the host retries it, only when no connector could be queued", async () => {
    const { written, error } = await runAsAzure(new Set(ids));
    expect(error).toBeInstanceOf(ScheduledSyncError);
    expect(written).toStrictEqual([]);
  });
});
