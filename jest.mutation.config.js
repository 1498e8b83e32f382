/** @type {import('jest').Config} */
// The unit tests StrykerJS runs against each mutant (`npm run test:mutation`, stryker.config.json): the
// unit folders mirroring src/shared, src/ion and src/sync/outbound (plus the Dataverse error tests, which
// exercise the shared error and redaction code). No server, no process, no jsdom; perTest coverage then
// runs only the tests that reach each mutant. The property-based suites elsewhere in test/unit would
// make one mutant cost minutes on two shared cores.
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/test/unit"],
  testMatch: [
    "<rootDir>/test/unit/shared/**/*.test.ts",
    "<rootDir>/test/unit/ion/**/*.test.ts",
    "<rootDir>/test/unit/sync/outbound/**/*.test.ts",
    "<rootDir>/test/unit/dataverse/errors.test.ts",
  ],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { isolatedModules: true, tsconfig: "tsconfig.json" }],
  },
};
