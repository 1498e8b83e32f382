#!/usr/bin/env node
/**
 * Secret scan over files. The suite never writes a secret to disk, so it records
 * fingerprints instead: SHA-256 and length of every secret the simulator/emulator issued
 * (test/artifacts/reliability/secret-fingerprints.json). This script hashes every run of token-like
 * characters in the given files (every window of each fingerprinted length, plain and URL-decoded) and
 * reports any match. Exit 0 = nothing found, 1 = a secret was found, 2 = bad usage.
 *
 *   node scripts/secret-scan.js [--fingerprints FILE] [--json] [PATH...]   (default PATH: test/artifacts)
 */
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

function listFiles(target, out) {
  if (!fs.existsSync(target)) return out;
  const stat = fs.statSync(target);
  if (stat.isDirectory()) for (const name of fs.readdirSync(target)) listFiles(path.join(target, name), out);
  else if (stat.isFile() && !/secret-fingerprints\.json$/.test(target)) out.push(target);
  return out;
}

const sha = (s) => createHash("sha256").update(s).digest("hex");

function scanText(text, byLength) {
  const found = new Set();
  const lengths = [...byLength.keys()];
  const runs = text.match(/[A-Za-z0-9._~+/=%-]{8,}/g) || [];
  for (const run of runs) {
    const variants = [run];
    if (run.includes("%")) {
      try {
        variants.push(decodeURIComponent(run));
      } catch {
        /* not URL-encoded */
      }
    }
    for (const v of variants) {
      for (const len of lengths) {
        if (v.length < len) continue;
        const hashes = byLength.get(len);
        for (let i = 0; i + len <= v.length; i++) {
          const h = sha(v.slice(i, i + len));
          if (hashes.has(h)) found.add(hashes.get(h));
        }
      }
    }
  }
  return [...found];
}

function scanFiles(files, fingerprints) {
  const byLength = new Map();
  for (const f of fingerprints) {
    if (!byLength.has(f.length)) byLength.set(f.length, new Map());
    byLength.get(f.length).set(f.sha256, f.label);
  }
  const findings = [];
  let bytes = 0;
  for (const file of files) {
    const text = fs.readFileSync(file).toString("latin1");
    bytes += text.length;
    for (const label of scanText(text, byLength)) findings.push({ file, secret: label });
  }
  return { files: files.length, bytes, secretsKnown: fingerprints.length, findings };
}

function main(argv) {
  let fingerprintsFile = path.resolve(__dirname, "../test/artifacts/reliability/secret-fingerprints.json");
  let json = false;
  const targets = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--fingerprints") fingerprintsFile = argv[++i];
    else if (argv[i] === "--json") json = true;
    else if (argv[i].startsWith("--")) {
      process.stderr.write(`unknown flag ${argv[i]}\n`);
      return 2;
    } else targets.push(argv[i]);
  }
  if (!fingerprintsFile || !fs.existsSync(fingerprintsFile)) {
    process.stderr.write(`no fingerprints file at ${fingerprintsFile}: run the reliability suite first\n`);
    return 2;
  }
  const fingerprints = JSON.parse(fs.readFileSync(fingerprintsFile, "utf8"));
  const files = (targets.length ? targets : [path.resolve(__dirname, "../test/artifacts")]).flatMap((t) => listFiles(path.resolve(t), []));
  const result = scanFiles(files, fingerprints);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      `secret scan: ${result.files} files, ${result.bytes} bytes, ${result.secretsKnown} secrets known, ${result.findings.length} found\n${result.findings.map((f) => `  ${f.file}: ${f.secret}`).join("\n")}`,
    );
  return result.findings.length ? 1 : 0;
}

module.exports = { scanFiles, scanText, listFiles, sha };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
