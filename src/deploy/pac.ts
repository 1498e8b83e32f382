/**
 * Import with the Power Platform CLI (`pac solution import`) when it is installed (`--use-pac`). pac needs
 * client credentials (it cannot take a bearer token); its own auth profile is created per run.
 *
 * Secret exposure: pac accepts the client secret only as a command-line argument (`pac auth create
 * --clientSecret`), so while that one command runs the secret is visible in the process list to other
 * local users; our logs and errors redact it, the OS process list cannot be redacted. The later pac
 * commands (`org who`, `solution import`) do not carry it; `close` deletes the auth profile afterwards.
 * Use this deployer only on a single-user build agent; the default WebApiDeployer signs in with MSAL
 * in-process and keeps the secret in memory (docs/operator.md, "With pac").
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import type { DataverseAuth } from "../dataverse";
import { ensureError } from "../shared/errors";
import { type Logger, silentLogger } from "../shared/logger";
import { redact, registerSecret } from "../shared/redact";
import { packForDeploy, type PackVerbOptions } from "./package";
import { DeployError, type ImportOptions, type ImportResult, type SolutionDeployer, type SolutionPackage, type WhoAmI } from "./types";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** The pac auth profile deploy creates (and deletes when done). */
export const PAC_PROFILE_NAME = "streamone-ion-deploy";

export type CommandRunner = (command: string, args: string[]) => Promise<CommandResult>;

export const spawnRunner: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PP_TOOLS_TELEMETRY_OPTOUT: "true" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

/** Full path of an executable on PATH, or undefined. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD").split(";") : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        await fs.access(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}

export interface PacCliDeployerOptions {
  environmentUrl: string;
  auth: DataverseAuth;
  pacPath: string;
  run?: CommandRunner;
  logger?: Logger;
  /** Minutes pac waits for the async import. */
  maxAsyncWaitMinutes?: number;
}

export class PacCliDeployer implements SolutionDeployer {
  readonly kind = "pac" as const;
  private readonly run: CommandRunner;
  private readonly logger: Logger;
  private authenticated = false;

  constructor(private readonly opts: PacCliDeployerOptions) {
    this.run = opts.run ?? spawnRunner;
    this.logger = opts.logger ?? silentLogger;
  }

  pack(opts: PackVerbOptions = {}): Promise<SolutionPackage> {
    // pac solution pack expects SolutionPackager's exact folder; our own packer writes the same zip format.
    return packForDeploy(opts);
  }

  private async pac(args: string[], what: string): Promise<CommandResult> {
    this.logger.info("running pac", { args: redact(args.join(" ")) });
    let r: CommandResult;
    try {
      r = await this.run(this.opts.pacPath, args);
    } catch (err) {
      throw new DeployError("DEPLOY_PAC_FAILED", `Could not run pac (${this.opts.pacPath}): ${ensureError(err).message}`, { cause: err });
    }
    if (r.code !== 0) {
      const detail = redact((r.stderr || r.stdout).trim().split("\n").slice(-5).join(" "));
      throw new DeployError("DEPLOY_PAC_FAILED", `pac ${what} failed (exit ${r.code}): ${detail}`);
    }
    return r;
  }

  /**
   * `pac auth create` with the client secret as an argument, once per deployer: the only pac command that
   * carries the secret, visible in the process list while it runs (see the module comment).
   */
  private async ensureAuth(): Promise<void> {
    if (this.authenticated) return;
    const auth = this.opts.auth;
    if (auth.kind !== "msal") {
      throw new DeployError(
        "DEPLOY_PAC_AUTH",
        "pac needs client credentials (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET); it cannot use a bearer token.",
        {
          hint: "Set the three AZURE_* variables, or deploy without --use-pac.",
        },
      );
    }
    registerSecret(auth.clientSecret);
    await this.pac(
      [
        "auth",
        "create",
        "--name",
        PAC_PROFILE_NAME,
        "--environment",
        this.opts.environmentUrl,
        "--tenant",
        auth.tenantId,
        "--applicationId",
        auth.clientId,
        "--clientSecret",
        auth.clientSecret,
      ],
      "auth create",
    );
    this.authenticated = true;
  }

  /**
   * Deletes the auth profile `ensureAuth` created, so the service principal's sign-in does not stay with
   * the OS user who ran deploy (pac keeps profiles until deleted). Failure is only logged: the import is done.
   */
  async close(): Promise<void> {
    if (!this.authenticated) return;
    this.authenticated = false;
    try {
      await this.pac(["auth", "delete", "--name", PAC_PROFILE_NAME], "auth delete");
    } catch (error) {
      this.logger.warn("could not delete the pac auth profile; delete it with pac auth delete", {
        profile: PAC_PROFILE_NAME,
        error: ensureError(error).message,
      });
    }
  }

  async whoAmI(): Promise<WhoAmI> {
    await this.ensureAuth();
    const r = await this.pac(["org", "who", "--environment", this.opts.environmentUrl], "org who");
    const field = (label: string): string | undefined =>
      new RegExp(`${label}:\\s*([0-9a-fA-F-]{36})`, "i").exec(r.stdout)?.[1]?.toLowerCase();
    const userId = field("User Id");
    if (!userId) throw new DeployError("DEPLOY_PAC_FAILED", "pac org who printed no User Id.");
    const who: WhoAmI = { userId };
    const bu = field("Business Unit Id");
    const org = field("Organization Id") ?? field("Environment Id");
    if (bu) who.businessUnitId = bu;
    if (org) who.organizationId = org;
    return who;
  }

  async import(pkg: SolutionPackage, opts: ImportOptions = {}): Promise<ImportResult> {
    await this.ensureAuth();
    let zipPath = pkg.path;
    let tempDir: string | undefined;
    if (!zipPath) {
      tempDir = await fs.mkdtemp(path.join(os.tmpdir(), "w365-deploy-"));
      zipPath = path.join(tempDir, `${pkg.uniqueName}.zip`);
      await fs.writeFile(zipPath, pkg.zip);
    }
    const args = [
      "solution",
      "import",
      "--path",
      zipPath,
      "--environment",
      this.opts.environmentUrl,
      "--async",
      "--max-async-wait-time",
      String(this.opts.maxAsyncWaitMinutes ?? 60),
    ];
    if (opts.overwriteUnmanagedCustomizations !== false) args.push("--force-overwrite");
    if (opts.publish !== false) args.push("--publish-changes");
    // Steps and plug-ins in the package stay disabled after import unless asked (pac solution import --help).
    args.push("--activate-plugins");
    try {
      await this.pac(args, "solution import");
    } finally {
      if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
    }
    return { solution: pkg.uniqueName, version: pkg.version, upgraded: false, published: opts.publish !== false };
  }
}
