// Soak figures start empty, so REPORT.md never mixes two runs.
const fs = require("node:fs");
const path = require("node:path");
module.exports = async () => {
  fs.rmSync(path.resolve(__dirname, "../artifacts/reliability/soak"), { recursive: true, force: true });
};
