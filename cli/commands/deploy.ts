import { DataverseClient, dataverseSettingsFromEnv } from "../../src/dataverse";
import { DeployError, deploySolution, ensureWebhookRegistration, type ImportProgress } from "../../src/deploy";
import { registerSecret } from "../../src/shared/redact";
import type { Output } from "../output";

function webhookKeyFromEnv(): string | undefined {
  const key = process.env.FUNCTIONS_WEBHOOK_KEY?.trim() || undefined;
  registerSecret(key);
  return key;
}

/** One progress line per change (a TTY rewrites it in place), so a long import shows it is alive. */
function progressPrinter(out: Output): (p: ImportProgress) => void {
  let last = "";
  return (p) => {
    const seconds = Math.round(p.elapsedMs / 1000);
    const text = `Importing… ${p.percent !== undefined ? `${Math.round(p.percent)}% ` : ""}(${Math.floor(seconds / 60)}m ${seconds % 60}s)`;
    if (text === last) return;
    last = text;
    if (out.isTTY) out.raw(`\r${text}${p.status === "succeeded" ? "\n" : ""}`);
    else out.line(text);
  };
}

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
  const webhookKey = webhookKeyFromEnv();
  const result = await deploySolution({
    environmentUrl: target.url,
    auth: target.auth,
    zipPath: opts.zip,
    managed: Boolean(opts.managed),
    usePac: Boolean(opts.usePac),
    settings: { functionsBaseUrl: opts.functionsUrl, webhookKey, syncSchedule: opts.syncSchedule },
    ...(opts.json ? {} : { onProgress: progressPrinter(out) }),
  });
  if (opts.json) out.json(result);
  else {
    out.line(`Imported ${result.solution ?? "StreamOneIonConnector"} ${result.version ?? ""} into ${target.url}`.trim());
    if (result.webhook) {
      const by = (a: string) => result.webhook!.steps.filter((s) => s.action === a).length;
      out.line(
        `Webhook endpoint ${result.webhook.endpoint}; steps: ${by("created")} created, ${by("updated")} updated, ${by("unchanged")} unchanged.`,
      );
    }
    for (const w of result.warnings ?? []) out.line(`warning: ${w}`);
    out.line("Next: create the connector in Admin Hub → Integrations → Add New → StreamOne, then Verify Connectivity.");
  }
  return 0;
}

/** `streamone-ion register-webhook`: the post-import step for installs that did not go through `deploy`. */
export async function runRegisterWebhookCommand(
  opts: { environment: string; functionsUrl: string; json?: boolean },
  out: Output,
): Promise<number> {
  const target = dataverseSettingsFromEnv(process.env, opts.environment);
  const webhookKey = webhookKeyFromEnv();
  if (!webhookKey) {
    throw new DeployError("DEPLOY_BAD_SETTING", "FUNCTIONS_WEBHOOK_KEY is not set.", {
      hint: "Set FUNCTIONS_WEBHOOK_KEY to the functions app's webhook key (Azure portal → the function app → Functions → webhook → Function Keys).",
    });
  }
  const client = new DataverseClient({ url: target.url, auth: target.auth });
  const result = await ensureWebhookRegistration(client, { functionsUrl: opts.functionsUrl, webhookKey });
  if (opts.json) out.json(result);
  else {
    out.line(`Webhook endpoint ${result.endpoint} in ${target.url}.`);
    for (const s of result.steps) out.line(`  ${s.action.padEnd(9)} ${s.step}`);
  }
  return 0;
}
