#!/usr/bin/env node
/**
 * `prepare` runs after every local `npm ci` / `npm install`: it builds the CLI, the Functions app and the
 * UI, so `npm ci && npm start` and `npm ci && npm test` work on a fresh machine. A production install
 * (`npm ci --omit=dev`) has no compilers: it skips the build instead of failing, and says so.
 */
"use strict";
const { execSync } = require("node:child_process");
const path = require("node:path");

const root = path.join(__dirname, "..");
let compilersInstalled = true;
try {
  require.resolve("typescript/package.json", { paths: [root] });
  require.resolve("esbuild/package.json", { paths: [root] });
} catch {
  compilersInstalled = false;
}
if (!compilersInstalled) {
  process.stdout.write(
    "prepare: dev dependencies are not installed (npm ci --omit=dev), so nothing is built. " +
      "Deploy the package written by `npm run package:functions` on a machine with the full install.\n",
  );
} else {
  execSync("npm run build && npm run build:ui", { cwd: root, stdio: "inherit" });
}
