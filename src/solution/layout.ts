/**
 * SolutionModel ↔ files, for both layouts:
 *  - "source": the unpacked SolutionPackager layout kept in solution/ (Other/Solution.xml, Entities/…, …);
 *  - "zip": what a real exported solution zip holds (solution.xml, customizations.xml, [Content_Types].xml,
 *    customapis/, environmentvariabledefinitions/, WebResources/, Controls/).
 * One pair of functions for both keeps pack and read honest with each other.
 */
import { customApiFiles, parseCustomApis } from "./components/customapi";
import { customControlXml } from "./components/customControl";
import {
  asRawList,
  normalizeRibbon,
  parseEntityXml,
  parseForm,
  parseRelationship,
  parseView,
  relationshipXml,
  SYSTEM_TABLES,
  systemFormXml,
  tableToEntityXml,
  viewXml,
} from "./components/entity";
import { envVarFile, parseEnvVars } from "./components/environmentVariable";
import { fieldSecurityProfileXml, parseFieldSecurityProfile } from "./components/fieldSecurityProfile";
import { parseRole, roleXml } from "./components/role";
import { parseServiceEndpoint, serviceEndpointXml } from "./components/serviceEndpoint";
import { parseStep, stepXml } from "./components/step";
import { parseWebResource, webResourceXml } from "./components/webResource";
import type { CustomControlDef, FormDef, PublisherDef, RelationshipDef, SolutionModel, TableDef, WebResourceDef } from "./model";
import {
  attr,
  bracedGuid,
  child,
  children,
  el,
  firstLabel,
  int,
  parseXml,
  requireText,
  SolutionFormatError,
  text,
  textEl,
  toXmlDocument,
  type XmlElement,
  type XNode,
} from "./xml";

export type FileMap = Map<string, Buffer>;
export type Layout = "source" | "zip";

const XSI = "http://www.w3.org/2001/XMLSchema-instance";

/** Root component type codes (docs/platform/dataverse.md 5.2). */
export const ROOT_COMPONENT_TYPES = {
  Entity: 1,
  Role: 20,
  FieldSecurityProfile: 70,
  WebResource: 61,
  CustomControl: 66,
  SdkMessageProcessingStep: 92,
  ServiceEndpoint: 95,
  EnvironmentVariableDefinition: 380,
} as const;

function localized(container: string, item: string, description: string): XmlElement {
  return el(container, null, el(item, { description, languagecode: 1033 }));
}

function rootComponents(model: SolutionModel): XmlElement {
  const rc: XmlElement[] = [];
  for (const t of [...model.tables].sort((a, b) => a.logicalName.localeCompare(b.logicalName))) {
    // behavior 0 = include subcomponents (our tables); 2 = table shell only (account: we add columns, not the table).
    rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.Entity, schemaName: t.logicalName, behavior: t.isCustomEntity ? 0 : 2 }));
  }
  for (const r of model.roles) rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.Role, id: bracedGuid(r.id), behavior: 0 }));
  for (const w of [...model.webResources].sort((a, b) => a.name.localeCompare(b.name))) rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.WebResource, schemaName: w.name, behavior: 0 }));
  for (const c of model.customControls) rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.CustomControl, schemaName: c.name, behavior: 0 }));
  for (const f of model.fieldSecurityProfiles) rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.FieldSecurityProfile, id: bracedGuid(f.id), behavior: 0 }));
  for (const s of model.steps) rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.SdkMessageProcessingStep, id: bracedGuid(s.id), behavior: 0 }));
  for (const s of model.serviceEndpoints) rc.push(el("RootComponent", { type: ROOT_COMPONENT_TYPES.ServiceEndpoint, id: bracedGuid(s.id), behavior: 0 }));
  // Environment variable definitions are not root components: real exports (coe-starter-kit's Solution.xml
  // with its many environmentvariabledefinitions/) carry them in their own folder only, which import reads.
  // Custom APIs get an environment-specific component type number; like real exports we rely on the
  // customapis/ folder, which import reads on its own.
  return el("RootComponents", null, rc);
}

/** solution.xml (zip) / Other/Solution.xml (source). managedFlag: 0 unmanaged, 1 managed, 2 both (source). */
export function solutionManifestXml(model: SolutionModel, managedFlag: 0 | 1 | 2): string {
  const p = model.publisher;
  return toXmlDocument(
    el(
      "ImportExportXml",
      { version: "9.2.24012.196", SolutionPackageVersion: "9.2", languagecode: 1033, generatedBy: "CrmLive", "xmlns:xsi": XSI },
      el(
        "SolutionManifest",
        null,
        textEl("UniqueName", model.uniqueName),
        localized("LocalizedNames", "LocalizedName", model.displayName),
        model.description ? localized("Descriptions", "Description", model.description) : el("Descriptions"),
        textEl("Version", model.version),
        textEl("Managed", managedFlag),
        el(
          "Publisher",
          null,
          textEl("UniqueName", p.uniqueName),
          localized("LocalizedNames", "LocalizedName", p.displayName),
          localized("Descriptions", "Description", `${p.displayName} publisher`),
          el("EMailAddress", { "xsi:nil": "true" }),
          el("SupportingWebsiteUrl", { "xsi:nil": "true" }),
          textEl("CustomizationPrefix", p.customizationPrefix),
          textEl("CustomizationOptionValuePrefix", p.optionValuePrefix),
          el("Addresses", null, [1, 2].map((n) => el("Address", null, textEl("AddressNumber", n), textEl("AddressTypeCode", 1)))),
        ),
        rootComponents(model),
        el("MissingDependencies"),
      ),
    ),
  );
}

export interface ParsedManifest {
  uniqueName: string;
  displayName: string;
  description?: string;
  version: string;
  managedFlag: number;
  publisher: PublisherDef;
  rootComponents: { type: number; schemaName?: string; id?: string }[];
  missingDependencies: string[];
}

export function parseSolutionManifest(xml: string, where: string): ParsedManifest {
  const root = child(parseXml(xml, where), "ImportExportXml");
  const m = child(root, "SolutionManifest");
  if (!m) throw new SolutionFormatError(`${where}: missing <ImportExportXml><SolutionManifest>`);
  const pub = child(m, "Publisher");
  if (!pub) throw new SolutionFormatError(`${where}: missing <Publisher>`);
  const prefixValue = int(text(pub, "CustomizationOptionValuePrefix"));
  if (prefixValue === undefined) throw new SolutionFormatError(`${where}: missing <CustomizationOptionValuePrefix>`);
  const out: ParsedManifest = {
    uniqueName: requireText(m, "UniqueName", where),
    displayName: firstLabel(child(m, "LocalizedNames"), "LocalizedName") ?? "",
    version: requireText(m, "Version", where),
    managedFlag: int(text(m, "Managed")) ?? 0,
    publisher: {
      uniqueName: requireText(pub, "UniqueName", `${where} <Publisher>`),
      displayName: firstLabel(child(pub, "LocalizedNames"), "LocalizedName") ?? "",
      customizationPrefix: requireText(pub, "CustomizationPrefix", `${where} <Publisher>`),
      optionValuePrefix: prefixValue,
    },
    rootComponents: children(child(m, "RootComponents"), "RootComponent").map((r) => {
      const rc: { type: number; schemaName?: string; id?: string } = { type: Number(attr(r, "type")) };
      const s = attr(r, "schemaName");
      const id = attr(r, "id");
      if (s) rc.schemaName = s;
      if (id) rc.id = id;
      return rc;
    }),
    missingDependencies: children(child(m, "MissingDependencies"), "MissingDependency").map((d) => JSON.stringify(d)),
  };
  const d = firstLabel(child(m, "Descriptions"), "Description");
  if (d) out.description = d;
  return out;
}

function relationshipsOf(model: SolutionModel): RelationshipDef[] {
  return [...(model.relationships ?? [])].sort((a, b) => a.name.localeCompare(b.name));
}

/** customizations.xml. In the source layout the per-component sections are empty (their content lives in folders). */
export function customizationsXml(model: SolutionModel, layout: Layout): string {
  const v = model.version;
  const packed = layout === "zip";
  return toXmlDocument(
    el(
      "ImportExportXml",
      { "xmlns:xsi": XSI },
      el("Entities", null, packed ? model.tables.map((t) => tableToEntityXml(t, v, { includeFormsAndViews: true })) : []),
      el("Roles", null, packed ? model.roles.map((r) => roleXml(r, v)) : []),
      el("Workflows"),
      // Field security profiles and service endpoints stay in Customizations.xml in the source layout too:
      // SolutionPackager has no folder for them.
      el("FieldSecurityProfiles", null, model.fieldSecurityProfiles.map(fieldSecurityProfileXml)),
      el("Templates"),
      el("EntityMaps"),
      el("EntityRelationships", null, packed ? relationshipsOf(model).map((r) => relationshipXml(r, v)) : []),
      el("OrganizationSettings"),
      el("optionsets"),
      el("WebResources", null, packed ? [...model.webResources].sort((a, b) => a.name.localeCompare(b.name)).map((w) => webResourceXml(w, v)) : []),
      el("CustomControls", null, packed ? model.customControls.map(customControlXml) : []),
      el("SolutionPluginAssemblies"),
      el("SdkMessageProcessingSteps", null, packed ? model.steps.map((s) => stepXml(s, v)) : []),
      el("ServiceEndpoints", null, model.serviceEndpoints.map(serviceEndpointXml)),
      el("Languages", null, el("Language", null, "1033")),
    ),
  );
}

function entityFolderName(t: TableDef): string {
  return t.isCustomEntity ? t.logicalName : (SYSTEM_TABLES[t.logicalName]?.schemaName ?? t.logicalName);
}

/**
 * OPC content types, as pac/SolutionPackager writes them (ydgs/PCF-QuillCustomRichTextFieldSolution:
 * bin/Release/QuillRichTextField.zip): one Default per extension (xml is text/xml), an octet-stream Override
 * for each PCF ControlManifest.xml, and one for each part without an extension.
 */
function contentTypesXml(paths: string[]): string {
  const baseName = (p: string): string => p.slice(p.lastIndexOf("/") + 1);
  const ext = (p: string): string => (baseName(p).includes(".") ? baseName(p).slice(baseName(p).lastIndexOf(".") + 1).toLowerCase() : "");
  const exts = [...new Set(paths.map(ext).filter(Boolean))].sort();
  return toXmlDocument(
    el(
      "Types",
      { xmlns: "http://schemas.openxmlformats.org/package/2006/content-types" },
      exts.map((e) => el("Default", { Extension: e, ContentType: e === "xml" ? "text/xml" : "application/octet-stream" })),
      paths
        .filter((p) => ext(p) === "" || /^Controls\/[^/]+\/ControlManifest\.xml$/i.test(p))
        .sort()
        .map((p) => el("Override", { PartName: `/${p}`, ContentType: "application/octet-stream" })),
    ),
  );
}

const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

const byName = <T extends { name: string }>(a: T, b: T): number => a.name.localeCompare(b.name);
const byId = <T extends { id: string }>(a: T, b: T): number => a.id.localeCompare(b.id);

/** The order filesToModel returns lists in; writing in the same order makes write → read → write stable. */
export function canonicalize(model: SolutionModel): SolutionModel {
  return {
    ...model,
    tables: [...model.tables]
      .sort((a, b) => a.logicalName.localeCompare(b.logicalName))
      .map((t) => ({ ...t, forms: [...t.forms].sort(byId), views: [...t.views].sort(byId) })),
    customApis: [...model.customApis].sort((a, b) => a.uniqueName.localeCompare(b.uniqueName)),
    serviceEndpoints: [...model.serviceEndpoints].sort(byId),
    steps: [...model.steps].sort(byId),
    environmentVariables: [...model.environmentVariables].sort((a, b) => a.schemaName.localeCompare(b.schemaName)),
    roles: [...model.roles].sort(byName),
    fieldSecurityProfiles: [...model.fieldSecurityProfiles].sort(byName),
    webResources: [...model.webResources].sort(byName),
    customControls: [...model.customControls].sort(byName),
    relationships: [...(model.relationships ?? [])].sort(byName),
  };
}

/** All files of a layout, keyed by forward-slash path. Deterministic. */
export function modelToFiles(input: SolutionModel, layout: Layout, opts: { managed?: boolean } = {}): FileMap {
  const model = canonicalize(input);
  const files: FileMap = new Map();
  const v = model.version;
  const put = (p: string, c: string | Buffer): void => {
    files.set(p, typeof c === "string" ? utf8(c) : c);
  };
  if (layout === "zip") {
    put("solution.xml", solutionManifestXml(model, opts.managed ? 1 : 0));
    put("customizations.xml", customizationsXml(model, "zip"));
  } else {
    put("Other/Solution.xml", solutionManifestXml(model, 2));
    put("Other/Customizations.xml", customizationsXml(model, "source"));
    const rels = relationshipsOf(model);
    put("Other/Relationships.xml", toXmlDocument(el("EntityRelationships", { "xmlns:xsi": XSI }, rels.map((r) => el("EntityRelationship", { Name: r.name })))));
    const byReferenced = new Map<string, RelationshipDef[]>();
    for (const r of rels) byReferenced.set(r.referencedEntity, [...(byReferenced.get(r.referencedEntity) ?? []), r]);
    for (const [ent, list] of [...byReferenced].sort(([a], [b]) => a.localeCompare(b))) {
      const file = SYSTEM_TABLES[ent]?.schemaName ?? ent;
      put(`Other/Relationships/${file}.xml`, toXmlDocument(el("EntityRelationships", { "xmlns:xsi": XSI }, list.map((r) => relationshipXml(r, v)))));
    }
    for (const t of model.tables) {
      const dir = `Entities/${entityFolderName(t)}`;
      put(`${dir}/Entity.xml`, toXmlDocument(tableToEntityXml(t, v, { includeFormsAndViews: false, includeRibbon: false })));
      if (t.ribbonDiffXml) put(`${dir}/RibbonDiff.xml`, `<?xml version="1.0" encoding="utf-8"?>\n${t.ribbonDiffXml.replace(/^<RibbonDiffXml(?=[\s>])/, `<RibbonDiffXml xmlns:xsi="${XSI}"`)}\n`);
      for (const f of t.forms) put(`${dir}/FormXml/${f.type}/${bracedGuid(f.id)}.xml`, toXmlDocument(el("forms", { "xmlns:xsi": XSI }, systemFormXml(f, v))));
      for (const q of t.views) put(`${dir}/SavedQueries/${bracedGuid(q.id)}.xml`, toXmlDocument(el("savedqueries", { "xmlns:xsi": XSI }, viewXml(q, v))));
    }
    for (const r of model.roles) put(`Roles/${r.name}.xml`, toXmlDocument(roleXml(r, v)));
    for (const s of model.steps) put(`SdkMessageProcessingSteps/${bracedGuid(s.id)}.xml`, toXmlDocument(stepXml(s, v)));
    for (const w of model.webResources) put(`WebResources/${w.name}.data.xml`, toXmlDocument(webResourceXml(w, v)));
    for (const c of model.customControls) put(`Controls/${c.name}/ControlManifest.xml.data.xml`, toXmlDocument(customControlXml(c)));
  }
  for (const api of model.customApis) for (const f of customApiFiles(api)) put(f.path, f.content);
  for (const ev of model.environmentVariables) {
    const f = envVarFile(ev, v);
    put(f.path, f.content);
  }
  if (layout === "zip") {
    for (const w of model.webResources) put(w.fileName.replace(/^\//, ""), w.content);
    for (const c of model.customControls) for (const f of c.files) put(`Controls/${c.name}/${f.path}`, f.content);
    put("[Content_Types].xml", contentTypesXml([...files.keys()]));
  }
  return new Map([...files].sort(([a], [b]) => compareZipPaths(a, b)));
}

/** Real exports start with the manifest files; everything else follows in path order. */
export function compareZipPaths(a: string, b: string): number {
  const rank = (p: string): number => (p === "[Content_Types].xml" ? 0 : p === "customizations.xml" ? 1 : p === "solution.xml" ? 2 : 3);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

// ------------------------------------------------------------------------ reading

function textOf(files: FileMap, path: string): string | undefined {
  const b = files.get(path);
  return b === undefined ? undefined : b.toString("utf8");
}

/** Case-insensitive lookup: zips made on Windows may differ in case. */
function findPath(files: FileMap, path: string): string | undefined {
  if (files.has(path)) return path;
  const lower = path.toLowerCase();
  return [...files.keys()].find((k) => k.toLowerCase() === lower);
}

function textMap(files: FileMap, prefix: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of files) if (k.toLowerCase().startsWith(prefix.toLowerCase())) m.set(prefix + k.slice(prefix.length), v.toString("utf8"));
  return m;
}

/** Parse files of either layout into a model. Missing component content (UI build) is left empty. */
export function filesToModel(files: FileMap, where: string): SolutionModel {
  const sourceManifest = findPath(files, "Other/Solution.xml");
  const zipManifest = findPath(files, "solution.xml");
  const layout: Layout = sourceManifest ? "source" : "zip";
  const manifestPath = sourceManifest ?? zipManifest;
  if (!manifestPath) throw new SolutionFormatError(`${where}: no solution.xml (zip) or Other/Solution.xml (source folder) found`, { hint: "Is this a Dataverse solution?" });
  const manifest = parseSolutionManifest(textOf(files, manifestPath)!, `${where}/${manifestPath}`);
  const custPath = findPath(files, layout === "source" ? "Other/Customizations.xml" : "customizations.xml");
  if (!custPath) throw new SolutionFormatError(`${where}: missing ${layout === "source" ? "Other/Customizations.xml" : "customizations.xml"}`);
  const cust = child(parseXml(textOf(files, custPath)!, `${where}/${custPath}`), "ImportExportXml");
  if (!cust) throw new SolutionFormatError(`${where}/${custPath}: root element must be <ImportExportXml>`);

  const model: SolutionModel = {
    uniqueName: manifest.uniqueName,
    displayName: manifest.displayName,
    version: manifest.version,
    managed: manifest.managedFlag === 1,
    publisher: manifest.publisher,
    tables: [],
    customApis: parseCustomApis(textMap(files, "customapis/")),
    serviceEndpoints: children(child(cust, "ServiceEndpoints"), "ServiceEndpoint").map((n) => parseServiceEndpoint(n, custPath)),
    steps: [],
    environmentVariables: parseEnvVars(textMap(files, "environmentvariabledefinitions/")),
    roles: [],
    fieldSecurityProfiles: children(child(cust, "FieldSecurityProfiles"), "FieldSecurityProfile").map(parseFieldSecurityProfile),
    webResources: [],
    customControls: [],
    relationships: [],
  };
  if (manifest.description) model.description = manifest.description;
  const apiNames = model.customApis.map((a) => a.uniqueName);

  let entityNodes: { node: XNode; where: string; dir?: string }[];
  let relNodes: XNode[];
  let stepNodes: { node: XNode; where: string }[];
  let roleNodes: XNode[];
  let wrNodes: { node: XNode; where: string }[];
  let controlNames: string[];
  if (layout === "zip") {
    entityNodes = children(child(cust, "Entities"), "Entity").map((node) => ({ node, where: custPath }));
    relNodes = children(child(cust, "EntityRelationships"), "EntityRelationship");
    stepNodes = children(child(cust, "SdkMessageProcessingSteps"), "SdkMessageProcessingStep").map((node) => ({ node, where: custPath }));
    roleNodes = children(child(cust, "Roles"), "Role");
    wrNodes = children(child(cust, "WebResources"), "WebResource").map((node) => ({ node, where: custPath }));
    controlNames = children(child(cust, "CustomControls"), "CustomControl").map((c) => text(c, "Name") ?? "");
  } else {
    const keys = [...files.keys()].sort();
    entityNodes = keys
      .filter((k) => /^Entities\/[^/]+\/Entity\.xml$/i.test(k))
      .map((k) => {
        const node = child(parseXml(textOf(files, k)!, k), "Entity");
        if (!node) throw new SolutionFormatError(`${k}: root element must be <Entity>`);
        return { node, where: k, dir: k.slice(0, k.lastIndexOf("/")) };
      });
    relNodes = keys.filter((k) => /^Other\/Relationships\/[^/]+\.xml$/i.test(k)).flatMap((k) => children(child(parseXml(textOf(files, k)!, k), "EntityRelationships"), "EntityRelationship"));
    stepNodes = keys
      .filter((k) => /^SdkMessageProcessingSteps\/[^/]+\.xml$/i.test(k))
      .map((k) => {
        const node = children(parseXml(textOf(files, k)!, k), "SdkMessageProcessingStep")[0];
        if (!node) throw new SolutionFormatError(`${k}: root element must be <SdkMessageProcessingStep>`);
        return { node, where: k };
      });
    roleNodes = keys.filter((k) => /^Roles\/[^/]+\.xml$/i.test(k)).flatMap((k) => children(parseXml(textOf(files, k)!, k), "Role"));
    wrNodes = keys
      .filter((k) => /^WebResources\/.+\.data\.xml$/i.test(k))
      .map((k) => {
        const node = children(parseXml(textOf(files, k)!, k), "WebResource")[0];
        if (!node) throw new SolutionFormatError(`${k}: root element must be <WebResource>`);
        return { node, where: k };
      });
    controlNames = keys
      .filter((k) => /^Controls\/[^/]+\/ControlManifest\.xml\.data\.xml$/i.test(k))
      .map((k) => text(children(parseXml(textOf(files, k)!, k), "CustomControl")[0], "Name") ?? k.split("/")[1]!);
  }

  for (const { node, where: w, dir } of entityNodes) {
    const table = parseEntityXml(node, w);
    if (dir) {
      // Source layout: forms and views live in their own files next to Entity.xml.
      for (const k of [...files.keys()].filter((p) => p.startsWith(`${dir}/FormXml/`)).sort()) {
        const type = k.split("/")[3] as FormDef["type"];
        const formsNode = child(parseXml(textOf(files, k)!, k), "forms");
        for (const sf of asRawList(formsNode?.["systemform"])) table.forms.push(parseForm(sf, type, k));
      }
      const ribbonPath = findPath(files, `${dir}/RibbonDiff.xml`);
      if (ribbonPath) {
        const r = normalizeRibbon(textOf(files, ribbonPath)!);
        if (r) table.ribbonDiffXml = r;
      }
      for (const k of [...files.keys()].filter((p) => p.startsWith(`${dir}/SavedQueries/`)).sort()) {
        for (const sq of children(child(parseXml(textOf(files, k)!, k), "savedqueries"), "savedquery")) table.views.push(parseView(sq, k));
      }
    }
    table.forms.sort((a, b) => a.id.localeCompare(b.id));
    table.views.sort((a, b) => a.id.localeCompare(b.id));
    model.tables.push(table);
  }
  model.tables.sort((a, b) => a.logicalName.localeCompare(b.logicalName));
  model.relationships = relNodes.map(parseRelationship).sort((a, b) => a.name.localeCompare(b.name));
  // A lookup's targets come from its relationships (exports write `<LookupTypes />`).
  for (const r of model.relationships) {
    const col = model.tables.find((t) => t.logicalName === r.referencingEntity)?.columns.find((c) => c.logicalName === r.referencingAttribute);
    if (col?.type === "lookup" && !(col.targets ?? []).includes(r.referencedEntity)) col.targets = [...(col.targets ?? []), r.referencedEntity];
  }
  model.steps = stepNodes.map(({ node, where: w }) => parseStep(node, w, apiNames)).sort((a, b) => a.id.localeCompare(b.id));
  model.roles = roleNodes.map(parseRole).sort((a, b) => a.name.localeCompare(b.name));
  model.webResources = wrNodes
    .map(({ node, where: w }): WebResourceDef => {
      const meta = parseWebResource(node, w);
      const contentPath = layout === "zip" ? findPath(files, meta.fileName.replace(/^\//, "")) : findPath(files, `WebResources/${meta.name}`);
      return { ...meta, content: contentPath ? files.get(contentPath)! : Buffer.alloc(0) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  model.customControls = controlNames
    .map((name): CustomControlDef => {
      const prefix = `Controls/${name}/`;
      const ctlFiles = [...files.keys()]
        .filter((k) => k.startsWith(prefix) && !k.endsWith(".data.xml"))
        .sort()
        .map((k) => ({ path: k.slice(prefix.length), content: files.get(k)! }));
      return { name, files: ctlFiles };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  model.serviceEndpoints.sort((a, b) => a.id.localeCompare(b.id));
  model.fieldSecurityProfiles.sort((a, b) => a.name.localeCompare(b.name));
  return model;
}

/** Paths a zip's XML refers to (web resource files, control manifests), for the "every referenced file exists" check. */
export function referencedFiles(files: FileMap): string[] {
  const custPath = findPath(files, "customizations.xml");
  if (!custPath) return [];
  const cust = child(parseXml(textOf(files, custPath)!, custPath), "ImportExportXml");
  const refs: string[] = [];
  for (const w of children(child(cust, "WebResources"), "WebResource")) {
    const f = text(w, "FileName");
    if (f) refs.push(f.replace(/^\//, ""));
  }
  for (const c of children(child(cust, "CustomControls"), "CustomControl")) {
    const f = text(c, "FileName");
    if (f) refs.push(f.replace(/^\//, ""));
  }
  return refs;
}
