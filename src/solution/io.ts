/**
 * Reading and writing solutions: the source folder (solution/) and solution zips.
 * `readSolutionZip` is what the Dataverse emulator's ImportSolution action calls.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";

import JSZip from "jszip";

import { ensureError } from "../shared/errors";
import { compareZipPaths, type FileMap,filesToModel, modelToFiles } from "./layout";
import type { SolutionModel } from "./model";
import { defaultSourceDir } from "./paths";
import { SolutionFormatError } from "./xml";

/** Fixed timestamp for every zip entry, so the same model always packs to the same bytes. */
export const ZIP_ENTRY_DATE = new Date(Date.UTC(2024, 0, 1, 0, 0, 0));

/** Folders under solution/ that are not solution components. */
const NON_COMPONENT_DIRS = new Set(["schemas"]);

async function walk(dir: string, base = dir, out: FileMap = new Map()): Promise<FileMap> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const rel = path.relative(base, full).split(path.sep).join("/");
    if (e.isDirectory()) {
      if (dir === base && NON_COMPONENT_DIRS.has(e.name)) continue;
      await walk(full, base, out);
    } else if (e.isFile()) {
      if (dir === base && !e.name.endsWith(".xml")) continue; // README.md, .gitattributes
      out.set(rel, await fs.readFile(full));
    }
  }
  return out;
}

/** Read all files of an unpacked solution folder (forward-slash relative paths). */
export async function readSourceFiles(dir = defaultSourceDir()): Promise<FileMap> {
  try {
    await fs.access(path.join(dir, "Other", "Solution.xml"));
  } catch {
    throw new SolutionFormatError(`No solution source at ${dir}: Other/Solution.xml is missing`, {
      hint: "Run from the repository root or pass the solution folder.",
    });
  }
  return walk(dir);
}

/** Parse the unpacked solution source folder. Works without the UI build (web resource/control content empty). */
export async function readSolutionSource(dir = defaultSourceDir()): Promise<SolutionModel> {
  const files = await readSourceFiles(dir);
  return filesToModel(files, dir);
}

/** Write a model as an unpacked source folder (the inverse of readSolutionSource). Returns the paths written. */
export async function writeSolutionSource(model: SolutionModel, dir: string): Promise<string[]> {
  const files = modelToFiles(model, "source");
  for (const [rel, content] of files) {
    const full = path.join(dir, ...rel.split("/"));
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.writeFile(full, content);
  }
  return [...files.keys()];
}

/** Files of the solution zip for a model (before zipping). */
export function solutionZipFiles(model: SolutionModel, opts: { managed: boolean }): FileMap {
  return modelToFiles({ ...model, managed: opts.managed }, "zip", { managed: opts.managed });
}

/** Deterministic zip: sorted entries, fixed dates, DEFLATE, no platform-specific attributes. */
export async function zipFiles(files: FileMap): Promise<Buffer> {
  const zip = new JSZip();
  for (const [p, content] of [...files].sort(([a], [b]) => compareZipPaths(a, b))) {
    zip.file(p, content, { date: ZIP_ENTRY_DATE, createFolders: false, binary: true });
  }
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 9 }, platform: "DOS" });
}

export async function writeSolutionZip(model: SolutionModel, opts: { managed: boolean }): Promise<Buffer> {
  return zipFiles(solutionZipFiles(model, opts));
}

export async function unzipFiles(zipBytes: Buffer | Uint8Array): Promise<FileMap> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(zipBytes);
  } catch (err) {
    throw new SolutionFormatError(`Not a valid solution zip: ${ensureError(err).message}`, { cause: err });
  }
  const files: FileMap = new Map();
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    files.set(entry.name.replace(/\\/g, "/").replace(/^\//, ""), await entry.async("nodebuffer"));
  }
  return files;
}

/** Parse a solution zip (as exported by Dataverse or written by writeSolutionZip) into the model. */
export async function readSolutionZip(zipBytes: Buffer | Uint8Array): Promise<SolutionModel> {
  return filesToModel(await unzipFiles(zipBytes), "solution zip");
}
