/**
 * Tables ↔ `<Entity>` XML (the element SolutionPackager writes to Entities/<Table>/Entity.xml and merges into
 * customizations.xml), plus forms, views and one-to-many relationships.
 */
import type { ColumnDef, ColumnType, FormDef, RelationshipDef, TableDef, ViewDef } from "../model";
import {
  attr,
  bool01,
  bracedGuid,
  child,
  children,
  el,
  firstLabel,
  int,
  label,
  normalizeGuid,
  raw,
  SolutionFormatError,
  text,
  textEl,
  type XmlElement,
  type XNode,
} from "../xml";

/** System tables the solution only extends: their schema names and ids (the solution never redefines them). */
export const SYSTEM_TABLES: Record<string, { schemaName: string; entitySetName: string; primaryId: string; primaryName: string; displayName: string; displayCollectionName: string }> = {
  account: { schemaName: "Account", entitySetName: "accounts", primaryId: "accountid", primaryName: "name", displayName: "Account", displayCollectionName: "Accounts" },
  contact: { schemaName: "Contact", entitySetName: "contacts", primaryId: "contactid", primaryName: "fullname", displayName: "Contact", displayCollectionName: "Contacts" },
};

const TYPE_TO_XML: Record<ColumnType, string> = {
  primarykey: "primarykey",
  string: "nvarchar",
  memo: "ntext",
  integer: "int",
  bigint: "bigint",
  decimal: "decimal",
  double: "float",
  money: "money",
  boolean: "bit",
  datetime: "datetime",
  picklist: "picklist",
  state: "state",
  status: "status",
  lookup: "lookup",
  owner: "owner",
  uniqueidentifier: "uniqueidentifier",
};
const XML_TO_TYPE: Record<string, ColumnType> = {
  ...Object.fromEntries(Object.entries(TYPE_TO_XML).map(([k, v]) => [v, k as ColumnType])),
  // Other types real exports carry, read as the nearest model type.
  varchar: "string",
  nchar: "string",
  char: "string",
  text: "memo",
  smallint: "integer",
  tinyint: "integer",
  timezone: "integer",
  real: "double",
  numeric: "decimal",
  smallmoney: "money",
  smalldatetime: "datetime",
  customer: "lookup",
};
/** Column types the model has no place for (computed or file columns); skipped when reading real exports. */
const SKIPPED_XML_TYPES = new Set(["virtual", "partylist", "image", "binary", "varbinary", "timestamp", "sql_variant", "managedproperty", "HierarchyId", "phoneticguide", "multiselectpicklist"]);

const REQUIRED_TO_XML = { none: "none", recommended: "recommended", required: "required" } as const;

/**
 * Exports write the platform-managed columns (primary key, status, owner) as `systemrequired` and a maker's
 * "business required" as `required` (coe-starter-kit: Entities/admin_ConnectionReferenceIdentity/Entity.xml).
 */
function requiredLevelXml(col: ColumnDef): string {
  const platformManaged = col.type === "primarykey" || col.type === "state" || col.type === "owner";
  return platformManaged && col.requiredLevel === "required" ? "systemrequired" : REQUIRED_TO_XML[col.requiredLevel];
}

function localized(container: string, item: string, description: string): XmlElement {
  return el(container, null, el(item, { description, languagecode: 1033 }));
}

function columnDisplayMask(col: ColumnDef, table: TableDef): string {
  if (col.logicalName === table.primaryNameAttribute) return "PrimaryName|ValidForAdvancedFind|ValidForForm|ValidForGrid|RequiredForForm";
  if (col.type === "primarykey") return "ValidForAdvancedFind|RequiredForGrid";
  return "ValidForAdvancedFind|ValidForForm|ValidForGrid";
}

function boolOptionSet(col: ColumnDef, version: string): XmlElement {
  return el(
    "optionset",
    { Name: `${col.logicalName}` },
    textEl("OptionSetType", "bit"),
    textEl("IntroducedVersion", version),
    textEl("IsCustomizable", 1),
    localized("displaynames", "displayname", col.displayName),
    el(
      "options",
      null,
      el("option", { value: 0 }, el("labels", null, label("No"))),
      el("option", { value: 1 }, el("labels", null, label("Yes"))),
    ),
  );
}

function picklistOptionSet(col: ColumnDef, tableName: string, version: string): XmlElement {
  const options = col.options ?? [];
  const picklist = col.type !== "state" && col.type !== "status";
  const list =
    col.type === "state"
      ? el(
          "states",
          null,
          options.map((o) =>
            el("state", { value: o.value, defaultstatus: o.value + 1, invariantname: o.label.replace(/\s+/g, "") }, el("labels", null, label(o.label))),
          ),
        )
      : col.type === "status"
        ? el(
            "statuses",
            null,
            // Status reason n belongs to state n-1 (1 Active → state 0, 2 Inactive → state 1).
            options.map((o) => el("status", { value: o.value, state: o.value - 1 }, el("labels", null, label(o.label)))),
          )
        : el(
            "options",
            null,
            options.map((o) => el("option", { value: o.value }, el("labels", null, label(o.label)))),
          );
  // State and status option sets carry neither IsGlobal nor a description (the order of elements is the solution schema's).
  return el(
    "optionset",
    { Name: `${tableName}_${col.logicalName}` },
    textEl("OptionSetType", picklist ? "picklist" : col.type),
    picklist ? textEl("IsGlobal", 0) : undefined,
    textEl("IntroducedVersion", version),
    textEl("IsCustomizable", 1),
    localized("displaynames", "displayname", col.displayName),
    picklist && col.description ? localized("Descriptions", "Description", col.description) : undefined,
    list,
  );
}

function columnXml(col: ColumnDef, table: TableDef, version: string): XmlElement {
  const type = TYPE_TO_XML[col.type];
  let format: string | undefined;
  if (col.type === "string") format = col.logicalName.endsWith("email") ? "email" : col.logicalName.endsWith("url") ? "url" : "text";
  if (col.type === "memo") format = "TextArea";
  if (col.type === "datetime") format = col.dateFormat === "dateonly" ? "date" : "datetime";
  if (col.type === "integer") format = "None";
  const isSystem = !table.isCustomEntity;
  const defaultInt =
    col.type === "boolean" && col.defaultValue !== undefined
      ? col.defaultValue === true || col.defaultValue === 1 || col.defaultValue === "1" || col.defaultValue === "true"
        ? 1
        : 0
      : col.type === "picklist" && typeof col.defaultValue === "number"
        ? col.defaultValue
        : undefined;
  return el(
    "attribute",
    { PhysicalName: col.logicalName },
    textEl("Type", type),
    textEl("Name", col.logicalName),
    textEl("LogicalName", col.logicalName),
    textEl("RequiredLevel", requiredLevelXml(col)),
    textEl("DisplayMask", columnDisplayMask(col, table)),
    textEl("ImeMode", "auto"),
    textEl("ValidForUpdateApi", col.type === "primarykey" ? 0 : 1),
    textEl("ValidForReadApi", 1),
    textEl("ValidForCreateApi", 1),
    textEl("IsCustomField", col.isCustomField ?? (isSystem || col.logicalName.startsWith("w365_") ? 1 : 0)),
    // Secured columns hold secrets (refresh token, API secret, access token): auditing would keep every old
    // value in the audit log, readable by auditors without the field security profile.
    textEl("IsAuditEnabled", col.secured ? 0 : 1),
    textEl("IsSecured", col.secured ? 1 : 0),
    textEl("IntroducedVersion", version),
    textEl("IsCustomizable", 1),
    textEl("IsRenameable", 1),
    textEl("CanModifySearchSettings", 1),
    textEl("CanModifyRequirementLevelSettings", 1),
    textEl("CanModifyAdditionalSettings", 1),
    textEl("SourceType", 0),
    col.type === "datetime" ? textEl("Behavior", col.dateFormat === "dateonly" ? 2 : 1) : undefined,
    col.type === "datetime" ? textEl("CanChangeDateTimeBehavior", 1) : undefined,
    textEl("Format", format),
    col.type === "string" || col.type === "memo" ? textEl("MaxLength", col.maxLength ?? (col.type === "memo" ? 2000 : 100)) : undefined,
    col.type === "integer" || col.type === "bigint" || col.type === "decimal" || col.type === "double" || col.type === "money"
      ? textEl("MinValue", col.minValue ?? (col.type === "integer" ? -2147483648 : col.type === "money" ? -922337203685477 : -100000000000))
      : undefined,
    col.type === "integer" || col.type === "bigint" || col.type === "decimal" || col.type === "double" || col.type === "money"
      ? textEl("MaxValue", col.maxValue ?? (col.type === "integer" ? 2147483647 : col.type === "money" ? 922337203685477 : 100000000000))
      : undefined,
    col.type === "decimal" || col.type === "double" || col.type === "money" ? textEl("Accuracy", col.precision ?? 2) : undefined,
    col.type === "money" ? textEl("AccuracySource", 2) : undefined,
    col.type === "lookup" ? textEl("LookupStyle", "single") : undefined,
    // Exports leave LookupTypes empty: the target comes from the relationship (Other/Relationships/<Table>.xml).
    col.type === "lookup" ? el("LookupTypes") : undefined,
    col.type === "boolean" ? boolOptionSet(col, version) : undefined,
    col.type === "picklist" || col.type === "state" || col.type === "status" ? picklistOptionSet(col, table.logicalName, version) : undefined,
    textEl("AppDefaultValue", defaultInt),
    localized("displaynames", "displayname", col.displayName),
    col.description ? localized("Descriptions", "Description", col.description) : undefined,
  );
}

/** `<Entity>` element for a table; forms/views included only for the packed (customizations.xml) form. */
/** What an export writes for a table without command bar changes. */
export const EMPTY_RIBBON_DIFF =
  '<RibbonDiffXml><CustomActions /><Templates><RibbonTemplates Id="Mscrm.Templates" /></Templates><CommandDefinitions /><RuleDefinitions><TabDisplayRules /><DisplayRules /><EnableRules /></RuleDefinitions><LocLabels /></RibbonDiffXml>';

/** Raw ribbon XML without declaration and namespace noise, for storage in the model. */
export function normalizeRibbon(xml: string): string | undefined {
  const body = xml.replace(/^\uFEFF/, "").replace(/<\?xml[^>]*\?>\s*/, "").replace(/\s+xmlns:xsi="[^"]*"/, "").trim();
  const compact = body.replace(/>\s+</g, "><");
  return compact === EMPTY_RIBBON_DIFF ? undefined : body;
}

export function tableToEntityXml(table: TableDef, version: string, opts: { includeFormsAndViews: boolean; includeRibbon?: boolean }): XmlElement {
  const sys = SYSTEM_TABLES[table.logicalName];
  const schemaName = table.isCustomEntity ? table.logicalName : (sys?.schemaName ?? table.logicalName);
  const attributes = el("attributes", null, table.columns.map((c) => columnXml(c, table, version)));
  const keys =
    table.keys.length > 0
      ? el(
          "EntityKeys",
          null,
          table.keys.map((k) =>
            el(
              "EntityKey",
              null,
              textEl("Name", k.logicalName),
              textEl("LogicalName", k.logicalName),
              textEl("IntroducedVersion", version),
              textEl("IsCustomizable", 1),
              localized("displaynames", "displayname", k.displayName),
              el("EntityKeyAttributes", null, k.columns.map((c) => el("AttributeName", null, c))),
            ),
          ),
        )
      : undefined;
  const entityInfo = table.isCustomEntity
    ? el(
        "entity",
        { Name: schemaName },
        localized("LocalizedNames", "LocalizedName", table.displayName),
        localized("LocalizedCollectionNames", "LocalizedCollectionName", table.displayCollectionName),
        table.description ? localized("Descriptions", "Description", table.description) : undefined,
        attributes,
        keys,
        textEl("EntitySetName", table.entitySetName),
        textEl("IsDuplicateCheckSupported", 0),
        textEl("IsBusinessProcessEnabled", 0),
        textEl("IsRequiredOffline", 0),
        textEl("IsInteractionCentricEnabled", 0),
        textEl("IsCollaboration", 0),
        textEl("AutoRouteToOwnerQueue", 0),
        textEl("IsConnectionsEnabled", 0),
        textEl("IsDocumentManagementEnabled", 0),
        textEl("AutoCreateAccessTeams", 0),
        textEl("IsOneNoteIntegrationEnabled", 0),
        textEl("IsKnowledgeManagementEnabled", 0),
        textEl("IsSLAEnabled", 0),
        textEl("IsDocumentRecommendationsEnabled", 0),
        textEl("IsBPFEntity", 0),
        textEl("OwnershipTypeMask", table.ownership === "UserOwned" ? "UserOwned" : "OrgOwned"),
        textEl("IsAuditEnabled", 1),
        textEl("IsActivity", 0),
        textEl("ActivityTypeMask", ""),
        textEl("IsActivityParty", 0),
        textEl("IsReplicated", 0),
        textEl("IsReplicationUserFiltered", 0),
        textEl("IsMailMergeEnabled", 0),
        textEl("IsVisibleInMobile", 0),
        textEl("IsVisibleInMobileClient", 1),
        textEl("IsReadOnlyInMobileClient", 0),
        textEl("IsOfflineInMobileClient", 0),
        textEl("DaysSinceRecordLastModified", 0),
        textEl("MobileOfflineFilters", ""),
        textEl("IsMapiGridEnabled", 1),
        textEl("IsReadingPaneEnabled", 1),
        textEl("IsQuickCreateEnabled", 0),
        textEl("SyncToExternalSearchIndex", 0),
        textEl("IntroducedVersion", version),
        textEl("IsCustomizable", 1),
        textEl("IsRenameable", 1),
        textEl("IsMappable", 1),
        textEl("CanModifyAuditSettings", 1),
        textEl("CanModifyMobileVisibility", 1),
        textEl("CanModifyMobileClientVisibility", 1),
        textEl("CanModifyMobileClientReadOnly", 1),
        textEl("CanModifyMobileClientOffline", 1),
        textEl("CanModifyConnectionSettings", 1),
        textEl("CanModifyDuplicateDetectionSettings", 1),
        textEl("CanModifyMailMergeSettings", 1),
        textEl("CanModifyQueueSettings", 1),
        textEl("CanCreateAttributes", 1),
        textEl("CanCreateForms", 1),
        textEl("CanCreateCharts", 1),
        textEl("CanCreateViews", 1),
        textEl("CanModifyAdditionalSettings", 1),
        textEl("CanEnableSyncToExternalSearchIndex", 1),
        textEl("EnforceStateTransitions", 0),
        textEl("CanChangeHierarchicalRelationship", 1),
        // Change tracking lets the sync read deltas instead of whole tables.
        textEl("ChangeTrackingEnabled", 1),
        textEl("CanChangeTrackingBeEnabled", 1),
      )
    : // No unmodified="1": import skips an entity marked unmodified, columns included.
      el("entity", { Name: schemaName }, attributes, keys, textEl("EntitySetName", table.entitySetName));
  return el(
    "Entity",
    null,
    el("Name", { LocalizedName: table.displayName, OriginalName: table.displayName }, schemaName),
    el("EntityInfo", null, entityInfo),
    opts.includeFormsAndViews && table.forms.length > 0 ? el("FormXml", null, formsByType(table.forms)) : undefined,
    opts.includeFormsAndViews && table.views.length > 0 ? el("SavedQueries", null, el("savedqueries", null, table.views.map((v) => viewXml(v, version)))) : undefined,
    table.isCustomEntity && opts.includeRibbon !== false ? raw(table.ribbonDiffXml ?? EMPTY_RIBBON_DIFF) : undefined,
  );
}

function formsByType(forms: FormDef[]): XmlElement[] {
  const types = [...new Set(forms.map((f) => f.type))].sort();
  return types.map((t) => el("forms", { type: t }, forms.filter((f) => f.type === t).map((f) => systemFormXml(f))));
}

export function systemFormXml(form: FormDef, version = "1.0.0.0"): XmlElement {
  return el(
    "systemform",
    null,
    textEl("formid", bracedGuid(form.id)),
    textEl("IntroducedVersion", version),
    textEl("FormPresentation", 1),
    textEl("FormActivationState", 1),
    raw(form.formXml),
    textEl("IsCustomizable", 1),
    textEl("CanBeDeleted", 1),
    localized("LocalizedNames", "LocalizedName", form.name),
  );
}

export function viewXml(view: ViewDef, version: string): XmlElement {
  const queryType = view.queryType ?? 0;
  return el(
    "savedquery",
    null,
    textEl("IsCustomizable", 1),
    textEl("CanBeDeleted", queryType === 0 ? 1 : 0),
    textEl("isquickfindquery", queryType === 4 ? 1 : 0),
    textEl("isprivate", 0),
    textEl("isdefault", view.isDefault ? 1 : 0),
    textEl("savedqueryid", bracedGuid(view.id)),
    el("layoutxml", null, raw(view.layoutXml)),
    textEl("querytype", queryType),
    el("fetchxml", null, raw(view.fetchXml)),
    textEl("IntroducedVersion", version),
    localized("LocalizedNames", "LocalizedName", view.name),
    view.description ? localized("Descriptions", "Description", view.description) : undefined,
  );
}

/** The navigation properties a one-to-many relationship gives the Web API. */
export function relationshipNavigationProperties(rel: RelationshipDef): { referencing: string; referenced: string } {
  return { referencing: rel.referencingAttribute, referenced: rel.name };
}

export function relationshipXml(rel: RelationshipDef, version: string): XmlElement {
  const refSchema = SYSTEM_TABLES[rel.referencedEntity]?.schemaName ?? rel.referencedEntity;
  return el(
    "EntityRelationship",
    { Name: rel.name },
    textEl("EntityRelationshipType", "OneToMany"),
    textEl("IsCustomizable", 1),
    textEl("IntroducedVersion", version),
    textEl("IsHierarchical", 0),
    textEl("ReferencingEntityName", rel.referencingEntity),
    textEl("ReferencedEntityName", refSchema),
    textEl("CascadeAssign", "NoCascade"),
    textEl("CascadeDelete", rel.cascadeDelete),
    textEl("CascadeArchive", "NoCascade"),
    textEl("CascadeReparent", "NoCascade"),
    textEl("CascadeShare", "NoCascade"),
    textEl("CascadeUnshare", "NoCascade"),
    textEl("CascadeRollupView", "NoCascade"),
    textEl("IsValidForAdvancedFind", 1),
    textEl("ReferencingAttributeName", rel.referencingAttribute),
    el("RelationshipDescription", null, localized("Descriptions", "Description", `${rel.referencingEntity}.${rel.referencingAttribute} → ${rel.referencedEntity}`)),
    // Role 1 (the referencing side) names the single-valued navigation property the Web API binds through
    // (`w365_connection@odata.bind`); role 0 the collection-valued one, named after the relationship.
    el(
      "EntityRelationshipRoles",
      null,
      el(
        "EntityRelationshipRole",
        null,
        textEl("NavPaneDisplayOption", "UseCollectionName"),
        textEl("NavPaneArea", "Details"),
        textEl("NavPaneOrder", 10000),
        textEl("NavigationPropertyName", relationshipNavigationProperties(rel).referencing),
        textEl("RelationshipRoleType", 1),
      ),
      el("EntityRelationshipRole", null, textEl("NavigationPropertyName", relationshipNavigationProperties(rel).referenced), textEl("RelationshipRoleType", 0)),
    ),
  );
}

// ---------------------------------------------------------------- reading

function parseColumn(node: XNode, where: string): ColumnDef {
  const logicalName = (text(node, "LogicalName") ?? attr(node, "PhysicalName") ?? "").toLowerCase();
  const xmlType = text(node, "Type") ?? "";
  const type = XML_TO_TYPE[xmlType];
  if (!type) throw new SolutionFormatError(`${where}: column ${logicalName} has unsupported Type "${xmlType}"`);
  const required = (text(node, "RequiredLevel") ?? "none").toLowerCase();
  const col: ColumnDef = {
    logicalName,
    displayName: firstLabel(child(node, "displaynames"), "displayname") ?? logicalName,
    type,
    requiredLevel: required === "recommended" ? "recommended" : required === "required" || required === "systemrequired" || required === "applicationrequired" ? "required" : "none",
  };
  const description = firstLabel(child(node, "Descriptions"), "Description");
  if (description) col.description = description;
  if (type === "string" || type === "memo") col.maxLength = int(text(node, "MaxLength"));
  if (type === "integer" || type === "bigint" || type === "decimal" || type === "double" || type === "money") {
    col.minValue = int(text(node, "MinValue"));
    col.maxValue = int(text(node, "MaxValue"));
  }
  if (type === "decimal" || type === "double" || type === "money") col.precision = int(text(node, "Accuracy"));
  if (type === "datetime") col.dateFormat = (text(node, "Format") ?? "").toLowerCase() === "date" ? "dateonly" : "datetime";
  // Older exports list targets here; current ones leave it empty and the relationship names the target.
  if (type === "lookup") col.targets = children(child(node, "LookupTypes"), "LookupType").map((t) => attr(t, "id") ?? "").filter(Boolean);
  const os = child(node, "optionset");
  if (type === "picklist") col.options = children(child(os, "options"), "option").map((o) => ({ value: Number(attr(o, "value")), label: firstLabel(child(o, "labels"), "label") ?? "" }));
  if (type === "state") col.options = children(child(os, "states"), "state").map((o) => ({ value: Number(attr(o, "value")), label: firstLabel(child(o, "labels"), "label") ?? "" }));
  if (type === "status") col.options = children(child(os, "statuses"), "status").map((o) => ({ value: Number(attr(o, "value")), label: firstLabel(child(o, "labels"), "label") ?? "" }));
  const def = int(text(node, "AppDefaultValue"));
  if (def !== undefined && type === "boolean") col.defaultValue = def === 1;
  if (def !== undefined && type === "picklist") col.defaultValue = def;
  if (bool01(text(node, "IsSecured"))) col.secured = true;
  const custom = text(node, "IsCustomField");
  if (custom !== undefined) col.isCustomField = bool01(custom);
  // Drop undefined keys so models compare equal after a round trip.
  for (const k of Object.keys(col) as (keyof ColumnDef)[]) if (col[k] === undefined) delete col[k];
  return col;
}

export function parseForm(systemform: XNode | string, type: FormDef["type"], where: string): FormDef {
  // systemform is a stop node: its inner XML is raw text.
  const inner = typeof systemform === "string" ? systemform : String(systemform["#text"] ?? "");
  const formId = /<formid>\s*\{?([0-9a-fA-F-]{36})\}?\s*<\/formid>/.exec(inner)?.[1];
  const formXml = /<form(\s[^>]*)?>[\s\S]*<\/form>|<form(\s[^>]*)?\/>/.exec(inner)?.[0];
  const name = /<LocalizedName\s[^>]*description="([^"]*)"/.exec(inner)?.[1];
  if (!formId || !formXml) throw new SolutionFormatError(`${where}: systemform without formid or form`);
  return { id: normalizeGuid(formId), name: name ? unescapeAttr(name) : "Information", type, formXml };
}

function unescapeAttr(v: string): string {
  return v.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#10;/g, "\n").replace(/&amp;/g, "&");
}

export function parseView(node: XNode, where: string): ViewDef {
  const id = text(node, "savedqueryid");
  if (!id) throw new SolutionFormatError(`${where}: savedquery without savedqueryid`);
  const fetchXml = (text(child(node, "fetchxml")) ?? "").trim();
  const layoutXml = (text(child(node, "layoutxml")) ?? "").trim();
  const view: ViewDef = {
    id: normalizeGuid(id),
    name: firstLabel(child(node, "LocalizedNames"), "LocalizedName") ?? "",
    isDefault: bool01(text(node, "isdefault")),
    fetchXml,
    layoutXml,
  };
  const qt = int(text(node, "querytype"));
  if (qt !== undefined && qt !== 0) view.queryType = qt;
  const description = firstLabel(child(node, "Descriptions"), "Description");
  if (description) view.description = description;
  return view;
}

/** Parse an `<Entity>` element (forms/views inside it, if any, are included). */
export function parseEntityXml(entity: XNode, where: string): TableDef {
  const nameNode = child(entity, "Name");
  const schemaName = text(nameNode) ?? "";
  const info = child(child(entity, "EntityInfo"), "entity");
  if (!schemaName || !info) throw new SolutionFormatError(`${where}: <Entity> needs <Name> and <EntityInfo><entity>`);
  const logicalName = schemaName.toLowerCase();
  const sys = SYSTEM_TABLES[logicalName];
  const unmodified = attr(info, "unmodified") === "1";
  const isCustomEntity = !sys && !unmodified;
  const columns = children(child(info, "attributes"), "attribute")
    .filter((a) => !SKIPPED_XML_TYPES.has(text(a, "Type") ?? ""))
    .map((a) => parseColumn(a, `${where} ${logicalName}`));
  const pk = columns.find((c) => c.type === "primarykey")?.logicalName;
  const primaryNameNode = children(child(info, "attributes"), "attribute").find((a) => (text(a, "DisplayMask") ?? "").includes("PrimaryName"));
  const table: TableDef = {
    logicalName,
    entitySetName: text(info, "EntitySetName") ?? sys?.entitySetName ?? `${logicalName}s`,
    displayName: firstLabel(child(info, "LocalizedNames"), "LocalizedName") ?? sys?.displayName ?? attr(nameNode, "LocalizedName") ?? schemaName,
    displayCollectionName: firstLabel(child(info, "LocalizedCollectionNames"), "LocalizedCollectionName") ?? sys?.displayCollectionName ?? `${schemaName}s`,
    primaryIdAttribute: pk ?? sys?.primaryId ?? `${logicalName}id`,
    primaryNameAttribute: (text(primaryNameNode, "LogicalName") ?? sys?.primaryName ?? "").toLowerCase(),
    ownership: (text(info, "OwnershipTypeMask") ?? "UserOwned") === "OrgOwned" ? "OrganizationOwned" : "UserOwned",
    isCustomEntity,
    columns,
    keys: children(child(info, "EntityKeys"), "EntityKey").map((k) => ({
      logicalName: (text(k, "LogicalName") ?? text(k, "Name") ?? "").toLowerCase(),
      displayName: firstLabel(child(k, "displaynames"), "displayname") ?? text(k, "Name") ?? "",
      columns: children(child(k, "EntityKeyAttributes"), "AttributeName").map((n) => (text(n) ?? "").toLowerCase()),
    })),
    forms: [],
    views: [],
  };
  if (unmodified) table.unmodified = true;
  const description = firstLabel(child(info, "Descriptions"), "Description");
  if (description) table.description = description;
  for (const forms of children(child(entity, "FormXml"), "forms")) {
    const type = (attr(forms, "type") ?? "main") as FormDef["type"];
    for (const sf of asRawList(forms["systemform"])) table.forms.push(parseForm(sf, type, `${where} ${logicalName}`));
  }
  for (const sq of children(child(child(entity, "SavedQueries"), "savedqueries"), "savedquery")) table.views.push(parseView(sq, `${where} ${logicalName}`));
  const ribbon = entity["RibbonDiffXml"];
  if (ribbon !== undefined) {
    const inner = typeof ribbon === "string" ? ribbon : String((ribbon as XNode)["#text"] ?? "");
    const r = normalizeRibbon(`<RibbonDiffXml>${inner}</RibbonDiffXml>`);
    if (r) table.ribbonDiffXml = r;
  }
  return table;
}

/** Stop-node content arrives as a string, or an object with #text when the element had attributes. */
export function asRawList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (typeof x === "string" ? x : String((x as XNode)["#text"] ?? "")));
}

export function parseRelationship(node: XNode): RelationshipDef {
  const cascade = text(node, "CascadeDelete") ?? "RemoveLink";
  return {
    name: attr(node, "Name") ?? "",
    referencedEntity: (text(node, "ReferencedEntityName") ?? "").toLowerCase(),
    referencingEntity: (text(node, "ReferencingEntityName") ?? "").toLowerCase(),
    referencingAttribute: (text(node, "ReferencingAttributeName") ?? "").toLowerCase(),
    cascadeDelete: cascade === "Cascade" || cascade === "Restrict" ? cascade : "RemoveLink",
  };
}
