/**
 * w365_MapProviderAccount (bound to w365_provideraccount; AccountId, CreateNew, optional Action and
 * Force). Runs inline: a mapping is a couple of writes. When "create new" finds likely existing
 * accounts the engine does not create one; the step then fails with a message listing them, which
 * is the only way a webhook step can answer the admin (it cannot set a custom API's response).
 */
import { SETS } from "../src/sync/schema";
import { MAP_ACTIONS } from "../src/sync/vocabulary";
import { requireTargetId } from "./common";
import type { WebhookContext } from "./context";
import { getBoolean, getGuid, getString } from "./context";
import { type HandlerOutcome, type MapAction, type MapResult, type PluginDeps, WebhookRefusedError } from "./types";

const ACTIONS: readonly MapAction[] = MAP_ACTIONS;

export function chooseMapAction(params: { action?: string; accountId?: string; createNew?: boolean }): MapAction {
  if (params.action !== undefined) {
    const action = params.action.trim().toLowerCase() as MapAction;
    if (!ACTIONS.includes(action)) {
      throw new WebhookRefusedError("MAP_BAD_ACTION", `Action "${params.action}" is not one of ${ACTIONS.join(", ")}.`, 400);
    }
    if (action === "map" && !params.accountId)
      throw new WebhookRefusedError("MAP_NO_ACCOUNT", "Choose the account to map to (AccountId).", 400);
    return action;
  }
  if (params.createNew && params.accountId) {
    throw new WebhookRefusedError("MAP_AMBIGUOUS", "Give either AccountId (map to an existing account) or CreateNew, not both.", 400);
  }
  if (params.createNew) return "create";
  if (params.accountId) return "map";
  throw new WebhookRefusedError("MAP_NO_CHOICE", "Choose an account to map to (AccountId) or ask for a new account (CreateNew).", 400);
}

/**
 * Whether each engine outcome means "nothing was written": only a create that found likely existing
 * accounts. A Record over the engine's outcome union, so a new outcome does not compile until decided here.
 */
const REFUSED_OUTCOMES: Readonly<Record<MapResult["outcome"], boolean>> = {
  mapped: false,
  created: false,
  ignored: false,
  unmapped: false,
  "duplicates-found": true,
};

export function isRefusedMapping(result: MapResult): boolean {
  return REFUSED_OUTCOMES[result.outcome];
}

export async function mapProviderAccount(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  const providerAccountId = requireTargetId(ctx, "provider account");
  const accountId = getGuid(ctx.inputParameters, "AccountId");
  const createNew = getBoolean(ctx.inputParameters, "CreateNew");
  const force = getBoolean(ctx.inputParameters, "Force") ?? false;
  const action = chooseMapAction({ action: getString(ctx.inputParameters, "Action"), accountId, createNew });
  const exists = await deps.dataverse.tryRetrieve(SETS.providerAccount, providerAccountId, { select: ["w365_provideraccountid"] });
  if (!exists)
    throw new WebhookRefusedError(
      "PROVIDER_ACCOUNT_NOT_FOUND",
      `Provider account ${providerAccountId} was not found.`,
      404,
      "Refresh the mapping page.",
    );
  const result = await deps.engine.mapProviderAccount({
    providerAccountId,
    action,
    ...(accountId ? { accountId } : {}),
    ...(force ? { force } : {}),
  });
  if (isRefusedMapping(result)) {
    // The engine's message names each likely account (from result.candidates) with its score and reasons.
    throw new WebhookRefusedError("MAP_LIKELY_DUPLICATE", result.message, 409, "Use Force to create the account anyway.");
  }
  return { status: 200, body: { message: "Mapping saved.", providerAccountId, action, result: summarise(result) } };
}

/** The engine's answer without its candidate list (only a refused create has one, and it is not answered here). */
function summarise(result: MapResult): Omit<MapResult, "candidates"> {
  return {
    providerAccountId: result.providerAccountId,
    action: result.action,
    outcome: result.outcome,
    ...(result.accountId !== undefined ? { accountId: result.accountId } : {}),
    message: result.message,
  };
}
