/**
 * The emulator's table registry: system tables present from the start (docs/platform/dataverse.md 1.1,
 * 3, 4 and the connector's needs) plus tables merged in from imported SolutionModels. Every table gets
 * the standard columns Dataverse gives all tables: createdon/modifiedon/versionnumber, statecode/statuscode,
 * createdby/modifiedby and, for user-owned tables, ownerid.
 */
import type { AlternateKeyDef, ColumnDef, ColumnType, RelationshipDef, TableDef } from "../../src/solution/model";

export interface TableMeta {
  def: TableDef;
  logicalName: string;
  entitySet: string;
  primaryId: string;
  primaryName: string;
  /** logical name → column (lookups under their logical/navigation name). */
  columns: Map<string, ColumnDef>;
  keys: AlternateKeyDef[];
  /** Relationships where this table is the referenced ("one") side, for delete cascades. */
  referencedBy: RelationshipDef[];
  objectTypeCode: number;
  metadataId: string;
}

type ColSpec = [string, ColumnType, Partial<ColumnDef>?];

const col = ([logicalName, type, extra]: ColSpec): ColumnDef => ({
  logicalName,
  displayName: extra?.displayName ?? logicalName,
  type,
  requiredLevel: "none",
  ...(type === "string" && extra?.maxLength === undefined ? { maxLength: 100 } : {}),
  ...(type === "memo" && extra?.maxLength === undefined ? { maxLength: 1048576 } : {}),
  ...extra,
});

function table(
  logicalName: string,
  entitySetName: string,
  primaryName: string,
  ownership: TableDef["ownership"],
  cols: ColSpec[],
  extra: Partial<TableDef> = {},
): TableDef {
  return {
    logicalName,
    entitySetName,
    displayName: logicalName,
    displayCollectionName: entitySetName,
    primaryIdAttribute: `${logicalName}id`,
    primaryNameAttribute: primaryName,
    ownership,
    isCustomEntity: false,
    columns: cols.map(col),
    keys: [],
    forms: [],
    views: [],
    ...extra,
  };
}

const addr = (n: number): ColSpec[] =>
  ["line1", "line2", "city", "stateorprovince", "postalcode", "country"].map(
    (p) => [`address${n}_${p}`, "string", { maxLength: p === "postalcode" ? 20 : 250 }] as ColSpec,
  );

/** Columns custom API request parameters and response properties share (type: 0 Boolean … 12 StringArray). */
const customApiFieldColumns = (): ColSpec[] => [
  ["uniquename", "string", { maxLength: 128 }],
  ["name", "string", { maxLength: 100 }],
  ["displayname", "string", { maxLength: 100 }],
  ["description", "string", { maxLength: 300 }],
  ["type", "picklist", { options: Array.from({ length: 13 }, (_, v) => ({ value: v, label: String(v) })) }],
  ["logicalentityname", "string", { maxLength: 100 }],
  ["customapiid", "lookup", { targets: ["customapi"] }],
];

/** Tables present in every environment before any solution import. */
export function systemTables(): TableDef[] {
  return [
    table("account", "accounts", "name", "UserOwned", [
      ["name", "string", { maxLength: 160, displayName: "Account Name" }],
      ["accountnumber", "string", { maxLength: 20 }],
      ["emailaddress1", "string", { maxLength: 100 }],
      ["telephone1", "string", { maxLength: 50 }],
      ["websiteurl", "string", { maxLength: 200 }],
      ["description", "memo", { maxLength: 2000 }],
      ...addr(1),
      ["primarycontactid", "lookup", { targets: ["contact"] }],
      ["parentaccountid", "lookup", { targets: ["account"] }],
      ["revenue", "money", { precision: 2 }],
      ["numberofemployees", "integer", { minValue: 0, maxValue: 1000000000 }],
      ["industrycode", "picklist", { options: [1, 2, 3, 4, 5].map((v) => ({ value: v, label: `Industry ${v}` })) }],
      ["donotemail", "boolean"],
    ]),
    table("contact", "contacts", "fullname", "UserOwned", [
      ["firstname", "string", { maxLength: 50 }],
      ["lastname", "string", { maxLength: 50 }],
      ["fullname", "string", { maxLength: 160 }],
      ["emailaddress1", "string", { maxLength: 100 }],
      ["telephone1", "string", { maxLength: 50 }],
      ["jobtitle", "string", { maxLength: 100 }],
      ["parentcustomerid", "lookup", { targets: ["account", "contact"] }],
      ...addr(1),
    ]),
    table("businessunit", "businessunits", "name", "OrganizationOwned", [["name", "string", { maxLength: 160 }]]),
    table("organization", "organizations", "name", "OrganizationOwned", [
      ["name", "string", { maxLength: 160 }],
      ["uniquename", "string", { maxLength: 100 }],
    ]),
    table("systemuser", "systemusers", "fullname", "OrganizationOwned", [
      ["fullname", "string", { maxLength: 200 }],
      ["domainname", "string", { maxLength: 1024 }],
      ["internalemailaddress", "string", { maxLength: 100 }],
      ["applicationid", "uniqueidentifier"],
      ["azureactivedirectoryobjectid", "uniqueidentifier"],
      ["isdisabled", "boolean"],
      ["businessunitid", "lookup", { targets: ["businessunit"] }],
    ]),
    table("publisher", "publishers", "friendlyname", "OrganizationOwned", [
      ["uniquename", "string", { maxLength: 256 }],
      ["friendlyname", "string", { maxLength: 256 }],
      ["customizationprefix", "string", { maxLength: 8 }],
      ["customizationoptionvalueprefix", "integer"],
    ]),
    table("solution", "solutions", "friendlyname", "OrganizationOwned", [
      ["uniquename", "string", { maxLength: 65 }],
      ["friendlyname", "string", { maxLength: 256 }],
      ["version", "string", { maxLength: 256 }],
      ["ismanaged", "boolean"],
      ["description", "memo", { maxLength: 2000 }],
      ["installedon", "datetime"],
      ["publisherid", "lookup", { targets: ["publisher"] }],
    ]),
    // Components added to a solution after import (AddSolutionComponent), e.g. a step registered through the Web API.
    table("solutioncomponent", "solutioncomponents", "objectid", "OrganizationOwned", [
      ["objectid", "string", { maxLength: 36 }],
      ["componenttype", "integer"],
      ["solutionid", "lookup", { targets: ["solution"] }],
    ]),
    table("environmentvariabledefinition", "environmentvariabledefinitions", "schemaname", "UserOwned", [
      ["schemaname", "string", { maxLength: 100 }],
      ["displayname", "string", { maxLength: 100 }],
      ["description", "memo", { maxLength: 2000 }],
      ["defaultvalue", "memo", { maxLength: 2000 }],
      ["isrequired", "boolean"],
      [
        "type",
        "picklist",
        {
          options: [
            { value: 100000000, label: "String" },
            { value: 100000001, label: "Number" },
            { value: 100000002, label: "Boolean" },
            { value: 100000003, label: "JSON" },
            { value: 100000004, label: "Data source" },
            { value: 100000005, label: "Secret" },
          ],
        },
      ],
    ]),
    table("environmentvariablevalue", "environmentvariablevalues", "schemaname", "UserOwned", [
      ["schemaname", "string", { maxLength: 100 }],
      ["value", "memo", { maxLength: 2000 }],
      ["environmentvariabledefinitionid", "lookup", { targets: ["environmentvariabledefinition"] }],
    ]),
    table("serviceendpoint", "serviceendpoints", "name", "OrganizationOwned", [
      ["name", "string", { maxLength: 256 }],
      ["description", "memo", { maxLength: 2000 }],
      ["url", "string", { maxLength: 2000 }],
      [
        "contract",
        "picklist",
        {
          options: [
            { value: 8, label: "Webhook" },
            { value: 1, label: "OneWay" },
          ],
        },
      ],
      [
        "authtype",
        "picklist",
        {
          options: [
            { value: 4, label: "Webhook Key" },
            { value: 5, label: "Http Header" },
            { value: 6, label: "Http Query String" },
          ],
        },
      ],
      ["authvalue", "memo", { maxLength: 2048 }],
      ["messageformat", "picklist", { options: [{ value: 2, label: "Json" }] }],
      ["userclaim", "picklist", { options: [{ value: 1, label: "None" }] }],
    ]),
    table("sdkmessage", "sdkmessages", "name", "OrganizationOwned", [["name", "string", { maxLength: 256 }]]),
    // Which tables a message applies to; a step names its table through one of these (sdkmessagefilterid).
    table("sdkmessagefilter", "sdkmessagefilters", "primaryobjecttypecode", "OrganizationOwned", [
      ["sdkmessageid", "lookup", { targets: ["sdkmessage"] }],
      ["primaryobjecttypecode", "string", { maxLength: 100 }],
    ]),
    table("sdkmessageprocessingstep", "sdkmessageprocessingsteps", "name", "UserOwned", [
      ["name", "string", { maxLength: 256 }],
      ["description", "memo", { maxLength: 2000 }],
      ["sdkmessageid", "lookup", { targets: ["sdkmessage"] }],
      ["sdkmessagefilterid", "lookup", { targets: ["sdkmessagefilter"] }],
      ["eventhandler", "lookup", { targets: ["serviceendpoint"] }],
      ["primaryobjecttypecode", "string", { maxLength: 100 }],
      ["filteringattributes", "memo", { maxLength: 100000 }],
      [
        "mode",
        "picklist",
        {
          options: [
            { value: 0, label: "Synchronous" },
            { value: 1, label: "Asynchronous" },
          ],
        },
      ],
      [
        "stage",
        "picklist",
        {
          options: [
            { value: 10, label: "Pre-validation" },
            { value: 20, label: "Pre-operation" },
            { value: 40, label: "Post-operation" },
          ],
        },
      ],
      ["rank", "integer"],
      ["asyncautodelete", "boolean"],
      [
        "supporteddeployment",
        "picklist",
        {
          options: [
            { value: 0, label: "Server Only" },
            { value: 1, label: "Microsoft Dynamics 365 Client for Outlook Only" },
            { value: 2, label: "Both" },
          ],
        },
      ],
    ]),
    table("customapi", "customapis", "name", "UserOwned", [
      ["uniquename", "string", { maxLength: 128 }],
      ["name", "string", { maxLength: 100 }],
      ["displayname", "string", { maxLength: 100 }],
      ["description", "string", { maxLength: 300 }],
      ["bindingtype", "picklist", { options: [0, 1, 2].map((v) => ({ value: v, label: ["Global", "Entity", "EntityCollection"][v]! })) }],
      ["boundentitylogicalname", "string", { maxLength: 100 }],
      ["isfunction", "boolean"],
      ["isprivate", "boolean"],
      [
        "allowedcustomprocessingsteptype",
        "picklist",
        { options: [0, 1, 2].map((v) => ({ value: v, label: ["None", "Async Only", "Sync and Async"][v]! })) },
      ],
      ["workflowsdkstepenabled", "boolean"],
    ]),
    table("customapirequestparameter", "customapirequestparameters", "name", "UserOwned", [
      ...customApiFieldColumns(),
      ["isoptional", "boolean"],
    ]),
    table("customapiresponseproperty", "customapiresponseproperties", "name", "UserOwned", customApiFieldColumns()),
    // A solution import's record: progress (percent) while it runs, the import log (XML) in `data` when done.
    table("importjob", "importjobs", "name", "OrganizationOwned", [
      ["name", "string", { maxLength: 256 }],
      ["solutionname", "string", { maxLength: 256 }],
      ["progress", "double", { minValue: 0, maxValue: 100, precision: 2 }],
      ["data", "memo", { maxLength: 1048576 }],
      ["startedon", "datetime"],
      ["completedon", "datetime"],
    ]),
    // A step's entity image (pre/post values of the named columns), registered with the step.
    table("sdkmessageprocessingstepimage", "sdkmessageprocessingstepimages", "name", "OrganizationOwned", [
      ["name", "string", { maxLength: 256 }],
      ["entityalias", "string", { maxLength: 256 }],
      ["imagetype", "picklist", { options: [0, 1, 2].map((v) => ({ value: v, label: ["PreImage", "PostImage", "Both"][v]! })) }],
      ["messagepropertyname", "string", { maxLength: 256 }],
      ["attributes", "memo", { maxLength: 100000 }],
      ["sdkmessageprocessingstepid", "lookup", { targets: ["sdkmessageprocessingstep"] }],
    ]),
    withAsyncStates(
      table("asyncoperation", "asyncoperations", "name", "UserOwned", [
        ["name", "string", { maxLength: 256 }],
        [
          "operationtype",
          "picklist",
          {
            options: [
              { value: 1, label: "System Event" },
              { value: 3, label: "Import" },
              { value: 54, label: "Execute Async Request" },
            ],
          },
        ],
        ["message", "memo", { maxLength: 1048576 }],
        ["friendlymessage", "memo", { maxLength: 1048576 }],
        ["errorcode", "integer"],
        ["correlationid", "uniqueidentifier"],
        ["requestid", "uniqueidentifier"],
        ["messagename", "string", { maxLength: 160 }],
        ["primaryentitytype", "string", { maxLength: 100 }],
        ["startedon", "datetime"],
        ["completedon", "datetime"],
        ["retrycount", "integer"],
        ["depth", "integer"],
        ["owningextensionid", "lookup", { targets: ["sdkmessageprocessingstep"] }],
        ["regardingobjectid", "lookup", { targets: ["account"] }],
      ]),
    ),
  ];
}

/** asyncoperation uses its own state model: statecode 0 Ready, 1 Suspended, 2 Locked, 3 Completed. */
function withAsyncStates(t: TableDef): TableDef {
  t.columns.push(
    col([
      "statecode",
      "state",
      { options: [0, 1, 2, 3].map((v) => ({ value: v, label: ["Ready", "Suspended", "Locked", "Completed"][v]! })) },
    ]),
    col([
      "statuscode",
      "status",
      {
        options: [
          { value: 0, label: "Waiting For Resources" },
          { value: 10, label: "Waiting" },
          { value: 20, label: "In Progress" },
          { value: 21, label: "Pausing" },
          { value: 22, label: "Canceling" },
          { value: 30, label: "Succeeded" },
          { value: 31, label: "Failed" },
          { value: 32, label: "Canceled" },
        ],
      },
    ]),
  );
  return t;
}

/** Adds the standard columns every Dataverse table has (when the model did not declare them). */
export function withStandardColumns(def: TableDef): TableDef {
  const have = new Set(def.columns.map((c) => c.logicalName));
  const add = (spec: ColSpec) => {
    if (!have.has(spec[0])) {
      def.columns.push(col(spec));
      have.add(spec[0]);
    }
  };
  add([def.primaryIdAttribute, "primarykey"]);
  const pkCol = def.columns.find((c) => c.logicalName === def.primaryIdAttribute);
  if (pkCol && pkCol.type !== "primarykey") pkCol.type = "primarykey";
  add([def.primaryNameAttribute, "string", { maxLength: 100 }]);
  add(["createdon", "datetime"]);
  add(["modifiedon", "datetime"]);
  add(["overriddencreatedon", "datetime"]);
  add(["versionnumber", "bigint"]);
  add([
    "statecode",
    "state",
    {
      options: [
        { value: 0, label: "Active" },
        { value: 1, label: "Inactive" },
      ],
    },
  ]);
  add([
    "statuscode",
    "status",
    {
      options: [
        { value: 1, label: "Active" },
        { value: 2, label: "Inactive" },
      ],
    },
  ]);
  add(["createdby", "lookup", { targets: ["systemuser"] }]);
  add(["modifiedby", "lookup", { targets: ["systemuser"] }]);
  if (def.ownership === "UserOwned") {
    add(["ownerid", "owner", { targets: ["systemuser"] }]);
    add(["owningbusinessunit", "lookup", { targets: ["businessunit"] }]);
  }
  return def;
}

/** Write-only columns: accepted on write, always read back as null (serviceendpoint.authvalue, reference 3). */
export const WRITE_ONLY_COLUMNS = new Set(["serviceendpoint.authvalue"]);

/** Columns clients may not set in a request body (system-managed). */
export const READ_ONLY_COLUMNS = new Set(["createdon", "modifiedon", "versionnumber", "createdby", "modifiedby", "owningbusinessunit"]);

/** Columns whose values live in two SQL columns (id + target logical name). */
export function isPolymorphic(c: ColumnDef): boolean {
  return c.type === "owner" || (c.type === "lookup" && (c.targets?.length ?? 0) > 1);
}

export function isLookup(c: ColumnDef): boolean {
  return c.type === "lookup" || c.type === "owner";
}

/** Name of a column in JSON (lookups read as `_x_value`). */
export function readName(c: ColumnDef): string {
  return isLookup(c) ? `_${c.logicalName}_value` : c.logicalName;
}

export function sqlType(c: ColumnDef): string {
  switch (c.type) {
    case "string":
    case "memo":
      return "TEXT COLLATE NOCASE";
    case "integer":
    case "bigint":
    case "picklist":
    case "state":
    case "status":
    case "boolean":
      return "INTEGER";
    case "decimal":
    case "double":
    case "money":
      return "REAL";
    default:
      return "TEXT";
  }
}

/** Edm type for $metadata and literal conversion. */
export function edmType(c: ColumnDef): string {
  switch (c.type) {
    case "primarykey":
    case "uniqueidentifier":
    case "lookup":
    case "owner":
      return "Edm.Guid";
    case "string":
    case "memo":
      return "Edm.String";
    case "integer":
    case "picklist":
    case "state":
    case "status":
      return "Edm.Int32";
    case "bigint":
      return "Edm.Int64";
    case "decimal":
    case "money":
      return "Edm.Decimal";
    case "double":
      return "Edm.Double";
    case "boolean":
      return "Edm.Boolean";
    case "datetime":
      return c.dateFormat === "dateonly" ? "Edm.Date" : "Edm.DateTimeOffset";
  }
}

export function attributeTypeName(c: ColumnDef): string {
  const map: Record<ColumnType, string> = {
    primarykey: "Uniqueidentifier",
    uniqueidentifier: "Uniqueidentifier",
    string: "String",
    memo: "Memo",
    integer: "Integer",
    bigint: "BigInt",
    decimal: "Decimal",
    double: "Double",
    money: "Money",
    boolean: "Boolean",
    datetime: "DateTime",
    picklist: "Picklist",
    state: "State",
    status: "Status",
    lookup: "Lookup",
    owner: "Owner",
  };
  return map[c.type];
}
