/** A stand-in for `npm run build:ui` output: the same folder layout the UI build writes, with small files. */
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const FIXTURE_MANIFEST = `<?xml version="1.0" encoding="utf-8"?>
<manifest><control namespace="Work365" constructor="StreamOneConnector" version="1.0.0" display-name-key="StreamOneConnector_Display" description-key="StreamOneConnector_Desc" control-type="virtual"><property name="hostField" display-name-key="Value" of-type="SingleLine.Text" usage="bound" required="false" /><resources><code path="bundle.js" order="1" /><css path="css/StreamOneConnector.css" order="1" /><resx path="strings/StreamOneConnector.1033.resx" version="1.0.0" /><platform-library name="React" version="16.14.0" /></resources><built-by name="pac" version="1.51.1" /></control></manifest>
`;

export async function makeUiBuild(opts: { namespace?: string } = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "w365-ui-"));
  const files: Record<string, string> = {
    "pcf/StreamOneConnector/bundle.js": "var pcf_tools_652ac3f36e1e4bca82eb3c1dc44e6fad;(function(){/* control */})();\n",
    "pcf/StreamOneConnector/ControlManifest.xml": opts.namespace
      ? FIXTURE_MANIFEST.replace('namespace="Work365"', `namespace="${opts.namespace}"`)
      : FIXTURE_MANIFEST,
    "pcf/StreamOneConnector/strings/StreamOneConnector.1033.resx":
      '<root><data name="StreamOneConnector_Display"><value>StreamOne</value></data></root>\n',
    "pcf/StreamOneConnector/css/StreamOneConnector.css": ".w365-tile{display:flex}\n",
    "webresources/w365_/streamone/connectorform.js": "var W365=W365||{};W365.onLoad=function(){};\n",
    "webresources/w365_/streamone/commands.js": "var W365=W365||{};W365.StreamOne={Commands:{verify:function(){}}};\n",
    "webresources/w365_/streamone/mapping.html": '<!doctype html><html><body><div id="root"></div></body></html>\n',
    "webresources/w365_/streamone/mapping.js": "(function(){})();\n",
    "webresources/w365_/streamone/mapping.js.map": "{}\n",
  };
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(dir, ...rel.split("/"));
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.writeFile(full, content);
  }
  return dir;
}
