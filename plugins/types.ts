/**
 * What the webhook handlers need from the outside world, as narrow injected interfaces: the sync
 * engine (bound to its dependencies once, src/sync/engine.ts), the few Dataverse reads the handlers
 * make themselves, the work queue and the integration's own identity. `functions/runtime.ts` binds the
 * real ones; tests bind the real engine over the emulator and the simulator, or a typed double of it.
 */
import type { Clock } from "../src/shared/clock";
import { ConnectorError } from "../src/shared/errors";
import type { Logger } from "../src/shared/logger";
import type { Engine } from "../src/sync/engine";
import type { MapResult } from "../src/sync/mapActions";
import type { MapAction, SyncKind, SyncRequest, Trigger } from "../src/sync/vocabulary";
import type { SyncWorkItem } from "../src/sync/workItems";
import type { WebhookContext } from "./context";

export type { Engine, MapAction, MapResult, SyncKind, SyncRequest, Trigger };

/** The Dataverse reads the handlers make before handing work to the engine (a DataverseClient satisfies it). */
export interface DataverseReader {
  tryRetrieve<T = Record<string, unknown>>(entitySet: string, key: string, o?: { select?: string[] }): Promise<T | undefined>;
  query<T = Record<string, unknown>>(
    entitySet: string,
    o?: { select?: string[]; filter?: string; orderby?: string; top?: number },
  ): AsyncIterable<T>;
  queryFirst<T = Record<string, unknown>>(
    entitySet: string,
    o?: { select?: string[]; filter?: string; orderby?: string },
  ): Promise<T | undefined>;
  /** The one write handlers make themselves: marking a subscription "Change requested" when its change is queued. */
  update(entitySet: string, key: string, body: Record<string, unknown>, o?: { ifMatch?: string }): Promise<void>;
}

/** One unit of background work. Serialised as JSON onto the storage queue, so plain data only. */
/** A sync message is one work item of its run (step 0 when queued; each hand-off enqueues the next step). */
export type WorkMessage = ({ type: "sync" } & SyncWorkItem) | { type: "outbound"; subscriptionId: string; trigger: Trigger };

export interface WorkQueue {
  enqueue(message: WorkMessage): Promise<void>;
}

export interface PluginDeps {
  engine: Engine;
  dataverse: DataverseReader;
  queue: WorkQueue;
  /** The application user the connector writes as (INTEGRATION_USER_ID, else WhoAmI); lower-case GUID. */
  integrationUserId(): Promise<string>;
  logger: Logger;
  clock: Clock;
  /** A queued/running run older than this is treated as dead and does not block a new one. */
  staleRunMs: number;
  /** Per-key serialisation of check-then-start sections (a KeyedMutex); absent = no serialisation. */
  serialize?: <T>(key: string, section: () => Promise<T>) => Promise<T>;
}

/** What a handler tells the HTTP layer: a status (2xx = the step succeeds) and a small JSON body. */
export interface HandlerOutcome {
  status: number;
  body: Record<string, unknown>;
}

export type WebhookHandler = (ctx: WebhookContext, deps: PluginDeps) => Promise<HandlerOutcome>;

/**
 * The work cannot start (not found, inactive, already running, bad parameters). Its message is what
 * Dataverse shows the caller of the custom API, so it says what to do.
 */
export class WebhookRefusedError extends ConnectorError {
  constructor(code: string, message: string, statusCode: number, hint?: string) {
    super(code, message, { statusCode, ...(hint ? { hint } : {}) });
  }
}
