/** The admin UI's size budget (scripts/bundle-budget.js), which `npm run build:ui` applies to what it built. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

interface BudgetEntry {
  name: string;
  files: string[];
  raw: number;
  gzip: number;
  ok: boolean;
  problems?: string[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, loaded as npm runs it
const { checkBudget, pageScripts, MAX_BUNDLE_BYTES } = require("../../../scripts/bundle-budget.js") as {
  MAX_BUNDLE_BYTES: number;
  pageScripts(html: string): string[];
  checkBudget(options: { pcfBundle: string; page: string; max?: number }): { entries: BudgetEntry[]; ok: boolean; report: string };
};

describe("bundle size budget", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "w365-budget-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, bytes: number): string => {
    const p = path.join(dir, name);
    // Varied text, so gzip does not shrink it to nothing.
    writeFileSync(p, Array.from({ length: bytes }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join(""));
    return p;
  };
  const page = (html: string): string => {
    const p = path.join(dir, "mapping.html");
    writeFileSync(p, html);
    return p;
  };

  it("is 150 KB for each of the PCF bundle and the mapping page", () => {
    expect(MAX_BUNDLE_BYTES).toBe(150 * 1024);
  });

  it("reads every script a page loads, in order, however its src is quoted", () => {
    expect(
      pageScripts(`<script src="a.js"></script><script>inline()</script><SCRIPT defer src='b.js'></SCRIPT><script src=c.js></script>`),
    ).toStrictEqual(["a.js", "b.js", "c.js"]);
  });

  it("passes within the budget and reports raw and gzip sizes of both", () => {
    const result = checkBudget({ pcfBundle: file("bundle.js", 100 * 1024), page: page('<script src="mapping.js"></script>') });
    file("mapping.js", 2 * 1024);
    const again = checkBudget({ pcfBundle: path.join(dir, "bundle.js"), page: path.join(dir, "mapping.html") });
    expect(result.ok).toBe(false); // mapping.js did not exist yet: a missing script fails
    expect(again.ok).toBe(true);
    expect(again.entries.map((e) => [e.name, e.raw])).toStrictEqual([
      ["PCF bundle.js", 100 * 1024],
      ["mapping.html scripts", 2 * 1024],
    ]);
    expect(again.entries.every((e) => e.gzip > 0 && e.gzip < e.raw)).toBe(true);
    expect(again.report).toMatch(
      /^PCF bundle\.js: 100\.0 KB raw, [\d.]+ KB gzip .*; mapping\.html scripts: 2\.0 KB raw, [\d.]+ KB gzip \[mapping\.js/,
    );
  });

  it("fails a PCF bundle over 150 KB", () => {
    file("mapping.js", 1024);
    const result = checkBudget({ pcfBundle: file("bundle.js", 150 * 1024 + 1), page: page('<script src="mapping.js"></script>') });
    expect(result.ok).toBe(false);
    expect(result.report).toMatch(/PCF bundle\.js: 150\.0 KB raw.*over the 150\.0 KB budget/);
  });

  it("counts every script of the page together: a shared library file loaded beside the page's script counts", () => {
    file("bundle.js", 50 * 1024);
    file("mapping.js", 36 * 1024);
    file("uiplatform.js", 429 * 1024);
    const result = checkBudget({
      pcfBundle: path.join(dir, "bundle.js"),
      page: page('<script src="uiplatform.js"></script><script src="mapping.js"></script>'),
    });
    expect(result.ok).toBe(false);
    expect(result.entries[1]).toMatchObject({ raw: 465 * 1024, files: ["mapping.html", "uiplatform.js", "mapping.js"], ok: false });
  });

  it("fails a script loaded from outside the build, which it cannot count", () => {
    file("bundle.js", 1024);
    const result = checkBudget({
      pcfBundle: path.join(dir, "bundle.js"),
      page: page('<script src="https://cdn.example/react.js"></script>'),
    });
    expect(result.ok).toBe(false);
    expect(result.report).toContain("https://cdn.example/react.js is not a file of this build");
  });
});
