// Loopback servers must never be reached through a proxy (dynamics-web-api honours http_proxy and ignores no_proxy).
for (const k of ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]) delete process.env[k];
process.env.PP_TOOLS_TELEMETRY_OPTOUT = "true";
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = "true";
process.env.SUPPRESS_NO_CONFIG_WARNING = "true";

// Property tests are deterministic in `npm test` (a failure reproduces exactly); the soak run and
// FC_SEED=random explore new seeds. A counterexample found there becomes a pinned test.
if (process.env.FC_SEED !== "random") {
  require("fast-check").configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261127) });
}
