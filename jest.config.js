/** @type {import('jest').Config} */
// Type-checking runs separately (`npm run typecheck`); ts-jest transpiles only, which halves test time.
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts", "**/*.test.tsx"],
  testPathIgnorePatterns: ["/node_modules/", "/soak/"],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { tsconfig: "tsconfig.json" }],
  },
  setupFiles: ["<rootDir>/test/setup-env.js"],
  testTimeout: 120000,
  maxWorkers: 2,
};
