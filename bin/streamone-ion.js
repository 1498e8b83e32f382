#!/usr/bin/env node
"use strict";
// Thin launcher: the CLI is compiled from TypeScript into build/ by `npm run build` (run by `npm ci` via `prepare`).
const path = require("path");
const fs = require("fs");
const entry = path.join(__dirname, "..", "build", "cli", "main.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("streamone-ion is not built yet. Run `npm ci` (or `npm run build`) in " + path.join(__dirname, "..") + " first.\n");
  process.exit(1);
}
// Bounds the heap to the live set (src/shared/heap.ts: peak RSS of a large sync).
require(path.join(__dirname, "..", "build", "src", "shared", "heap.js")).tuneHeapGrowth();
require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = typeof code === "number" ? code : 0;
    },
    (err) => {
      process.stderr.write(String((err && err.message) || err) + "\n");
      process.exitCode = 1;
    },
  );
