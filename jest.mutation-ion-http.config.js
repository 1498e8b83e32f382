/** @type {import('jest').Config} */
// The tests StrykerJS runs against each mutant of the Ion HTTP modules (`npm run test:mutation:ion-http`,
// stryker.ion-http.config.json): the Ion unit tests plus the Ion integration tests, which reach
// http.ts, transport.ts, client.ts, customers.ts and subscriptions.ts over HTTP (the programmable fake Ion
// and the Ion simulator, each on 127.0.0.1:0). perTest coverage runs only the tests that reach a mutant,
// so a mutant costs a few integration tests, not the folder. Kept apart from jest.mutation.config.js so the
// default mutation run stays server-free.
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/test"],
  testMatch: ["<rootDir>/test/unit/ion/**/*.test.ts", "<rootDir>/test/integration/ion/**/*.test.ts"],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { isolatedModules: true, tsconfig: "tsconfig.json" }],
  },
};
