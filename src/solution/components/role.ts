/** Security roles: Roles/<name>.xml in the source folder, `<Roles>` in customizations.xml. */
import type { RoleDef } from "../model";
import { attr, bracedGuid, child, children, el, normalizeGuid, textEl, type XmlElement, type XNode } from "../xml";

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
