/**
 * w365_MapProviderAccount (bound to w365_provideraccount; AccountId, CreateNew, optional Action and
 * Force). Runs inline: a mapping is a couple of writes. When "create new" finds likely existing
 * accounts the engine does not create one; the step then fails with a message listing them, which
 * is the only way a webhook step can answer the admin (DESIGN.md section 3).
 */
import type { WebhookContext } from "./context";
import { getBoolean, getGuid, getString } from "./context";
import { requireTargetId } from "./common";
import { SETS } from "../src/sync/schema";
import { MAP_ACTIONS, WebhookRefusedError, type HandlerOutcome, type MapAction, type PluginDeps } from "./types";

const ACTIONS: readonly MapAction[] = MAP_ACTIONS;

export function chooseMapAction(params: { action?: string; accountId?: string; createNew?: boolean }): MapAction {
  if (params.action !== undefined) {
    const action = params.action.trim().toLowerCase() as MapAction;
    if (!ACTIONS.includes(action)) {
      throw new WebhookRefusedError("MAP_BAD_ACTION", `Action "${params.action}" is not one of ${ACTIONS.join(", ")}.`, 400);
    }
    if (action === "map" && !params.accountId) throw new WebhookRefusedError("MAP_NO_ACCOUNT", "Choose the account to map to (AccountId).", 400);
    return action;
  }
  if (params.createNew && params.accountId) {
    throw new WebhookRefusedError("MAP_AMBIGUOUS", "Give either AccountId (map to an existing account) or CreateNew, not both.", 400);
  }
  if (params.createNew) return "create";
  if (params.accountId) return "map";
  throw new WebhookRefusedError("MAP_NO_CHOICE", "Choose an account to map to (AccountId) or ask for a new account (CreateNew).", 400);
}

interface Candidate {
  name?: string;
  accountName?: string;
  accountId?: string;
  score?: number;
}

/** Likely matches the engine returned instead of creating an account, whatever it calls the list. */
function candidatesOf(result: unknown): Candidate[] {
  if (!result || typeof result !== "object") return [];
  const r = result as Record<string, unknown>;
  const list = r.likelyMatches ?? r.candidates ?? r.duplicates ?? r.matches;
  return Array.isArray(list) ? (list.filter((c) => c && typeof c === "object") as Candidate[]) : [];
}

function wasApplied(result: unknown): boolean {
  if (!result || typeof result !== "object") return true;
  const r = result as Record<string, unknown>;
  if (r.applied === false || r.created === false) return false;
  if (typeof r.outcome === "string" && /duplicate|refused|candidates|not[-_ ]?created/i.test(r.outcome)) return false;
  if (typeof r.status === "string" && /duplicate|refused|candidates/i.test(r.status)) return false;
  return true;
}

export async function mapProviderAccount<D>(ctx: WebhookContext, deps: PluginDeps<D>): Promise<HandlerOutcome> {
  const providerAccountId = requireTargetId(ctx, "provider account");
  const accountId = getGuid(ctx.inputParameters, "AccountId");
  const createNew = getBoolean(ctx.inputParameters, "CreateNew");
  const force = getBoolean(ctx.inputParameters, "Force") ?? false;
  const action = chooseMapAction({ action: getString(ctx.inputParameters, "Action"), accountId, createNew });
  const exists = await deps.dataverse.tryRetrieve(SETS.providerAccount, providerAccountId, { select: ["w365_provideraccountid"] });
  if (!exists) throw new WebhookRefusedError("PROVIDER_ACCOUNT_NOT_FOUND", `Provider account ${providerAccountId} was not found.`, 404, "Refresh the mapping page.");
  const result = await deps.engine.mapProviderAccount(deps.syncDeps, { providerAccountId, action, ...(accountId ? { accountId } : {}), ...(force ? { force } : {}) });
  if (action === "create" && !wasApplied(result)) {
    const engineMessage = result && typeof result === "object" && typeof (result as { message?: unknown }).message === "string" ? (result as { message: string }).message : undefined;
    if (engineMessage) throw new WebhookRefusedError("MAP_LIKELY_DUPLICATE", engineMessage, 409, "Use Force to create the account anyway.");
    const candidates = candidatesOf(result);
    const list = candidates
      .slice(0, 5)
      .map((c) => `${c.name ?? c.accountName ?? c.accountId ?? "an account"}${typeof c.score === "number" ? ` (${Math.round(c.score * 100)}%)` : ""}`)
      .join(", ");
    throw new WebhookRefusedError(
      "MAP_LIKELY_DUPLICATE",
      `No account was created: likely existing accounts ${list || "were found"}.`,
      409,
      "Map the provider account to one of them, or create the new account anyway (Force).",
    );
  }
  return { status: 200, body: { message: "Mapping saved.", providerAccountId, action, result: summarise(result) } };
}

function summarise(result: unknown): unknown {
  if (!result || typeof result !== "object") return result ?? null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result as Record<string, unknown>)) if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[k] = v;
  return out;
}
