/**
 * The functions app's wiring: one Dataverse sign-in with a lane per caller (the webhooks, each connector's
 * syncs, outbound work, the keep-alive), the sync engine bound to each lane, one Ion transport per Ion
 * account, the integration's identity (cached), the replay guard, and a per-invocation work queue.
 * functions/index.ts builds the one Azure uses (queue = output binding); the local host and tests build
 * their own. Why lanes: README.md in this folder, "Many connectors on one app".
 */
import type { InvocationContext } from "@azure/functions";

import { KeyedMutex } from "../plugins/keyedMutex";
import type { PluginDeps, WorkQueue } from "../plugins/types";
import { DataverseClient, type LaneOptions } from "../src/dataverse";
import { ensureWebhookRegistration } from "../src/deploy/webhookRegistration";
import { startIonIoThread } from "../src/ion/transport";
import { type Clock, systemClock } from "../src/shared/clock";
import { ensureError } from "../src/shared/errors";
import { createLogger, type Logger } from "../src/shared/logger";
import type { SyncDeps } from "../src/sync";
import { IonTransports } from "../src/sync/context";
import { bindEngine, type Engine } from "../src/sync/engine";
import type { FunctionsConfig } from "./config";
import type { WebhookRuntime } from "./dataverseWebhook";
import { ReplayGuard } from "./replayGuard";
import type { ExpectedOrganization } from "./webhookSecurity";
import { BindingWorkQueue } from "./workQueue";

export interface Identity {
  userId: string;
  organizationId: string;
}

export interface FunctionsRuntime extends WebhookRuntime {
  config: FunctionsConfig;
  /** The webhooks' lane (served first, never paused by a sync's Retry-After); the timers' reads use it too. */
  dataverse: DataverseClient;
  /**
   * The sync engine: verify, queueing, mapping and account deletion (what webhooks run inline) on the
   * webhooks' lane; a connector's sync runs on that connector's own lane; an outbound change reads its
   * subscription on the outbound lane and does the rest on its connector's lane; the keep-alive has its own.
   */
  engine: Engine;
  /** The Dataverse lane of one connector's syncs (made on first use). */
  connectorDataverse(connectionId: string): DataverseClient;
  clock: Clock;
  /** The integration's application user and organization, from settings or one cached WhoAmI. */
  identity(): Promise<Identity>;
  /**
   * With DATAVERSE_REGISTER_WEBHOOK: ensures the webhook endpoint and steps (idempotent, safe when several
   * instances run it at once); a failure is logged and tried again on the next call. Without it: nothing.
   */
  ensureWebhookRegistration(): Promise<void>;
  queueFor(context: InvocationContext): WorkQueue;
  pluginDeps(context: InvocationContext): PluginDeps;
}

export interface RuntimeOptions {
  queueFor?: (context: InvocationContext) => WorkQueue;
  logger?: Logger;
  clock?: Clock;
  dataverse?: DataverseClient;
  /** Replaces the engine bound here over `dataverse` (a test wrapping or doubling it); given the deps it would have bound. */
  engine?: (syncDeps: SyncDeps) => Engine;
  /** Identifies this process in token leases (several instances may run). */
  holderId?: string;
  /** Engine tuning and test injection points (sleep, hooks, Ion client settings). */
  sync?: Pick<SyncDeps, "sleep" | "hooks" | "ion" | "ionHttpHooks">;
  /** Dataverse requests in flight per connector lane (default: the client's maxConcurrency, 8). */
  connectorConcurrency?: number;
  /** Hooks for each Dataverse lane as it is made (the bench counts requests and Retry-After waits per lane). */
  laneHooks?: (lane: { name: string; connectionId?: string }) => Pick<LaneOptions, "onRequest" | "onThrottleWait">;
}

/** Lane names, as they appear in logs and to `laneHooks`. */
export const WEBHOOK_LANE = "webhooks";
export const OUTBOUND_LANE = "outbound";
export const KEEPALIVE_LANE = "keep-alive";
export const connectorLaneName = (connectionId: string): string => `connector:${connectionId.toLowerCase()}`;

export function createRuntime(config: FunctionsConfig, options: RuntimeOptions = {}): FunctionsRuntime {
  const logger = options.logger ?? createLogger({ level: config.logLevel, base: { app: "streamone-functions" } });
  const clock = options.clock ?? systemClock;
  // The app lives across invocations: its Ion I/O thread boots now, not inside the first sync.
  startIonIoThread();
  const root =
    options.dataverse ??
    new DataverseClient({
      url: config.dataverseUrl,
      auth: config.dataverseAuth,
      logger: logger.child({ component: "dataverse" }),
    });
  const lane = (name: string, o: { priority?: boolean; maxConcurrency?: number; connectionId?: string } = {}): DataverseClient => {
    const hooks = options.laneHooks?.({ name, ...(o.connectionId ? { connectionId: o.connectionId } : {}) }) ?? {};
    return root.lane(name, { priority: o.priority, maxConcurrency: o.maxConcurrency, ...hooks });
  };
  // Webhooks answer Dataverse (and the person behind a custom API) synchronously: their lane is served first.
  const dataverse = lane(WEBHOOK_LANE, { priority: true });
  const baseDeps: SyncDeps = {
    ...(options.sync ?? {}),
    dataverse,
    logger: logger.child({ component: "sync" }),
    clock,
    ionTransports: new IonTransports(),
    ...(options.holderId ? { holderId: options.holderId } : {}),
  };
  const bind = (client: DataverseClient): Engine => {
    const deps: SyncDeps = { ...baseDeps, dataverse: client, dataverseFor: (connectionId) => forConnector(connectionId).dataverse };
    return options.engine ? options.engine(deps) : bindEngine(deps);
  };
  const inline = bind(dataverse);
  let outbound: Engine | undefined;
  let keepAlive: Engine | undefined;
  const connectors = new Map<string, { dataverse: DataverseClient; engine: Engine }>();
  const forConnector = (connectionId: string) => {
    const key = connectionId.toLowerCase();
    let entry = connectors.get(key);
    if (!entry) {
      const client = lane(connectorLaneName(key), { connectionId: key, maxConcurrency: options.connectorConcurrency });
      entry = { dataverse: client, engine: bind(client) };
      connectors.set(key, entry);
    }
    return entry;
  };
  const engine: Engine = {
    runVerify: (o) => inline.runVerify(o),
    startQueuedRun: (o) => inline.startQueuedRun(o),
    runSync: (o) => forConnector(o.connectionId).engine.runSync(o),
    runSyncWorkItem: (item, delivery, budget, o) => forConnector(item.connectionId).engine.runSyncWorkItem(item, delivery, budget, o),
    recordPoisonedItem: (item, o) => forConnector(item.connectionId).engine.recordPoisonedItem(item, o),
    mapProviderAccount: (o) => inline.mapProviderAccount(o),
    runOutboundForSubscription: (o) => (outbound ??= bind(lane(OUTBOUND_LANE))).runOutboundForSubscription(o),
    runKeepAlive: (o) => (keepAlive ??= bind(lane(KEEPALIVE_LANE))).runKeepAlive(o),
    reopenMatchingForDeletedAccount: (o) => inline.reopenMatchingForDeletedAccount(o),
  };
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
  let registration: Promise<void> | undefined;
  const ensureRegistration = (): Promise<void> => {
    const target = config.registerWebhook;
    if (!target) return Promise.resolve();
    registration ??= ensureWebhookRegistration(dataverse, {
      functionsUrl: target.functionsUrl,
      webhookKey: config.webhookKey,
      logger: logger.child({ component: "registration" }),
    }).then(
      () => {
        // Calls that overlap share one registration; the next timer checks Dataverse again, so a step an
        // admin deleted or a re-import that changed message ids is mended without a restart.
        registration = undefined;
      },
      (error: unknown) => {
        registration = undefined; // the next timer or start-up tries again
        logger.error("webhook registration failed", { error: ensureError(error).message });
      },
    );
    return registration;
  };
  const mutex = new KeyedMutex();
  const runtime: FunctionsRuntime = {
    config,
    dataverse,
    engine,
    connectorDataverse: (connectionId) => forConnector(connectionId).dataverse,
    clock,
    logger,
    webhookKey: config.webhookKey,
    maxBodyBytes: config.maxBodyBytes,
    replay: new ReplayGuard(config.replayWindowMinutes * 60_000, clock),
    identity,
    ensureWebhookRegistration: ensureRegistration,
    expectedOrganization,
    queueFor,
    pluginDeps(context) {
      return {
        engine,
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
