#!/usr/bin/env node
"use strict";
// Thin launcher for `npm run bench`: the benchmark is compiled from bench/ into build/bench/ by `npm run build`.
const path = require("path");
const fs = require("fs");
const entry = path.join(__dirname, "..", "build", "bench", "run.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("the benchmark is not built yet. Run `npm run build` in " + path.join(__dirname, "..") + " first.\n");
  process.exit(1);
}
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
