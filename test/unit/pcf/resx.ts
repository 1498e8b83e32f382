// Reads the control's resx the way the platform does for context.resources.getString.
import * as fs from "node:fs";
import * as path from "node:path";

import { XMLParser } from "fast-xml-parser";

export const RESX_PATH = path.join(__dirname, "../../../pcf-controls/StreamOneConnector/strings/StreamOneConnector.1033.resx");

export function loadResx(file = RESX_PATH): Map<string, string> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" });
  const doc = parser.parse(fs.readFileSync(file, "utf8")) as {
    root: { data: { name: string; value: string } | { name: string; value: string }[] };
  };
  const data = Array.isArray(doc.root.data) ? doc.root.data : [doc.root.data];
  return new Map(data.map((d) => [d.name, String(d.value)]));
}

const strings = loadResx();
/** Like the platform: an unknown key comes back as the key itself. */
export const getString = (key: string): string => strings.get(key) ?? key;
