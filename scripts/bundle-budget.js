// The admin UI's size budget: the PCF control's bundle.js, and every script the mapping web resource (mapping.html)
// loads, counted together, must each stay within 150 KB. Both raw and gzip sizes are reported; the budget applies to
// the raw (minified) bytes, which is what the browser parses. A script added to mapping.html (a shared React/Fluent
// file, say) is counted with the page, so the budget cannot be met by moving code into another file.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const zlib = require("node:zlib");

const MAX_BUNDLE_BYTES = 150 * 1024;

/** Raw and gzip (level 9) bytes of one file. */
function measure(file) {
  const content = fs.readFileSync(file);
  return { raw: content.length, gzip: zlib.gzipSync(content, { level: 9 }).length };
}

/** The `src` of every <script> of a page, as written (relative to the page). */
function pageScripts(html) {
  const out = [];
  const re = /<script\b[^>]*\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/**
 * Measures the PCF bundle and the mapping page's scripts. A script the page loads from elsewhere (an absolute URL)
 * or that is not in the build cannot be counted, so it fails the budget too.
 * Returns { entries: [{ name, files, raw, gzip, ok }], ok, report }.
 */
function checkBudget({ pcfBundle, page, max = MAX_BUNDLE_BYTES }) {
  const entries = [];
  const bundle = measure(pcfBundle);
  entries.push({ name: "PCF bundle.js", files: [path.basename(pcfBundle)], ...bundle, ok: bundle.raw <= max });
  const html = fs.readFileSync(page, "utf8");
  const htmlSize = measure(page);
  const files = [path.basename(page)];
  let raw = 0;
  let gzip = 0;
  const problems = [];
  for (const src of pageScripts(html)) {
    if (/^[a-z]+:|^\/\//i.test(src)) {
      problems.push(`${src} is not a file of this build`);
      continue;
    }
    const file = path.resolve(path.dirname(page), src.split(/[?#]/)[0]);
    if (!fs.existsSync(file)) {
      problems.push(`${src} is missing`);
      continue;
    }
    const m = measure(file);
    raw += m.raw;
    gzip += m.gzip;
    files.push(src);
  }
  entries.push({
    name: `${path.basename(page)} scripts`,
    files,
    raw,
    gzip,
    html: htmlSize,
    ok: raw <= max && problems.length === 0,
    problems,
  });
  const report = entries
    .map((e) => {
      const what = e.html ? `${e.files.slice(1).join(" + ") || "no script"} (page ${kb(e.html.raw)})` : e.files.join(", ");
      const over = e.raw > max ? `, over the ${kb(max)} budget` : "";
      const extra = e.problems?.length ? `; ${e.problems.join("; ")}` : "";
      return `${e.name}: ${kb(e.raw)} raw, ${kb(e.gzip)} gzip [${what}]${over}${extra}`;
    })
    .join("; ");
  return { entries, ok: entries.every((e) => e.ok), report };
}

module.exports = { MAX_BUNDLE_BYTES, measure, pageScripts, checkBudget };
