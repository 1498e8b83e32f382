/**
 * Import through the Dataverse Web API: ImportSolution (or ImportSolutionAsync with polling), PublishAllXml,
 * then the per-environment settings: environment variable values and the webhook service endpoint's
 * url/authvalue (write-only, so it is never shipped in the solution).
 */
import { randomUUID } from "node:crypto";

import type { DataverseClient } from "../dataverse";
import { DataverseApiError, odataString } from "../dataverse";
import { ensureError } from "../shared/errors";
import { type Logger, silentLogger } from "../shared/logger";
import { redact, registerSecret } from "../shared/redact";
import { sleep as realSleep } from "../shared/retry";
import {
  ENV_DEFAULT_SYNC_SCHEDULE,
  ENV_FUNCTIONS_BASE_URL,
  ENV_FUNCTIONS_WEBHOOK_KEY,
  WEBHOOK_PATH,
  WEBHOOK_SERVICE_ENDPOINT,
} from "../solution/contract";
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
export const DEFAULT_IMPORT_TIMEOUT_MS = 20 * 60_000;

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

  async import(pkg: SolutionPackage, opts: ImportOptions = {}): Promise<ImportResult> {
    const { previousVersion } = await this.preflight(pkg);
    const importJobId = randomUUID();
    const params = {
      OverwriteUnmanagedCustomizations: opts.overwriteUnmanagedCustomizations ?? true,
      PublishWorkflows: true,
      CustomizationFile: pkg.zip.toString("base64"),
      ImportJobId: importJobId,
    };
    this.logger.info("importing solution", {
      solution: pkg.uniqueName,
      version: pkg.version,
      bytes: pkg.zip.length,
      async: Boolean(opts.async),
    });
    try {
      if (opts.async) {
        const r = await this.client.executeAction<{ AsyncOperationId?: string }>("ImportSolutionAsync", params);
        if (!r.AsyncOperationId) throw new DeployError("DEPLOY_IMPORT_FAILED", "ImportSolutionAsync returned no AsyncOperationId.");
        await this.waitForAsyncOperation(r.AsyncOperationId);
      } else {
        await this.client.executeAction("ImportSolution", params);
      }
    } catch (err) {
      throw importFailure(err, pkg);
    }
    if (opts.publish !== false) await this.client.executeAction("PublishAllXml", {});
    const result: ImportResult = {
      solution: pkg.uniqueName,
      version: pkg.version,
      importJobId,
      upgraded: previousVersion !== undefined,
      published: opts.publish !== false,
    };
    if (previousVersion !== undefined) result.previousVersion = previousVersion;
    return result;
  }

  private async waitForAsyncOperation(id: string): Promise<void> {
    const deadline = this.now() + this.importTimeoutMs;
    for (;;) {
      const op = await this.client.retrieve<{ statecode?: number; statuscode?: number; message?: string; friendlymessage?: string }>(
        "asyncoperations",
        id,
        {
          select: ["statecode", "statuscode", "message", "friendlymessage"],
        },
      );
      if (op.statecode === 3) {
        if (op.statuscode === 30) return;
        const why = op.friendlymessage || op.message || `status ${String(op.statuscode)}`;
        throw new DeployError("DEPLOY_IMPORT_FAILED", `The solution import failed: ${why}`);
      }
      if (this.now() >= deadline) {
        throw new DeployError(
          "DEPLOY_IMPORT_TIMEOUT",
          `The solution import (async operation ${id}) did not finish within ${Math.round(this.importTimeoutMs / 60000)} minutes.`,
          {
            hint: "Check Solutions → History in the maker portal; the import may still complete.",
          },
        );
      }
      await this.sleep(this.pollIntervalMs);
    }
  }

  /**
   * Point the environment at this functions app: environment variable values, then the webhook endpoint's
   * url and key. Returns what changed (names only; values may be secret).
   */
  async applySettings(settings: DeploySettings): Promise<{ environmentVariables: string[]; serviceEndpoint?: string; warnings: string[] }> {
    const warnings: string[] = [];
    const changed: string[] = [];
    if (settings.webhookKey) registerSecret(settings.webhookKey);
    const baseUrl = settings.functionsBaseUrl?.replace(/\/+$/, "");
    if (baseUrl !== undefined && !/^https?:\/\/[^\s/]+/i.test(baseUrl)) {
      throw new DeployError("DEPLOY_BAD_SETTING", `Functions base URL "${baseUrl}" is not an http(s) URL.`, {
        hint: "Pass the functions app root, e.g. https://contoso-ion.azurewebsites.net.",
      });
    }
    const values: [string, string | undefined][] = [
      [ENV_FUNCTIONS_BASE_URL, baseUrl],
      [ENV_FUNCTIONS_WEBHOOK_KEY, settings.webhookKey],
      [ENV_DEFAULT_SYNC_SCHEDULE, settings.syncSchedule],
    ];
    for (const [schemaName, value] of values) {
      if (value === undefined || value === "") continue;
      await this.setEnvironmentVariable(schemaName, value);
      changed.push(schemaName);
    }
    let serviceEndpoint: string | undefined;
    if (baseUrl !== undefined || settings.webhookKey) {
      serviceEndpoint = await this.updateServiceEndpoint(baseUrl, settings.webhookKey, warnings);
    }
    const out: { environmentVariables: string[]; serviceEndpoint?: string; warnings: string[] } = {
      environmentVariables: changed,
      warnings,
    };
    if (serviceEndpoint) out.serviceEndpoint = serviceEndpoint;
    return out;
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

  private async updateServiceEndpoint(baseUrl: string | undefined, key: string | undefined, warnings: string[]): Promise<string> {
    const id = (
      await this.client.queryFirst<{ serviceendpointid: string }>("serviceendpoints", {
        select: ["serviceendpointid", "name"],
        filter: `name eq ${odataString(WEBHOOK_SERVICE_ENDPOINT)}`,
      })
    )?.serviceendpointid;
    if (!id) throw new DeployError("DEPLOY_MISSING_ENDPOINT", `Service endpoint "${WEBHOOK_SERVICE_ENDPOINT}" was not found after import.`);
    const body: Record<string, unknown> = {};
    if (baseUrl !== undefined) body.url = `${baseUrl}${WEBHOOK_PATH}`;
    if (key) {
      body.authtype = 4; // WebhookKey: Dataverse appends ?code=<authvalue>
      body.authvalue = key;
    }
    try {
      await this.client.update("serviceendpoints", id, body);
    } catch (err) {
      // Real Dataverse always has authvalue; a stand-in without it still gets the URL, and its webhook
      // dispatcher reads the key from w365_FunctionsWebhookKey instead.
      if (key && err instanceof DataverseApiError && err.statusCode === 400 && /authvalue/i.test(err.message)) {
        const { authvalue: _omit, authtype: _t, ...rest } = body;
        if (Object.keys(rest).length > 0) await this.client.update("serviceendpoints", id, rest);
        warnings.push(
          "The environment's serviceendpoint has no authvalue column; the webhook key was set only in w365_FunctionsWebhookKey.",
        );
      } else throw err;
    }
    return id;
  }
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
