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

export interface ExpectedOrganization {
  /** Unique name or host, lower case ("contoso" or "contoso.crm.dynamics.com"). */
  name?: string;
  id?: string;
}

function sameOrganization(actual: string, expected: string): boolean {
  const a = actual.toLowerCase();
  const e = expected.toLowerCase();
  const firstLabel = (s: string) => s.split(".")[0] ?? s;
  // A host is compared as a whole when both sides are hosts; a unique name matches the host's first label.
  if (a.includes(".") && e.includes(".")) return a === e;
  return firstLabel(a) === firstLabel(e);
}

/** Accepts only deliveries from the configured organization (header and body must agree with it). */
export function checkOrganization(headerOrganization: string | null, ctx: WebhookContext, expected: ExpectedOrganization): void {
  if (expected.name) {
    if (headerOrganization && !sameOrganization(headerOrganization, expected.name)) {
      throw new WebhookOriginError(`Webhook from organization "${headerOrganization}" refused: this app serves "${expected.name}".`);
    }
    if (!sameOrganization(ctx.organizationName, expected.name)) {
      throw new WebhookOriginError(`Webhook from organization "${ctx.organizationName}" refused: this app serves "${expected.name}".`);
    }
  }
  // Even when only the id is configured: a delivery whose header names another organization than its body is forged.
  if (headerOrganization && ctx.organizationName && !sameOrganization(headerOrganization, ctx.organizationName)) {
    throw new WebhookOriginError(
      `Webhook refused: its header names organization "${headerOrganization}" but its body comes from "${ctx.organizationName}".`,
    );
  }
  if (expected.id && ctx.organizationId !== expected.id.toLowerCase()) {
    throw new WebhookOriginError(`Webhook from organization id ${ctx.organizationId} refused: this app serves ${expected.id}.`);
  }
}
