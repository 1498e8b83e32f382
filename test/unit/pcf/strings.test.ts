import * as fs from "node:fs";
import * as path from "node:path";

import { STRING_KEYS } from "../../../pcf-controls/StreamOneConnector/services/stringKeys";
import { DEFAULT_ERROR_MESSAGES, ERROR_MESSAGE_KEYS } from "../../../ui-shared/validation";
import { loadResx } from "./resx";

const strings = loadResx();

describe("StreamOneConnector.1033.resx", () => {
  it("has every key the control uses, with non-empty text", () => {
    const missing = STRING_KEYS.filter((k) => !strings.get(k)?.trim());
    expect(missing).toStrictEqual([]);
  });

  it("lists every key it holds, and the control uses each one", () => {
    const listed = new Set<string>(STRING_KEYS);
    expect([...strings.keys()].filter((k) => !listed.has(k))).toStrictEqual([]);
    // The control's code and the shared model it words (ui-shared), where a key is named whole ("Key") or, for a
    // family keyed by a value, by its stem (`Map_Busy_${action}`).
    const control = path.join(__dirname, "../../../pcf-controls/StreamOneConnector");
    const files = [
      ...fs.readdirSync(control, { recursive: true, encoding: "utf8" }).map((f) => path.join(control, f)),
      ...fs.readdirSync(path.join(__dirname, "../../../ui-shared")).map((f) => path.join(__dirname, "../../../ui-shared", f)),
    ].filter((f) => /\.(tsx?|xml)$/.test(f) && !f.endsWith("stringKeys.ts"));
    const source = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    const stems = [...source.matchAll(/`([A-Za-z]+_[A-Za-z_]*_)\$\{/g)].map((m) => m[1]!);
    const unused = STRING_KEYS.filter((k) => !source.includes(`"${k}"`) && !stems.some((stem) => k.startsWith(stem)));
    expect(unused).toStrictEqual([]);
  });

  it("has every key the manifest names", () => {
    const manifest = fs.readFileSync(path.join(__dirname, "../../../pcf-controls/StreamOneConnector/ControlManifest.Input.xml"), "utf8");
    const keys = [...manifest.matchAll(/(?:display-name-key|description-key)="([^"]+)"/g)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.filter((k) => !strings.has(k))).toStrictEqual([]);
  });

  it("uses the user guide's field labels exactly", () => {
    expect([
      strings.get("Field_Name"),
      strings.get("Field_RefreshToken"),
      strings.get("Field_ApiKey"),
      strings.get("Field_ApiSecret"),
      strings.get("Field_AccountId"),
      strings.get("Field_Country"),
      strings.get("Field_CurrencyCode"),
    ]).toStrictEqual(["Name", "Refresh Token", "API Key", "API Secret", "Account ID", "Country", "Currency Code"]);
    expect(strings.get("Action_Verify")).toBe("Verify Connectivity");
    expect(strings.get("Action_SyncAccounts")).toBe("Sync Provider Accounts");
    expect(strings.get("Integrations_AddNew")).toBe("Add New");
    expect(strings.get("Tile_Create")).toBe("Create");
    expect(strings.get("Form_Save")).toBe("Save");
  });

  it("keeps validation texts identical to the web resources' defaults", () => {
    for (const [code, key] of Object.entries(ERROR_MESSAGE_KEYS)) {
      expect(strings.get(key)).toBe(DEFAULT_ERROR_MESSAGES[code as keyof typeof DEFAULT_ERROR_MESSAGES]);
    }
  });
});
