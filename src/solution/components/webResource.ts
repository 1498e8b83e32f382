/** Web resources: WebResources/<name>.data.xml descriptors plus the file itself. */
import type { WebResourceDef } from "../model";
import { bracedGuid, el, int, SolutionFormatError, stableGuid, text, textEl, type XmlElement, type XNode } from "../xml";

export const WEB_RESOURCE_TYPES: Record<string, number> = {
  html: 1,
  htm: 1,
  css: 2,
  js: 3,
  xml: 4,
  png: 5,
  jpg: 6,
  jpeg: 6,
  gif: 7,
  xap: 8,
  xsl: 9,
  xslt: 9,
  ico: 10,
  svg: 11,
  resx: 12,
};

export function webResourceTypeFor(name: string): number | undefined {
  const ext = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
  return WEB_RESOURCE_TYPES[ext];
}

/** Deterministic id for a web resource, from its unique name. */
export function webResourceId(name: string): string {
  return stableGuid(`webresource:${name}`);
}

export function webResourceXml(wr: WebResourceDef, version: string): XmlElement {
  return el(
    "WebResource",
    null,
    textEl("WebResourceId", bracedGuid(webResourceId(wr.name))),
    textEl("Name", wr.name),
    textEl("DisplayName", wr.displayName),
    textEl("WebResourceType", wr.type),
    textEl("IntroducedVersion", version),
    textEl("IsEnabledForMobileClient", 0),
    textEl("IsAvailableForMobileOffline", 0),
    textEl("IsCustomizable", 1),
    textEl("CanBeDeleted", 1),
    textEl("IsHidden", 0),
    textEl("FileName", wr.fileName),
  );
}

export function parseWebResource(n: XNode, where: string): Omit<WebResourceDef, "content"> {
  const name = text(n, "Name");
  const type = int(text(n, "WebResourceType"));
  if (!name || type === undefined) throw new SolutionFormatError(`${where}: web resource needs Name and WebResourceType`);
  return {
    name,
    displayName: text(n, "DisplayName") ?? name,
    type,
    fileName: text(n, "FileName") ?? `/WebResources/${name}`,
  };
}
