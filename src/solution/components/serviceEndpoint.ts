/**
 * Webhook service endpoints (`<ServiceEndpoint>` in customizations.xml). Our own solution ships none: the
 * endpoint carries a per-environment URL and key, so src/deploy registers it after import. The reader and
 * writer stay for solutions that do carry one.
 */
import type { ServiceEndpointDef } from "../model";
import { attr, bracedGuid, el, int, normalizeGuid, SolutionFormatError, text, textEl, type XmlElement, type XNode } from "../xml";

/**
 * Webhook endpoints cannot reference environment variables in Dataverse itself, so the link is kept in the
 * description as a readable trailer (shown in the Plugin Registration Tool) that deploy and the emulator parse:
 * "… [url: env w365_FunctionsBaseUrl; key: env w365_FunctionsWebhookKey]".
 */
const ENV_TRAILER = /\s*\[url: env ([A-Za-z0-9_]+)(?:; key: env ([A-Za-z0-9_]+))?\]\s*$/;

export function serviceEndpointXml(se: ServiceEndpointDef): XmlElement {
  const trailer = se.urlEnvironmentVariable
    ? ` [url: env ${se.urlEnvironmentVariable}${se.keyEnvironmentVariable ? `; key: env ${se.keyEnvironmentVariable}` : ""}]`
    : "";
  return el(
    "ServiceEndpoint",
    { ServiceEndpointId: bracedGuid(se.id), Name: se.name },
    textEl("ConnectionMode", 1),
    textEl("Contract", se.contract),
    textEl("Description", `${se.description ?? ""}${trailer}`.trim()),
    textEl("UserClaim", se.userClaim),
    textEl("IsCustomizable", 1),
    textEl("AuthType", se.authType),
    textEl("MessageFormat", se.messageFormat),
    textEl("Url", se.url),
  );
}

export function parseServiceEndpoint(n: XNode, where: string): ServiceEndpointDef {
  const contract = int(text(n, "Contract"));
  const authType = int(text(n, "AuthType"));
  if (contract !== 8) throw new SolutionFormatError(`${where}: only webhook service endpoints (Contract 8) are supported, got ${String(contract)}`);
  if (authType !== 4 && authType !== 5 && authType !== 6) throw new SolutionFormatError(`${where}: webhook AuthType must be 4, 5 or 6`);
  const description = text(n, "Description") ?? "";
  const m = ENV_TRAILER.exec(description);
  const se: ServiceEndpointDef = {
    id: normalizeGuid(attr(n, "ServiceEndpointId") ?? ""),
    name: attr(n, "Name") ?? "",
    contract: 8,
    authType,
    url: text(n, "Url") ?? "",
    messageFormat: 2,
    userClaim: 1,
  };
  const plain = m ? description.slice(0, m.index) : description;
  if (plain) se.description = plain;
  if (m?.[1]) se.urlEnvironmentVariable = m[1];
  if (m?.[2]) se.keyEnvironmentVariable = m[2];
  return se;
}
