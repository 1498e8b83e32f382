/**
 * Solution validation: the XSD for what it covers (customizations.xml), structural rules for the rest
 * (solution.xml, custom APIs, environment variables, steps, security, naming, contract names), and zip checks
 * (every referenced file exists, pack → read loses nothing).
 */
import { GUID_PATTERN } from "../shared/guid";
import { SYSTEM_TABLES } from "./components/entity";
import {
  CONNECTOR_PCF_CONTROL,
  CONTRACT_ACCOUNT_COLUMNS,
  CONTRACT_CHOICES,
  CONTRACT_CUSTOM_APIS,
  CONTRACT_KEYS,
  CONTRACT_LOOKUP_TARGETS,
  CONTRACT_SECURED_COLUMNS,
  CONTRACT_TABLES,
  ENGINE_COLUMNS,
  INTEGRATION_FIELD_SECURITY_PROFILE,
  PUBLISHER,
  SOLUTION_UNIQUE_NAME,
} from "./contract";
import { solutionZipFiles, unzipFiles } from "./io";
import { type FileMap, filesToModel, type ParsedManifest,parseSolutionManifest, referencedFiles, ROOT_COMPONENT_TYPES } from "./layout";
import type { ColumnDef, SolutionModel, TableDef } from "./model";
import { CUSTOM_API_TYPES } from "./model";
import { normalizeGuid } from "./xml";
import { validateCustomizationsXsd, type XsdIssue } from "./xsd";

export interface ValidationReport {
  errors: string[];
  warnings: string[];
  xsd: { errors: XsdIssue[]; advisories: XsdIssue[] };
}

/** Columns Dataverse itself gives every table; they need no publisher prefix. */
const SYSTEM_COLUMNS = new Set(["statecode", "statuscode", "ownerid", "createdon", "modifiedon", "createdby", "modifiedby", "versionnumber", "owningbusinessunit", "overriddencreatedon", "importsequencenumber", "timezoneruleversionnumber", "utcconversiontimezonecode"]);
const STANDARD_MESSAGES = new Set(["Create", "Update", "Delete", "Assign", "SetState"]);
const VERSION = /^\d+\.\d+\.\d+\.\d+$/;
/** Ids in the model are compared as strings (step → service endpoint), so they must be lower case. */
function isLowerCaseGuid(id: string): boolean {
  return GUID_PATTERN.test(id) && id === id.toLowerCase();
}

function optionRange(prefix: number): [number, number] {
  return [prefix * 10000, prefix * 10000 + 9999];
}

/** Structural checks on a model (no XSD). */
export function checkModel(model: SolutionModel, opts: { requireContent?: boolean } = {}): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const prefix = `${model.publisher.customizationPrefix}_`;
  const err = (m: string): void => {
    errors.push(m);
  };

  // solution.xml
  if (model.uniqueName !== SOLUTION_UNIQUE_NAME) err(`solution unique name is ${model.uniqueName}, expected ${SOLUTION_UNIQUE_NAME}`);
  if (!VERSION.test(model.version)) err(`solution version "${model.version}" must be major.minor.build.revision`);
  for (const [k, v] of Object.entries(PUBLISHER)) {
    if (model.publisher[k as keyof typeof PUBLISHER] !== v) err(`publisher ${k} is ${String(model.publisher[k as keyof typeof PUBLISHER])}, expected ${String(v)}`);
  }
  if (!model.displayName) err("solution has no display name");

  // tables and columns
  const tables = new Map(model.tables.map((t) => [t.logicalName, t]));
  const tableExists = (name: string): boolean => tables.has(name) || name in SYSTEM_TABLES || ["systemuser", "team", "businessunit"].includes(name);
  const [minOpt, maxOpt] = optionRange(model.publisher.optionValuePrefix);
  for (const t of model.tables) {
    const where = `table ${t.logicalName}`;
    if (t.isCustomEntity) {
      if (!t.logicalName.startsWith(prefix)) err(`${where}: name lacks the ${prefix} prefix`);
      if (t.logicalName !== t.logicalName.toLowerCase()) err(`${where}: logical name must be lower case`);
      if (!t.columns.some((c) => c.type === "primarykey" && c.logicalName === t.primaryIdAttribute)) err(`${where}: primary key ${t.primaryIdAttribute} is not declared`);
      const pn = t.columns.find((c) => c.logicalName === t.primaryNameAttribute);
      if (!pn || pn.type !== "string") err(`${where}: primary name ${t.primaryNameAttribute} must be a text column`);
      if (!t.entitySetName) err(`${where}: no entity set name`);
    }
    const seen = new Set<string>();
    for (const c of t.columns) {
      const cw = `${where}.${c.logicalName}`;
      if (seen.has(c.logicalName)) err(`${cw}: declared twice`);
      seen.add(c.logicalName);
      const mustPrefix = !t.isCustomEntity || (!SYSTEM_COLUMNS.has(c.logicalName) && c.type !== "primarykey");
      if (mustPrefix && !c.logicalName.startsWith(prefix)) err(`${cw}: name lacks the ${prefix} prefix`);
      if (c.logicalName !== c.logicalName.toLowerCase()) err(`${cw}: logical name must be lower case`);
      if ((c.type === "string" || c.type === "memo") && (!c.maxLength || c.maxLength < 1)) err(`${cw}: text column needs a max length`);
      if (c.type === "string" && (c.maxLength ?? 0) > 4000) err(`${cw}: single-line text is limited to 4000 characters (use memo)`);
      if (c.type === "memo" && (c.maxLength ?? 0) > 1048576) err(`${cw}: multi-line text is limited to 1,048,576 characters`);
      if (c.type === "lookup") {
        if (!c.targets || c.targets.length === 0) err(`${cw}: lookup without target table`);
        for (const target of c.targets ?? []) if (!tableExists(target)) err(`${cw}: lookup target ${target} is not a known table`);
        if (!(model.relationships ?? []).some((r) => r.referencingEntity === t.logicalName && r.referencingAttribute === c.logicalName)) {
          err(`${cw}: lookup has no relationship (cascade rules) declared`);
        }
      }
      if (c.type === "picklist") {
        if (!c.options || c.options.length === 0) err(`${cw}: choice without options`);
        for (const o of c.options ?? []) {
          if (o.value < minOpt || o.value > maxOpt) err(`${cw}: option value ${o.value} does not use the publisher's option prefix ${model.publisher.optionValuePrefix} (${minOpt}…${maxOpt})`);
        }
        if (typeof c.defaultValue === "number" && !(c.options ?? []).some((o) => o.value === c.defaultValue)) err(`${cw}: default ${c.defaultValue} is not one of its options`);
      }
      if (c.secured && !model.fieldSecurityProfiles.some((p) => p.permissions.some((fp) => fp.entity === t.logicalName && fp.attribute === c.logicalName))) {
        err(`${cw}: secured column is in no field security profile`);
      }
    }
    for (const k of t.keys) {
      const kw = `${where} key ${k.logicalName}`;
      if (!k.logicalName.startsWith(prefix)) err(`${kw}: name lacks the ${prefix} prefix`);
      if (k.columns.length === 0) err(`${kw}: has no columns`);
      for (const kc of k.columns) {
        const col = t.columns.find((c) => c.logicalName === kc);
        if (!col) err(`${kw}: column ${kc} does not exist on ${t.logicalName}`);
        else if (!["string", "integer", "bigint", "decimal", "lookup", "datetime", "picklist", "uniqueidentifier"].includes(col.type)) err(`${kw}: column ${kc} of type ${col.type} cannot be part of an alternate key`);
      }
    }
    checkFormsAndViews(t, model, err);
  }

  // relationships
  for (const r of model.relationships ?? []) {
    const rw = `relationship ${r.name}`;
    if (!r.name.startsWith(prefix)) err(`${rw}: name lacks the ${prefix} prefix`);
    if (!tableExists(r.referencedEntity)) err(`${rw}: referenced table ${r.referencedEntity} unknown`);
    const referencing = tables.get(r.referencingEntity);
    const col = referencing?.columns.find((c) => c.logicalName === r.referencingAttribute);
    if (!referencing || !col || col.type !== "lookup") err(`${rw}: ${r.referencingEntity}.${r.referencingAttribute} is not a lookup column`);
    else if (!(col.targets ?? []).includes(r.referencedEntity)) err(`${rw}: lookup ${r.referencingAttribute} does not target ${r.referencedEntity}`);
    if (r.cascadeDelete === "Cascade" && (r.referencingEntity.endsWith("syncrun") || r.referencingEntity.endsWith("subscription"))) {
      err(`${rw}: Cascade delete would silently remove history; use Restrict or RemoveLink`);
    }
  }

  // custom APIs
  const apiNames = new Set<string>();
  for (const api of model.customApis) {
    const aw = `custom API ${api.uniqueName}`;
    apiNames.add(api.uniqueName);
    if (!api.uniqueName.startsWith(prefix)) err(`${aw}: name lacks the ${prefix} prefix`);
    if (api.bindingType === 1 || api.bindingType === 2) {
      if (!api.boundEntityLogicalName || !tableExists(api.boundEntityLogicalName)) err(`${aw}: bound to unknown table ${api.boundEntityLogicalName ?? "(none)"}`);
    } else if (api.boundEntityLogicalName) err(`${aw}: a global API must not name a bound table`);
    if (api.isFunction && api.responseProperties.length === 0) err(`${aw}: a function needs at least one response property`);
    const pnames = new Set<string>();
    for (const p of [...api.requestParameters, ...api.responseProperties]) {
      if (pnames.has(p.uniqueName)) err(`${aw}: parameter ${p.uniqueName} declared twice`);
      pnames.add(p.uniqueName);
      if (!(p.type in CUSTOM_API_TYPES)) err(`${aw}.${p.uniqueName}: invalid type ${String(p.type)}`);
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(p.uniqueName)) err(`${aw}.${p.uniqueName}: invalid parameter name`);
      if (p.name !== `${api.uniqueName}.${p.uniqueName}`) warnings.push(`${aw}.${p.uniqueName}: name ${p.name} does not follow {api}.{parameter}`);
      if ((p.type === "EntityReference" || p.type === "Entity") && !p.logicalEntityName) warnings.push(`${aw}.${p.uniqueName}: entity parameters should name their table`);
    }
    if (!api.displayName || !api.description) err(`${aw}: needs a display name and description`);
  }

  // service endpoints and steps
  const envNames = new Set(model.environmentVariables.map((v) => v.schemaName));
  for (const se of model.serviceEndpoints) {
    const sw = `service endpoint ${se.name}`;
    if (!isLowerCaseGuid(se.id)) err(`${sw}: id ${se.id} is not a GUID`);
    if (!/^https:\/\//.test(se.url)) err(`${sw}: url must be https (Dataverse calls webhooks on 443 only)`);
    if (se.urlEnvironmentVariable && !envNames.has(se.urlEnvironmentVariable)) err(`${sw}: url environment variable ${se.urlEnvironmentVariable} is not defined`);
    if (se.keyEnvironmentVariable && !envNames.has(se.keyEnvironmentVariable)) err(`${sw}: key environment variable ${se.keyEnvironmentVariable} is not defined`);
  }
  for (const s of model.steps) {
    const sw = `step ${s.name}`;
    if (!isLowerCaseGuid(s.id)) err(`${sw}: id is not a GUID`);
    if (!model.serviceEndpoints.some((se) => se.id === s.serviceEndpointId)) err(`${sw}: event handler ${s.serviceEndpointId} is not a service endpoint of this solution`);
    const api = model.customApis.find((a) => a.uniqueName === s.message);
    if (!api && !STANDARD_MESSAGES.has(s.message)) err(`${sw}: message ${s.message} is neither a standard message nor a custom API of this solution`);
    if (api) {
      if (s.mode === 0 && api.allowedCustomProcessingStepType !== 2) err(`${sw}: ${api.uniqueName} does not allow synchronous steps`);
      if (api.allowedCustomProcessingStepType === 0) err(`${sw}: ${api.uniqueName} allows no custom processing steps`);
    }
    if (s.mode === 1 && s.stage !== 40) err(`${sw}: asynchronous steps must be PostOperation (40)`);
    if (s.primaryEntity && !tableExists(s.primaryEntity)) err(`${sw}: primary entity ${s.primaryEntity} unknown`);
    const entity = s.primaryEntity ? tables.get(s.primaryEntity) : undefined;
    // A system table's own key and name (accountid, name) exist though the solution does not define them.
    const hasColumn = (c: string): boolean =>
      !entity ||
      entity.columns.some((x) => x.logicalName === c) ||
      SYSTEM_COLUMNS.has(c) ||
      c === entity.primaryIdAttribute ||
      c === entity.primaryNameAttribute;
    if (s.filteringAttributes.length > 0 && s.message !== "Update") err(`${sw}: filtering attributes apply only to Update`);
    for (const a of s.filteringAttributes) if (!hasColumn(a)) err(`${sw}: filtering attribute ${a} does not exist`);
    for (const img of s.images) {
      if (s.message === "Create" && img.imageType !== 1) err(`${sw}: Create has no pre-image`);
      for (const a of img.attributes) if (!hasColumn(a)) err(`${sw}: image ${img.name} attribute ${a} does not exist`);
    }
  }

  // environment variables
  for (const v of model.environmentVariables) {
    const vw = `environment variable ${v.schemaName}`;
    if (!v.schemaName.startsWith(prefix)) err(`${vw}: name lacks the ${prefix} prefix`);
    if (v.defaultValue !== undefined) {
      if (v.type === "Number" && !Number.isFinite(Number(v.defaultValue))) err(`${vw}: default is not a number`);
      if (v.type === "Boolean" && !["yes", "no", "true", "false"].includes(v.defaultValue.toLowerCase())) err(`${vw}: default is not yes/no`);
      if (v.type === "JSON") {
        try {
          JSON.parse(v.defaultValue);
        } catch {
          err(`${vw}: default is not JSON`);
        }
      }
      if (v.type === "Secret") err(`${vw}: a secret variable cannot ship a default value`);
    }
  }

  // security
  for (const r of model.roles) {
    if (!isLowerCaseGuid(r.id)) err(`role ${r.name}: id is not a GUID`);
    for (const p of r.privileges) {
      const m = /^prv(?:Create|Read|Write|Delete|Append|AppendTo|Assign|Share)(.+)$/.exec(p.name);
      if (m?.[1]?.startsWith(prefix) && !tables.has(m[1])) err(`role ${r.name}: privilege ${p.name} names unknown table ${m[1]}`);
    }
  }
  for (const p of model.fieldSecurityProfiles) {
    for (const fp of p.permissions) {
      const col = tables.get(fp.entity)?.columns.find((c) => c.logicalName === fp.attribute);
      if (!col) err(`field security profile ${p.name}: ${fp.entity}.${fp.attribute} does not exist`);
      else if (!col.secured) err(`field security profile ${p.name}: ${fp.entity}.${fp.attribute} is not a secured column`);
    }
  }

  // web resources and controls
  for (const w of model.webResources) {
    if (!w.name.startsWith(prefix)) err(`web resource ${w.name}: name lacks the ${prefix} prefix`);
    if (w.type < 1 || w.type > 12) err(`web resource ${w.name}: type ${w.type} is not a web resource type`);
    if (opts.requireContent && w.content.length === 0) err(`web resource ${w.name}: no content (not produced by the UI build)`);
  }
  for (const c of model.customControls) {
    if (!c.name.startsWith(prefix)) err(`control ${c.name}: name lacks the ${prefix} prefix`);
    if (opts.requireContent) {
      if (!c.files.some((f) => f.path === "ControlManifest.xml")) err(`control ${c.name}: ControlManifest.xml missing from the UI build`);
      if (!c.files.some((f) => f.path === "bundle.js")) err(`control ${c.name}: bundle.js missing from the UI build`);
    }
  }

  checkContract(model, err);
  return { errors, warnings };
}

function checkFormsAndViews(t: TableDef, model: SolutionModel, err: (m: string) => void): void {
  const cols = new Set([...t.columns.map((c) => c.logicalName), ...SYSTEM_COLUMNS]);
  const webResources = new Set(model.webResources.map((w) => w.name));
  for (const m of (t.ribbonDiffXml ?? "").matchAll(/\$webresource:([^"]+)"/g)) if (!webResources.has(m[1]!)) err(`command bar of ${t.logicalName}: library ${m[1]} is not a web resource of the solution`);
  for (const f of t.forms) {
    for (const m of f.formXml.matchAll(/<Library name="([^"]+)"/g)) if (!webResources.has(m[1]!)) err(`form ${t.logicalName}/${f.name}: library ${m[1]} is not a web resource of the solution`);
    for (const m of f.formXml.matchAll(/libraryName="([^"]+)"/g)) if (!f.formXml.includes(`<Library name="${m[1]}"`)) err(`form ${t.logicalName}/${f.name}: handler library ${m[1]} is not in formLibraries`);
  }
  for (const f of t.forms) {
    for (const m of f.formXml.matchAll(/datafieldname="([^"]+)"/g)) if (!cols.has(m[1]!)) err(`form ${t.logicalName}/${f.name}: field ${m[1]} does not exist`);
    for (const m of f.formXml.matchAll(/<customControl[^>]*name="([^"]+)"/g)) {
      if (!model.customControls.some((c) => c.name === m[1])) err(`form ${t.logicalName}/${f.name}: control ${m[1]} is not in the solution`);
    }
  }
  for (const v of t.views) {
    const entity = /<entity name="([^"]+)"/.exec(v.fetchXml)?.[1];
    if (entity !== t.logicalName) err(`view ${t.logicalName}/${v.name}: fetch queries ${entity ?? "nothing"}`);
    for (const m of v.fetchXml.matchAll(/(?:attribute|condition attribute|order attribute)="([^"]+)"/g)) if (!cols.has(m[1]!)) err(`view ${t.logicalName}/${v.name}: column ${m[1]} does not exist`);
    for (const m of v.layoutXml.matchAll(/<cell name="([^"]+)"/g)) if (!cols.has(m[1]!)) err(`view ${t.logicalName}/${v.name}: grid column ${m[1]} does not exist`);
  }
}

function column(t: TableDef | undefined, name: string): ColumnDef | undefined {
  return t?.columns.find((c) => c.logicalName === name);
}

/** The schema contract's names (contract.ts), checked one by one so a failure says exactly what is missing. */
function checkContract(model: SolutionModel, err: (m: string) => void): void {
  const tables = new Map(model.tables.map((t) => [t.logicalName, t]));
  for (const [name, spec] of Object.entries(CONTRACT_TABLES)) {
    const t = tables.get(name);
    if (!t) {
      err(`contract: table ${name} missing`);
      continue;
    }
    if (t.entitySetName !== spec.entitySetName) err(`contract: ${name} entity set is ${t.entitySetName}, expected ${spec.entitySetName}`);
    for (const [c, type] of Object.entries({ ...spec.columns, ...(ENGINE_COLUMNS[name] ?? {}) })) {
      const col = column(t, c);
      if (!col) err(`contract: column ${name}.${c} missing`);
      else if (col.type !== type) err(`contract: column ${name}.${c} is ${col.type}, expected ${type}`);
    }
  }
  for (const [t, lookups] of Object.entries(CONTRACT_LOOKUP_TARGETS)) {
    for (const [c, target] of Object.entries(lookups)) {
      const targets = column(tables.get(t), c)?.targets;
      if (targets && (targets.length !== 1 || targets[0] !== target)) err(`contract: lookup ${t}.${c} targets ${targets.join(", ")}, expected ${target}`);
    }
  }
  const account = tables.get("account");
  for (const c of CONTRACT_ACCOUNT_COLUMNS) if (!column(account, c)) err(`contract: account column ${c} missing`);
  for (const [t, choices] of Object.entries(CONTRACT_CHOICES)) {
    for (const [c, options] of Object.entries(choices)) {
      const col = column(tables.get(t), c);
      for (const [value, label] of Object.entries(options)) {
        const o = col?.options?.find((x) => x.value === Number(value));
        if (!o) err(`contract: ${t}.${c} lacks option ${value} (${label})`);
        else if (o.label !== label) err(`contract: ${t}.${c} option ${value} is "${o.label}", expected "${label}"`);
      }
    }
  }
  for (const [t, key] of Object.entries(CONTRACT_KEYS)) {
    const k = tables.get(t)?.keys.find((x) => x.logicalName === key.name);
    if (!k) err(`contract: alternate key ${t}.${key.name} missing`);
    else if (k.columns.join(",") !== key.columns.join(",")) err(`contract: key ${key.name} is on (${k.columns.join(", ")}), expected (${key.columns.join(", ")})`);
  }
  for (const [name, spec] of Object.entries(CONTRACT_CUSTOM_APIS)) {
    const api = model.customApis.find((a) => a.uniqueName === name);
    if (!api) {
      err(`contract: custom API ${name} missing`);
      continue;
    }
    if (api.bindingType !== 1 || api.boundEntityLogicalName !== spec.bound) err(`contract: ${name} must be bound to ${spec.bound}`);
    if (api.allowedCustomProcessingStepType !== 2) err(`contract: ${name} must allow sync and async steps (2)`);
    if (!api.workflowSdkStepEnabled) err(`contract: ${name} must be enabled for workflows`);
    for (const [p, type] of Object.entries(spec.params)) {
      const param = api.requestParameters.find((x) => x.uniqueName === p);
      if (!param) err(`contract: ${name} parameter ${p} missing`);
      else {
        if (param.type !== type) err(`contract: ${name}.${p} is ${param.type}, expected ${type}`);
        if (!param.isOptional) err(`contract: ${name}.${p} must be optional`);
      }
    }
  }
  const conn = tables.get("w365_providerconnection");
  for (const c of CONTRACT_SECURED_COLUMNS) if (!column(conn, c)?.secured) err(`contract: w365_providerconnection.${c} must be a secured column`);
  const profile = model.fieldSecurityProfiles.find((p) => p.name === INTEGRATION_FIELD_SECURITY_PROFILE);
  for (const c of CONTRACT_SECURED_COLUMNS) {
    if (!profile?.permissions.some((fp) => fp.attribute === c && fp.canRead)) err(`contract: ${INTEGRATION_FIELD_SECURITY_PROFILE} must read ${c}`);
    for (const p of model.fieldSecurityProfiles) if (p !== profile && p.permissions.some((fp) => fp.attribute === c && fp.canRead)) err(`contract: only the integration profile may read ${c} (${p.name} can)`);
  }
  if (!conn?.forms.some((f) => f.type === "main" && f.formXml.includes(`name="${CONNECTOR_PCF_CONTROL}"`))) err(`contract: the connector main form must host ${CONNECTOR_PCF_CONTROL}`);
  if (!model.customControls.some((c) => c.name === CONNECTOR_PCF_CONTROL)) err(`contract: control ${CONNECTOR_PCF_CONTROL} missing`);
}

/** Full validation of a model: XSD on its customizations.xml plus structural checks. */
export async function validateSolution(model: SolutionModel, opts: { requireContent?: boolean; schemaDir?: string } = {}): Promise<ValidationReport> {
  const structural = checkModel(model, opts);
  const files = solutionZipFiles(model, { managed: model.managed });
  const xsd = await validateCustomizationsXsd(files.get("customizations.xml")!.toString("utf8"), opts.schemaDir);
  return {
    errors: [...xsd.errors.map((e) => `customizations.xml${e.line ? `:${e.line}` : ""}: ${e.message}`), ...structural.errors],
    warnings: [...structural.warnings, ...xsd.advisories.map((e) => `customizations.xml (advisory, newer than schema 9.0.0.2090): ${e.message}`)],
    xsd: { errors: xsd.errors, advisories: xsd.advisories },
  };
}

/** Validate a packed zip: XSD, every referenced file present, and the zip parses back into a valid model. */
export async function validateSolutionZip(zip: Buffer, opts: { requireContent?: boolean; schemaDir?: string } = {}): Promise<ValidationReport> {
  const files: FileMap = await unzipFiles(zip);
  const errors: string[] = [];
  for (const required of ["[Content_Types].xml", "solution.xml", "customizations.xml"]) if (!files.has(required)) errors.push(`zip: ${required} missing`);
  for (const ref of referencedFiles(files)) if (!files.has(ref)) errors.push(`zip: ${ref} is referenced by customizations.xml but not in the zip`);
  if (errors.length > 0) return { errors, warnings: [], xsd: { errors: [], advisories: [] } };
  const xsd = await validateCustomizationsXsd(files.get("customizations.xml")!.toString("utf8"), opts.schemaDir);
  const model = filesToModel(files, "solution zip");
  const structural = checkModel(model, opts);
  const manifest = parseSolutionManifest(files.get("solution.xml")!.toString("utf8"), "solution.xml");
  const rootErrors = checkRootComponents(manifest.rootComponents, model);
  return {
    errors: [...xsd.errors.map((e) => `customizations.xml${e.line ? `:${e.line}` : ""}: ${e.message}`), ...structural.errors, ...rootErrors],
    warnings: structural.warnings,
    xsd: { errors: xsd.errors, advisories: xsd.advisories },
  };
}

/** Every root component in solution.xml names a component the zip carries, and every component is listed. */
export function checkRootComponents(roots: ParsedManifest["rootComponents"], model: SolutionModel): string[] {
  const errors: string[] = [];
  const T = ROOT_COMPONENT_TYPES;
  const expected: { type: number; key: string; what: string }[] = [
    ...model.tables.map((t) => ({ type: T.Entity, key: t.logicalName, what: `table ${t.logicalName}` })),
    ...model.roles.map((r) => ({ type: T.Role, key: r.id, what: `role ${r.name}` })),
    ...model.webResources.map((w) => ({ type: T.WebResource, key: w.name, what: `web resource ${w.name}` })),
    ...model.customControls.map((c) => ({ type: T.CustomControl, key: c.name, what: `control ${c.name}` })),
    ...model.fieldSecurityProfiles.map((f) => ({ type: T.FieldSecurityProfile, key: f.id, what: `field security profile ${f.name}` })),
    ...model.steps.map((s) => ({ type: T.SdkMessageProcessingStep, key: s.id, what: `step ${s.name}` })),
    ...model.serviceEndpoints.map((s) => ({ type: T.ServiceEndpoint, key: s.id, what: `service endpoint ${s.name}` })),
    // Environment variable definitions are not required as root components: real exports carry them in
    // environmentvariabledefinitions/ only (coe-starter-kit's Solution.xml), and import reads that folder.
  ];
  const keyOf = (r: ParsedManifest["rootComponents"][number]): string => (r.id ? normalizeGuid(r.id) : (r.schemaName ?? "").toLowerCase());
  const listed = new Set(roots.map((r) => `${r.type}:${keyOf(r)}`));
  const present = new Set(expected.map((e) => `${e.type}:${e.key.toLowerCase()}`));
  for (const e of expected) if (!listed.has(`${e.type}:${e.key.toLowerCase()}`)) errors.push(`solution.xml: ${e.what} is not a root component`);
  const known = new Set<number>(Object.values(T));
  for (const r of roots) if (known.has(r.type) && !present.has(`${r.type}:${keyOf(r)}`)) errors.push(`solution.xml: root component type ${r.type} ${r.schemaName ?? r.id ?? ""} is not in the package`);
  return errors;
}
