/** PCF controls: Controls/<name>/ControlManifest.xml.data.xml plus the control's built files. */
import type { CustomControlDef } from "../model";
import { el, textEl, type XmlElement } from "../xml";

export function customControlXml(c: CustomControlDef): XmlElement {
  return el("CustomControl", null, textEl("Name", c.name), textEl("FileName", `/Controls/${c.name}/ControlManifest.xml`));
}
