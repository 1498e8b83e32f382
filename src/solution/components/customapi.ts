/**
 * Custom APIs ↔ customapis/<uniquename>/customapi.xml (+ request parameters and response properties), the
 * layout real exports use (reference/dataverse.md §4). These files have no XSD; validate.ts checks them.
 */
import { CUSTOM_API_TYPES, type CustomApiDef, type CustomApiParameterDef, type CustomApiResponsePropertyDef, type CustomApiTypeName } from "../model";
import { SolutionFormatError, attr, bool01, child, el, int, label, parseXml, text, textEl, toXmlDocument, type XNode, type XmlElement } from "../xml";

const TYPE_BY_CODE = Object.fromEntries(Object.entries(CUSTOM_API_TYPES).map(([k, v]) => [v, k as CustomApiTypeName])) as Record<number, CustomApiTypeName>;

function labelled(name: string, value: string): XmlElement {
  return el(name, { default: value }, label(value));
}

function labelledText(node: XNode | undefined): string {
  const lbl = child(node, "label");
  return attr(lbl, "description") ?? attr(node, "default") ?? "";
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
  for (const p of api.requestParameters) {
    files.push({
      path: `${base}/customapirequestparameters/${p.uniqueName}/customapirequestparameter.xml`,
      content: toXmlDocument(
        el(
          "customapirequestparameter",
          { uniquename: p.uniqueName },
          labelled("description", p.description),
          labelled("displayname", p.displayName),
          textEl("iscustomizable", 1),
          textEl("isoptional", p.isOptional ? 1 : 0),
          textEl("logicalentityname", p.logicalEntityName ?? ""),
          textEl("name", p.name),
          textEl("type", CUSTOM_API_TYPES[p.type]),
        ),
        false,
      ),
    });
  }
  for (const r of api.responseProperties) {
    files.push({
      path: `${base}/customapiresponseproperties/${r.uniqueName}/customapiresponseproperty.xml`,
      content: toXmlDocument(
        el(
          "customapiresponseproperty",
          { uniquename: r.uniqueName },
          labelled("description", r.description),
          labelled("displayname", r.displayName),
          textEl("iscustomizable", 1),
          textEl("logicalentityname", r.logicalEntityName ?? ""),
          textEl("name", r.name),
          textEl("type", CUSTOM_API_TYPES[r.type]),
        ),
        false,
      ),
    });
  }
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
    const prefix = `${dir}/`;
    for (const p of [...files.keys()].filter((k) => k.startsWith(`${prefix}customapirequestparameters/`) && k.endsWith("/customapirequestparameter.xml")).sort()) {
      const n = child(parseXml(files.get(p)!, p), "customapirequestparameter");
      if (!n) throw new SolutionFormatError(`${p}: root element must be <customapirequestparameter>`);
      const param: CustomApiParameterDef = {
        uniqueName: attr(n, "uniquename") ?? "",
        name: text(n, "name") ?? "",
        displayName: labelledText(child(n, "displayname")),
        description: labelledText(child(n, "description")),
        type: parseType(n, p),
        isOptional: bool01(text(n, "isoptional")),
      };
      const le = text(n, "logicalentityname");
      if (le) param.logicalEntityName = le;
      api.requestParameters.push(param);
    }
    for (const p of [...files.keys()].filter((k) => k.startsWith(`${prefix}customapiresponseproperties/`) && k.endsWith("/customapiresponseproperty.xml")).sort()) {
      const n = child(parseXml(files.get(p)!, p), "customapiresponseproperty");
      if (!n) throw new SolutionFormatError(`${p}: root element must be <customapiresponseproperty>`);
      if (n["isoptional"] !== undefined) throw new SolutionFormatError(`${p}: a response property must not have <isoptional> (Dataverse rejects the import)`);
      const prop: CustomApiResponsePropertyDef = {
        uniqueName: attr(n, "uniquename") ?? "",
        name: text(n, "name") ?? "",
        displayName: labelledText(child(n, "displayname")),
        description: labelledText(child(n, "description")),
        type: parseType(n, p),
      };
      const le = text(n, "logicalentityname");
      if (le) prop.logicalEntityName = le;
      api.responseProperties.push(prop);
    }
    apis.push(api);
  }
  return apis;
}
