// Shared setup for the browser suites: Debian's Chromium through playwright-core, screenshots to
// test/artifacts/browser/. A missing Chromium fails the suite with instructions (CI installs it), never skips.
import * as fs from "node:fs";
import * as path from "node:path";

import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS_DIR = path.join(__dirname, "..", "artifacts", "browser");
export const BUILT_BUNDLE = path.join(__dirname, "..", "..", "build", "ui", "pcf", "StreamOneConnector", "bundle.js");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need Debian's Chromium: ` +
        "`apt-get install -y chromium` (or set CHROMIUM_PATH).",
    );
  }
  if (!fs.existsSync(BUILT_BUNDLE)) {
    throw new Error(`The PCF control is not built (${BUILT_BUNDLE}). Run \`npm run build:ui\` first.`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** Saves a full-page screenshot as test/artifacts/browser/<suite>/<NN>-<step>.png. */
export function screenshotter(suite: string): (page: Page, step: string) => Promise<void> {
  const dir = path.join(ARTIFACTS_DIR, suite);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (page, step) => {
    n += 1;
    await page.screenshot({ path: path.join(dir, `${String(n).padStart(2, "0")}-${step}.png`), fullPage: true });
  };
}

/** Collects page errors so a test can assert the page ran cleanly. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return errors;
}

/**
 * axe-core in the page: serious and critical violations, by rule, with the first offending element. Waits until
 * every finite animation is done first (a dialog fading in has its colours mid-transition; progress bars loop).
 * Fluent UI's focus manager (tabster) puts aria-hidden focus sentinels (<i data-tabster-dummy>) at the edges of
 * menus and dialogs; they hand focus on at once and are never read, so they are left out of the scan.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.waitForFunction(() =>
    document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity),
  );
  await page.addScriptTag({ content: fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8") });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: unknown,
            o: unknown,
          ) => Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }>;
        };
      }
    ).axe;
    const result = await axe.run({ exclude: [["[data-tabster-dummy]"]] }, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, target: JSON.stringify(v.nodes[0]?.target) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.impact} ${v.id} at ${v.target}`);
}

type Row = Record<string, unknown>;

/**
 * The Dataverse Web API of the sandbox, called as the suite's admin (setup and checks beside the page). `target` is
 * read at each call: the sandbox starts in beforeAll. `prefer` is the Prefer header (annotations when a suite reads
 * formatted values).
 */
export function dataverseApi(
  target: () => { dataverseUrl: string; dataverseToken: string },
  prefer = "return=representation",
): {
  dataverse: (method: string, pathAndQuery: string, body?: unknown) => Promise<Row>;
  query: (pathAndQuery: string) => Promise<Row[]>;
} {
  async function dataverse(method: string, pathAndQuery: string, body?: unknown): Promise<Row> {
    const { dataverseUrl, dataverseToken } = target();
    const response = await fetch(`${dataverseUrl}/api/data/v9.2/${pathAndQuery}`, {
      method,
      headers: {
        Authorization: `Bearer ${dataverseToken}`,
        Accept: "application/json",
        "Content-Type": "application/json",
        Prefer: prefer,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${pathAndQuery}: HTTP ${response.status} ${text}`);
    return text ? (JSON.parse(text) as Row) : {};
  }
  const query = async (pathAndQuery: string): Promise<Row[]> => (await dataverse("GET", pathAndQuery)).value as Row[];
  return { dataverse, query };
}

/** A page in a fresh context of `browser`, with its errors collected. */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number },
  timeout: number,
): Promise<{ page: Page; pageErrors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  return { page, pageErrors: watchErrors(page) };
}

/** Closes what a suite started, in order (the browser before the servers it talks to); a part never started is skipped. */
export async function closeAll(...parts: Array<{ close(): Promise<unknown> } | undefined>): Promise<void> {
  for (const part of parts) await part?.close();
}
