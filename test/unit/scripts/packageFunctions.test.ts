/** Which files the Functions deployment package holds: the repository's .funcignore applied as gitignore rules. */
import { readFileSync } from "node:fs";
import path from "node:path";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, loaded as npm runs it
const { selectPackageFiles, funcignoreMatcher } = require("../../../scripts/package-functions.js") as {
  selectPackageFiles(files: string[], funcignore: string): string[];
  funcignoreMatcher(funcignore: string): (file: string) => boolean;
};

const root = path.join(__dirname, "..", "..", "..");
const funcignore = readFileSync(path.join(root, ".funcignore"), "utf8");
const main = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { main: string }).main;

describe("package:functions file selection", () => {
  const kept = [
    "host.json",
    "package.json",
    "package-lock.json",
    main,
    "build/functions/runtime.js",
    "build/plugins/dispatch.js",
    "build/src/sync/index.js",
    "node_modules/@azure/functions/package.json",
    "node_modules/@azure/msal-node/lib/msal-node.cjs",
    "node_modules/zod/index.js",
  ];
  const dropped = [
    "local.settings.json",
    ".funcignore",
    ".gitignore",
    "functions/index.ts",
    "src/sync/index.ts",
    "test/unit/functions/config.test.ts",
    "sandbox/dataverse/index.ts",
    "build/sandbox/dataverse/index.js",
    "build/cli/main.js",
    "build/bench/run.js",
    "build/ui/pcf/StreamOneConnector/bundle.js",
    "build/functions/runtime.js.map",
    "node_modules/@types/node/index.d.ts",
    "node_modules/zod/README.md",
    "solution/Other/Solution.xml",
    "dist/streamone-functions.zip",
  ];

  it("keeps the runtime entry named by package.json main, the compiled app and production modules, and nothing else", () => {
    expect(main).toBe("build/functions/index.js");
    expect(selectPackageFiles([...dropped, ...kept], funcignore)).toStrictEqual([...kept].sort());
  });

  it("reads gitignore syntax: anchored and unanchored patterns, directories, globs and negation", () => {
    const ignored = funcignoreMatcher("/build/cli/\n*.map\nnode_modules/@types/\n**/fixtures\n!keep.map\n# comment");
    expect(ignored("build/cli/main.js")).toBe(true);
    expect(ignored("other/build/cli/main.js")).toBe(false);
    expect(ignored("deep/a.js.map")).toBe(true);
    expect(ignored("keep.map")).toBe(false);
    expect(ignored("node_modules/@types/node/x.d.ts")).toBe(true);
    expect(ignored("a/b/fixtures/x.json")).toBe(true);
    expect(ignored("build/client/main.js")).toBe(false);
  });
});
