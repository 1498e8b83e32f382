/**
 * A transparent HTTP proxy on 127.0.0.1 used by the reliability suite as a test instrument:
 * - counts every request it forwards (crash points are "after the Nth request took effect");
 * - lets a test act after the upstream answered but before the client sees the answer (the harshest
 *   moment to kill a process: the work is done remotely, the caller never learns it);
 * - records every token the Ion token endpoint issues, so the secret scan knows what to look for.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedRequest {
  /** 1-based, across every proxy sharing the same counter. */
  index: number;
  method: string;
  path: string;
  status: number;
  target: string;
}

export interface ProxyCounter {
  n: number;
  /** When set, every request from now on is held (never answered): the client process is being killed. */
  frozen: boolean;
}

export interface RecordingProxy {
  url: string;
  requests: ProxiedRequest[];
  issuedSecrets: Set<string>;
  close(): Promise<void>;
}

export interface ProxyOptions {
  target: string;
  name: string;
  counter?: ProxyCounter;
  /** Runs after the upstream answered; returning "hold" keeps the client waiting until close(). */
  afterUpstream?: (r: ProxiedRequest) => "pass" | "hold";
  /** Answers a request itself (the upstream never sees it), e.g. a failing save. */
  intercept?: (r: { method: string; path: string; body: string }) => { status: number; body: unknown } | undefined;
}

export async function startRecordingProxy(o: ProxyOptions): Promise<RecordingProxy> {
  const counter = o.counter ?? { n: 0, frozen: false };
  const upstream = new URL(o.target);
  const requests: ProxiedRequest[] = [];
  const issuedSecrets = new Set<string>();
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (counter.frozen) {
      held.add(res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const index = ++counter.n;
      const body = Buffer.concat(chunks);
      const forged = o.intercept?.({ method: req.method ?? "GET", path: (req.url ?? "").split("?")[0] ?? "", body: body.toString("utf8") });
      if (forged) {
        requests.push({
          index,
          method: req.method ?? "GET",
          path: (req.url ?? "").split("?")[0] ?? "",
          status: forged.status,
          target: `${o.name} (intercepted)`,
        });
        const text = JSON.stringify(forged.body);
        res.writeHead(forged.status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
        res.end(text);
        return;
      }
      const headers = { ...req.headers, host: upstream.host };
      const up = http.request(
        { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false },
        (upRes) => {
          const out: Buffer[] = [];
          upRes.on("data", (c: Buffer) => out.push(c));
          upRes.on("end", () => {
            const payload = Buffer.concat(out);
            const path = (req.url ?? "").split("?")[0] ?? "";
            const record: ProxiedRequest = { index, method: req.method ?? "GET", path, status: upRes.statusCode ?? 0, target: o.name };
            requests.push(record);
            if (/\/oauth\/token$/.test(path)) collectTokens(payload.toString("utf8"), issuedSecrets);
            const action = o.afterUpstream?.(record) ?? "pass";
            if (action === "hold" || counter.frozen) {
              held.add(res);
              return;
            }
            const h = { ...upRes.headers };
            delete h["transfer-encoding"];
            h["content-length"] = String(payload.length);
            res.writeHead(upRes.statusCode ?? 502, h);
            res.end(payload);
          });
        },
      );
      // The upstream dropped the connection (an injected fault): drop ours the same way.
      up.on("error", () => res.socket?.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    issuedSecrets,
    close: async () => {
      for (const res of held) res.socket?.destroy();
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function collectTokens(text: string, into: Set<string>): void {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const k of ["access_token", "refresh_token"]) if (typeof body[k] === "string") into.add(body[k] as string);
  } catch {
    // an error body: nothing issued
  }
}
