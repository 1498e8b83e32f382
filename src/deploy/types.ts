/**
 * The deploy verbs (pack, import, whoAmI) behind one small interface, so the Web API, the pac CLI or the
 * Power Platform CLI wrapper (where it is installed) can do the work.
 */
import { ConnectorError, type ConnectorErrorOptions } from "../shared/errors";
import type { PackVerbOptions } from "./package";

export class DeployError extends ConnectorError {
  constructor(code: string, message: string, options: ConnectorErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A solution zip plus what deploy needs to know about it, read from its solution.xml. */
export interface SolutionPackage {
  zip: Buffer;
  path?: string;
  uniqueName: string;
  version: string;
  managed: boolean;
  /** From <MissingDependencies>: components the target must already have. */
  missingDependencies: { type?: number; schemaName?: string; solution?: string; display?: string }[];
}

export interface ImportProgress {
  /** Percent done, when the environment reports it (importjob.progress). */
  percent?: number;
  elapsedMs: number;
  status: "running" | "succeeded";
}

export interface ImportOptions {
  /** Called on every poll while the import runs. */
  onProgress?: (p: ImportProgress) => void;
  /** PublishAllXml after import (default true). */
  publish?: boolean;
  overwriteUnmanagedCustomizations?: boolean;
}

export interface ImportResult {
  solution: string;
  version: string;
  previousVersion?: string;
  upgraded: boolean;
  importJobId?: string;
  published: boolean;
}

export interface WhoAmI {
  userId: string;
  businessUnitId?: string;
  organizationId?: string;
}

export interface DeploySettings {
  /** Root URL of the functions app; the webhook posts to <url>/api/dataverse/webhook. */
  functionsBaseUrl?: string;
  /** Function key for the webhook (?code=). Secret: never logged. */
  webhookKey?: string;
  /** NCRONTAB default sync schedule (w365_DefaultSyncSchedule). */
  syncSchedule?: string;
}

export interface SolutionDeployer {
  readonly kind: "webapi" | "pac";
  pack(opts?: PackVerbOptions): Promise<SolutionPackage>;
  import(pkg: SolutionPackage, opts?: ImportOptions): Promise<ImportResult>;
  whoAmI(): Promise<WhoAmI>;
  /** Leaves nothing behind on the machine (pac: the auth profile it created); best effort. */
  close?(): Promise<void>;
}
