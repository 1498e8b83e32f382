/**
 * The Dataverse solution: read the source folder, pack and read solution zips, validate, pack to dist/.
 */
export * from "./contract";
export { readSolutionSource, readSolutionZip, solutionZipFiles, unzipFiles, writeSolutionSource, writeSolutionZip, ZIP_ENTRY_DATE,zipFiles } from "./io";
export * from "./model";
export { loadSolutionModel, mergeUiArtifacts, type PackOptions, type PackResult,packSolution, readUiArtifacts, runNpmBuildUi, SolutionPackError, zipFileName } from "./pack";
export { defaultSchemaDir,defaultSourceDir, defaultUiDir, repoRoot } from "./paths";
export { checkModel, validateSolution, validateSolutionZip, type ValidationReport } from "./validate";
export { SolutionFormatError } from "./xml";
export { validateCustomizationsXsd } from "./xsd";
