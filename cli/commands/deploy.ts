import { dataverseSettingsFromEnv } from "../../src/dataverse";
import { deploySolution } from "../../src/deploy";
import { registerSecret } from "../../src/shared/redact";
import type { Output } from "../output";

export async function runDeployCommand(
  opts: {
    environment: string;
    zip?: string;
    managed?: boolean;
    functionsUrl?: string;
    syncSchedule?: string;
    usePac?: boolean;
    json?: boolean;
  },
  out: Output,
): Promise<number> {
  const target = dataverseSettingsFromEnv(process.env, opts.environment);
  const webhookKey = process.env.FUNCTIONS_WEBHOOK_KEY?.trim() || undefined;
  registerSecret(webhookKey);
  const result = await deploySolution({
    environmentUrl: target.url,
    auth: target.auth,
    zipPath: opts.zip,
    managed: Boolean(opts.managed),
    usePac: Boolean(opts.usePac),
    settings: { functionsBaseUrl: opts.functionsUrl, webhookKey, syncSchedule: opts.syncSchedule },
  });
  if (opts.json) out.json(result);
  else {
    out.line(`Imported ${result.solution ?? "StreamOneIonConnector"} ${result.version ?? ""} into ${target.url}`.trim());
    const steps = result.customApiSteps ?? [];
    if (steps.length) {
      const by = (a: string) => steps.filter((s) => s.action === a).length;
      out.line(`Custom API webhook steps: ${by("verified")} verified, ${by("rebound")} rebound, ${by("created")} created.`);
    }
    for (const w of result.warnings ?? []) out.line(`warning: ${w}`);
    out.line("Next: create the connector in Admin Hub → Integrations → Add New → StreamOne, then Verify Connectivity.");
  }
  return 0;
}
