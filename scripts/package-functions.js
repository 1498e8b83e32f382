#!/usr/bin/env node
/**
 * Writes the deployable Functions app: dist/streamone-functions.zip, a zip deploy package
 * (https://learn.microsoft.com/azure/azure-functions/deployment-zip-push) holding host.json,
 * package.json (whose "main" is the runtime's entry, build/functions/index.js), the compiled app and
 * only the production node_modules. Files are chosen as Core Tools chooses them for a publish: every
 * file of the project except those `.funcignore` matches (gitignore syntax). Production modules come
 * from `npm ci --omit=dev --ignore-scripts` in a staging copy, so the package never holds the sandbox's
 * packages (better-sqlite3, faker) or the compilers.
 *
 *   npm run package:functions            (builds first; prints the zip's path and size)
 */
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const ZIP_NAME = "streamone-functions.zip";

/** One gitignore-style pattern as a test on a POSIX path relative to the project root. */
function compilePattern(raw) {
  let pattern = raw;
  const negated = pattern.startsWith("!");
  if (negated) pattern = pattern.slice(1);
  const directoryOnly = pattern.endsWith("/");
  if (directoryOnly) pattern = pattern.slice(0, -1);
  // A pattern with a slash (other than a trailing one) is anchored at the root; otherwise it matches at any depth.
  const anchored = pattern.includes("/");
  if (pattern.startsWith("/")) pattern = pattern.slice(1);
  const body = pattern
    .split(/(\*\*\/|\*\*|\*|\?)/)
    .map((part) => {
      if (part === "**/") return "(?:.*/)?";
      if (part === "**") return ".*";
      if (part === "*") return "[^/]*";
      if (part === "?") return "[^/]";
      return part.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  // Matching a directory excludes everything below it, so a pattern also matches any path it is a prefix of.
  const regex = new RegExp(`${anchored ? "^" : "(?:^|/)"}${body}${directoryOnly ? "/" : "(?:/|$)"}`);
  return { negated, test: (file) => regex.test(file) };
}

/** The .funcignore rules as one predicate: the last matching rule wins, as in gitignore. */
function funcignoreMatcher(text) {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map(compilePattern);
  return (file) => {
    let ignored = false;
    for (const rule of rules) if (rule.test(file)) ignored = !rule.negated;
    return ignored;
  };
}

/** The files of the package: every given path (POSIX, relative) that .funcignore does not exclude, sorted. */
function selectPackageFiles(files, funcignoreText) {
  const ignored = funcignoreMatcher(funcignoreText);
  return files.filter((file) => !ignored(file)).sort();
}

function listFiles(dir, base = dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) listFiles(full, base, out);
    else if (entry.isFile()) out.push(path.relative(base, full).split(path.sep).join("/"));
  }
  return out;
}

async function main() {
  const entry = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).main;
  if (!fs.existsSync(path.join(ROOT, entry)))
    throw new Error(`${entry} (package.json "main") does not exist: run \`npm run build\` first.`);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), "streamone-functions-"));
  try {
    for (const file of ["package.json", "package-lock.json", "host.json", ".funcignore"])
      fs.copyFileSync(path.join(ROOT, file), path.join(stage, file));
    fs.cpSync(path.join(ROOT, "build"), path.join(stage, "build"), { recursive: true });
    execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: stage,
      stdio: "inherit",
    });
    const files = selectPackageFiles(listFiles(stage), fs.readFileSync(path.join(stage, ".funcignore"), "utf8"));
    const JSZip = require("jszip");
    const zip = new JSZip();
    for (const file of files) {
      const full = path.join(stage, file);
      zip.file(file, fs.readFileSync(full), { unixPermissions: fs.statSync(full).mode, date: new Date("2026-01-01T00:00:00Z") });
    }
    const buffer = await zip.generateAsync({
      type: "nodebuffer",
      compression: "DEFLATE",
      compressionOptions: { level: 9 },
      platform: "UNIX",
    });
    fs.mkdirSync(path.join(ROOT, "dist"), { recursive: true });
    const target = path.join(ROOT, "dist", ZIP_NAME);
    fs.writeFileSync(target, buffer);
    const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
    const unpacked = files.reduce((sum, file) => sum + fs.statSync(path.join(stage, file)).size, 0);
    process.stdout.write(`${path.relative(ROOT, target)}: ${files.length} files, ${mb(buffer.length)} (${mb(unpacked)} unpacked)\n`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

module.exports = { funcignoreMatcher, selectPackageFiles };

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`package:functions failed: ${error.message}\n`);
    process.exitCode = 1;
  });
}
