#!/usr/bin/env node
// Builds the admin UI: the PCF control (pcf-scripts), the web resources (esbuild) and the harness's platform
// libraries. Fails (exit 1) when type-checking or any build step fails: pcf-scripts itself exits 0 on failure
// even when TypeScript or ESLint errors break the build, so its log is checked for "[build] Succeeded".
//
// Outputs (contract with the solution packer):
//   build/ui/pcf/StreamOneConnector/            bundle.js, ControlManifest.xml, strings/*.resx
//   build/ui/webresources/w365_/streamone/      connectorform.js, commands.js, mapping.html/.js
//   build/ui/harness/                           fluent-platform.js (Fluent UI 9 as the global FluentUIReactv940),
//                                               host.js (PCF host), xrm.js (window.Xrm): local harness only
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const { checkBudget } = require("./bundle-budget");

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "build", "ui");
const PCF_OUT = path.join(OUT, "pcf", "StreamOneConnector");
const WEB_OUT = path.join(OUT, "webresources", "w365_", "streamone");
const HARNESS_OUT = path.join(OUT, "harness");
const WEB_RESOURCES = [
  { entry: "connectorform.ts", out: "connectorform.js", globalName: "W365.StreamOne.ConnectorForm" },
  { entry: "commands.ts", out: "commands.js", globalName: "W365.StreamOne.Commands" },
  // The mapping page only hands over to the control's mapping view: no React or Fluent in it.
  { entry: "mapping.ts", out: "mapping.js", globalName: "W365.StreamOne.Mapping" },
];
const STATIC_FILES = ["mapping.html"];

function run(label, command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: {
        ...process.env,
        PP_TOOLS_TELEMETRY_OPTOUT: "true",
        APPLICATION_INSIGHTS_NO_STATSBEAT: "true",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => resolve({ label, code: code ?? 1, output }));
  });
}

function typecheck(project) {
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  return run(`typecheck ${path.dirname(project)}`, process.execPath, [tsc, "--noEmit", "-p", project]).then((r) => ({
    ...r,
    ok: r.code === 0,
  }));
}

async function buildPcf() {
  const cli = path.join(ROOT, "node_modules", "pcf-scripts", "bin", "pcf-scripts.js");
  fs.rmSync(PCF_OUT, { recursive: true, force: true });
  const result = await run("pcf-scripts build", process.execPath, [cli, "build", "--buildMode", "production"], {
    cwd: path.join(ROOT, "pcf-controls"),
  });
  // eslint-disable-next-line no-control-regex
  const log = result.output.replace(/\u001b\[[0-9;]*m/g, "");
  const ok = result.code === 0 && /\[build\] Succeeded/.test(log) && !/\[build\] Failed/.test(log);
  const bundle = path.join(PCF_OUT, "bundle.js");
  if (ok && !fs.existsSync(bundle)) return { ...result, output: log, ok: false, note: "bundle.js missing" };
  return { ...result, output: log, ok };
}

async function buildWebResources() {
  const esbuild = require("esbuild");
  // From empty: the solution packer takes every file here, so a file the build no longer makes must not linger.
  fs.rmSync(WEB_OUT, { recursive: true, force: true });
  fs.mkdirSync(WEB_OUT, { recursive: true });
  try {
    await Promise.all([
      ...WEB_RESOURCES.map((w) =>
        esbuild.build({
          entryPoints: [path.join(ROOT, "webresources", w.entry)],
          outfile: path.join(WEB_OUT, w.out),
          bundle: true,
          format: "iife",
          globalName: w.globalName,
          platform: "browser",
          target: ["es2019"],
          minify: true,
          sourcemap: false,
          legalComments: "none",
          logLevel: "silent",
        }),
      ),
    ]);
    for (const file of STATIC_FILES) fs.copyFileSync(path.join(ROOT, "webresources", file), path.join(WEB_OUT, file));
    const sizes = WEB_RESOURCES.map((w) => `${w.out} ${(fs.statSync(path.join(WEB_OUT, w.out)).size / 1024).toFixed(1)} KB`).join(", ");
    return { label: "web resources", ok: true, output: "", note: sizes };
  } catch (error) {
    return { label: "web resources", ok: false, output: String(error && error.message ? error.message : error) };
  }
}

/** The size budget over what the build produced (scripts/bundle-budget.js): PCF bundle.js and the mapping page's scripts. */
function sizeBudget() {
  try {
    const result = checkBudget({ pcfBundle: path.join(PCF_OUT, "bundle.js"), page: path.join(WEB_OUT, "mapping.html") });
    return { label: "size budget (150 KB each)", ok: result.ok, output: result.ok ? "" : result.report, note: result.report };
  } catch (error) {
    return { label: "size budget (150 KB each)", ok: false, output: String(error && error.message ? error.message : error) };
  }
}

/**
 * Fluent UI 9 has no UMD build; Dataverse serves it to controls as the global FluentUIReactv940. For the local
 * harness the same global is built here from node_modules, with React and ReactDOM taken from the globals the
 * React UMD files define, so the control and Fluent share one React.
 */
async function buildHarnessPlatform() {
  const esbuild = require("esbuild");
  fs.mkdirSync(HARNESS_OUT, { recursive: true });
  const globalsPlugin = {
    name: "react-globals",
    setup(build) {
      build.onResolve({ filter: /^react(-dom)?$/ }, (args) => ({ path: args.path, namespace: "react-global" }));
      build.onLoad({ filter: /.*/, namespace: "react-global" }, (args) => ({
        contents: `module.exports = window.${args.path === "react" ? "React" : "ReactDOM"};`,
        loader: "js",
      }));
    },
  };
  try {
    await esbuild.build({
      // ESM import so esbuild tree-shakes @fluentui/react-icons (18 MB with require(), 1.3 MB like this).
      stdin: {
        contents: 'import * as Fluent from "@fluentui/react-components"; window.FluentUIReactv940 = Fluent;',
        resolveDir: ROOT,
        loader: "js",
      },
      outfile: path.join(HARNESS_OUT, "fluent-platform.js"),
      bundle: true,
      format: "iife",
      platform: "browser",
      target: ["es2019"],
      minify: true,
      define: { "process.env.NODE_ENV": '"production"' },
      plugins: [globalsPlugin],
      logLevel: "silent",
    });
    await Promise.all(
      [
        { entry: "host.ts", out: "host.js", globalName: "W365Harness" },
        { entry: "xrm.ts", out: "xrm.js", globalName: undefined },
      ].map((c) =>
        esbuild.build({
          entryPoints: [path.join(ROOT, "sandbox", "admin", "client", c.entry)],
          outfile: path.join(HARNESS_OUT, c.out),
          bundle: true,
          format: "iife",
          globalName: c.globalName,
          platform: "browser",
          target: ["es2019"],
          logLevel: "silent",
        }),
      ),
    );
    return { label: "harness platform", ok: true, output: "" };
  } catch (error) {
    return { label: "harness platform", ok: false, output: String(error && error.message ? error.message : error) };
  }
}

/**
 * One build at a time: `streamone-ion pack` and test runs may start build:ui while another is running, and two
 * pcf-scripts runs writing the same output folder corrupt it. A lock folder holds the owner's pid; a dead owner's
 * lock is taken over.
 */
async function withBuildLock(work) {
  const lockDir = path.join(ROOT, "build", "ui.lock");
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + 10 * 60 * 1000;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, "pid"), "utf8"));
      } catch {
        // pid not written yet: treat as alive for now
      }
      let alive = !Number.isFinite(owner);
      if (Number.isFinite(owner)) {
        try {
          process.kill(owner, 0);
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (!alive) fs.rmSync(lockDir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`build/ui.lock held by pid ${owner} for too long`);
      else await new Promise((r) => setTimeout(r, 300));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

async function main() {
  return withBuildLock(build);
}

async function build() {
  const started = Date.now();
  // The control's type-check runs after pcf-scripts, which rewrites generated/ManifestTypes.d.ts.
  const pcfThenTypes = async () => [await buildPcf(), await typecheck("pcf-controls/tsconfig.json")];
  const results = (
    await Promise.all([pcfThenTypes(), typecheck("webresources/tsconfig.json"), buildWebResources(), buildHarnessPlatform()])
  ).flat();
  // Measured once both builds are there (a failed build has nothing to measure).
  if (results.every((r) => r.ok)) results.push(sizeBudget());
  let failed = false;
  for (const r of results) {
    const line = `[build-ui] ${r.ok ? "ok  " : "FAIL"} ${r.label}${r.note ? ` (${r.note})` : ""}`;
    console.log(line);
    if (!r.ok) {
      failed = true;
      console.error(r.output.trim());
    }
  }
  console.log(`[build-ui] ${failed ? "failed" : "done"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
