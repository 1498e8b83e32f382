/**
 * The Dataverse solution: read the source folder, pack and read solution zips, validate, pack to dist/.
 */
export * from "./model";
export { readSolutionSource, writeSolutionSource, writeSolutionZip, readSolutionZip, solutionZipFiles, zipFiles, unzipFiles, ZIP_ENTRY_DATE } from "./io";
export { SolutionFormatError } from "./xml";
