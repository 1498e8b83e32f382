#!/usr/bin/env node
// `npm run gen:schema`: writes src/schema/generated.ts from solution/ (src/schema/generate.ts does the work).
// esbuild bundles the TypeScript generator on the fly, so regenerating needs no `npm run build` first.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "build", "tools", "gen-schema.js");

async function main() {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  require("esbuild").buildSync({
    entryPoints: [path.join(ROOT, "src", "schema", "generate.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    outfile: OUT,
    logLevel: "warning",
  });
  const file = await require(OUT).writeSchemaModule(ROOT);
  process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
}

main().catch((err) => {
  process.stderr.write(`gen:schema failed: ${(err && err.message) || err}\n${(err && err.hint) || ""}\n`);
  process.exitCode = 1;
});
