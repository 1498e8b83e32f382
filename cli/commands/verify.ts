import { DataverseClient, dataverseSettingsFromEnv } from "../../src/dataverse";
import { createLogger, silentLogger } from "../../src/shared/logger";
import { resolveConnection, runVerify } from "../../src/sync";
import type { Output } from "../output";

export async function runVerifyCommand(opts: { connection: string; dataverse?: string; json?: boolean }, out: Output): Promise<number> {
  const target = dataverseSettingsFromEnv(process.env, opts.dataverse);
  const dataverse = new DataverseClient({ url: target.url, auth: target.auth });
  // Logs go to stderr so stdout stays clean for --json.
  const logger = process.env.LOG_LEVEL ? createLogger({ sink: (line) => process.stderr.write(line + "\n") }) : silentLogger;
  const connection = await resolveConnection({ dataverse, logger }, opts.connection);
  const result = await runVerify({ dataverse, logger }, { connectionId: connection.id, trigger: "cli" });
  if (opts.json) {
    out.json(result);
  } else {
    out.line(`${connection.name}: ${result.ok ? "Connected" : "Not connected"}`);
    out.line(`  ${result.message}`);
    if (result.refreshTokenExpiresOn) out.line(`  Refresh token expires ${new Date(result.refreshTokenExpiresOn).toISOString()}`);
    if (!result.ok) out.line("  Fix the credential named above on the connector, then run verify again.");
  }
  return result.ok ? 0 : 1;
}
