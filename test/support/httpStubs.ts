/**
 * Small programmable HTTP stand-ins on 127.0.0.1:0 (node:http, or node:https for the Entra authority) for
 * client tests, sharing one server core that collects each request's body, answers or drops the
 * connection, and closes with every connection it holds:
 *
 * - `startFakeIon`: Ion's rotating single-use refresh tokens, per-test routes, every request recorded;
 * - `startFakeDataverse`: one handler per test answering as Dataverse does (docs/platform/dataverse.md),
 *   requests recorded, in-flight counts; with a $batch reader and writer independent of the client's own;
 * - `startFakeManagedIdentityEndpoint` and `startFakeEntraAuthority`: the two token services msal-node talks
 *   to, so the Dataverse sign-in runs MSAL's own code (request building, client assertion, caching,
 *   response parsing) as in Azure:
 *   - the App Service / Functions managed identity endpoint that MSAL finds through IDENTITY_ENDPOINT and
 *     IDENTITY_HEADER (GET, api-version 2019-08-01, `resource`, optional `client_id`, header
 *     `X-IDENTITY-HEADER`; answers `access_token`, `expires_on` in epoch seconds, `resource`, `token_type`,
 *     `client_id`), as https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 *     describes it;
 *   - a Microsoft Entra authority over TLS (MSAL refuses a non-https authority): the v2.0 OpenID
 *     configuration document and the token endpoint's client credentials grant, with a client secret or a
 *     signed client assertion (JWT with `x5t#S256`, audience = the token endpoint), as
 *     https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow and
 *     https://learn.microsoft.com/entra/identity-platform/certificate-credentials describe them;
 * - `fakeTime` / `fakeClock`: time that moves only when a test sleeps or advances it.
 */
import { constants, createPublicKey, verify, type X509Certificate } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

// ------------------------------------------------------------------------------------------------
// The shared server core.

/** What a stub answers: status, headers and a body (a string as is, anything else as JSON). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait for this promise before answering (to hold requests in flight). */
  hold?: Promise<void>;
  /** Destroy the socket without answering (a dropped connection). */
  drop?: boolean;
}

interface Stub {
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:0 and answers each request, once its body has arrived, with `answer`'s reply;
 * `contentType` picks the Content-Type when the reply names none. A handler that throws answers 500.
 */
async function startStub(
  answer: (req: http.IncomingMessage, body: string) => Reply | Promise<Reply>,
  contentType: (reply: Reply) => string | undefined,
  tls?: { key: string; cert: string },
): Promise<Stub> {
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }) : http.createServer();
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let reply: Reply;
      try {
        reply = await answer(req, Buffer.concat(chunks).toString("utf8"));
        if (reply.hold) await reply.hold;
      } catch (error) {
        reply = { status: 500, body: { error: { code: "", message: `test handler failed: ${(error as Error).message}` } } };
      }
      if (reply.drop) {
        req.socket.destroy();
        return;
      }
      const headers = { ...(reply.headers ?? {}) };
      const type = Object.keys(headers).some((k) => k.toLowerCase() === "content-type") ? undefined : contentType(reply);
      if (type) headers["Content-Type"] = type;
      res.writeHead(reply.status, headers);
      res.end(reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = () => "application/json";

// ------------------------------------------------------------------------------------------------
// Ion: a single-use rotating token endpoint that records every refresh token presented, and per-test routes.

export interface IonRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type IonRoute = (req: IonRequest) => Reply | undefined | Promise<Reply | undefined>;

export interface FakeIon {
  url: string;
  requests: IonRequest[];
  /** Every refresh token presented to /oauth/token, in order. */
  presented: string[];
  /** The currently valid refresh token. */
  validRefreshToken(): string;
  /** Access tokens the server accepts. */
  validAccessTokens: Set<string>;
  routes: IonRoute[];
  /** Delay (ms, real time) added to every token answer, to widen race windows. */
  tokenDelayMs: number;
  /** When set, the next token exchange answers with this instead (then clears). */
  nextTokenReply?: Reply;
  close(): Promise<void>;
}

export async function startFakeIon(options: { initialRefreshToken?: string; accountId?: string } = {}): Promise<FakeIon> {
  let counter = 0;
  let currentRefresh = options.initialRefreshToken ?? "REFRESHTOKEN0000INITIAL";
  const used = new Set<string>();
  const state: FakeIon = {
    url: "",
    requests: [],
    presented: [],
    validRefreshToken: () => currentRefresh,
    validAccessTokens: new Set(),
    routes: [],
    tokenDelayMs: 0,
    close: async () => undefined,
  };

  async function tokenRoute(req: IonRequest): Promise<Reply> {
    const form = new URLSearchParams(req.body);
    const presented = form.get("refresh_token") ?? "";
    state.presented.push(presented);
    if (state.tokenDelayMs) await new Promise((r) => setTimeout(r, state.tokenDelayMs));
    if (state.nextTokenReply) {
      const r = state.nextTokenReply;
      state.nextTokenReply = undefined;
      used.add(presented);
      return r;
    }
    if (form.get("grant_type") !== "refresh_token" || presented !== currentRefresh || used.has(presented)) {
      return { status: 400, body: { error: "cannot validate token: redis: nil" } };
    }
    used.add(presented);
    counter++;
    currentRefresh = `REFRESHTOKEN${String(counter).padStart(4, "0")}ROTATED`;
    const access = `ACCESSTOKEN${String(counter).padStart(4, "0")}ISSUED`;
    state.validAccessTokens.add(access);
    return { status: 200, body: { access_token: access, expires_in: 7200, refresh_token: currentRefresh, token_type: "Bearer" } };
  }

  const stub = await startStub(
    async (req, body) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: IonRequest = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers: req.headers, body };
      state.requests.push(recorded);
      let reply: Reply | undefined;
      for (const route of state.routes) {
        reply = await route(recorded);
        if (reply) break;
      }
      if (!reply && recorded.path === "/oauth/token") reply = await tokenRoute(recorded);
      if (!reply && recorded.path.startsWith("/api/v3/")) {
        const token = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
        if (!state.validAccessTokens.has(token))
          reply = { status: 401, body: { error: "UNAUTHENTICATED", message: "invalid token", code: 401 } };
      }
      return reply ?? { status: 404, body: { error: "NOT_FOUND", message: `no route ${recorded.method} ${recorded.path}`, code: 404 } };
    },
    (reply) => (typeof reply.body === "string" ? "text/plain" : "application/json"),
  );
  state.url = stub.url;
  state.close = stub.close;
  return state;
}

/** Collects an async iterable. */
export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Dataverse: each test supplies a handler that answers like Dataverse does; requests are recorded.

export interface DataverseRequest {
  method: string;
  /** Path and query after `/api/data/v9.2/`, decoded once. */
  path: string;
  rawUrl: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type DataverseHandler = (req: DataverseRequest, index: number) => Reply | Promise<Reply>;

export interface FakeDataverse {
  url: string;
  requests: DataverseRequest[];
  setHandler(handler: DataverseHandler): void;
  inFlight(): number;
  peakInFlight(): number;
  close(): Promise<void>;
}

export const API = "/api/data/v9.2/";

export async function startFakeDataverse(handler: DataverseHandler): Promise<FakeDataverse> {
  let current = handler;
  const requests: DataverseRequest[] = [];
  let inFlight = 0;
  let peak = 0;
  const stub = await startStub(
    async (req, body) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      const rawUrl = req.url ?? "/";
      const afterApi = rawUrl.startsWith(API) ? rawUrl.slice(API.length) : rawUrl;
      const recorded: DataverseRequest = { method: req.method ?? "GET", path: safeDecode(afterApi), rawUrl, headers: req.headers, body };
      const index = requests.push(recorded) - 1;
      try {
        const reply = await current(recorded, index);
        if (reply.hold) await reply.hold;
        return { ...reply, hold: undefined, headers: { "OData-Version": "4.0", ...(reply.headers ?? {}) } };
      } finally {
        inFlight--;
      }
    },
    (reply) => (typeof reply.body === "object" ? "application/json; odata.metadata=minimal" : undefined),
  );
  return {
    url: stub.url,
    requests,
    setHandler: (h) => (current = h),
    inFlight: () => inFlight,
    peakInFlight: () => peak,
    close: stub.close,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function errorReply(status: number, code: string, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { "Content-Type": "application/json; charset=utf-8", ...headers }, body: { error: { code, message } } };
}

// ------------------------------------------------------------------------------------------------
// A minimal $batch request reader for the fake service, independent of the client's own reader.

export interface ParsedBatchRequestPart {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}
export type ParsedBatchUnit =
  { changeset: false; part: ParsedBatchRequestPart } | { changeset: true; parts: ParsedBatchRequestPart[]; boundary: string };

export function parseBatchRequest(contentType: string, body: string): ParsedBatchUnit[] {
  const boundary = /boundary=([^;\s]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error("no boundary");
  return splitParts(body, boundary).map((raw) => {
    const [head, rest] = splitOnce(raw);
    const inner = /boundary=([^;\s]+)/.exec(head)?.[1];
    if (/content-type:\s*multipart\/mixed/i.test(head) && inner) {
      return { changeset: true as const, boundary: inner, parts: splitParts(rest, inner).map(parseHttpRequestPart) };
    }
    return { changeset: false as const, part: parseHttpRequestPart(raw) };
  });
}

function splitParts(body: string, boundary: string): string[] {
  // A boundary counts only at the start of a line (RFC 2046), so body text that merely contains it is safe.
  const out: string[] = [];
  const segments = `\r\n${body}`.split(new RegExp(`\\r?\\n--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  for (const seg of segments.slice(1)) {
    if (seg.startsWith("--")) break;
    out.push(seg.replace(/^[ \t]*\r?\n/, ""));
  }
  return out;
}

function splitOnce(text: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return [text, ""];
  return [text.slice(0, m.index), text.slice(m.index + m[0].length)];
}

function parseHttpRequestPart(raw: string): ParsedBatchRequestPart {
  const [mimeHead, http] = splitOnce(raw);
  const contentId = /content-id:\s*(\S+)/i.exec(mimeHead)?.[1];
  const [head, body] = splitOnce(http);
  const lines = head.split(/\r?\n/);
  const [method, url] = (lines[0] ?? "").split(" ");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { method: method ?? "", url: url ?? "", headers, body: body.trim(), ...(contentId ? { contentId } : {}) };
}

export interface PartReply {
  status: number;
  statusText?: string;
  headers?: Record<string, string>;
  body?: object;
}

/** Writes a Dataverse-style batch response (batchresponse_/changesetresponse_ boundaries). */
export function writeBatchResponse(
  units: Array<{ changeset: false; reply: PartReply } | { changeset: true; replies: Array<PartReply & { contentId?: string }> }>,
): { contentType: string; body: string } {
  const b = "batchresponse_6e1d3b4f-0000-4000-8000-000000000001";
  const lines: string[] = [];
  const writeReply = (r: PartReply & { contentId?: string }) => {
    lines.push("Content-Type: application/http", "Content-Transfer-Encoding: binary");
    if (r.contentId) lines.push(`Content-ID: ${r.contentId}`);
    lines.push("", `HTTP/1.1 ${r.status} ${r.statusText ?? "Status"}`);
    for (const [k, v] of Object.entries(r.headers ?? {})) lines.push(`${k}: ${v}`);
    if (r.body) lines.push("Content-Type: application/json; odata.metadata=minimal; odata.streaming=true", "OData-Version: 4.0");
    lines.push("", r.body ? JSON.stringify(r.body) : "");
  };
  units.forEach((u, i) => {
    lines.push(`--${b}`);
    if (!u.changeset) writeReply(u.reply);
    else {
      const cs = `changesetresponse_${i}-0000`;
      lines.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
      for (const r of u.replies) {
        lines.push(`--${cs}`);
        writeReply(r);
      }
      lines.push(`--${cs}--`);
    }
  });
  lines.push(`--${b}--`, "");
  return { contentType: `multipart/mixed; boundary=${b}`, body: lines.join("\r\n") };
}

// ------------------------------------------------------------------------------------------------
// Microsoft Entra token services (see the top of this file).

export interface TokenRequest {
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  form: Record<string, string>;
}

export interface FakeTokenService {
  url: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

type Answer = { status: number; body: Record<string, unknown> };

/** A token service answers JSON only; requests are recorded by each handler. */
function startTokenService(
  handle: (req: http.IncomingMessage, url: URL, body: string) => Answer,
  tls?: { key: string; cert: string },
): Promise<Stub> {
  return startStub((req, body) => handle(req, new URL(req.url ?? "/", "http://local"), body), json, tls);
}

/** App Service's identity endpoint: `identities` maps a client id ("" = system-assigned) to the token it gets. */
export async function startFakeManagedIdentityEndpoint(o: {
  identityHeader: string;
  identities: Record<string, string>;
}): Promise<FakeTokenService> {
  const requests: TokenRequest[] = [];
  const stub = await startTokenService((req, u) => {
    const query = Object.fromEntries(u.searchParams);
    requests.push({ query, headers: req.headers, form: {} });
    if (req.headers["x-identity-header"] !== o.identityHeader) return { status: 401, body: { error: "unauthorized" } };
    if (query["api-version"] !== "2019-08-01" || !query.resource)
      return { status: 400, body: { error: "invalid_request", error_description: "api-version and resource are required" } };
    const clientId = query.client_id ?? "";
    const token = o.identities[clientId];
    if (!token)
      return {
        status: 400,
        body: {
          statusCode: 400,
          message: "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
        },
      };
    const issued = requests.filter((r) => (r.query.client_id ?? "") === clientId).length;
    return {
      status: 200,
      body: {
        access_token: `${token}-${issued}`,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: query.resource,
        token_type: "Bearer",
        client_id: clientId || "00000000-0000-4000-8000-0000000000aa",
      },
    };
  });
  return { url: `${stub.url}/msi/token`, requests, close: stub.close };
}

function base64UrlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Checks a client assertion as Entra does: signed by the registered certificate, naming it by thumbprint, for this token endpoint. */
function assertionProblem(assertion: string, certificate: X509Certificate, tokenEndpoint: string, clientId: string): string | undefined {
  const [header, payload, signature] = assertion.split(".");
  if (!header || !payload || !signature) return "AADSTS50027: the client assertion is not a JWT";
  const h = base64UrlJson(header);
  const p = base64UrlJson(payload);
  const sha256 = Buffer.from(certificate.fingerprint256.replace(/:/g, ""), "hex").toString("base64url");
  if (h["x5t#S256"] !== sha256) return "AADSTS700027: the certificate with this thumbprint is not registered for the application";
  const key = createPublicKey(certificate.publicKey.export({ type: "spki", format: "pem" }));
  const data = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, "base64url");
  const ok =
    h.alg === "PS256"
      ? verify("sha256", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
      : h.alg === "RS256" && verify("sha256", data, key, sig);
  if (!ok) return "AADSTS700027: the client assertion's signature does not verify";
  if (p.aud !== tokenEndpoint || p.iss !== clientId || p.sub !== clientId)
    return "AADSTS700021: audience or issuer of the client assertion";
  return undefined;
}

/** A Microsoft Entra authority on https://127.0.0.1 for one tenant and one application (secret and/or certificate). */
export async function startFakeEntraAuthority(o: {
  tls: { key: string; cert: string };
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificate?: X509Certificate;
}): Promise<FakeTokenService> {
  const requests: TokenRequest[] = [];
  let origin = "";
  const refuse = (description: string): Answer => ({ status: 401, body: { error: "invalid_client", error_description: description } });
  const stub = await startTokenService((req, u, body) => {
    const tenantRoot = `/${o.tenantId}`;
    const tokenEndpoint = `${origin}${tenantRoot}/oauth2/v2.0/token`;
    if (req.method === "GET" && u.pathname === `${tenantRoot}/v2.0/.well-known/openid-configuration`) {
      return {
        status: 200,
        body: {
          token_endpoint: tokenEndpoint,
          authorization_endpoint: `${origin}${tenantRoot}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${origin}${tenantRoot}/oauth2/v2.0/logout`,
          issuer: `${origin}${tenantRoot}/v2.0`,
          jwks_uri: `${origin}${tenantRoot}/discovery/v2.0/keys`,
        },
      };
    }
    if (req.method !== "POST" || u.pathname !== `${tenantRoot}/oauth2/v2.0/token`) return { status: 404, body: { error: "not_found" } };
    const form = Object.fromEntries(new URLSearchParams(body));
    requests.push({ query: Object.fromEntries(u.searchParams), headers: req.headers, form });
    if (form.grant_type !== "client_credentials") return { status: 400, body: { error: "unsupported_grant_type" } };
    if (form.client_id !== o.clientId) return { status: 400, body: { error: "unauthorized_client", error_description: "AADSTS700016" } };
    if (form.client_secret !== undefined) {
      if (form.client_secret !== o.clientSecret) return refuse("AADSTS7000215: Invalid client secret provided.");
    } else if (form.client_assertion !== undefined && o.certificate) {
      if (form.client_assertion_type !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return refuse("AADSTS50027");
      const problem = assertionProblem(form.client_assertion, o.certificate, tokenEndpoint, o.clientId);
      if (problem) return refuse(problem);
    } else return refuse("AADSTS7000218: the request body must contain client_assertion or client_secret.");
    return {
      status: 200,
      body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: `entra-token-${requests.length}` },
    };
  }, o.tls);
  origin = stub.url;
  return { url: origin, requests, close: stub.close };
}

// ------------------------------------------------------------------------------------------------
// Time that moves only when a test moves it.

/** Sleep + clock pair: sleeping advances the clock and records the delay; nothing waits on the wall clock. */
export function fakeTime(start = 1_700_000_000_000): {
  now: () => number;
  clock: { now: () => number };
  sleep: (ms: number) => Promise<void>;
  sleeps: number[];
  advance: (ms: number) => void;
} {
  let t = start;
  const sleeps: number[] = [];
  const now = () => t;
  return {
    now,
    clock: { now },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms) => void (t += ms),
  };
}

/** A fake clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): { now(): number; advance(ms: number): void } {
  return fakeTime(start);
}
