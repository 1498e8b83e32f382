/**
 * The smaller components: environment variable definitions, the webhook service endpoint and its steps,
 * security roles, field security profiles, web resources and PCF controls.
 */
import type {
  CustomControlDef,
  EnvironmentVariableDef,
  FieldSecurityProfileDef,
  RoleDef,
  ServiceEndpointDef,
  StepDef,
  StepImageDef,
  WebResourceDef,
} from "../model";
import {
  attr,
  bool01,
  bracedGuid,
  child,
  children,
  el,
  int,
  label,
  normalizeGuid,
  parseXml,
  SolutionFormatError,
  stableGuid,
  text,
  textEl,
  toXmlDocument,
  type XmlElement,
  type XNode,
} from "../xml";

// ------------------------------------------------------------ environment variables

export const ENV_VAR_TYPES: Record<EnvironmentVariableDef["type"], number> = {
  String: 100000000,
  Number: 100000001,
  Boolean: 100000002,
  JSON: 100000003,
  Secret: 100000005,
};
const ENV_TYPE_BY_CODE = Object.fromEntries(Object.entries(ENV_VAR_TYPES).map(([k, v]) => [v, k])) as Record<number, EnvironmentVariableDef["type"]>;

export function envVarFile(v: EnvironmentVariableDef, version: string): { path: string; content: string } {
  return {
    path: `environmentvariabledefinitions/${v.schemaName}/environmentvariabledefinition.xml`,
    content: toXmlDocument(
      el(
        "environmentvariabledefinition",
        { schemaname: v.schemaName },
        v.defaultValue !== undefined ? textEl("defaultvalue", v.defaultValue) : undefined,
        el("description", { default: v.description }, label(v.description)),
        el("displayname", { default: v.displayName }, label(v.displayName)),
        textEl("introducedversion", version),
        textEl("iscustomizable", 1),
        textEl("isrequired", v.isRequired ? 1 : 0),
        textEl("secretstore", v.type === "Secret" ? 1 : 0),
        textEl("type", ENV_VAR_TYPES[v.type]),
      ),
      false,
    ),
  };
}

export function parseEnvVars(files: Map<string, string>): EnvironmentVariableDef[] {
  const out: EnvironmentVariableDef[] = [];
  for (const p of [...files.keys()].filter((k) => /^environmentvariabledefinitions\/[^/]+\/environmentvariabledefinition\.xml$/i.test(k)).sort()) {
    const n = child(parseXml(files.get(p)!, p), "environmentvariabledefinition");
    if (!n) throw new SolutionFormatError(`${p}: root element must be <environmentvariabledefinition>`);
    const code = int(text(n, "type"));
    const type = code === undefined ? undefined : ENV_TYPE_BY_CODE[code];
    if (!type) throw new SolutionFormatError(`${p}: unsupported environment variable type "${text(n, "type") ?? ""}"`);
    const def: EnvironmentVariableDef = {
      schemaName: attr(n, "schemaname") ?? "",
      displayName: attr(child(child(n, "displayname"), "label"), "description") ?? "",
      description: attr(child(child(n, "description"), "label"), "description") ?? "",
      type,
      isRequired: bool01(text(n, "isrequired")),
    };
    const dv = text(n, "defaultvalue");
    if (dv !== undefined) def.defaultValue = dv;
    out.push(def);
  }
  return out;
}

// ------------------------------------------------------------ service endpoints and steps

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

/** Well-known SDK message ids (the same in every environment). */
export const SDK_MESSAGE_IDS: Record<string, string> = {
  Create: "9ebdbb1b-ea3e-db11-86a7-000a3a5473e8",
  Update: "20bebb1b-ea3e-db11-86a7-000a3a5473e8",
};

/**
 * Custom API messages get their id when the API is created in an environment; inside the solution the step
 * refers to it by a stable id derived from the unique name, and the step name carries the message too.
 */
export function sdkMessageId(message: string): string {
  return SDK_MESSAGE_IDS[message] ?? stableGuid(`sdkmessage:${message}`);
}

/** serviceendpoint object type code: the step's event handler is a service endpoint, not a plug-in type. */
export const SERVICE_ENDPOINT_TYPE_CODE = 4618;

export function stepXml(step: StepDef, version: string): XmlElement {
  return el(
    "SdkMessageProcessingStep",
    { Name: step.name, SdkMessageProcessingStepId: bracedGuid(step.id) },
    step.primaryEntity ? textEl("PrimaryEntity", step.primaryEntity) : undefined,
    textEl("AsyncAutoDelete", step.asyncAutoDelete ? 1 : 0),
    step.description ? textEl("Description", step.description) : undefined,
    step.filteringAttributes.length > 0 ? textEl("FilteringAttributes", step.filteringAttributes.join(",")) : undefined,
    textEl("InvocationSource", 0),
    textEl("Mode", step.mode),
    textEl("Rank", step.rank),
    textEl("SdkMessageId", bracedGuid(sdkMessageId(step.message))),
    textEl("EventHandler", bracedGuid(step.serviceEndpointId)),
    textEl("EventHandlerTypeCode", SERVICE_ENDPOINT_TYPE_CODE),
    textEl("Stage", step.stage),
    textEl("IsCustomizable", 1),
    textEl("IsHidden", 0),
    textEl("SupportedDeployment", 0),
    textEl("IntroducedVersion", version),
    step.images.length > 0
      ? el(
          "SdkMessageProcessingStepImages",
          null,
          step.images.map((img) =>
            el(
              "SdkMessageProcessingStepImage",
              { Name: img.name },
              textEl("SdkMessageProcessingStepImageId", bracedGuid(stableGuid(`image:${step.id}:${img.name}`))),
              textEl("Attributes", img.attributes.join(",")),
              textEl("EntityAlias", img.entityAlias),
              textEl("ImageType", img.imageType),
              textEl("MessagePropertyName", step.message === "Create" ? "Id" : "Target"),
              textEl("IsCustomizable", 1),
            ),
          ),
        )
      : undefined,
  );
}

/** Step names follow "<prefix>: <Message> of <entity>" or "<prefix>: <Message>"; see solution/README.md. */
const STEP_NAME = /:\s*([A-Za-z0-9_]+)(?:\s+of\s+([a-z0-9_]+))?\s*$/;

export function parseStep(n: XNode, where: string, knownMessages: string[]): StepDef {
  const name = attr(n, "Name") ?? "";
  const msgId = normalizeGuid(text(n, "SdkMessageId") ?? "");
  const candidates = [...Object.keys(SDK_MESSAGE_IDS), ...knownMessages];
  const message = candidates.find((m) => sdkMessageId(m) === msgId) ?? STEP_NAME.exec(name)?.[1];
  if (!message) throw new SolutionFormatError(`${where}: step "${name}" refers to an unknown SDK message ${msgId}`);
  const stage = int(text(n, "Stage"));
  const mode = int(text(n, "Mode"));
  if (stage !== 10 && stage !== 20 && stage !== 40) throw new SolutionFormatError(`${where}: step "${name}" has invalid Stage ${String(stage)}`);
  if (mode !== 0 && mode !== 1) throw new SolutionFormatError(`${where}: step "${name}" has invalid Mode ${String(mode)}`);
  const images: StepImageDef[] = children(child(n, "SdkMessageProcessingStepImages"), "SdkMessageProcessingStepImage").map((i) => {
    const t = int(text(i, "ImageType")) ?? 0;
    return {
      name: attr(i, "Name") ?? "",
      entityAlias: text(i, "EntityAlias") ?? "",
      imageType: (t === 1 || t === 2 ? t : 0) as 0 | 1 | 2,
      attributes: (text(i, "Attributes") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    };
  });
  const step: StepDef = {
    id: normalizeGuid(attr(n, "SdkMessageProcessingStepId") ?? ""),
    name,
    message,
    serviceEndpointId: normalizeGuid(text(n, "EventHandler") ?? ""),
    stage,
    mode,
    rank: int(text(n, "Rank")) ?? 1,
    filteringAttributes: (text(n, "FilteringAttributes") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    asyncAutoDelete: bool01(text(n, "AsyncAutoDelete")),
    images,
  };
  const pe = text(n, "PrimaryEntity");
  if (pe) step.primaryEntity = pe;
  const d = text(n, "Description");
  if (d) step.description = d;
  return step;
}

// ------------------------------------------------------------ security

export function roleXml(role: RoleDef, version: string): XmlElement {
  return el(
    "Role",
    { id: bracedGuid(role.id), name: role.name },
    textEl("IsCustomizable", 1),
    textEl("IntroducedVersion", version),
    el("RolePrivileges", null, [...role.privileges].sort((a, b) => a.name.localeCompare(b.name)).map((p) => el("RolePrivilege", { name: p.name, level: p.level }))),
  );
}

export function parseRole(n: XNode): RoleDef {
  return {
    id: normalizeGuid(attr(n, "id") ?? ""),
    name: attr(n, "name") ?? "",
    privileges: children(child(n, "RolePrivileges"), "RolePrivilege").map((p) => ({
      name: attr(p, "name") ?? "",
      level: (attr(p, "level") ?? "Basic") as RoleDef["privileges"][number]["level"],
    })),
  };
}

/** Field permission values: 4 = Allowed, 0 = Not allowed. */
export function fieldSecurityProfileXml(p: FieldSecurityProfileDef): XmlElement {
  return el(
    "FieldSecurityProfile",
    { fieldsecurityprofileid: bracedGuid(p.id), name: p.name, description: p.description },
    el(
      "FieldPermissions",
      null,
      p.permissions.map((fp) =>
        el(
          "FieldPermission",
          null,
          textEl("EntityName", fp.entity),
          textEl("AttributeName", fp.attribute),
          textEl("CanRead", fp.canRead ? 4 : 0),
          textEl("CanUpdate", fp.canUpdate ? 4 : 0),
          textEl("CanCreate", fp.canCreate ? 4 : 0),
        ),
      ),
    ),
  );
}

export function parseFieldSecurityProfile(n: XNode): FieldSecurityProfileDef {
  const p: FieldSecurityProfileDef = {
    id: normalizeGuid(attr(n, "fieldsecurityprofileid") ?? ""),
    name: attr(n, "name") ?? "",
    permissions: children(child(n, "FieldPermissions"), "FieldPermission").map((fp) => ({
      entity: text(fp, "EntityName") ?? "",
      attribute: text(fp, "AttributeName") ?? "",
      canRead: text(fp, "CanRead") === "4",
      canCreate: text(fp, "CanCreate") === "4",
      canUpdate: text(fp, "CanUpdate") === "4",
    })),
  };
  const d = attr(n, "description");
  if (d) p.description = d;
  return p;
}

// ------------------------------------------------------------ web resources and controls

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

export function customControlXml(c: CustomControlDef): XmlElement {
  return el("CustomControl", null, textEl("Name", c.name), textEl("FileName", `/Controls/${c.name}/ControlManifest.xml`));
}
