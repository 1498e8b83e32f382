/**
 * Environment variable definitions: environmentvariabledefinitions/<schema name>/environmentvariabledefinition.xml,
 * the same file in the source folder and in the zip.
 */
import type { EnvironmentVariableDef } from "../model";
import { attr, bool01, child, el, int, label, parseXml, SolutionFormatError, text, textEl, toXmlDocument } from "../xml";

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
