/** @type {import('jest').Config} */
// The long reliability soak: `npm run test:soak`. Runs the reliability suite with its long
// settings (test/soak/setup-env.js: 20 crash points, 60 s of webhook load, 5 fault seeds on a larger
// dataset, 10x the fuzzing) plus anything under test/soak/, then regenerates test/reliability/REPORT.md.
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["<rootDir>/test/soak/**/*.test.ts", "<rootDir>/test/reliability/**/*.test.ts"],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { isolatedModules: true, tsconfig: "tsconfig.json" }],
  },
  // The soak settings load first so test/setup-env.js sees FC_SEED=random.
  setupFiles: ["<rootDir>/test/soak/setup-env.js", "<rootDir>/test/setup-env.js"],
  globalSetup: "<rootDir>/test/soak/clear-figures.js",
  globalTeardown: "<rootDir>/test/soak/write-report.js",
  testTimeout: 900000,
  maxWorkers: 2,
};
