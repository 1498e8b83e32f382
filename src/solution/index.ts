/**
 * The Dataverse solution: read the source folder, pack and read solution zips, validate, pack to dist/.
 */
export * from "./model";
export * from "./contract";
export { readSolutionSource, writeSolutionSource, writeSolutionZip, readSolutionZip, solutionZipFiles, zipFiles, unzipFiles, ZIP_ENTRY_DATE } from "./io";
export { loadSolutionModel, packSolution, readUiArtifacts, mergeUiArtifacts, runNpmBuildUi, zipFileName, SolutionPackError, type PackOptions, type PackResult } from "./pack";
export { repoRoot, defaultSourceDir, defaultUiDir, defaultSchemaDir } from "./paths";
export { validateSolution, validateSolutionZip, checkModel, type ValidationReport } from "./validate";
export { validateCustomizationsXsd } from "./xsd";
export { SolutionFormatError } from "./xml";
