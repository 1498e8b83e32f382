/** Field security profiles: `<FieldSecurityProfiles>` in customizations.xml (SolutionPackager has no folder for them). */
import type { FieldSecurityProfileDef } from "../model";
import { attr, bracedGuid, child, children, el, normalizeGuid, text, textEl, type XmlElement, type XNode } from "../xml";

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
