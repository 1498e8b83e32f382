import { readFileSync } from "node:fs";
import { join } from "node:path";

import { AccountIndex, matchCustomer, type MatchDecision } from "../../../../src/sync/matching";
import { type LabelledPair, type Script, SCRIPT_PAIRS } from "./scriptPairs";

/**
 * Precision and recall by script on the labelled pairs (scriptPairs.ts). Each pair is matched on its own, the way
 * a customer meets the one account that could be it: same postal code and country on both sides, so the name alone
 * decides whether they are the same organisation. "Found" is a suggestion or an auto-map of that account.
 * The table is in README.md next to this file; this test fails when the README no longer says what the matcher does.
 */
const POSTAL_CODE = "10115";
const COUNTRY = "DE";

function decide(pair: LabelledPair): MatchDecision {
  const index = new AccountIndex();
  index.add({ accountid: "account", name: pair.account, address1_postalcode: POSTAL_CODE, address1_country: COUNTRY });
  return matchCustomer(index, { organization: pair.customer, postalCode: POSTAL_CODE, country: COUNTRY });
}

interface ScriptFigures {
  script: Script;
  pairs: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  autoMapped: number;
  wrongAutoMaps: number;
}

function figures(script: Script): ScriptFigures {
  const f: ScriptFigures = { script, pairs: 0, truePositives: 0, falsePositives: 0, falseNegatives: 0, autoMapped: 0, wrongAutoMaps: 0 };
  for (const pair of SCRIPT_PAIRS[script]) {
    const d = decide(pair);
    const found = d.decision !== "none" && d.best?.accountId === "account";
    f.pairs++;
    if (pair.same && found) f.truePositives++;
    if (pair.same && !found) f.falseNegatives++;
    if (!pair.same && found) f.falsePositives++;
    if (pair.same && d.decision === "map") f.autoMapped++;
    if (!pair.same && d.decision === "map") f.wrongAutoMaps++;
  }
  return f;
}

const percent = (part: number, whole: number) => (whole === 0 ? "n/a" : `${Math.round((100 * part) / whole)} %`);

function table(rows: ScriptFigures[]): string {
  const lines = [
    "| script | pairs (same / different) | precision | recall | auto-mapped (of same) | wrong auto-maps |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const positives = r.truePositives + r.falseNegatives;
    lines.push(
      `| ${r.script} | ${r.pairs} (${positives} / ${r.pairs - positives}) | ${percent(r.truePositives, r.truePositives + r.falsePositives)} | ` +
        `${percent(r.truePositives, positives)} | ${percent(r.autoMapped, positives)} | ${r.wrongAutoMaps} |`,
    );
  }
  return lines.join("\n");
}

const scripts = Object.keys(SCRIPT_PAIRS) as Script[];
const rows = scripts.map(figures);

describe("matching names in every script (labelled pairs)", () => {
  it("never auto-maps a different organisation, in any script", () => {
    expect(rows.filter((r) => r.wrongAutoMaps > 0)).toStrictEqual([]);
  });

  it("never auto-maps on a transliterated name alone", () => {
    const mapped = SCRIPT_PAIRS.Transliterated.filter((pair) => decide(pair).decision === "map");
    expect(mapped).toStrictEqual([]);
  });

  it("finds identical names in every script, legal forms aside", () => {
    for (const script of scripts) {
      const pair = SCRIPT_PAIRS[script].find((p) => p.same)!;
      expect([script, decide(pair).decision]).not.toStrictEqual([script, "none"]);
    }
  });

  it.each(scripts.filter((s) => s !== "Transliterated"))("%s: precision 100 %% and recall at least 85 %%", (script) => {
    const r = rows.find((row) => row.script === script)!;
    expect(r.falsePositives).toBe(0);
    expect(r.truePositives / (r.truePositives + r.falseNegatives)).toBeGreaterThanOrEqual(0.85);
  });

  it("README.md reports these figures", () => {
    const readme = readFileSync(join(__dirname, "README.md"), "utf8");
    expect(readme).toContain(table(rows));
  });
});
