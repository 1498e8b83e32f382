/**
 * The two timer functions' handlers, free of Azure registration so the local host runs exactly these
 * (scheduledSync.ts and tokenKeepAlive.ts register them with their schedules and retry options).
 */
import type { InvocationContext, Timer } from "@azure/functions";

import { ConnectorError, ensureError } from "../src/shared/errors";
import { redact } from "../src/shared/redact";
import type { FunctionsRuntime } from "./runtime";
import { queueDueSyncs, type ScheduledSyncReport } from "./scheduledSyncRules";

export type { ScheduledSyncReport } from "./scheduledSyncRules";

/** No due connector could be queued; the timer's retry option runs the whole pass again. */
export class ScheduledSyncError extends ConnectorError {
  constructor(report: ScheduledSyncReport) {
    super(
      "SCHEDULED_SYNC_FAILED",
      redact(`Could not queue ${report.failed.length} connector sync(s): ${report.failed.map((f) => f.error).join("; ")}`),
      { retryable: true },
    );
  }
}

export function createScheduledSync(runtime: Pick<FunctionsRuntime, "pluginDeps" | "logger">) {
  return async function scheduledSyncHandler(timer: Timer, context: InvocationContext): Promise<ScheduledSyncReport> {
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "scheduledSync" });
    const report = await queueDueSyncs(runtime.pluginDeps(context));
    log.info("scheduled sync", {
      queued: report.queued.length,
      skipped: report.skipped.length,
      failed: report.failed.length,
      pastDue: timer.isPastDue,
    });
    if (report.failed.length === 0) return report;
    log.error("scheduled sync could not queue every connector", { failed: report.failed });
    // The host writes the queue output binding only when the invocation succeeds: failing it would drop
    // the messages of the connectors already queued, whose runs would then stay "queued" with no worker.
    // So the pass fails (and is retried) only when it queued nothing; otherwise the failed connectors,
    // which have no run in flight, are due again at the next tick.
    if (report.queued.length === 0) throw new ScheduledSyncError(report);
    return report;
  };
}

export function createTokenKeepAlive(runtime: Pick<FunctionsRuntime, "engine" | "syncDeps" | "logger" | "clock" | "config">) {
  return async function tokenKeepAliveHandler(_timer: Timer, context: InvocationContext): Promise<unknown> {
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "tokenKeepAlive" });
    try {
      const report = await runtime.engine.runKeepAlive(runtime.syncDeps, {
        now: runtime.clock.now(),
        staleSyncMs: runtime.config.staleSyncHours * 3600_000,
      });
      log.info("token keep-alive finished", { report });
      return report;
    } catch (caught) {
      log.error("token keep-alive failed", { error: ensureError(caught).message });
      throw caught;
    }
  };
}
