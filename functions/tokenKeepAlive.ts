/**
 * The `tokenKeepAlive` function, a timer (KEEPALIVE_SCHEDULE, default 01:30 UTC daily): rotates every connector's single-use refresh
 * token so the 32-day token never lapses, and flags connectors that have not synced successfully
 * for STALE_SYNC_HOURS. The engine serialises each rotation through the connector's token lease.
 */
import type { InvocationContext, Timer } from "@azure/functions";

import { ensureError } from "../src/shared/errors";
import type { KeepAliveReport } from "../src/sync";
import type { FunctionsRuntime } from "./runtime";

export function createTokenKeepAlive(runtime: Pick<FunctionsRuntime, "engine" | "logger" | "clock" | "config">) {
  return async function tokenKeepAliveHandler(_timer: Timer, context: InvocationContext): Promise<KeepAliveReport> {
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "tokenKeepAlive" });
    try {
      const report = await runtime.engine.runKeepAlive({
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
