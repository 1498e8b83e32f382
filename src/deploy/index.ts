/**
 * `streamone-ion deploy`: import the solution into an environment and point it at the functions app.
 * Web API by default (MSAL client credentials for real environments, a bearer token for the emulator);
 * `usePac` imports with the pac CLI instead. Environment settings always go through the Web API.
 */
import { type DataverseAuth, DataverseClient } from "../dataverse";
import { type Logger, silentLogger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { readSolutionZip } from "../solution/io";
import { type CommandRunner, findOnPath, PacCliDeployer } from "./pac";
import { inspectSolutionZip, readPackage } from "./package";
import { customApiSteps, ensureCustomApiSteps, isStepMessageRefusal, type StepOutcome, withoutCustomApiSteps } from "./steps";
import { DeployError, type DeploySettings, type ImportResult, type SolutionDeployer, type SolutionPackage, type WhoAmI } from "./types";
import { type DeployDataverseClient, WebApiDeployer } from "./webapi";

export { type CommandResult, type CommandRunner, findOnPath, PacCliDeployer, spawnRunner } from "./pac";
export { inspectSolutionZip, packForDeploy, readPackage } from "./package";
export {
  customApiSteps,
  ensureCustomApiSteps,
  isStepMessageRefusal,
  STEP_COMPONENT_TYPE,
  type StepClient,
  type StepOutcome,
  withoutCustomApiSteps,
} from "./steps";
export * from "./types";
export { compareVersions, type DeployDataverseClient, WebApiDeployer } from "./webapi";

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
  /** The webhook steps on the custom API messages, checked (or registered) after import. */
  customApiSteps: StepOutcome[];
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
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
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

    const importWith = async (p: SolutionPackage): Promise<ImportResult> => {
      if (deployer === webApi) return webApi.import(p, { async: Boolean(opts.async), publish: opts.publish !== false });
      // pac would refuse a downgrade too, but with a less helpful message: check first.
      const { previousVersion } = await webApi.preflight(p);
      const r = await deployer.import(p, { publish: opts.publish !== false });
      return previousVersion !== undefined ? { ...r, previousVersion, upgraded: true } : r;
    };
    // A package this reader cannot parse still goes to Dataverse, which reports what is wrong with it.
    const apiSteps = await readSolutionZip(pkg.zip).then(customApiSteps, () => []);
    const warnings: string[] = [];
    let imported: ImportResult;
    try {
      imported = await importWith(pkg);
    } catch (err) {
      // The custom API steps name their message by a derived id (see ./steps.ts). If that is what Dataverse
      // refused, import without them; they are registered through the Web API below.
      if (apiSteps.length === 0 || !isStepMessageRefusal(err)) throw err;
      logger.warn("import refused the custom API steps; importing without them", { steps: apiSteps.length });
      const stripped = await withoutCustomApiSteps(pkg.zip, pkg.managed);
      // Without `path`: pac imports a package's file when it has one, and that file still holds the steps.
      const { path: _original, ...rest } = pkg;
      imported = await importWith({ ...rest, zip: stripped.zip });
      warnings.push(
        `Dataverse refused the ${apiSteps.length} custom API step(s) in the package; they were registered through the Web API after import.`,
      );
    }
    const stepOutcomes = await ensureCustomApiSteps(client, apiSteps, { solutionUniqueName: pkg.uniqueName, logger });
    const settings = await webApi.applySettings(opts.settings ?? {});
    const result: DeployResult = {
      ...imported,
      environmentUrl: opts.environmentUrl,
      deployer: deployer.kind,
      user,
      environmentVariables: settings.environmentVariables,
      customApiSteps: stepOutcomes,
      warnings: [...warnings, ...settings.warnings],
    };
    if (settings.serviceEndpoint) result.serviceEndpointId = settings.serviceEndpoint;
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
