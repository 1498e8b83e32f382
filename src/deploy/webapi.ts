/**
 * Import through the Dataverse Web API: ImportSolution (or ImportSolutionAsync with polling), PublishAllXml,
 * then the per-environment settings: environment variable values and the webhook service endpoint's
 * url/authvalue (write-only, so it is never shipped in the solution).
 */

import type { DataverseClient } from "../dataverse";
import { DataverseApiError, odataString } from "../dataverse";
import { ensureError } from "../shared/errors";
import { type Logger, silentLogger } from "../shared/logger";
import { redact, registerSecret } from "../shared/redact";
import { sleep as realSleep } from "../shared/retry";
import { ENV_DEFAULT_SYNC_SCHEDULE, ENV_FUNCTIONS_BASE_URL } from "../solution/contract";
import { packForDeploy, type PackVerbOptions } from "./package";
import {
  DeployError,
  type DeploySettings,
  type ImportOptions,
  type ImportResult,
  type SolutionDeployer,
  type SolutionPackage,
  type WhoAmI,
} from "./types";

/** The Dataverse client calls deploy uses (a DataverseClient satisfies it). */
export type DeployDataverseClient = Pick<DataverseClient, "whoAmI" | "executeAction" | "queryFirst" | "create" | "update" | "retrieve">;

export const DEFAULT_POLL_INTERVAL_MS = 2_000;
const FIRST_POLL_INTERVAL_MS = 100;
/** A first install of a large solution can take tens of minutes on a busy environment. */
export const DEFAULT_IMPORT_TIMEOUT_MS = 60 * 60_000;

/** -1, 0, 1 comparing two dotted versions numerically ("1.10.0.0" > "1.9.0.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((x) => Number(x) || 0);
  const pb = b.split(".").map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface WebApiDeployerOptions {
  client: DeployDataverseClient;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
  pollIntervalMs?: number;
  importTimeoutMs?: number;
  now?: () => number;
}

export class WebApiDeployer implements SolutionDeployer {
  readonly kind = "webapi" as const;
  private readonly client: DeployDataverseClient;
  private readonly logger: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pollIntervalMs: number;
  private readonly importTimeoutMs: number;
  private readonly now: () => number;

  constructor(opts: WebApiDeployerOptions) {
    this.client = opts.client;
    this.logger = opts.logger ?? silentLogger;
    this.sleep = opts.sleep ?? realSleep;
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.importTimeoutMs = opts.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS;
    this.now = opts.now ?? Date.now;
  }

  pack(opts: PackVerbOptions = {}): Promise<SolutionPackage> {
    return packForDeploy(opts);
  }

  async whoAmI(): Promise<WhoAmI> {
    const r = await this.client.whoAmI();
    return { userId: r.UserId, businessUnitId: r.BusinessUnitId, organizationId: r.OrganizationId };
  }

  /** The installed solution's version and managed flag, if any. */
  async installedSolution(uniqueName: string): Promise<{ version: string; managed: boolean } | undefined> {
    const row = await this.client.queryFirst<{ version?: string; ismanaged?: boolean }>("solutions", {
      select: ["uniquename", "version", "ismanaged"],
      filter: `uniquename eq ${odataString(uniqueName)}`,
    });
    return row ? { version: String(row.version ?? "0.0.0.0"), managed: Boolean(row.ismanaged) } : undefined;
  }

  /** Refuses what Dataverse would refuse, with a message an operator can act on, before uploading anything. */
  async preflight(pkg: SolutionPackage): Promise<{ previousVersion?: string }> {
    const installed = await this.installedSolution(pkg.uniqueName);
    if (installed) {
      const cmp = compareVersions(pkg.version, installed.version);
      if (cmp < 0) {
        throw new DeployError(
          "DEPLOY_DOWNGRADE",
          `${pkg.uniqueName} ${installed.version} is installed; refusing to import the older ${pkg.version}.`,
          {
            hint: "Bump <Version> in solution/Other/Solution.xml (or pack with --version) above the installed version.",
          },
        );
      }
      if (installed.managed && !pkg.managed) {
        throw new DeployError(
          "DEPLOY_MANAGED_MISMATCH",
          `${pkg.uniqueName} is installed as a managed solution; an unmanaged package cannot be imported over it.`,
          {
            hint: "Deploy the _managed.zip (streamone-ion deploy --managed), or uninstall the managed solution first.",
          },
        );
      }
    }
    const missing: string[] = [];
    for (const dep of pkg.missingDependencies) {
      if (dep.solution && !(await this.installedSolution(dep.solution)))
        missing.push(`solution ${dep.solution}${dep.display ? ` (${dep.display})` : ""}`);
      else if (dep.type === 1 && dep.schemaName && !(await this.tableExists(dep.schemaName))) missing.push(`table ${dep.schemaName}`);
    }
    if (missing.length > 0) {
      throw new DeployError(
        "DEPLOY_MISSING_DEPENDENCY",
        `The environment lacks what ${pkg.uniqueName} depends on: ${missing.join(", ")}.`,
        {
          hint: "Install the missing solutions (Work 365 core) first, then deploy again.",
        },
      );
    }
    return installed ? { previousVersion: installed.version } : {};
  }

  private async tableExists(logicalName: string): Promise<boolean> {
    try {
      await this.client.retrieve("EntityDefinitions", { LogicalName: logicalName.toLowerCase() }, { select: ["LogicalName"] });
      return true;
    } catch (err) {
      if (err instanceof DataverseApiError && err.statusCode === 404) return false;
      throw err;
    }
  }

  /**
   * ImportSolutionAsync, then polls the system job until it ends: the import runs on the server for as long as
   * it needs (minutes for a first install) and no HTTP request waits for it, so no client timeout applies.
   * Progress comes from the import job (`importjobs(ImportJobKey)`.progress); on failure the import log's
   * errors (`importjob.data`) are in the error. ImportSolution (synchronous) is not used: its one request must
   * outlast the whole import.
   */
  async import(pkg: SolutionPackage, opts: ImportOptions = {}): Promise<ImportResult> {
    const { previousVersion } = await this.preflight(pkg);
    const params = {
      OverwriteUnmanagedCustomizations: opts.overwriteUnmanagedCustomizations ?? true,
      PublishWorkflows: true,
      CustomizationFile: pkg.zip.toString("base64"),
    };
    this.logger.info("importing solution", { solution: pkg.uniqueName, version: pkg.version, bytes: pkg.zip.length });
    let importJobId: string | undefined;
    try {
      const r = await this.client.executeAction<{ AsyncOperationId?: string; ImportJobKey?: string }>("ImportSolutionAsync", params);
      if (!r.AsyncOperationId) throw new DeployError("DEPLOY_IMPORT_FAILED", "ImportSolutionAsync returned no AsyncOperationId.");
      importJobId = r.ImportJobKey || undefined;
      await this.waitForImport(r.AsyncOperationId, importJobId, opts.onProgress);
    } catch (err) {
      throw importFailure(err, pkg);
    }
    if (opts.publish !== false) await this.client.executeAction("PublishAllXml", {});
    const result: ImportResult = {
      solution: pkg.uniqueName,
      version: pkg.version,
      upgraded: previousVersion !== undefined,
      published: opts.publish !== false,
    };
    if (importJobId) result.importJobId = importJobId;
    if (previousVersion !== undefined) result.previousVersion = previousVersion;
    return result;
  }

  /** The import job's progress in percent, when the environment reports it. */
  private async importProgress(importJobId: string | undefined): Promise<number | undefined> {
    if (!importJobId) return undefined;
    try {
      const job = await this.client.retrieve<{ progress?: number | null }>("importjobs", importJobId, { select: ["progress"] });
      return typeof job.progress === "number" ? job.progress : undefined;
    } catch (err) {
      // The import job row appears a moment after the system job; until then there is no progress to show.
      if (err instanceof DataverseApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** The errors the import log (importjob.data) records, for the failure message. */
  private async importLogErrors(importJobId: string | undefined): Promise<string[]> {
    if (!importJobId) return [];
    try {
      const job = await this.client.retrieve<{ data?: string | null }>("importjobs", importJobId, { select: ["data"] });
      return importLogErrors(job.data ?? "");
    } catch {
      return [];
    }
  }

  private async waitForImport(
    asyncOperationId: string,
    importJobId: string | undefined,
    onProgress: ImportOptions["onProgress"],
  ): Promise<void> {
    const started = this.now();
    const deadline = started + this.importTimeoutMs;
    let polls = 0;
    for (;;) {
      const op = await this.client.retrieve<{ statecode?: number; statuscode?: number; message?: string; friendlymessage?: string }>(
        "asyncoperations",
        asyncOperationId,
        { select: ["statecode", "statuscode", "message", "friendlymessage"] },
      );
      if (op.statecode === 3) {
        if (op.statuscode === 30) {
          onProgress?.({ percent: 100, elapsedMs: this.now() - started, status: "succeeded" });
          return;
        }
        const errors = await this.importLogErrors(importJobId);
        const why = errors.length > 0 ? errors.join("; ") : op.friendlymessage || op.message || `status ${String(op.statuscode)}`;
        throw new DeployError("DEPLOY_IMPORT_FAILED", `The solution import failed: ${redact(why)}`, {
          hint: "The import log is in the maker portal: Solutions → See history → the failed import.",
        });
      }
      const percent = await this.importProgress(importJobId);
      onProgress?.({ ...(percent !== undefined ? { percent } : {}), elapsedMs: this.now() - started, status: "running" });
      if (this.now() >= deadline) {
        throw new DeployError(
          "DEPLOY_IMPORT_TIMEOUT",
          `The solution import (async operation ${asyncOperationId}) did not finish within ${Math.round(this.importTimeoutMs / 60000)} minutes.`,
          { hint: "Check Solutions → See history in the maker portal; the import may still complete. Then run deploy again." },
        );
      }
      // Short waits first (a small import ends in seconds), then the full interval.
      await this.sleep(Math.min(this.pollIntervalMs, FIRST_POLL_INTERVAL_MS * 2 ** polls++));
    }
  }

  /**
   * Point the environment at this functions app: environment variable values, then the webhook endpoint's
   * url and key. Returns what changed (names only; values may be secret).
   */
  async applySettings(settings: DeploySettings): Promise<{ environmentVariables: string[]; warnings: string[] }> {
    const warnings: string[] = [];
    const changed: string[] = [];
    if (settings.webhookKey) registerSecret(settings.webhookKey);
    const baseUrl = settings.functionsBaseUrl?.replace(/\/+$/, "");
    if (baseUrl !== undefined && !/^https?:\/\/[^\s/]+/i.test(baseUrl)) {
      throw new DeployError("DEPLOY_BAD_SETTING", `Functions base URL "${baseUrl}" is not an http(s) URL.`, {
        hint: "Pass the functions app root, e.g. https://contoso-ion.azurewebsites.net.",
      });
    }
    // The webhook key is never written to an environment variable: every user who may read environment
    // variables could read it. It lives only in the service endpoint's write-only authvalue
    // (ensureWebhookRegistration), which Dataverse never returns.
    const values: [string, string | undefined][] = [
      [ENV_FUNCTIONS_BASE_URL, baseUrl],
      [ENV_DEFAULT_SYNC_SCHEDULE, settings.syncSchedule],
    ];
    for (const [schemaName, value] of values) {
      if (value === undefined || value === "") continue;
      await this.setEnvironmentVariable(schemaName, value);
      changed.push(schemaName);
    }
    return { environmentVariables: changed, warnings };
  }

  async setEnvironmentVariable(schemaName: string, value: string): Promise<void> {
    const definitionId = (
      await this.client.queryFirst<{ environmentvariabledefinitionid: string }>("environmentvariabledefinitions", {
        select: ["environmentvariabledefinitionid", "schemaname"],
        filter: `schemaname eq ${odataString(schemaName)}`,
      })
    )?.environmentvariabledefinitionid;
    if (!definitionId) {
      throw new DeployError("DEPLOY_MISSING_DEFINITION", `Environment variable ${schemaName} is not defined in the environment.`, {
        hint: "The solution import did not complete; import it again.",
      });
    }
    const valueId = (
      await this.client.queryFirst<{ environmentvariablevalueid: string }>("environmentvariablevalues", {
        select: ["environmentvariablevalueid"],
        filter: `_environmentvariabledefinitionid_value eq ${definitionId}`,
      })
    )?.environmentvariablevalueid;
    if (valueId) await this.client.update("environmentvariablevalues", valueId, { value });
    else {
      await this.client.create("environmentvariablevalues", {
        schemaname: schemaName,
        value,
        "EnvironmentVariableDefinitionId@odata.bind": `/environmentvariabledefinitions(${definitionId})`,
      });
    }
  }
}

/** The failures an import log (importjob.data) records: each `<result result="failure" … errortext="…">`. */
export function importLogErrors(xml: string): string[] {
  const unescape = (v: string) =>
    v
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
  const out: string[] = [];
  for (const m of xml.matchAll(/<result\b[^>]*\bresult="failure"[^>]*>/g)) {
    const text = /\berrortext="([^"]*)"/.exec(m[0])?.[1];
    const code = /\berrorcode="([^"]*)"/.exec(m[0])?.[1];
    if (text) out.push(code && code !== "0" ? `${unescape(text)} (${code})` : unescape(text));
  }
  return [...new Set(out)];
}

function importFailure(err: unknown, pkg: SolutionPackage): Error {
  if (err instanceof DeployError) return err;
  const e = ensureError(err);
  const message = redact(e.message);
  if (/missing dependenc|MissingDependenc|0x80048033/i.test(message)) {
    return new DeployError("DEPLOY_MISSING_DEPENDENCY", `Dataverse refused ${pkg.uniqueName}: ${message}`, {
      cause: e,
      hint: "Install the solutions it depends on first.",
    });
  }
  if (/version.*(lower|older)|downgrade/i.test(message)) {
    return new DeployError("DEPLOY_DOWNGRADE", `Dataverse refused ${pkg.uniqueName} ${pkg.version}: ${message}`, {
      cause: e,
      hint: "Bump the solution version above the installed one.",
    });
  }
  return new DeployError("DEPLOY_IMPORT_FAILED", `Importing ${pkg.uniqueName} ${pkg.version} failed: ${message}`, {
    cause: e,
    ...(e instanceof DataverseApiError && e.statusCode !== undefined ? { statusCode: e.statusCode } : {}),
  });
}
