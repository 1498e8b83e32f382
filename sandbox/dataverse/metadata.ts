/**
 * Metadata endpoints (docs/platform/dataverse.md 1.1, 1.9): the service document, a CSDL `$metadata`
 * document (entity types, keys, properties, navigation properties, entity sets, custom API actions),
 * and `EntityDefinitions` with `/Attributes` and `/Keys`.
 */
import type { ColumnDef, CustomApiDef } from "../../src/solution/model";
import { attributeTypeName, edmType, isLookup, type TableMeta } from "./schema";
import { deterministicGuid } from "./store";

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const API_EDM: Record<string, string> = {
  Boolean: "Edm.Boolean",
  DateTime: "Edm.DateTimeOffset",
  Decimal: "Edm.Decimal",
  Float: "Edm.Double",
  Integer: "Edm.Int32",
  Money: "Edm.Decimal",
  Picklist: "Edm.Int32",
  String: "Edm.String",
  StringArray: "Collection(Edm.String)",
  Guid: "Edm.Guid",
  EntityReference: "mscrm.crmbaseentity",
  Entity: "mscrm.crmbaseentity",
  EntityCollection: "Collection(mscrm.crmbaseentity)",
};

export function serviceDocument(base: string, tables: TableMeta[]): Record<string, unknown> {
  return {
    "@odata.context": `${base}$metadata`,
    value: tables.map((t) => ({ name: t.entitySet, kind: "EntitySet", url: t.entitySet })),
  };
}

export function csdl(tables: TableMeta[], apis: CustomApiDef[]): string {
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="utf-8"?>');
  out.push('<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">');
  out.push("<edmx:DataServices>");
  out.push('<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">');
  out.push('<EntityType Name="crmbaseentity" Abstract="true"/>');
  for (const t of tables) {
    out.push(`<EntityType Name="${t.logicalName}" BaseType="mscrm.crmbaseentity">`);
    out.push(`<Key><PropertyRef Name="${t.primaryId}"/></Key>`);
    for (const c of t.def.columns) {
      if (isLookup(c)) {
        out.push(`<Property Name="_${c.logicalName}_value" Type="Edm.Guid"/>`);
        continue;
      }
      const maxLen = c.maxLength && (c.type === "string" || c.type === "memo") ? ` MaxLength="${c.maxLength}"` : "";
      out.push(`<Property Name="${c.logicalName}" Type="${edmType(c)}"${maxLen}${c.type === "primarykey" ? ' Nullable="false"' : ""}/>`);
    }
    for (const c of t.def.columns) {
      if (!isLookup(c)) continue;
      const target = c.targets && c.targets.length === 1 ? `mscrm.${c.targets[0]}` : "mscrm.crmbaseentity";
      out.push(`<NavigationProperty Name="${c.logicalName}" Type="${target}">`);
      out.push(
        `<ReferentialConstraint Property="_${c.logicalName}_value" ReferencedProperty="${c.targets?.length === 1 ? `${c.targets[0]}id` : "id"}"/>`,
      );
      out.push("</NavigationProperty>");
    }
    for (const rel of t.referencedBy) {
      out.push(
        `<NavigationProperty Name="${rel.name}" Type="Collection(mscrm.${rel.referencingEntity})" Partner="${rel.referencingAttribute}"/>`,
      );
    }
    out.push("</EntityType>");
  }
  out.push(
    '<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/><Property Name="UserId" Type="Edm.Guid" Nullable="false"/><Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType>',
  );
  out.push('<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>');
  for (const api of apis) {
    if (api.responseProperties.length > 0) {
      out.push(`<ComplexType Name="${api.uniqueName}Response">`);
      for (const p of api.responseProperties) out.push(`<Property Name="${p.uniqueName}" Type="${API_EDM[p.type] ?? "Edm.String"}"/>`);
      out.push("</ComplexType>");
    }
    const kind = api.isFunction ? "Function" : "Action";
    const bound = api.bindingType !== 0;
    out.push(`<${kind} Name="${api.uniqueName}"${bound ? ' IsBound="true"' : ""}>`);
    if (api.bindingType === 1) out.push(`<Parameter Name="entity" Type="mscrm.${api.boundEntityLogicalName}" Nullable="false"/>`);
    if (api.bindingType === 2)
      out.push(`<Parameter Name="entityset" Type="Collection(mscrm.${api.boundEntityLogicalName})" Nullable="false"/>`);
    for (const p of api.requestParameters) {
      out.push(
        `<Parameter Name="${p.uniqueName}" Type="${API_EDM[p.type] ?? "Edm.String"}" Nullable="${p.isOptional ? "true" : "false"}"/>`,
      );
    }
    if (api.responseProperties.length > 0) out.push(`<ReturnType Type="mscrm.${api.uniqueName}Response" Nullable="false"/>`);
    out.push(`</${kind}>`);
  }
  out.push('<EntityContainer Name="System">');
  for (const t of tables) out.push(`<EntitySet Name="${t.entitySet}" EntityType="mscrm.${t.logicalName}"/>`);
  out.push('<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/>');
  for (const api of apis) {
    if (api.bindingType !== 0) continue;
    out.push(
      api.isFunction
        ? `<FunctionImport Name="${api.uniqueName}" Function="mscrm.${api.uniqueName}"/>`
        : `<ActionImport Name="${api.uniqueName}" Action="mscrm.${api.uniqueName}"/>`,
    );
  }
  out.push("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>");
  return out.join("\n").replace(/Name="([^"]*)"/g, (_, n: string) => `Name="${xmlEscape(n)}"`);
}

const label = (text: string) => ({
  LocalizedLabels: [{ Label: text, LanguageCode: 1033, IsManaged: false }],
  UserLocalizedLabel: { Label: text, LanguageCode: 1033, IsManaged: false },
});

export function entityDefinition(t: TableMeta): Record<string, unknown> {
  return {
    MetadataId: t.metadataId,
    LogicalName: t.logicalName,
    SchemaName: t.logicalName,
    EntitySetName: t.entitySet,
    LogicalCollectionName: t.entitySet,
    CollectionSchemaName: t.entitySet,
    PrimaryIdAttribute: t.primaryId,
    PrimaryNameAttribute: t.primaryName,
    ObjectTypeCode: t.objectTypeCode,
    OwnershipType: t.def.ownership === "UserOwned" ? "UserOwned" : "OrganizationOwned",
    IsCustomEntity: t.def.isCustomEntity,
    IsActivity: false,
    IsOptimisticConcurrencyEnabled: true,
    ChangeTrackingEnabled: false,
    DisplayName: label(t.def.displayName),
    DisplayCollectionName: label(t.def.displayCollectionName),
    Description: label(t.def.description ?? ""),
  };
}

export function attributeDefinition(t: TableMeta, c: ColumnDef): Record<string, unknown> {
  const type = attributeTypeName(c);
  const out: Record<string, unknown> = {
    "@odata.type": `#Microsoft.Dynamics.CRM.${type === "Uniqueidentifier" ? "" : type}AttributeMetadata`.replace(
      "#Microsoft.Dynamics.CRM.AttributeMetadata",
      "#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata",
    ),
    MetadataId: deterministicGuid(`attr:${t.logicalName}.${c.logicalName}`),
    LogicalName: c.logicalName,
    SchemaName: c.logicalName,
    EntityLogicalName: t.logicalName,
    AttributeType: type,
    AttributeTypeName: { Value: `${type}Type` },
    IsCustomAttribute: c.isCustomField ?? t.def.isCustomEntity,
    IsPrimaryId: c.type === "primarykey",
    IsPrimaryName: c.logicalName === t.primaryName,
    IsSecured: c.secured ?? false,
    IsValidForCreate: !["createdon", "modifiedon", "versionnumber", "createdby", "modifiedby"].includes(c.logicalName),
    IsValidForUpdate:
      c.type !== "primarykey" && !["createdon", "modifiedon", "versionnumber", "createdby", "modifiedby"].includes(c.logicalName),
    RequiredLevel: {
      Value: c.requiredLevel === "required" ? "ApplicationRequired" : c.requiredLevel === "recommended" ? "Recommended" : "None",
    },
    DisplayName: label(c.displayName),
    Description: label(c.description ?? ""),
  };
  if (c.maxLength !== undefined) out.MaxLength = c.maxLength;
  if (c.minValue !== undefined) out.MinValue = c.minValue;
  if (c.maxValue !== undefined) out.MaxValue = c.maxValue;
  if (c.precision !== undefined) out.Precision = c.precision;
  if (c.targets) out.Targets = c.targets;
  if (c.dateFormat) out.Format = c.dateFormat === "dateonly" ? "DateOnly" : "DateAndTime";
  if (c.options) out.OptionSet = { Options: c.options.map((o) => ({ Value: o.value, Label: label(o.label) })) };
  return out;
}

export function keyDefinitions(t: TableMeta): Record<string, unknown>[] {
  return t.keys.map((k) => ({
    MetadataId: deterministicGuid(`key:${t.logicalName}.${k.logicalName}`),
    LogicalName: k.logicalName,
    SchemaName: k.logicalName,
    EntityLogicalName: t.logicalName,
    KeyAttributes: k.columns,
    EntityKeyIndexStatus: "Active",
    DisplayName: label(k.displayName),
  }));
}

/** Applies `$select` to a metadata object (MetadataId is always returned, as Dataverse does). */
export function selectProps(obj: Record<string, unknown>, select: string[] | undefined): Record<string, unknown> {
  if (!select) return obj;
  const out: Record<string, unknown> = {};
  if (obj["@odata.type"]) out["@odata.type"] = obj["@odata.type"];
  for (const k of select) if (k in obj) out[k] = obj[k];
  out.MetadataId = obj.MetadataId;
  return out;
}
