/**
 * The sync process the crash tests kill: one runSync against the emulator (through the parent's
 * counting proxy), exactly as the functions app or the CLI would run it. Environment:
 * DATAVERSE_URL, DATAVERSE_TOKEN, CONNECTION_ID, SYNC_KIND (default all), CLOCK_OFFSET_MS (a later
 * run: the next schedule, minutes after the crash). Prints one JSON line with the run summary.
 */
import { DataverseClient } from "../../../src/dataverse";
import { createLogger } from "../../../src/shared/logger";
import { redact } from "../../../src/shared/redact";
import { runSync, type SyncKind } from "../../../src/sync";

async function main(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const offset = Number(process.env.CLOCK_OFFSET_MS ?? 0);
  const clock = { now: () => Date.now() + offset };
  // Logs go to stderr (the parent keeps them for the secret scan); stdout carries only the summary.
  const logger = createLogger({ level: "info", sink: (line) => void process.stderr.write(`${line}\n`) });
  // Real waits, capped short: back-off and lease waits keep their order without slowing the suite.
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 50)));
  const dataverse = new DataverseClient({
    url: env("DATAVERSE_URL"),
    auth: { kind: "static", token: env("DATAVERSE_TOKEN") },
    logger,
    clock,
    sleep,
  });
  const summary = await runSync(
    {
      dataverse,
      logger,
      clock,
      sleep,
      // A short token lease (5 s token timeout + 1 s save cap + 1 s margin): a process killed while holding
      // it is waited out by Dataverse's clock, which the next run's clock offset does not move.
      ion: { customerPageSize: 4, subscriptionPageLimit: 8, timeoutMs: 5_000 },
      tokenLease: { saveRetryAfterCapMs: 1_000, leaseMarginMs: 1_000 },
    },
    { connectionId: env("CONNECTION_ID"), kind: (process.env.SYNC_KIND ?? "all") as SyncKind, trigger: "schedule" },
  );
  process.stdout.write(
    `${JSON.stringify({ runId: summary.runId, status: summary.status, message: summary.message, resumed: summary.resumed, counts: summary.counts })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${redact(error instanceof Error ? error.message : String(error))}\n`);
  process.exit(1);
});
