import { ValidationError } from "../shared/errors";
import { registerSecret } from "../shared/redact";

/** How the CLI reaches Dataverse, resolved once from flags and environment (DESIGN.md section 4). */
export type DataverseTarget =
  | { url: string; auth: { kind: "static"; token: string } }
  | { url: string; auth: { kind: "msal"; tenantId: string; clientId: string; clientSecret: string } };

export function resolveDataverseTarget(flagUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): DataverseTarget {
  const url = (flagUrl ?? env.DATAVERSE_URL ?? "").trim();
  if (!url) {
    throw new ValidationError("No Dataverse environment given. Pass --dataverse <url> or set DATAVERSE_URL (e.g. https://contoso.crm.dynamics.com).", { field: "dataverse" });
  }
  if (!/^https?:\/\/[^\s/]+/i.test(url)) {
    throw new ValidationError(`--dataverse "${url}" is not an http(s) URL. Use the environment root, e.g. https://contoso.crm.dynamics.com.`, { field: "dataverse" });
  }
  const token = env.DATAVERSE_TOKEN?.trim();
  const tenantId = env.AZURE_TENANT_ID?.trim();
  const clientId = env.AZURE_CLIENT_ID?.trim();
  const clientSecret = env.AZURE_CLIENT_SECRET?.trim();
  const msalParts = [tenantId, clientId, clientSecret].filter(Boolean).length;
  if (token && msalParts > 0) {
    throw new ValidationError("Both DATAVERSE_TOKEN and AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET are set; set only one way to sign in.", { field: "auth" });
  }
  if (token) {
    registerSecret(token);
    return { url, auth: { kind: "static", token } };
  }
  if (msalParts === 3 && tenantId && clientId && clientSecret) {
    registerSecret(clientSecret);
    return { url, auth: { kind: "msal", tenantId, clientId, clientSecret } };
  }
  if (msalParts > 0) {
    const missing = [["AZURE_TENANT_ID", tenantId], ["AZURE_CLIENT_ID", clientId], ["AZURE_CLIENT_SECRET", clientSecret]].filter(([, v]) => !v).map(([k]) => k);
    throw new ValidationError(`Incomplete client credentials: ${missing.join(", ")} missing.`, { field: "auth" });
  }
  throw new ValidationError("No Dataverse credentials. Set DATAVERSE_TOKEN (a bearer token, what the sandbox prints) or AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (an app registration with an application user).", { field: "auth" });
}
