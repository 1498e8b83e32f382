/**
 * Packing: solution source + UI build output → dist/StreamOneIonConnector_<version>.zip (and _managed.zip).
 *
 * Version: Solution.xml is the single source of truth (major.minor.build.revision); `version` overrides it
 * for a CI build number. package.json's 3-part version is deliberately not used: Dataverse refuses to
 * import an older 4-part version over a newer one, so the solution version must be bumped on purpose.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";

import { ConnectorError } from "../shared/errors";
import { webResourceTypeFor } from "./components/webResource";
import { readSolutionSource, writeSolutionZip } from "./io";
import type { CustomControlDef, SolutionModel, WebResourceDef } from "./model";
import { defaultSourceDir, defaultUiDir, repoRoot } from "./paths";
import { validateSolution } from "./validate";
import { attr, child, parseXml } from "./xml";

export class SolutionPackError extends ConnectorError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super("SOLUTION_PACK", message, options);
  }
}

export const DEFAULT_OUT_DIR = "dist";
/** Folder (under the UI dir) holding the pcf-scripts output of the connector control. */
export const PCF_BUILD_SUBDIR = path.join("pcf", "StreamOneConnector");
export const WEBRESOURCE_BUILD_SUBDIR = "webresources";
/** Build by-products that are not web resources. */
const SKIPPED_WEBRESOURCE_EXTENSIONS = new Set(["map", "txt", "md"]);

const VERSION = /^\d+\.\d+\.\d+\.\d+$/;

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full, base)));
    else if (e.isFile()) out.push(path.relative(base, full).split(path.sep).join("/"));
  }
  return out.sort();
}

export interface UiArtifacts {
  control?: { files: { path: string; content: Buffer }[]; namespace?: string; constructorName?: string };
  webResources: WebResourceDef[];
}

/** Read what `npm run build:ui` produced. Missing folders give empty results (checked by the caller). */
export async function readUiArtifacts(uiDir = defaultUiDir()): Promise<UiArtifacts> {
  const result: UiArtifacts = { webResources: [] };
  const pcfDir = path.join(uiDir, PCF_BUILD_SUBDIR);
  if (await exists(pcfDir)) {
    const files = await Promise.all((await listFiles(pcfDir)).map(async (p) => ({ path: p, content: await fs.readFile(path.join(pcfDir, ...p.split("/"))) })));
    const manifest = files.find((f) => f.path === "ControlManifest.xml");
    result.control = { files };
    if (manifest) {
      const control = child(child(parseXml(manifest.content.toString("utf8"), "ControlManifest.xml"), "manifest"), "control");
      const ns = attr(control, "namespace");
      const ctor = attr(control, "constructor");
      if (ns) result.control.namespace = ns;
      if (ctor) result.control.constructorName = ctor;
    }
  }
  const wrDir = path.join(uiDir, WEBRESOURCE_BUILD_SUBDIR);
  if (await exists(wrDir)) {
    for (const name of await listFiles(wrDir)) {
      const ext = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
      if (SKIPPED_WEBRESOURCE_EXTENSIONS.has(ext)) continue;
      const type = webResourceTypeFor(name);
      if (type === undefined) {
        throw new SolutionPackError(`UI build file webresources/${name} has no web resource type (.${ext})`, {
          hint: "Web resources must be html, css, js, xml, png, jpg, gif, xsl, ico, svg or resx.",
        });
      }
      result.webResources.push({
        name,
        displayName: name.slice(name.lastIndexOf("/") + 1),
        type,
        fileName: `/WebResources/${name}`,
        content: await fs.readFile(path.join(wrDir, ...name.split("/"))),
      });
    }
  }
  return result;
}

/** Merge UI build output into a model read from source: declared components get content, new files get descriptors. */
export function mergeUiArtifacts(model: SolutionModel, ui: UiArtifacts): SolutionModel {
  const byName = new Map(model.webResources.map((w) => [w.name, w]));
  for (const built of ui.webResources) {
    const declared = byName.get(built.name);
    byName.set(built.name, declared ? { ...declared, content: built.content } : built);
  }
  let customControls: CustomControlDef[] = model.customControls;
  if (ui.control) {
    const builtName = ui.control.namespace && ui.control.constructorName ? `${model.publisher.customizationPrefix}_${ui.control.namespace}.${ui.control.constructorName}` : undefined;
    const target = model.customControls.find((c) => c.name === builtName) ?? (model.customControls.length === 1 ? model.customControls[0] : undefined);
    if (builtName && target && target.name !== builtName) {
      throw new SolutionPackError(`The built PCF control is ${builtName} but the solution declares ${target.name}`, {
        hint: "Keep namespace/constructor in ControlManifest.Input.xml in line with solution/Controls/.",
      });
    }
    const name = target?.name ?? builtName;
    if (name) customControls = [...model.customControls.filter((c) => c.name !== name), { name, files: ui.control.files }].sort((a, b) => a.name.localeCompare(b.name));
  }
  return { ...model, webResources: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)), customControls };
}

/** `npm run build:ui` in the repository root; output is inherited so the build log stays visible. */
export function runNpmBuildUi(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build:ui"], { cwd: repoRoot(), stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (err) => reject(new SolutionPackError(`Could not start the UI build: ${err.message}`, { cause: err })));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new SolutionPackError(`npm run build:ui failed (exit ${String(code)})`, { hint: "Fix the UI build, then pack again." }))));
  });
}

/** Solution source plus the UI build when present (the sandbox imports this). */
export async function loadSolutionModel(opts: { sourceDir?: string; uiDir?: string } = {}): Promise<SolutionModel> {
  const model = await readSolutionSource(opts.sourceDir ?? defaultSourceDir());
  return mergeUiArtifacts(model, await readUiArtifacts(opts.uiDir ?? defaultUiDir()));
}

export function zipFileName(uniqueName: string, version: string, managed: boolean): string {
  return `${uniqueName}_${version.replace(/\./g, "_")}${managed ? "_managed" : ""}.zip`;
}

export interface PackOptions {
  managed?: boolean;
  outDir?: string;
  uiDir?: string;
  sourceDir?: string;
  /** Overrides Solution.xml's version (4 parts). */
  version?: string;
  /** Run `npm run build:ui` first (a clean clone has no build/ui). */
  buildUi?: boolean;
  /** Runs the UI build; defaults to `npm run build:ui` in the repository root. */
  runUiBuild?: () => Promise<void>;
}

export interface PackResult {
  unmanaged: string;
  managed?: string;
  version: string;
  warnings: string[];
}

/**
 * Build the solution zip(s) into outDir. Needs the UI build (build/ui) for the PCF control and web resources;
 * validates (XSD + structure) before writing anything.
 */
export async function packSolution(opts: PackOptions = {}): Promise<PackResult> {
  const uiDir = opts.uiDir ?? defaultUiDir();
  const outDir = opts.outDir ?? DEFAULT_OUT_DIR;
  if (opts.buildUi) await (opts.runUiBuild ?? runNpmBuildUi)();
  if (!(await exists(uiDir))) {
    throw new SolutionPackError(`UI build output not found at ${uiDir}`, { hint: "run npm run build:ui first" });
  }
  let model = await loadSolutionModel({ sourceDir: opts.sourceDir ?? defaultSourceDir(), uiDir });
  if (opts.version !== undefined) {
    if (!VERSION.test(opts.version)) throw new SolutionPackError(`Version "${opts.version}" must have four numeric parts (major.minor.build.revision)`);
    model = { ...model, version: opts.version };
  }
  const report = await validateSolution(model, { requireContent: true });
  if (report.errors.length > 0) {
    throw new SolutionPackError(`The solution is not valid (${report.errors.length} error(s)):\n- ${report.errors.slice(0, 20).join("\n- ")}`, {
      hint: "Fix solution/ or the UI build and pack again.",
    });
  }
  await fs.mkdir(outDir, { recursive: true });
  const unmanagedPath = path.join(outDir, zipFileName(model.uniqueName, model.version, false));
  await fs.writeFile(unmanagedPath, await writeSolutionZip(model, { managed: false }));
  const result: PackResult = { unmanaged: unmanagedPath, version: model.version, warnings: report.warnings };
  if (opts.managed) {
    const managedPath = path.join(outDir, zipFileName(model.uniqueName, model.version, true));
    await fs.writeFile(managedPath, await writeSolutionZip(model, { managed: true }));
    result.managed = managedPath;
  }
  return result;
}
