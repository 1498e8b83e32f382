/**
 * Figures for REPORT.md. Each test writes one JSON file under test/artifacts/reliability/ (the npm-test
 * variant) or test/artifacts/reliability/soak/ (the soak); test/soak/write-report.js turns them into
 * test/reliability/REPORT.md. Nothing secret is ever written here (the secret scan reads these files too).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export const ARTIFACTS_DIR = path.resolve(__dirname, "../../artifacts/reliability");
export const isSoak = process.env.RELIABILITY_SOAK === "1";

export function recordFigures(area: string, figures: Record<string, unknown>): void {
  const dir = isSoak ? path.join(ARTIFACTS_DIR, "soak") : ARTIFACTS_DIR;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, `${area}.json`),
    `${JSON.stringify({ area, variant: isSoak ? "soak" : "npm-test", at: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
}

/** A text artifact (logs, CLI output) kept for the secret scan. */
export function recordArtifact(name: string, text: string): void {
  const dir = path.join(ARTIFACTS_DIR, "logs");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), text);
}
