/**
 * The local Admin Hub: a page playing Work 365's Admin Hub → Integrations tab, hosting the BUILT PCF control
 * (build/ui/pcf) with a real ComponentFramework context, and the mapping web resource (which hands over to the
 * control's mapping view) with a window.Xrm. Both talk to the Dataverse emulator through /api/data on this same origin; the admin's token is
 * added here, server-side, so it never reaches the page.
 */
import { promises as fs } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

import { XMLParser } from "fast-xml-parser";

import { ConnectorError } from "../../src/shared/errors";
import { registerSecret } from "../../src/shared/redact";
import { repoRoot } from "../../src/solution/paths";

export interface AdminHarnessOptions {
  /** 0/undefined = any free port; always bound to 127.0.0.1. */
  port?: number;
  /** Dataverse environment root (the Web API is under /api/data/v9.2/). */
  dataverseUrl: string;
  /** Bearer token of the admin user the page acts as (no field security profile: secrets read back null). */
  token: string;
  /** Root of the built UI; default <repo>/build/ui. */
  uiDir?: string;
  /** Ion host for connectors created on this page (the control's ionBaseUrl input), e.g. the Ion simulator's URL. */
  ionBaseUrl?: string;
  /** Progress refresh for the control, seconds (the control's pollIntervalSeconds input). */
  pollIntervalSeconds?: number;
}

export interface AdminHarness {
  /**
   * e.g. http://127.0.0.1:PORT/ — the Integrations tab. `${url}mapping?data=<id>` opens the mapping web resource, which
   * sends the admin to the control's mapping view; `${url}main.aspx?pagetype=entityrecord&…` is the connector form.
   */
  url: string;
  close(): Promise<void>;
}

export class AdminHarnessError extends ConnectorError {
  constructor(message: string, hint?: string) {
    super("ADMIN_HARNESS", message, { hint });
  }
}

// Resolved by walking up to the repository, so the compiled copy under build/ finds the same files.
const REPO_ROOT = repoRoot();
export const CONTROL_NAME = "Work365.StreamOneConnector";
const MAPPING_RESOURCE = "w365_/streamone/mapping.html";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
  ".resx": "application/xml; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Request headers forwarded to Dataverse; credentials from the browser (cookies, Authorization) never are. */
const FORWARDED_REQUEST_HEADERS = [
  "accept",
  "content-type",
  "prefer",
  "if-match",
  "if-none-match",
  "odata-version",
  "odata-maxversion",
  "mscrm.suppressduplicatedetection",
  "consistency",
];
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "www-authenticate"]);

/** Parses a .resx into key → text, as the platform does for context.resources.getString. */
export function parseResx(xml: string): Record<string, string> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => name === "data" });
  const doc = parser.parse(xml) as { root?: { data?: { name: string; value?: unknown }[] } };
  const strings: Record<string, string> = {};
  for (const d of doc.root?.data ?? []) strings[d.name] = d.value === undefined ? "" : String(d.value);
  return strings;
}

/** JSON for an inline <script>: `<` escaped so no string can close the script element. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export function adminPageHtml(config: { strings: Record<string, string>; parameters: Record<string, unknown> }): string {
  const bootConfig = { controlName: CONTROL_NAME, containerId: "w365-control", strings: config.strings, parameters: config.parameters };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>Admin Hub · Integrations · Work 365 (local)</title>
<style>
  body { margin: 0; font-family: "Segoe UI", system-ui, sans-serif; background: #f5f5f5; color: #242424; }
  header.app { background: #0f6cbd; color: #fff; padding: 10px 16px; font-weight: 600; }
  nav.tabs { display: flex; gap: 4px; padding: 0 16px; background: #fff; border-bottom: 1px solid #e0e0e0; }
  nav.tabs a { padding: 10px 12px; color: #424242; text-decoration: none; border-bottom: 3px solid transparent; }
  nav.tabs a[aria-current="page"] { color: #0f6cbd; border-bottom-color: #0f6cbd; font-weight: 600; }
  main { margin: 16px; background: #fff; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.12); min-height: 300px; }
</style>
</head>
<body>
<header class="app">Work 365 · Administration · Admin Hub</header>
<nav class="tabs" aria-label="Admin Hub">
  <a href="#" aria-disabled="true">Settings</a>
  <a href="/" aria-current="page">Integrations</a>
  <a href="/mapping">Provider accounts</a>
</nav>
<main><div id="w365-control"></div></main>
<script src="/harness/react.js"></script>
<script src="/harness/react-dom.js"></script>
<script>window.Reactv16 = window.React; window.ReactDOMv16 = window.ReactDOM;</script>
<script src="/harness/fluent.js"></script>
<script src="/harness/host.js"></script>
<script src="/pcf/bundle.js"></script>
<script>W365Harness.boot(${inlineJson(bootConfig)});</script>
</body>
</html>
`;
}

/** The mapping web resource as built, with the harness's window.Xrm loaded before the page's own script. */
export function injectXrm(html: string): string {
  const tag = '<script src="/harness/xrm.js"></script>';
  return html.includes("<head>") ? html.replace("<head>", `<head>\n  ${tag}`) : `${tag}\n${html}`;
}

function send(res: http.ServerResponse, status: number, body: string | Buffer, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
  res.end(body);
}

/** Resolves `relative` under `root`, refusing anything that escapes it. */
function safeJoin(root: string, relative: string): string | undefined {
  const resolved = path.resolve(root, "." + path.posix.normalize("/" + decodeURIComponent(relative)));
  return resolved.startsWith(root + path.sep) || resolved === root ? resolved : undefined;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startAdminHarness(options: AdminHarnessOptions): Promise<AdminHarness> {
  if (!options.dataverseUrl) throw new AdminHarnessError("dataverseUrl is required.");
  if (!options.token) throw new AdminHarnessError("token is required.");
  registerSecret(options.token);
  const uiDir = path.resolve(options.uiDir ?? path.join(REPO_ROOT, "build", "ui"));
  const dataverse = new URL(options.dataverseUrl.replace(/\/?$/, "/"));
  const dataverseOrigin = dataverse.origin;
  const staticFiles: Record<string, string> = {
    "/harness/react.js": require.resolve("react/umd/react.production.min.js"),
    "/harness/react-dom.js": require.resolve("react-dom/umd/react-dom.production.min.js"),
    "/harness/fluent.js": path.join(uiDir, "harness", "fluent-platform.js"),
    "/harness/host.js": path.join(uiDir, "harness", "host.js"),
    "/harness/xrm.js": path.join(uiDir, "harness", "xrm.js"),
  };
  const pcfDir = path.join(uiDir, "pcf", "StreamOneConnector");
  const webResourcesDir = path.join(uiDir, "webresources");
  let harnessOrigin = "";

  const serveFile = async (res: http.ServerResponse, file: string | undefined, transform?: (text: string) => string): Promise<void> => {
    if (!file) return send(res, 404, "Not found");
    let content: Buffer;
    try {
      content = await fs.readFile(file);
    } catch {
      return send(res, file.startsWith(uiDir) ? 503 : 404, `Not built: ${path.relative(REPO_ROOT, file)}. Run \`npm run build:ui\`.`);
    }
    const type = CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream";
    send(res, 200, transform ? transform(content.toString("utf8")) : content, type);
  };

  const adminPage = async (res: http.ServerResponse): Promise<void> => {
    let strings: Record<string, string>;
    try {
      strings = parseResx(await fs.readFile(path.join(pcfDir, "strings", "StreamOneConnector.1033.resx"), "utf8"));
    } catch {
      return send(res, 503, "The PCF control is not built (build/ui/pcf/StreamOneConnector). Run `npm run build:ui`.");
    }
    send(
      res,
      200,
      adminPageHtml({
        strings,
        parameters: { hostField: null, pollIntervalSeconds: options.pollIntervalSeconds ?? 1, ionBaseUrl: options.ionBaseUrl ?? null },
      }),
      CONTENT_TYPES[".html"],
    );
  };

  /** Same-origin proxy to the emulator's Web API, adding the admin's token. */
  const proxy = async (req: http.IncomingMessage, res: http.ServerResponse, pathAndQuery: string): Promise<void> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${options.token}` };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const method = req.method ?? "GET";
    const body = method === "GET" || method === "HEAD" ? undefined : await readBody(req);
    let upstream: Response;
    try {
      upstream = await fetch(new URL(pathAndQuery, dataverse), {
        method,
        headers,
        body: body ? new Uint8Array(body) : undefined,
        redirect: "manual",
      });
    } catch (error) {
      return send(
        res,
        502,
        JSON.stringify({ error: { code: "0x80040216", message: `Dataverse is not reachable: ${(error as Error).message}` } }),
        CONTENT_TYPES[".json"],
      );
    }
    const outHeaders: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      // Absolute URLs (OData-EntityId, Location) point at the emulator; the page must only see this origin.
      if (!HOP_BY_HOP.has(name.toLowerCase())) outHeaders[name] = value.split(dataverseOrigin).join(harnessOrigin);
    });
    let payload = Buffer.from(await upstream.arrayBuffer());
    if ((upstream.headers.get("content-type") ?? "").includes("json") && payload.includes(dataverseOrigin)) {
      payload = Buffer.from(payload.toString("utf8").split(dataverseOrigin).join(harnessOrigin));
    }
    res.writeHead(upstream.status, outHeaders);
    res.end(payload);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = url.pathname;
    const handle = async (): Promise<void> => {
      if (route.startsWith("/api/data/")) return proxy(req, res, route + url.search);
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "Method not allowed");
      // main.aspx?pagetype=entityrecord&etn=w365_providerconnection: the connector form, which hosts the control
      // (the form URL documented by Learn, docs/platform/dataverse.md 6.1; `appid` and other parameters are ignored here).
      if (route === "/" || route === "/index.html" || route === "/main.aspx") return adminPage(res);
      if (route === "/healthz") return send(res, 200, "ok");
      if (route === "/favicon.ico") {
        res.writeHead(204);
        return void res.end();
      }
      if (route === "/mapping") {
        res.writeHead(302, { Location: `/webresources/${MAPPING_RESOURCE}${url.search}` });
        return void res.end();
      }
      const fixed = staticFiles[route];
      if (fixed) return serveFile(res, fixed);
      if (route.startsWith("/pcf/")) return serveFile(res, safeJoin(pcfDir, route.slice("/pcf/".length)));
      if (route.startsWith("/webresources/")) {
        const file = safeJoin(webResourcesDir, route.slice("/webresources/".length));
        return serveFile(res, file, file?.endsWith(".html") ? injectXrm : undefined);
      }
      send(res, 404, "Not found");
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `Harness error: ${(error as Error)?.message ?? String(error)}`);
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  harnessOrigin = `http://127.0.0.1:${port}`;

  return {
    url: `${harnessOrigin}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
