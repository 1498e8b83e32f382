/** Solution packages for deploy: read a zip's manifest, or pack from source. */
import { promises as fs } from "node:fs";

import { ensureError } from "../shared/errors";
import { unzipFiles } from "../solution/io";
import { parseSolutionManifest } from "../solution/layout";
import { type PackOptions, packSolution } from "../solution/pack";
import { attr, child, children, parseXml } from "../solution/xml";
import { DeployError, type SolutionPackage } from "./types";

export type PackVerbOptions = PackOptions;

/** Read what deploy needs from a zip (unique name, version, managed flag, missing dependencies). */
export async function inspectSolutionZip(zip: Buffer, zipPath?: string): Promise<SolutionPackage> {
  const files = await unzipFiles(zip);
  const manifestText = files.get("solution.xml")?.toString("utf8");
  if (!manifestText)
    throw new DeployError("DEPLOY_BAD_PACKAGE", `${zipPath ?? "The package"} has no solution.xml; it is not a Dataverse solution zip.`);
  const manifest = parseSolutionManifest(manifestText, zipPath ?? "solution.xml");
  const deps = children(
    child(child(child(parseXml(manifestText, "solution.xml"), "ImportExportXml"), "SolutionManifest"), "MissingDependencies"),
    "MissingDependency",
  ).map((d) => {
    const required = child(d, "Required");
    const out: SolutionPackage["missingDependencies"][number] = {};
    const type = Number(attr(required, "type"));
    if (Number.isFinite(type)) out.type = type;
    const schemaName = attr(required, "schemaName");
    const solution = attr(required, "solution");
    const display = attr(required, "displayName");
    if (schemaName) out.schemaName = schemaName;
    // "Active" is Dataverse's name for the system layer: present in every environment.
    if (solution && solution !== "Active") out.solution = solution.replace(/\s*\(.*\)$/, "");
    if (display) out.display = display;
    return out;
  });
  const pkg: SolutionPackage = {
    zip,
    uniqueName: manifest.uniqueName,
    version: manifest.version,
    managed: manifest.managedFlag === 1,
    missingDependencies: deps,
  };
  if (zipPath) pkg.path = zipPath;
  return pkg;
}

export async function readPackage(zipPath: string): Promise<SolutionPackage> {
  let zip: Buffer;
  try {
    zip = await fs.readFile(zipPath);
  } catch (err) {
    throw new DeployError("DEPLOY_BAD_PACKAGE", `Cannot read solution zip ${zipPath}: ${ensureError(err).message}`, { cause: err });
  }
  return inspectSolutionZip(zip, zipPath);
}

/** Pack from solution/ + build/ui and return the zip that matches `managed`. */
export async function packForDeploy(opts: PackVerbOptions = {}): Promise<SolutionPackage> {
  const r = await packSolution(opts);
  return readPackage(opts.managed && r.managed ? r.managed : r.unmanaged);
}
