/**
 * The functions app's wiring: one Dataverse client, the sync engine bound to it, the integration's
 * identity (cached), the replay guard, and a per-invocation work queue. functions/index.ts builds the
 * one Azure uses (queue = output binding); the local host and tests build their own.
 */
import type { InvocationContext } from "@azure/functions";

import { KeyedMutex } from "../plugins/keyedMutex";
import type { PluginDeps, SyncEngine, WorkQueue } from "../plugins/types";
import { DataverseClient } from "../src/dataverse";
import { type Clock, systemClock } from "../src/shared/clock";
import { createLogger, type Logger } from "../src/shared/logger";
import type { SyncDeps } from "../src/sync";
import * as sync from "../src/sync";
import type { FunctionsConfig } from "./config";
import type { WebhookRuntime } from "./dataverseWebhook";
import { ReplayGuard } from "./replayGuard";
import type { ExpectedOrganization } from "./webhookSecurity";
import { BindingWorkQueue } from "./workQueue";

/** The engine's entry points as the handlers call them. */
export const syncEngine: SyncEngine<SyncDeps> = {
  runVerify: (deps, o) => sync.runVerify(deps, o),
  startQueuedRun: (deps, o) => sync.startQueuedRun(deps, o),
  runSync: (deps, o) => sync.runSync(deps, o),
  mapProviderAccount: (deps, o) => sync.mapProviderAccount(deps, o),
  runOutboundForSubscription: (deps, o) => sync.runOutboundForSubscription(deps, o),
  runKeepAlive: (deps, o) => sync.runKeepAlive(deps, o),
  reopenMatchingForDeletedAccount: (deps, o) => sync.reopenMatchingForDeletedAccount(deps, o),
};

export interface Identity {
  userId: string;
  organizationId: string;
}

export interface FunctionsRuntime extends WebhookRuntime {
  config: FunctionsConfig;
  dataverse: DataverseClient;
  syncDeps: SyncDeps;
  engine: SyncEngine<SyncDeps>;
  clock: Clock;
  /** The integration's application user and organization, from settings or one cached WhoAmI. */
  identity(): Promise<Identity>;
  queueFor(context: InvocationContext): WorkQueue;
  pluginDeps(context: InvocationContext): PluginDeps<SyncDeps>;
}

export interface RuntimeOptions {
  queueFor?: (context: InvocationContext) => WorkQueue;
  logger?: Logger;
  clock?: Clock;
  dataverse?: DataverseClient;
  engine?: SyncEngine<SyncDeps>;
  /** Identifies this process in token leases (several instances may run). */
  holderId?: string;
  /** Engine tuning and test injection points (sleep, hooks, Ion client settings). */
  sync?: Pick<SyncDeps, "sleep" | "hooks" | "ion" | "ionHttpHooks">;
}

export function createRuntime(config: FunctionsConfig, options: RuntimeOptions = {}): FunctionsRuntime {
  const logger = options.logger ?? createLogger({ level: config.logLevel, base: { app: "streamone-functions" } });
  const clock = options.clock ?? systemClock;
  const dataverse =
    options.dataverse ??
    new DataverseClient({
      url: config.dataverseUrl,
      auth: config.dataverseAuth,
      logger: logger.child({ component: "dataverse" }),
    });
  const syncDeps: SyncDeps = {
    ...(options.sync ?? {}),
    dataverse,
    logger: logger.child({ component: "sync" }),
    clock,
    ...(options.holderId ? { holderId: options.holderId } : {}),
  };
  const engine = options.engine ?? syncEngine;
  const queueFor = options.queueFor ?? ((context: InvocationContext) => new BindingWorkQueue(context));
  let identityPromise: Promise<Identity> | undefined;
  const identity = (): Promise<Identity> => {
    if (config.integrationUserId && config.organizationId) {
      return Promise.resolve({ userId: config.integrationUserId, organizationId: config.organizationId });
    }
    identityPromise ??= dataverse.whoAmI().then(
      (who) => ({
        userId: (config.integrationUserId ?? who.UserId).toLowerCase(),
        organizationId: (config.organizationId ?? who.OrganizationId).toLowerCase(),
      }),
      (error: unknown) => {
        identityPromise = undefined; // a transient failure must not stick
        throw error;
      },
    );
    return identityPromise;
  };
  let organizationPromise: Promise<ExpectedOrganization> | undefined;
  /** DATAVERSE_ORGANIZATION_ID, else the environment's own organization, read once (a failure is not cached). */
  const expectedOrganization = (): Promise<ExpectedOrganization> => {
    if (config.organizationId) return Promise.resolve({ id: config.organizationId });
    organizationPromise ??= dataverse.retrieveCurrentOrganization().then(
      (o) => ({ id: o.organizationId, ...(o.domain ? { domain: o.domain } : {}) }),
      (error: unknown) => {
        organizationPromise = undefined;
        throw error;
      },
    );
    return organizationPromise;
  };
  const mutex = new KeyedMutex();
  const runtime: FunctionsRuntime = {
    config,
    dataverse,
    syncDeps,
    engine,
    clock,
    logger,
    webhookKey: config.webhookKey,
    maxBodyBytes: config.maxBodyBytes,
    replay: new ReplayGuard(config.replayWindowMinutes * 60_000, clock),
    identity,
    expectedOrganization,
    queueFor,
    pluginDeps(context) {
      return {
        engine,
        syncDeps,
        dataverse,
        queue: queueFor(context),
        integrationUserId: async () => (await identity()).userId,
        logger: logger.child({ invocationId: context.invocationId }),
        clock,
        staleRunMs: config.staleRunMinutes * 60_000,
        serialize: (key, section) => mutex.run(key, section),
      };
    },
  };
  return runtime;
}
