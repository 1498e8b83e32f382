/**
 * Asynchronous post-operation step on Delete of account, with a PreImage carrying `accountid` and `name`:
 * the provider accounts mapped or suggested to the deleted account go back to matching (Unmapped, with a
 * reason saying why, matched again by the next sync). By then Dataverse has already emptied their lookups
 * (the relationships remove the link on delete), which is why the engine looks for rows left without one.
 */
import type { WebhookContext } from "./context";
import { getGuid, getString } from "./context";
import { type HandlerOutcome, type PluginDeps, WebhookRefusedError } from "./types";

export async function accountDeleted(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  const image = ctx.preEntityImages.PreImage;
  const accountId =
    (image && getGuid(image.attributes, "accountid")) ?? (ctx.target?.kind === "entityReference" ? ctx.target.id : undefined);
  if (!accountId) {
    throw new WebhookRefusedError(
      "WEBHOOK_NO_TARGET",
      "The Delete of account carries no account id (no PreImage with accountid and no Target).",
      400,
      "Register the step's PreImage with the accountid and name columns (streamone-ion register-webhook).",
    );
  }
  const accountName = image ? getString(image.attributes, "name") : undefined;
  const result = await deps.engine.reopenMatchingForDeletedAccount({ accountId, ...(accountName ? { accountName } : {}) });
  return { status: 200, body: { message: result.message, accountId } };
}
