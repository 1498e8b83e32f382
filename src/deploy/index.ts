/**
 * `streamone-ion deploy`: import the solution into an environment and point it at the functions app.
 * Web API by default (MSAL client credentials for real environments, a bearer token for the emulator);
 * `usePac` imports with the pac CLI instead. Environment settings always go through the Web API.
 */
import { DataverseClient, type DataverseAuth } from "../dataverse";
import { silentLogger, type Logger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { inspectSolutionZip, readPackage } from "./package";
import { PacCliDeployer, findOnPath, type CommandRunner } from "./pac";
import { DeployError, type DeploySettings, type ImportResult, type SolutionDeployer, type SolutionPackage, type WhoAmI } from "./types";
import { WebApiDeployer, type DeployDataverseClient } from "./webapi";

export * from "./types";
export { WebApiDeployer, compareVersions, type DeployDataverseClient } from "./webapi";
export { PacCliDeployer, findOnPath, spawnRunner, type CommandRunner, type CommandResult } from "./pac";
export { inspectSolutionZip, readPackage, packForDeploy } from "./package";

export interface DeploySolutionOptions {
  environmentUrl: string;
  auth: DataverseAuth;
  /** The zip bytes; or zipPath; or neither, and the solution is packed from source (needs build/ui). */
  zip?: Buffer;
  zipPath?: string;
  managed?: boolean;
  settings?: DeploySettings;
  usePac?: boolean;
  /** ImportSolutionAsync with polling. */
  async?: boolean;
  publish?: boolean;
  logger?: Logger;
  /** Injected Dataverse client (tests, or a caller that already has one). */
  client?: DeployDataverseClient;
  pacPath?: string;
  runCommand?: CommandRunner;
  sleep?: (ms: number) => Promise<void>;
  pollIntervalMs?: number;
}

export interface DeployResult extends ImportResult {
  environmentUrl: string;
  deployer: SolutionDeployer["kind"];
  user: WhoAmI;
  environmentVariables: string[];
  serviceEndpointId?: string;
  warnings: string[];
}

export async function deploySolution(opts: DeploySolutionOptions): Promise<DeployResult> {
  const logger = opts.logger ?? silentLogger;
  if (opts.auth.kind === "static") registerSecret(opts.auth.token);
  if (opts.auth.kind === "msal") registerSecret(opts.auth.clientSecret);
  if (opts.settings?.webhookKey) registerSecret(opts.settings.webhookKey);
  const client = opts.client ?? new DataverseClient({ url: opts.environmentUrl, auth: opts.auth, logger });
  const webApi = new WebApiDeployer({ client, logger, ...(opts.sleep ? { sleep: opts.sleep } : {}), ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}) });

  let deployer: SolutionDeployer = webApi;
  if (opts.usePac) {
    const pacPath = opts.pacPath ?? (await findOnPath("pac"));
    if (!pacPath) throw new DeployError("DEPLOY_PAC_MISSING", "--use-pac was given but pac is not on PATH.", { hint: "Install the Power Platform CLI (dotnet tool install --global Microsoft.PowerApps.CLI.Tool) or deploy without --use-pac." });
    deployer = new PacCliDeployer({ environmentUrl: opts.environmentUrl, auth: opts.auth, pacPath, logger, ...(opts.runCommand ? { run: opts.runCommand } : {}) });
  }

  // Fail on credentials before packing or uploading anything.
  const user = await webApi.whoAmI();
  let pkg: SolutionPackage;
  if (opts.zip) pkg = await inspectSolutionZip(opts.zip);
  else if (opts.zipPath) pkg = await readPackage(opts.zipPath);
  else pkg = await deployer.pack({ managed: Boolean(opts.managed) });
  if (opts.managed !== undefined && (opts.zip || opts.zipPath) && pkg.managed !== opts.managed) {
    throw new DeployError("DEPLOY_BAD_PACKAGE", `The package is ${pkg.managed ? "managed" : "unmanaged"} but ${opts.managed ? "--managed" : "an unmanaged import"} was asked for.`);
  }

  let imported: ImportResult;
  if (deployer === webApi) imported = await webApi.import(pkg, { async: Boolean(opts.async), publish: opts.publish !== false });
  else {
    // pac would refuse a downgrade too, but with a less helpful message: check first.
    const { previousVersion } = await webApi.preflight(pkg);
    imported = await deployer.import(pkg, { publish: opts.publish !== false });
    if (previousVersion !== undefined) imported = { ...imported, previousVersion, upgraded: true };
  }
  const settings = await webApi.applySettings(opts.settings ?? {});
  const result: DeployResult = {
    ...imported,
    environmentUrl: opts.environmentUrl,
    deployer: deployer.kind,
    user,
    environmentVariables: settings.environmentVariables,
    warnings: settings.warnings,
  };
  if (settings.serviceEndpoint) result.serviceEndpointId = settings.serviceEndpoint;
  logger.info("solution deployed", { solution: result.solution, version: result.version, upgraded: result.upgraded, deployer: result.deployer });
  return result;
}
