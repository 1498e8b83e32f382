// Long settings for the reliability soak (jest.soak.config.js). Each can be overridden from the shell.
const defaults = {
  RELIABILITY_SOAK: "1",
  RELIABILITY_CRASH_POINTS: "20",
  RELIABILITY_LOAD_SECONDS: "60",
  RELIABILITY_FAULT_SEEDS: "21,22,23,24,25",
  RELIABILITY_FAULT_CUSTOMERS: "30",
  RELIABILITY_FUZZ_RUNS: "15000",
  RELIABILITY_WEBHOOK_FUZZ_RUNS: "2000",
  // The soak explores new property-test seeds; npm test pins one (test/setup-env.js).
  FC_SEED: "random",
};
for (const [k, v] of Object.entries(defaults)) if (process.env[k] === undefined) process.env[k] = v;
