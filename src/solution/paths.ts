/**
 * Where the repository's solution folders are, independent of the current directory: the CLI runs from
 * build/src/… after `npm run build`, tests from src/…, and either may be started from anywhere.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

let cached: string | undefined;

/** The nearest ancestor of this file (or of cwd) that holds solution/Other/Solution.xml. */
export function repoRoot(): string {
  if (cached) return cached;
  for (const start of [__dirname, process.cwd()]) {
    let dir = start;
    for (;;) {
      if (existsSync(path.join(dir, "solution", "Other", "Solution.xml"))) return (cached = dir);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return (cached = process.cwd());
}

export const defaultSourceDir = (): string => path.join(repoRoot(), "solution");
export const defaultUiDir = (): string => path.join(repoRoot(), "build", "ui");
export const defaultSchemaDir = (): string => path.join(repoRoot(), "solution", "schemas");
