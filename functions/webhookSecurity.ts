/**
 * Authentication and origin checks of the webhook endpoint, run before the body is parsed.
 * The key travels as Azure Functions expects a function key: `?code=` (what Dataverse's WebhookKey
 * auth sends) or the `x-functions-key` header.
 */
import { createHash, timingSafeEqual } from "node:crypto";

import type { WebhookContext } from "../plugins/context";
import { ConnectorError } from "../src/shared/errors";

export class WebhookAuthError extends ConnectorError {
  constructor(message: string) {
    super("WEBHOOK_UNAUTHORIZED", message, { statusCode: 401 });
  }
}

export class WebhookOriginError extends ConnectorError {
  constructor(message: string) {
    super("WEBHOOK_WRONG_ORGANIZATION", message, { statusCode: 403 });
  }
}

/** The presented key, header first (it never lands in URL logs), then `?code=`. */
export function presentedKey(headers: Headers, query: URLSearchParams): string | undefined {
  const header = headers.get("x-functions-key");
  if (header) return header;
  const code = query.get("code");
  return code || undefined;
}

/**
 * Constant-time comparison. Both sides are hashed first so the comparison time depends on neither
 * the key's length nor how many leading characters match.
 */
export function keysMatch(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

export function authenticate(headers: Headers, query: URLSearchParams, expectedKey: string): void {
  const key = presentedKey(headers, query);
  if (!key) throw new WebhookAuthError("Missing function key: send it as ?code= or in the x-functions-key header.");
  if (!keysMatch(key, expectedKey)) throw new WebhookAuthError("The function key is not valid.");
}

/**
 * The organization this app serves, compared with what a real delivery lets us check. A delivery's
 * `OrganizationName` is the organization's unique name (`unq…`), which differs from the label of the
 * environment URL, so it is not compared; `OrganizationId` is the one value a delivery shares with
 * WhoAmI and RetrieveCurrentOrganization, and `x-ms-dynamics-organization` is the domain of the
 * organization's web application (https://learn.microsoft.com/power-apps/developer/data-platform/use-webhooks).
 */
export interface ExpectedOrganization {
  /** Lower-case GUID. */
  id: string;
  /** Host of the organization's WebApplication endpoint, lower case ("contoso.crm.dynamics.com"); absent when not known. */
  domain?: string;
}

/** Accepts only deliveries from the organization this app serves: same OrganizationId, and the same domain when the header names one. */
export function checkOrganization(headerDomain: string | null, ctx: WebhookContext, expected: ExpectedOrganization): void {
  if (ctx.organizationId.toLowerCase() !== expected.id.toLowerCase()) {
    throw new WebhookOriginError(
      `Webhook from organization ${ctx.organizationId} (${ctx.organizationName}) refused: this app serves organization ${expected.id}.`,
    );
  }
  const domain = headerDomain?.trim().toLowerCase();
  if (domain && expected.domain && domain !== expected.domain) {
    throw new WebhookOriginError(
      `Webhook refused: x-ms-dynamics-organization names "${domain}" but organization ${expected.id} is served at "${expected.domain}".`,
    );
  }
}
