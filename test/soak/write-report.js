/**
 * Writes test/reliability/REPORT.md from the figures the reliability tests recorded
 * (test/artifacts/reliability/soak/*.json after `npm run test:soak`; the npm-test figures otherwise),
 * and runs the file secret scan over every test artifact. Also usable alone:
 * `node test/soak/write-report.js` (REPORT from whatever figures exist), or
 * `node test/soak/write-report.js --multi-actor-only` (only section 8 replaced in the existing REPORT, from
 * test/reliability/multi-actor/*.md: the other sections keep their soak figures).
 */
const fs = require("node:fs");
const path = require("node:path");
const { scanFiles, listFiles } = require("../../scripts/secret-scan.js");

const ROOT = path.resolve(__dirname, "../..");
const FIG = path.join(ROOT, "test/artifacts/reliability");

function load(area) {
  for (const dir of [path.join(FIG, "soak"), FIG]) {
    const file = path.join(dir, `${area}.json`);
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));
  }
  return undefined;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const n = (v) => (v === undefined ? "—" : String(v));

function report() {
  const faults = load("faults");
  const crash = load("crash");
  const tokens = load("tokens");
  const webhooks = load("webhooks");
  const webhooksFuzz = load("webhooks-fuzz");
  const fuzz = load("fuzz");
  const admin = load("admin-input");
  const secrets = load("secrets");
  const load7 = load("load");
  const fingerprintsFile = path.join(FIG, "secret-fingerprints.json");
  const fileScan = fs.existsSync(fingerprintsFile)
    ? scanFiles(listFiles(path.join(ROOT, "test/artifacts"), []), JSON.parse(fs.readFileSync(fingerprintsFile, "utf8")))
    : undefined;
  const variants = [...new Set([faults, crash, tokens, load7, fuzz].filter(Boolean).map((f) => f.variant))].join(", ");

  const scen = faults?.scenarios ?? [];
  const ionFaults = {};
  for (const s of scen) for (const [k, v] of Object.entries(s.ion.faults)) ionFaults[k] = (ionFaults[k] ?? 0) + v;
  const ionRequests = sum(scen.map((s) => s.ion.requests));
  const dv429 = sum(scen.map((s) => s.dataverse.throttled429));
  const dv412 = sum(scen.map((s) => s.dataverse.conflicts412));
  const dvRequests = sum(scen.map((s) => s.dataverse.requests));
  const points = crash?.points ?? [];
  const cliFlags = admin?.cliFlags ?? [];
  const hostile = (webhooks?.refused ?? []).length;
  const fuzzInputs = sum(Object.values(fuzz?.parsers ?? {}).map((p) => p.inputs)) + (webhooksFuzz?.runs ?? 0);
  const secretsFound = (secrets?.found ?? 0) + (fileScan?.findings.length ?? 0);
  const lostOrDoubled =
    sum(scen.map((s) => s.duplicateRows + s.duplicateOrders)) +
    sum(points.map((p) => p.duplicateRows + p.duplicateOrders + (p.sameAsClean ? 0 : 1))) +
    (load7 ? load7.lost + load7.doubled : 0);

  const L = [];
  L.push("# Reliability and security report", "");
  L.push(`Generated ${new Date().toISOString()} from the ${variants || "(no)"} figures in \`test/artifacts/reliability/\`.`);
  L.push(
    "Regenerate: `npm run test:soak` (long settings: 20 crash points, 60 s of webhook load, 5 fault seeds on 30 customers, 15,000 fuzz runs per property; about 2.5 minutes on 2 cores). `npm test` runs the same suite short (`test/reliability/`, about 1 minute) and writes its figures to `test/artifacts/reliability/`; `node test/soak/write-report.js` rebuilds this file from whichever figures exist.",
    "",
  );
  L.push("## Summary", "");
  L.push("| what | figure |", "| --- | --- |");
  L.push(
    `| faults injected and survived | ${sum(Object.values(ionFaults))} Ion faults in ${ionRequests} Ion requests (${Object.entries(
      ionFaults,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ", ",
      )}); ${dv429} Dataverse 429s and ${dv412} Dataverse 412s in ${dvRequests} requests; ${scen.length} fault scenario(s), all ending in the clean run's exact state |`,
  );
  L.push(
    `| crash points tested | ${points.length} SIGKILLs (${points.filter((p) => / POST .*\/orders$/.test(p.request)).length} right after Ion accepted an order, before the connector recorded it), ${points.filter((p) => p.sameAsClean).length} ended in the clean state |`,
  );
  L.push(
    `| bad inputs tried | ${n(admin?.formValuesTried)} form values, ${cliFlags.length} CLI flag cases (all exit 2, ${sum(cliFlags.map((c) => c.writes ?? 0))} writes), 3 Verify Connectivity credential faults, ${hostile} hostile webhook cases, ${fuzzInputs} fuzzed parser/endpoint inputs |`,
  );
  L.push(
    `| secrets found | ${secretsFound} (${n(secrets?.secretsKnown)} secrets known incl. ${n(secrets?.tokensIssuedOnTheWire)} tokens recorded on the wire; ${fileScan ? `${fileScan.files} artifact files, ${fileScan.bytes} bytes scanned` : "file scan not run"}) |`,
  );
  L.push(`| rows or orders lost or doubled | ${lostOrDoubled} |`);
  L.push(
    `| token reuse | ${n(tokens?.oneProcess?.reusedRefreshTokens)} refresh tokens presented twice by 9 concurrent runs in one process, ${n(tokens?.processes?.reusedRefreshTokens)} across 4 processes + 5 in-process runs; keep-alive: ${n(tokens?.keepAlive?.rotations)} daily rotations over ${n(tokens?.keepAlive?.days)} days, then a sync ${n(tokens?.keepAlive?.syncAfter)} |`,
  );
  L.push(
    `| webhook load | ${load7 ? `${load7.ratePerSecond}/s for ${load7.seconds} s: ${load7.sent} deliveries (${load7.replays} replays) + ${load7.wrongKey.sent} forged; ${load7.handedToEngine} handed to the engine for ${load7.distinct} distinct; lost ${load7.lost}, doubled ${load7.doubled}; p50 ${load7.latencyMs.p50} ms, p95 ${load7.latencyMs.p95} ms` : "—"} |`,
    "",
  );

  L.push("## 1. Faults", "");
  L.push(
    "Each scenario replays one story twice, clean and under faults, and compares a normalised dump of `account`, `w365_providerconnection`, `w365_provideraccount`, `w365_providersubscription` (ids, timestamps, ETags, row versions, content hashes, order ids, tokens and per-environment URLs removed; lookups replaced by natural keys) and the kinds of `w365_syncrun` rows. Story: full sync; Ion portal edits (seats, suspension, a new customer) and three admin requests (seats, suspend, auto-renew); full sync (places the orders); Ion completes them; full sync. Ion faults: 429 with Retry-After, 503, latency, connections dropped before work, and dropped after the work was done (an order accepted with no answer: what a client timeout looks like); the token endpoint also answers 429/503. Dataverse: service protection at lowered limits (20 requests/min, 3 concurrent; the client's back-off advances the emulator clock), random 429s and 412 ETag conflicts on every If-Match write. Every run starts with Ion revoking the access token, so each run refreshes under the token lease.",
    "",
  );
  L.push(
    "| seed | Ion requests | Ion faults | DV requests | DV 429 | DV 412 | rows (acc/prov acc/subs) | orders | run statuses | same as clean |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const s of scen)
    L.push(
      `| ${s.seed} | ${s.ion.requests} | ${Object.entries(s.ion.faults)
        .map(([k, v]) => `${k}:${v}`)
        .join(
          " ",
        )} | ${s.dataverse.requests} | ${s.dataverse.throttled429} | ${s.dataverse.conflicts412} | ${s.rows.accounts}/${s.rows.providerAccounts}/${s.rows.providerSubscriptions} | ${s.orders} (dup ${s.duplicateOrders}) | ${s.runStatuses.join(", ")} | ${s.sameAsClean ? "yes" : "NO"} |`,
    );
  L.push(
    "",
    "A run that met a dropped order POST ends `partial` with the record's error; the next run finds the order by its referenceId (never placing it twice) and the story's last run succeeds.",
    "",
  );

  L.push("## 2. Crashes", "");
  L.push(
    `The sync runs in a child process against the emulator (SQLite file database) and the simulator, both in the test process behind counting proxies. Kill point N: the child's Nth request (Dataverse or Ion) reached the server and took effect, the proxy holds the answer and the child gets SIGKILL. Then the next scheduled run (its clock 16 minutes later, past the stale-run limit) runs as a new child; then Ion completes the orders and a final sync runs. Clean reference: the same story without a kill (${n(crash?.requestsInRun)} requests in the run under test, ${n(crash?.cleanOrders)} orders). Points: every order POST plus seeded draws (seed ${n(crash?.seed)}).`,
    "",
  );
  L.push(
    "| kill after request | request | rerun | same as clean | dup rows | dup orders | orders |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const p of points)
    L.push(
      `| ${p.point} | ${p.request} | ${p.rerun} | ${p.sameAsClean ? "yes" : "NO"} | ${p.duplicateRows} | ${p.duplicateOrders} | ${p.orders} |`,
    );
  L.push(
    "",
    "Not a kill point: the instant between Ion rotating the refresh token and the connector saving it. Ion's tokens are single-use, so a process killed there loses the only valid token whatever the design; the connector then shows Credentials expired with the \"Request New Credentials\" instruction (covered in the token tests by a failed save, and by the simulator's `dropAfter` on `/oauth/token`).",
    "",
  );

  L.push("## 3. Tokens", "");
  L.push("```json", JSON.stringify(tokens ?? {}, null, 2), "```", "");

  L.push("## 4. Webhooks", "");
  L.push(
    "Hostile deliveries over HTTP to the local functions host in front of the emulator and the simulator; each asserted to do no work (emulator request count and simulator request log unchanged):",
    "",
  );
  for (const r of webhooks?.refused ?? []) L.push(`- ${r.name}: ${r.status}`);
  L.push(
    "",
    `Live endpoint fuzzing: ${n(webhooksFuzz?.runs)} random bodies/content types with the right key: ${JSON.stringify(webhooksFuzz?.statuses ?? {})}, Ion requests ${n(webhooksFuzz?.ionRequests)}.`,
    "",
  );
  L.push(
    `Parser fuzzing (fast-check, ${n(fuzz?.runsPerProperty)} runs per property; every input either parsed or refused with the parser's typed error):`,
    "",
  );
  L.push("| parser | inputs | parsed | refused (typed) |", "| --- | --- | --- | --- |");
  for (const [k, v] of Object.entries(fuzz?.parsers ?? {})) L.push(`| ${k} | ${v.inputs} | ${v.accepted} | ${v.refused} |`);
  L.push("");

  L.push("## 5. Bad admin input", "");
  L.push(
    `Connector form: ${n(admin?.formValuesTried)} invalid values over the 7 fields through the shared validation module and the form script's onSave (save prevented each time; the valid form saves). CLI (exit code, first line of the message, Dataverse writes):`,
    "",
  );
  for (const c of cliFlags) L.push(`- ${c.name}: exit ${c.exit}, ${c.writes ?? 0} writes: ${c.message}`);
  L.push("", "Verify Connectivity:", "");
  if (admin?.verifyWrongAccountId) L.push(`- wrong Account ID → Failed: "${admin.verifyWrongAccountId}"`);
  if (admin?.verifyUsedToken) L.push(`- used refresh token → Credentials expired: "${admin.verifyUsedToken}"`);
  if (admin?.verifyWrongSecret) L.push(`- wrong API secret → Failed: "${admin.verifyWrongSecret}"`);
  L.push("");

  L.push("## 6. Secrets", "");
  L.push(
    `A full sandbox session (CLI verify/sync, custom APIs through webhooks, an outbound order, a wrong API secret, revoked tokens) and every artifact of the suite: ${n(secrets?.logLines)} log lines, ${n(secrets?.cliCommands)} CLI transcripts, ${n(secrets?.storedTexts)} stored texts (run reports, status/sync messages, system job messages), ${fileScan ? fileScan.files : "—"} artifact files. Secrets known: ${n(secrets?.secretsKnown)}. Found: ${secretsFound}. The file scan (scripts/secret-scan.js) works from SHA-256 fingerprints, so no secret is ever written to disk; a planted URL-encoded key is found (positive control).`,
    "",
  );

  L.push("## 7. Load", "");
  L.push("```json", JSON.stringify(load7 ?? {}, null, 2), "```", "");

  L.push(...multiActor());
  L.push("## Bugs found and fixed (pinned in `test/reliability/product-fixes.test.ts` and the suites above)", "");
  L.push(
    '- Dataverse emulator: an injected 429 after admission never released its concurrency slot; after a few, every request of that user was refused as "concurrent requests exceeded" (sandbox/dataverse/handler.ts).',
  );
  L.push(
    "- Dataverse emulator: `$filter` with deep nesting or a long and/or chain overflowed the stack (an HTTP 500 from a hostile URL); now a 400 syntax error past 100 levels / 500 conditions (sandbox/dataverse/odata/filter.ts).",
  );
  L.push(
    "- Functions app: a delivery whose `x-ms-dynamics-organization` header named another organization than its body was accepted when only the organization id is configured (functions/webhookSecurity.ts).",
  );
  L.push(
    '- CLI: `--provider-account` took any text (started a run, then failed with exit 1) and was silently applied to `sync accounts`; `--connection ""`, a non-URL `--functions-url` (exit 1) and a non-NCRONTAB `--sync-schedule` (deployed, exit 0) were not usage errors (src/cli/main.ts).',
    "",
  );
  L.push("## Known limits", "");
  L.push(
    "- Client-side timeouts are mostly modelled by `dropAfter` (work done, no answer); `SyncDeps.ion.timeoutMs` now makes a real client timeout injectable (test/sync covers it with a latency fault).",
  );
  L.push(
    "- A rotated token that could not be saved is kept in memory per connector by the process and saved first by its next run, verify or keep-alive; it is lost only if the process restarts before then, and the connector's message tells the admin exactly that.",
  );
  return L.join("\n") + "\n";
}

/**
 * Section 8: several actors at once (orders, refresh tokens, inbound while admins act). Each scenario's
 * test writes up its figures in test/reliability/multi-actor/<scenario>.md; the sections are taken as written,
 * one heading level down.
 */
function multiActor() {
  const dir = path.join(ROOT, "test/reliability/multi-actor");
  const L = ["## 8. Multi-actor", ""];
  L.push(
    "Several real actors at once (engine instances, two local Functions hosts, forked processes with skewed clocks, admin",
    "edits and Ion changes at random points): one billable order per admin intent, no refresh token presented twice, no",
    "admin decision lost.",
    "",
  );
  for (const name of ["orders", "tokens", "inbound"]) {
    const file = path.join(dir, `${name}.md`);
    if (!fs.existsSync(file)) continue;
    L.push(fs.readFileSync(file, "utf8").trim().replace(/^## /gm, "### "), "");
  }
  return L;
}

/**
 * `existing` with its section 8 (from its "## 8. Multi-actor" heading to the next level-2 heading; the
 * scenario pages inside are level 3) replaced by `section`; without a section 8 it goes before "## Bugs found".
 */
function replaceMultiActor(existing, section) {
  const lines = existing.split("\n");
  const start = lines.findIndex((l) => /^## 8\. /.test(l));
  if (start >= 0) {
    const next = lines.findIndex((l, i) => i > start && /^## /.test(l));
    const end = next < 0 ? lines.length : next;
    return [...lines.slice(0, start), ...section, ...lines.slice(end)].join("\n");
  }
  const bugs = lines.findIndex((l) => /^## Bugs found/.test(l));
  if (bugs < 0) throw new Error('REPORT.md has neither a section 8 nor a "Bugs found" section to put it before');
  return [...lines.slice(0, bugs), ...section, ...lines.slice(bugs)].join("\n");
}

const REPORT = path.join(ROOT, "test/reliability/REPORT.md");

module.exports = async () => {
  fs.writeFileSync(REPORT, report());
};
module.exports.replaceMultiActor = replaceMultiActor;

if (require.main === module) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--multi-actor-only");
  if (unknown.length) {
    process.stderr.write(`Unknown option ${unknown.join(" ")}. Usage: node test/soak/write-report.js [--multi-actor-only]\n`);
    process.exit(2);
  }
  if (args.includes("--multi-actor-only")) {
    if (!fs.existsSync(REPORT)) {
      process.stderr.write(`${path.relative(ROOT, REPORT)} does not exist: run without --multi-actor-only to write it whole.\n`);
      process.exit(1);
    }
    fs.writeFileSync(REPORT, replaceMultiActor(fs.readFileSync(REPORT, "utf8"), multiActor()));
    process.stdout.write(`section 8 of ${path.relative(ROOT, REPORT)} rebuilt from test/reliability/multi-actor/*.md\n`);
  } else {
    module.exports();
  }
}
