import { DataverseClient, dataverseSettingsFromEnv } from "../../src/dataverse";
import { createLogger, silentLogger } from "../../src/shared/logger";
import { resolveConnection, runSync, type SyncKind } from "../../src/sync";
import type { Output } from "../output";

export async function runSyncCommand(
  kind: SyncKind,
  opts: { connection: string; dryRun?: boolean; providerAccount?: string; dataverse?: string; json?: boolean },
  out: Output,
): Promise<number> {
  const target = dataverseSettingsFromEnv(process.env, opts.dataverse);
  const dataverse = new DataverseClient({ url: target.url, auth: target.auth });
  // Logs go to stderr so stdout stays clean for --json.
  const logger = process.env.LOG_LEVEL ? createLogger({ sink: (line) => process.stderr.write(line + "\n") }) : silentLogger;
  const connection = await resolveConnection({ dataverse, logger }, opts.connection);
  let lastLine = "";
  const summary = await runSync(
    { dataverse, logger },
    {
      connectionId: connection.id,
      kind,
      trigger: "cli",
      dryRun: Boolean(opts.dryRun),
      providerAccountId: opts.providerAccount,
      onProgress: opts.json
        ? undefined
        : (p) => {
            const line = formatProgress(p);
            if (line !== lastLine) {
              lastLine = line;
              out.line(line);
            }
          },
    },
  );
  if (opts.json) {
    out.json(summary);
  } else {
    out.line(formatSummary(summary));
  }
  // A canceled run (an admin canceled it, or the connector is deactivated) did not do the work asked for.
  return summary.status === "failed" || summary.status === "canceled" ? 1 : 0;
}

/** One progress line: the engine's message plus the running counts (created/updated/unchanged/failed). */
export function formatProgress(p: { phase?: string; message?: string; counts?: Record<string, number> }): string {
  const counts = Object.entries(p.counts ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return `  ${p.message ?? p.phase ?? "sync"}${counts ? ` (${counts})` : ""}`;
}

export function formatSummary(s: {
  kind: string;
  status: string;
  dryRun?: boolean;
  runId?: string;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  durationMs?: number;
  message?: string;
}): string {
  const head = `${s.dryRun ? "Dry run" : "Sync"} ${s.kind}: ${s.status}`;
  const counts = `created ${s.created}, updated ${s.updated}, unchanged ${s.unchanged}, failed ${s.failed}`;
  const time = s.durationMs !== undefined ? ` in ${(s.durationMs / 1000).toFixed(1)} s` : "";
  const run = s.runId ? `\n  run: w365_syncruns(${s.runId})` : "";
  const msg = s.message ? `\n  ${s.message}` : "";
  return `${head} — ${counts}${time}${run}${msg}`;
}
