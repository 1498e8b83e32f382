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
  // A worker that has finished gets this long to exit before Jest kills it and reports a leak. Jest's
  // 500 ms default is too short on a loaded CI machine: even two one-line test files were reported as
  // leaking there. A handle really left open (a server, an interval) still holds a worker past 5 s.
  workerGracefulExitTimeout: 5000,
};
