/**
 * `streamone-ion deploy`: import the solution into an environment and point it at the functions app.
 * Web API by default (MSAL client credentials for real environments, a bearer token for the emulator);
 * `usePac` imports with the pac CLI instead. Environment settings always go through the Web API.
 */
import { type DataverseAuth, DataverseClient } from "../dataverse";
import { type Logger, silentLogger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { type CommandRunner, findOnPath, PacCliDeployer } from "./pac";
import { inspectSolutionZip, readPackage } from "./package";
import {
  DeployError,
  type DeploySettings,
  type ImportProgress,
  type ImportResult,
  type SolutionDeployer,
  type SolutionPackage,
  type WhoAmI,
} from "./types";
import { type DeployDataverseClient, WebApiDeployer } from "./webapi";
import { ensureWebhookRegistration, type WebhookRegistrationResult } from "./webhookRegistration";

export { type CommandResult, type CommandRunner, findOnPath, PacCliDeployer, spawnRunner } from "./pac";
export { inspectSolutionZip, packForDeploy, readPackage } from "./package";
export * from "./types";
export { compareVersions, type DeployDataverseClient, importLogErrors, WebApiDeployer } from "./webapi";
export {
  ensureWebhookRegistration,
  type RegistrationClient,
  stepImageId,
  WEBHOOK_ENDPOINT,
  WEBHOOK_STEPS,
  type WebhookRegistrationOptions,
  type WebhookRegistrationResult,
} from "./webhookRegistration";

export interface DeploySolutionOptions {
  environmentUrl: string;
  auth: DataverseAuth;
  /** The zip bytes; or zipPath; or neither, and the solution is packed from source (needs build/ui). */
  zip?: Buffer;
  zipPath?: string;
  managed?: boolean;
  settings?: DeploySettings;
  usePac?: boolean;
  publish?: boolean;
  /** Called on every poll while the import runs (Web API path). */
  onProgress?: (p: ImportProgress) => void;
  logger?: Logger;
  /** Injected Dataverse client (tests, or a caller that already has one). */
  client?: DeployDataverseClient;
  pacPath?: string;
  runCommand?: CommandRunner;
  sleep?: (ms: number) => Promise<void>;
  /** The clock the import's poll loop measures its timeout by (tests pass the one their sleep advances). */
  now?: () => number;
  pollIntervalMs?: number;
  importTimeoutMs?: number;
}

export interface DeployResult extends ImportResult {
  environmentUrl: string;
  deployer: SolutionDeployer["kind"];
  user: WhoAmI;
  environmentVariables: string[];
  serviceEndpointId?: string;
  /** The webhook endpoint and steps, registered after import (absent when the URL or key was not given). */
  webhook?: WebhookRegistrationResult;
  warnings: string[];
}

export async function deploySolution(opts: DeploySolutionOptions): Promise<DeployResult> {
  const logger = opts.logger ?? silentLogger;
  if (opts.auth.kind === "static") registerSecret(opts.auth.token);
  if (opts.auth.kind === "msal") registerSecret(opts.auth.clientSecret);
  if (opts.settings?.webhookKey) registerSecret(opts.settings.webhookKey);
  const client = opts.client ?? new DataverseClient({ url: opts.environmentUrl, auth: opts.auth, logger });
  const webApi = new WebApiDeployer({
    client,
    logger,
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    ...(opts.importTimeoutMs !== undefined ? { importTimeoutMs: opts.importTimeoutMs } : {}),
  });

  let deployer: SolutionDeployer = webApi;
  if (opts.usePac) {
    const pacPath = opts.pacPath ?? (await findOnPath("pac"));
    if (!pacPath)
      throw new DeployError("DEPLOY_PAC_MISSING", "--use-pac was given but pac is not on PATH.", {
        hint: "Install the Power Platform CLI (dotnet tool install --global Microsoft.PowerApps.CLI.Tool) or deploy without --use-pac.",
      });
    deployer = new PacCliDeployer({
      environmentUrl: opts.environmentUrl,
      auth: opts.auth,
      pacPath,
      logger,
      ...(opts.runCommand ? { run: opts.runCommand } : {}),
    });
  }

  try {
    // Fail on credentials before packing or uploading anything.
    const user = await webApi.whoAmI();
    let pkg: SolutionPackage;
    if (opts.zip) pkg = await inspectSolutionZip(opts.zip);
    else if (opts.zipPath) pkg = await readPackage(opts.zipPath);
    else pkg = await deployer.pack({ managed: Boolean(opts.managed) });
    if (opts.managed !== undefined && (opts.zip || opts.zipPath) && pkg.managed !== opts.managed) {
      throw new DeployError(
        "DEPLOY_BAD_PACKAGE",
        `The package is ${pkg.managed ? "managed" : "unmanaged"} but ${opts.managed ? "--managed" : "an unmanaged import"} was asked for.`,
      );
    }

    let imported: ImportResult;
    if (deployer === webApi) {
      imported = await webApi.import(pkg, { publish: opts.publish !== false, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    } else {
      // pac would refuse a downgrade too, but with a less helpful message: check first.
      const { previousVersion } = await webApi.preflight(pkg);
      const r = await deployer.import(pkg, { publish: opts.publish !== false });
      imported = previousVersion !== undefined ? { ...r, previousVersion, upgraded: true } : r;
    }
    const settings = await webApi.applySettings(opts.settings ?? {});
    const warnings = [...settings.warnings];
    let webhook: WebhookRegistrationResult | undefined;
    const functionsUrl = opts.settings?.functionsBaseUrl;
    const webhookKey = opts.settings?.webhookKey;
    if (functionsUrl && webhookKey) {
      webhook = await ensureWebhookRegistration(client, { functionsUrl, webhookKey, logger });
    } else {
      warnings.push(
        "The webhook endpoint and steps were not registered (the functions URL or key is missing): run streamone-ion register-webhook, or start the functions app with DATAVERSE_REGISTER_WEBHOOK=true.",
      );
    }
    const result: DeployResult = {
      ...imported,
      environmentUrl: opts.environmentUrl,
      deployer: deployer.kind,
      user,
      environmentVariables: settings.environmentVariables,
      warnings,
    };
    if (webhook) {
      result.webhook = webhook;
      result.serviceEndpointId = webhook.serviceEndpointId;
    }
    logger.info("solution deployed", {
      solution: result.solution,
      version: result.version,
      upgraded: result.upgraded,
      deployer: result.deployer,
    });
    return result;
  } finally {
    // pac's auth profile is deleted whatever happened (the Web API deployer keeps nothing).
    await deployer.close?.();
  }
}
