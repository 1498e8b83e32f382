/**
 * The in-memory model of a Dataverse solution: what the packer writes from `solution/`, what
 * `readSolution` parses back out of a zip, and what the Dataverse emulator imports through the
 * ImportSolution action. One model for both directions keeps pack and import honest with each other.
 * Values use Dataverse's own vocabularies (attribute types, custom API type codes, step modes).
 */

export type ColumnType =
  | "primarykey" // uniqueidentifier primary id
  | "string"
  | "memo"
  | "integer"
  | "bigint"
  | "decimal"
  | "double"
  | "money"
  | "boolean"
  | "datetime"
  | "picklist" // choice
  | "state"
  | "status"
  | "lookup"
  | "owner"
  | "uniqueidentifier";

export interface ChoiceOption {
  value: number;
  label: string;
}

export interface ColumnDef {
  logicalName: string;
  displayName: string;
  type: ColumnType;
  description?: string;
  /** "none" | "recommended" | "required" (Dataverse RequiredLevel: None, Recommended, ApplicationRequired/SystemRequired). */
  requiredLevel: "none" | "recommended" | "required";
  maxLength?: number; // string, memo
  minValue?: number; // numbers
  maxValue?: number;
  precision?: number; // decimal, money, double
  /** datetime: "dateonly" | "datetime" */
  dateFormat?: "dateonly" | "datetime";
  /** lookup: target table logical names (one for a simple lookup). */
  targets?: string[];
  /** picklist/state/status: the options. */
  options?: ChoiceOption[];
  defaultValue?: string | number | boolean;
  /** Column-level security (field security profile decides who reads it). */
  secured?: boolean;
  /** true for columns this solution adds to a table it does not own (e.g. account). */
  isCustomField?: boolean;
}

export interface AlternateKeyDef {
  logicalName: string; // e.g. w365_connection_ioncustomerid
  displayName: string;
  columns: string[];
}

export interface RelationshipDef {
  /** Schema name, e.g. w365_providerconnection_w365_provideraccount_connection */
  name: string;
  referencedEntity: string; // the "one" side
  referencingEntity: string; // the "many" side holding the lookup
  referencingAttribute: string; // the lookup column
  /** Cascade on delete of the referenced row: "Cascade" | "RemoveLink" | "Restrict" */
  cascadeDelete: "Cascade" | "RemoveLink" | "Restrict";
}

export interface FormDef {
  id: string; // GUID
  name: string;
  type: "main" | "quick" | "card";
  /** Raw FormXml (<form>…</form>). */
  formXml: string;
}

export interface ViewDef {
  id: string; // GUID
  name: string;
  isDefault: boolean;
  /** Raw FetchXml (<fetch>…</fetch>) and LayoutXml (<grid>…</grid>). */
  fetchXml: string;
  layoutXml: string;
  /** savedquery querytype: 0 public view (default), 1 advanced find, 2 associated, 4 quick find, 64 lookup. */
  queryType?: number;
  description?: string;
}

export interface TableDef {
  logicalName: string;
  entitySetName: string;
  displayName: string;
  displayCollectionName: string;
  description?: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  ownership: "UserOwned" | "OrganizationOwned";
  /** false for system tables such as account, to which the solution only adds columns. */
  isCustomEntity: boolean;
  /**
   * Read from `<entity unmodified="1">`: the export says the table was not changed, and import skips it
   * (columns included). Never written for our tables.
   */
  unmodified?: boolean;
  columns: ColumnDef[];
  keys: AlternateKeyDef[];
  forms: FormDef[];
  views: ViewDef[];
  /** Command bar customizations: raw `<RibbonDiffXml>…</RibbonDiffXml>` (Entities/<table>/RibbonDiff.xml in source). */
  ribbonDiffXml?: string;
}

/** Custom API parameter/response types as Dataverse numbers them. */
export const CUSTOM_API_TYPES = {
  Boolean: 0,
  DateTime: 1,
  Decimal: 2,
  Entity: 3,
  EntityCollection: 4,
  EntityReference: 5,
  Float: 6,
  Integer: 7,
  Money: 8,
  Picklist: 9,
  String: 10,
  StringArray: 11,
  Guid: 12,
} as const;
export type CustomApiTypeName = keyof typeof CUSTOM_API_TYPES;

export interface CustomApiParameterDef {
  uniqueName: string; // e.g. DryRun
  name: string; // {api}.{param}
  displayName: string;
  description: string;
  type: CustomApiTypeName;
  isOptional: boolean;
  logicalEntityName?: string;
}

export interface CustomApiResponsePropertyDef {
  uniqueName: string;
  name: string;
  displayName: string;
  description: string;
  type: CustomApiTypeName;
  logicalEntityName?: string;
}

export interface CustomApiDef {
  uniqueName: string; // e.g. w365_VerifyConnectivity
  name: string;
  displayName: string;
  description: string;
  /** 0 Global, 1 Entity, 2 EntityCollection */
  bindingType: 0 | 1 | 2;
  boundEntityLogicalName?: string;
  isFunction: boolean;
  isPrivate: boolean;
  /** 0 None, 1 Async only, 2 Sync and async */
  allowedCustomProcessingStepType: 0 | 1 | 2;
  workflowSdkStepEnabled: boolean;
  executePrivilegeName?: string;
  requestParameters: CustomApiParameterDef[];
  responseProperties: CustomApiResponsePropertyDef[];
}

export interface ServiceEndpointDef {
  id: string; // GUID
  name: string;
  description?: string;
  /** 8 = Webhook */
  contract: 8;
  /** 4 = WebhookKey (?code=), 5 = HttpHeader, 6 = HttpQueryString */
  authType: 4 | 5 | 6;
  /** Endpoint URL as shipped; the deploy step (or an environment variable value) points it at the functions app. */
  url: string;
  /** Name of the environment variable whose value overrides `url` at import/deploy time. */
  urlEnvironmentVariable?: string;
  /** Name of the environment variable holding the webhook key (authvalue is write-only and never shipped). */
  keyEnvironmentVariable?: string;
  messageFormat: 2; // Json
  userClaim: 1; // None
}

export interface StepImageDef {
  name: string;
  entityAlias: string;
  /** 0 PreImage, 1 PostImage, 2 Both */
  imageType: 0 | 1 | 2;
  attributes: string[]; // empty = all
}

export interface StepDef {
  id: string; // GUID
  name: string;
  /** SDK message: Create, Update, Delete, or a custom API unique name. */
  message: string;
  /** The message id as a solution file wrote it (read from a zip); absent for steps defined in code. */
  sdkMessageId?: string;
  /** Primary entity for the filter, or undefined for global messages. */
  primaryEntity?: string;
  serviceEndpointId: string;
  /** 10 PreValidation, 20 PreOperation, 40 PostOperation */
  stage: 10 | 20 | 40;
  /** 0 Synchronous, 1 Asynchronous */
  mode: 0 | 1;
  rank: number;
  filteringAttributes: string[];
  asyncAutoDelete: boolean;
  images: StepImageDef[];
  description?: string;
}

export interface EnvironmentVariableDef {
  schemaName: string; // e.g. w365_FunctionsBaseUrl
  displayName: string;
  description: string;
  /** String 100000000, Number 100000001, Boolean 100000002, JSON 100000003, DataSource 100000004, Secret 100000005 */
  type: "String" | "Number" | "Boolean" | "JSON" | "Secret";
  defaultValue?: string;
  isRequired: boolean;
}

export interface RolePrivilegeDef {
  name: string; // e.g. prvReadw365_providerconnection
  /** Basic, Local, Deep, Global */
  level: "Basic" | "Local" | "Deep" | "Global";
}

export interface RoleDef {
  id: string;
  name: string;
  description?: string;
  privileges: RolePrivilegeDef[];
}

export interface FieldSecurityProfileDef {
  id: string;
  name: string;
  description?: string;
  permissions: { entity: string; attribute: string; canRead: boolean; canCreate: boolean; canUpdate: boolean }[];
}

export interface WebResourceDef {
  name: string; // e.g. w365_/streamone/connectorform.js
  displayName: string;
  /** 1 HTML, 2 CSS, 3 JScript, 4 XML, 5 PNG, 6 JPG, 7 GIF, 8 XAP, 9 XSL, 10 ICO, 11 SVG, 12 RESX */
  type: number;
  /** Path inside the zip, e.g. /WebResources/w365_/streamone/connectorform.js */
  fileName: string;
  content: Buffer;
}

export interface CustomControlDef {
  /** e.g. w365_Work365.StreamOneConnector */
  name: string;
  /** Files of the control, path relative to Controls/<name>/ → content. */
  files: { path: string; content: Buffer }[];
}

export interface PublisherDef {
  uniqueName: string; // work365
  displayName: string; // Work 365
  customizationPrefix: string; // w365
  optionValuePrefix: number; // 36500
}

export interface SolutionModel {
  uniqueName: string; // StreamOneIonConnector
  displayName: string;
  description?: string;
  version: string; // major.minor.build.revision
  managed: boolean;
  publisher: PublisherDef;
  tables: TableDef[];
  customApis: CustomApiDef[];
  serviceEndpoints: ServiceEndpointDef[];
  steps: StepDef[];
  environmentVariables: EnvironmentVariableDef[];
  roles: RoleDef[];
  fieldSecurityProfiles: FieldSecurityProfileDef[];
  webResources: WebResourceDef[];
  customControls: CustomControlDef[];
  /** One-to-many relationships behind the lookups (cascade rules). Optional so older producers stay valid. */
  relationships?: RelationshipDef[];
}
