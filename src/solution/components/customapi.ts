/**
 * Custom APIs ↔ customapis/<uniquename>/customapi.xml (+ request parameters and response properties), the
 * layout real exports use (docs/platform/dataverse.md 4). These files have no XSD; validate.ts checks them.
 */
import { CUSTOM_API_TYPES, type CustomApiDef, type CustomApiParameterDef, type CustomApiResponsePropertyDef, type CustomApiTypeName } from "../model";
import { attr, bool01, child, el, int, label, parseXml, SolutionFormatError, text, textEl, toXmlDocument, type XmlElement,type XNode } from "../xml";

const TYPE_BY_CODE = Object.fromEntries(Object.entries(CUSTOM_API_TYPES).map(([k, v]) => [v, k as CustomApiTypeName])) as Record<number, CustomApiTypeName>;

function labelled(name: string, value: string): XmlElement {
  return el(name, { default: value }, label(value));
}

function labelledText(node: XNode | undefined): string {
  const lbl = child(node, "label");
  return attr(lbl, "description") ?? attr(node, "default") ?? "";
}

/** Request parameters and response properties share one file shape; only parameters carry <isoptional>. */
interface MemberKind {
  folder: string;
  element: string;
}
const REQUEST_PARAMETER: MemberKind = { folder: "customapirequestparameters", element: "customapirequestparameter" };
const RESPONSE_PROPERTY: MemberKind = { folder: "customapiresponseproperties", element: "customapiresponseproperty" };

function memberFile(base: string, kind: MemberKind, m: CustomApiResponsePropertyDef, isOptional?: boolean): { path: string; content: string } {
  return {
    path: `${base}/${kind.folder}/${m.uniqueName}/${kind.element}.xml`,
    content: toXmlDocument(
      el(
        kind.element,
        { uniquename: m.uniqueName },
        labelled("description", m.description),
        labelled("displayname", m.displayName),
        textEl("iscustomizable", 1),
        ...(isOptional === undefined ? [] : [textEl("isoptional", isOptional ? 1 : 0)]),
        textEl("logicalentityname", m.logicalEntityName ?? ""),
        textEl("name", m.name),
        textEl("type", CUSTOM_API_TYPES[m.type]),
      ),
      false,
    ),
  };
}

/** Every member file of one kind under an API folder, parsed, in path order. */
function readMembers(files: Map<string, string>, apiDir: string, kind: MemberKind): { path: string; node: XNode; member: CustomApiResponsePropertyDef }[] {
  const prefix = `${apiDir}/${kind.folder}/`;
  return [...files.keys()]
    .filter((k) => k.startsWith(prefix) && k.endsWith(`/${kind.element}.xml`))
    .sort()
    .map((path) => {
      const node = child(parseXml(files.get(path)!, path), kind.element);
      if (!node) throw new SolutionFormatError(`${path}: root element must be <${kind.element}>`);
      const member: CustomApiResponsePropertyDef = {
        uniqueName: attr(node, "uniquename") ?? "",
        name: text(node, "name") ?? "",
        displayName: labelledText(child(node, "displayname")),
        description: labelledText(child(node, "description")),
        type: parseType(node, path),
      };
      const logicalEntityName = text(node, "logicalentityname");
      if (logicalEntityName) member.logicalEntityName = logicalEntityName;
      return { path, node, member };
    });
}

export function customApiFiles(api: CustomApiDef): { path: string; content: string }[] {
  const base = `customapis/${api.uniqueName}`;
  const files: { path: string; content: string }[] = [];
  files.push({
    path: `${base}/customapi.xml`,
    content: toXmlDocument(
      el(
        "customapi",
        { uniquename: api.uniqueName },
        textEl("allowedcustomprocessingsteptype", api.allowedCustomProcessingStepType),
        textEl("bindingtype", api.bindingType),
        textEl("boundentitylogicalname", api.boundEntityLogicalName ?? ""),
        labelled("description", api.description),
        labelled("displayname", api.displayName),
        textEl("executeprivilegename", api.executePrivilegeName ?? ""),
        textEl("iscustomizable", 1),
        textEl("isfunction", api.isFunction ? 1 : 0),
        textEl("isprivate", api.isPrivate ? 1 : 0),
        textEl("name", api.name),
        textEl("workflowsdkstepenabled", api.workflowSdkStepEnabled ? 1 : 0),
      ),
      false,
    ),
  });
  for (const p of api.requestParameters) files.push(memberFile(base, REQUEST_PARAMETER, p, p.isOptional));
  for (const r of api.responseProperties) files.push(memberFile(base, RESPONSE_PROPERTY, r));
  return files;
}

function parseType(node: XNode, where: string): CustomApiTypeName {
  const code = int(text(node, "type"));
  const name = code === undefined ? undefined : TYPE_BY_CODE[code];
  if (!name) throw new SolutionFormatError(`${where}: invalid custom API type "${text(node, "type") ?? ""}" (0..12)`);
  return name;
}

/**
 * Build custom APIs from a path → text map holding customapis/** files (from a folder or a zip).
 * Paths use forward slashes and start at "customapis/".
 */
export function parseCustomApis(files: Map<string, string>): CustomApiDef[] {
  const apis: CustomApiDef[] = [];
  const apiPaths = [...files.keys()].filter((p) => /^customapis\/[^/]+\/customapi\.xml$/i.test(p)).sort();
  for (const apiPath of apiPaths) {
    const dir = apiPath.slice(0, apiPath.lastIndexOf("/"));
    const root = child(parseXml(files.get(apiPath)!, apiPath), "customapi");
    if (!root) throw new SolutionFormatError(`${apiPath}: root element must be <customapi>`);
    const uniqueName = attr(root, "uniquename") ?? "";
    const binding = int(text(root, "bindingtype")) ?? 0;
    const stepType = int(text(root, "allowedcustomprocessingsteptype")) ?? 0;
    if (![0, 1, 2].includes(binding)) throw new SolutionFormatError(`${apiPath}: bindingtype must be 0, 1 or 2`);
    if (![0, 1, 2].includes(stepType)) throw new SolutionFormatError(`${apiPath}: allowedcustomprocessingsteptype must be 0, 1 or 2`);
    const api: CustomApiDef = {
      uniqueName,
      name: text(root, "name") ?? uniqueName,
      displayName: labelledText(child(root, "displayname")),
      description: labelledText(child(root, "description")),
      bindingType: binding as 0 | 1 | 2,
      isFunction: bool01(text(root, "isfunction")),
      isPrivate: bool01(text(root, "isprivate")),
      allowedCustomProcessingStepType: stepType as 0 | 1 | 2,
      workflowSdkStepEnabled: bool01(text(root, "workflowsdkstepenabled")),
      requestParameters: [],
      responseProperties: [],
    };
    const bound = text(root, "boundentitylogicalname");
    if (bound) api.boundEntityLogicalName = bound;
    const priv = text(root, "executeprivilegename");
    if (priv) api.executePrivilegeName = priv;
    for (const { node, member } of readMembers(files, dir, REQUEST_PARAMETER)) {
      const param: CustomApiParameterDef = { ...member, isOptional: bool01(text(node, "isoptional")) };
      api.requestParameters.push(param);
    }
    for (const { path, node, member } of readMembers(files, dir, RESPONSE_PROPERTY)) {
      if (node["isoptional"] !== undefined) throw new SolutionFormatError(`${path}: a response property must not have <isoptional> (Dataverse rejects the import)`);
      api.responseProperties.push(member);
    }
    apis.push(api);
  }
  return apis;
}
