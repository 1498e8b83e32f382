/**
 * Webhook steps on the custom API messages, made right after import.
 *
 * A step on Create/Update names its SDK message by a GUID that is the same in every environment. A custom API's
 * message gets its id when the API is created in an environment, so a step shipped in the solution can only
 * name it by a GUID derived from the API's unique name (src/solution/components/misc.ts, `sdkMessageId`). No
 * public export was found that shows how Dataverse resolves such a reference on import (solution/README.md,
 * "Remaining real-import risks"). So deploy does not rely on it: after the import it looks each of those steps
 * up by id, checks that it is bound to the message that carries the API's name, and creates or re-binds it
 * through the Web API when it is not (then adds it to the solution, component type 92). When Dataverse refuses
 * the import because of such a step, deploy imports the package without them and registers them this way.
 */
import { DataverseApiError, odataString } from "../dataverse";
import { type Logger, silentLogger } from "../shared/logger";
import { readSolutionZip, writeSolutionZip } from "../solution/io";
import type { SolutionModel, StepDef } from "../solution/model";
import { normalizeGuid } from "../solution/xml";
import { DeployError } from "./types";
import type { DeployDataverseClient } from "./webapi";

/** solutioncomponent type of an SDK message processing step. */
export const STEP_COMPONENT_TYPE = 92;

export type StepClient = Pick<DeployDataverseClient, "queryFirst" | "create" | "update" | "executeAction">;

export interface StepOutcome {
  step: string;
  message: string;
  /** verified: already bound to the right message; rebound: pointed at it; created: registered after import. */
  action: "verified" | "rebound" | "created";
}

/** Steps whose message is one of the solution's custom APIs (the ones whose message id is per-environment). */
export function customApiSteps(model: Pick<SolutionModel, "steps" | "customApis">): StepDef[] {
  const apis = new Set(model.customApis.map((a) => a.uniqueName.toLowerCase()));
  return model.steps.filter((s) => apis.has(s.message.toLowerCase()));
}

/** The same package without the custom API steps (and their root components), for an import that refused them. */
export async function withoutCustomApiSteps(
  zip: Buffer,
  managed: boolean,
): Promise<{ zip: Buffer; removed: StepDef[]; model: SolutionModel }> {
  const model = await readSolutionZip(zip);
  const removed = customApiSteps(model);
  const ids = new Set(removed.map((s) => s.id));
  const stripped: SolutionModel = { ...model, steps: model.steps.filter((s) => !ids.has(s.id)) };
  return { zip: await writeSolutionZip(stripped, { managed }), removed, model };
}

/** True when an import error is Dataverse refusing a step's SDK message (the derived custom API message id). */
export function isStepMessageRefusal(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${err.cause instanceof Error ? err.cause.message : ""}` : String(err);
  return /sdkmessage(?!processingstepimage)|SdkMessageId|sdkmessagefilter/i.test(text);
}

async function optionalQuery<T>(run: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    // An environment without the table (a stand-in) answers 404; the real one always has it.
    if (err instanceof DataverseApiError && err.statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Make sure every custom API step exists and is bound to its API's message in this environment.
 * Throws DEPLOY_STEP_MESSAGE_MISSING when the custom API's message is absent (the import did not create the API).
 */
export async function ensureCustomApiSteps(
  client: StepClient,
  steps: StepDef[],
  opts: { solutionUniqueName: string; logger?: Logger },
): Promise<StepOutcome[]> {
  const logger = opts.logger ?? silentLogger;
  const out: StepOutcome[] = [];
  for (const step of steps) {
    const message = await client.queryFirst<{ sdkmessageid: string }>("sdkmessages", {
      select: ["sdkmessageid", "name"],
      filter: `name eq ${odataString(step.message)}`,
    });
    if (!message) {
      throw new DeployError(
        "DEPLOY_STEP_MESSAGE_MISSING",
        `The custom API message ${step.message} does not exist after import, so the step "${step.name}" cannot be registered.`,
        {
          hint: "Check the import log: the custom API definition (customapis/) was not imported.",
        },
      );
    }
    const messageId = normalizeGuid(message.sdkmessageid);
    const existing = await optionalQuery(() =>
      client.queryFirst<{ sdkmessageprocessingstepid: string; _sdkmessageid_value?: string | null }>("sdkmessageprocessingsteps", {
        select: ["sdkmessageprocessingstepid", "_sdkmessageid_value"],
        filter: `sdkmessageprocessingstepid eq ${normalizeGuid(step.id)}`,
      }),
    );
    if (existing && normalizeGuid(existing._sdkmessageid_value ?? "") === messageId) {
      out.push({ step: step.name, message: step.message, action: "verified" });
      continue;
    }
    const filterId = step.primaryEntity
      ? (
          await optionalQuery(() =>
            client.queryFirst<{ sdkmessagefilterid: string }>("sdkmessagefilters", {
              select: ["sdkmessagefilterid"],
              filter: `_sdkmessageid_value eq ${messageId} and primaryobjecttypecode eq ${odataString(step.primaryEntity!)}`,
            }),
          )
        )?.sdkmessagefilterid
      : undefined;
    const binding: Record<string, unknown> = { "sdkmessageid@odata.bind": `/sdkmessages(${messageId})` };
    if (filterId) binding["sdkmessagefilterid@odata.bind"] = `/sdkmessagefilters(${normalizeGuid(filterId)})`;
    if (existing) {
      await client.update("sdkmessageprocessingsteps", normalizeGuid(step.id), binding);
      logger.info("custom API step rebound to its message", { step: step.name, message: step.message });
      out.push({ step: step.name, message: step.message, action: "rebound" });
      continue;
    }
    await client.create("sdkmessageprocessingsteps", {
      sdkmessageprocessingstepid: normalizeGuid(step.id),
      name: step.name,
      ...(step.description ? { description: step.description } : {}),
      mode: step.mode,
      stage: step.stage,
      rank: step.rank,
      asyncautodelete: step.asyncAutoDelete,
      supporteddeployment: 0, // server only
      ...(step.filteringAttributes.length > 0 ? { filteringattributes: step.filteringAttributes.join(",") } : {}),
      ...binding,
      "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${normalizeGuid(step.serviceEndpointId)})`,
    });
    // Same id as in the solution, and added to it, so the next import updates this step instead of adding one.
    await client.executeAction("AddSolutionComponent", {
      ComponentId: normalizeGuid(step.id),
      ComponentType: STEP_COMPONENT_TYPE,
      SolutionUniqueName: opts.solutionUniqueName,
      AddRequiredComponents: false,
    });
    logger.info("custom API step registered after import", { step: step.name, message: step.message });
    out.push({ step: step.name, message: step.message, action: "created" });
  }
  return out;
}
