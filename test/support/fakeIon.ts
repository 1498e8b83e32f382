/**
 * A tiny programmable Ion stand-in for unit tests: node:http on 127.0.0.1:0, a single-use rotating
 * token endpoint that records every refresh token presented, and per-test route handlers.
 */
import http from "node:http";
import { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Destroy the socket without answering (a dropped connection). */
  drop?: boolean;
}

export type Route = (req: RecordedRequest) => Reply | undefined | Promise<Reply | undefined>;

export interface FakeIon {
  url: string;
  requests: RecordedRequest[];
  /** Every refresh token presented to /oauth/token, in order. */
  presented: string[];
  /** The currently valid refresh token. */
  validRefreshToken(): string;
  /** Access tokens the server accepts. */
  validAccessTokens: Set<string>;
  routes: Route[];
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

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      state.requests.push(recorded);
      let reply: Reply | undefined;
      for (const route of state.routes) {
        reply = await route(recorded);
        if (reply) break;
      }
      if (!reply && recorded.path === "/oauth/token") reply = await tokenRoute(recorded);
      if (!reply && recorded.path.startsWith("/api/v3/")) {
        const auth = String(req.headers.authorization ?? "");
        const token = auth.replace(/^Bearer /, "");
        if (!state.validAccessTokens.has(token))
          reply = { status: 401, body: { error: "UNAUTHENTICATED", message: "invalid token", code: 401 } };
      }
      reply ??= { status: 404, body: { error: "NOT_FOUND", message: `no route ${recorded.method} ${recorded.path}`, code: 404 } };
      if (reply.drop) {
        req.socket.destroy();
        return;
      }
      const text = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        "Content-Type": typeof reply.body === "string" ? "text/plain" : "application/json",
        ...(reply.headers ?? {}),
      });
      res.end(text);
    });
  });

  async function tokenRoute(req: RecordedRequest): Promise<Reply> {
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

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A fake clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Collects an async iterable. */
export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
