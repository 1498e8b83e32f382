/**
 * XSD validation of customizations.xml against Microsoft's schema set 9.0.0.2090 (the libxml2-compatible
 * copy in solution/schemas/), with the advisory list from reference/dataverse-schemas/README.md: modern
 * elements the 2090 schema predates are reported as advisories, everything else is an error.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";

import { validateXML } from "xmllint-wasm";

import { defaultSchemaDir } from "./paths";

export const SCHEMA_FILES = [
  "CustomizationsSolution.xsd",
  "Fetch.xsd",
  "FormXml.xsd",
  "RibbonCore.xsd",
  "RibbonTypes.xsd",
  "RibbonWSS.xsd",
  "SiteMap.xsd",
  "SiteMapType.xsd",
  "VisualizationDataDescription.xsd",
  "isv.config.xsd",
] as const;

/** Names newer Dataverse exports use that the 9.0.0.2090 schema does not know (README "advisory" list). */
export const ADVISORY_NAMES = new Set([
  "OrganizationVersion",
  "OrganizationSchemaType",
  "CRMServerServiceabilityVersion",
  "connectionreferences",
  "AIModels",
  "IsRetrieveAuditEnabled",
  "IsRetrieveMultipleAuditEnabled",
  "IsMSTeamsIntegrationEnabled",
  "IsSolutionAware",
  "AutoNumberFormat",
  "IsSearchable",
  "IsFilterable",
  "IsRetrievable",
  "IsLocalizable",
  "CascadeArchive",
  "IsHidden",
  "IsAutoAssigned",
  "Description",
  "JsonFileName",
  "IsCustomProcessingStepAllowedForOtherPublishers",
  "OptimizedFor",
  "statecode",
  "statuscode",
  "NavigationType",
  "appsettings",
  "EnableCollapsibleGroups",
  "ShowHome",
  "ShowPinned",
  "ShowRecents",
  "headerdensity",
  "UClientEnableWhatsNewFilter",
  "UClientRecordSourcesJSON",
]);

export interface XsdIssue {
  line?: number;
  message: string;
  advisory: boolean;
}

export interface XsdResult {
  valid: boolean;
  errors: XsdIssue[];
  advisories: XsdIssue[];
}


function classify(message: string): boolean {
  // libxml2: "Element 'X': This element is not expected." / "Element 'e', attribute 'X': The attribute 'X' is not allowed."
  const el = /Element '([^']+)': This element is not expected/.exec(message);
  if (el?.[1] && ADVISORY_NAMES.has(el[1])) return true;
  const at = /attribute '([^']+)': The attribute '[^']+' is not allowed/.exec(message);
  if (at?.[1] && ADVISORY_NAMES.has(at[1])) return true;
  return false;
}

let schemaCache: { dir: string; files: { fileName: string; contents: string }[] } | undefined;

async function loadSchemas(dir: string): Promise<{ fileName: string; contents: string }[]> {
  if (schemaCache?.dir === dir) return schemaCache.files;
  const files = await Promise.all(SCHEMA_FILES.map(async (f) => ({ fileName: f, contents: (await fs.readFile(path.join(dir, f), "utf8")).replace(/^\uFEFF/, "") })));
  schemaCache = { dir, files };
  return files;
}

/** Validate a customizations.xml document (root ImportExportXml). */
export async function validateCustomizationsXsd(xml: string, schemaDir = defaultSchemaDir()): Promise<XsdResult> {
  const schemas = await loadSchemas(schemaDir);
  const main = schemas.find((s) => s.fileName === "CustomizationsSolution.xsd")!;
  const result = await validateXML({
    xml: [{ fileName: "customizations.xml", contents: xml }],
    schema: [main],
    preload: schemas.filter((s) => s !== main),
    initialMemoryPages: 512,
    maxMemoryPages: 4096,
  });
  const issues: XsdIssue[] = result.errors.map((e) => {
    const message = e.message ?? e.rawMessage;
    const issue: XsdIssue = { message, advisory: classify(message) };
    if (e.loc?.lineNumber !== undefined) issue.line = e.loc.lineNumber;
    return issue;
  });
  const errors = issues.filter((i) => !i.advisory);
  return { valid: errors.length === 0, errors, advisories: issues.filter((i) => i.advisory) };
}
