/**
 * A TypeScript entry bundled into one CommonJS file a child process can run with plain `node`: tests that
 * need a separate OS process (its own environment, a crash at a chosen point) start it from here.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { buildSync } from "esbuild";

const built = new Map<string, string>();

/** Bundles `entry` once per test file; packages stay external and resolve from the repository's node_modules. */
export function bundleChildScript(entry: string): string {
  const existing = built.get(entry);
  if (existing) return existing;
  const outfile = path.join(mkdtempSync(path.join(os.tmpdir(), "test-child-")), `${path.basename(entry, ".ts")}.js`);
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    packages: "external",
    outfile,
    logLevel: "error",
  });
  built.set(entry, outfile);
  return outfile;
}
