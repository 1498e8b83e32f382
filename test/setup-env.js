// Loopback servers must never be reached through a proxy (dynamics-web-api honours http_proxy and ignores no_proxy).
for (const k of ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]) delete process.env[k];
process.env.PP_TOOLS_TELEMETRY_OPTOUT = "true";
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = "true";
process.env.SUPPRESS_NO_CONFIG_WARNING = "true";
