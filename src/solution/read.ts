export { readSolutionZip } from "./io";
