/**
 * OAuth endpoints at the host root (docs/platform/ion-api.md §2.2, §2.4) and the body parsing they need:
 * form-urlencoded and multipart are accepted, JSON and anything else is refused with 400 `{error}`.
 */
import { INVALID_REFRESH_TOKEN_ERROR, type TokenAuthority } from "./auth";

export interface RawRequest {
  contentType: string;
  body: Buffer;
}

export interface HandlerResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Already-serialised body (v1 XML, a subscriptions page). */
  text?: string;
  /** Items a list answer carries when `text` is its body (the latency model charges per item). */
  itemCount?: number;
}

/** Parses a multipart/form-data body into its text fields (files are not expected here). */
export function parseMultipart(body: Buffer, contentType: string): Record<string, string> | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const text = body.toString("utf8");
  const out: Record<string, string> = {};
  for (const part of text.split(`--${boundary.trim()}`)) {
    const sep = part.indexOf("\r\n\r\n");
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    out[name] = part.slice(sep + 4).replace(/\r\n$/, "");
  }
  return out;
}

/** The form fields of a token/validate request, or an error text when the encoding is not accepted. */
export function parseForm(req: RawRequest): { fields: Record<string, string> } | { error: string } {
  const type = req.contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/x-www-form-urlencoded") {
    return { fields: Object.fromEntries(new URLSearchParams(req.body.toString("utf8"))) };
  }
  if (type === "multipart/form-data") {
    const fields = parseMultipart(req.body, req.contentType);
    return fields ? { fields } : { error: "invalid multipart body: missing boundary" };
  }
  if (type === "") return { error: "missing request body: send grant_type and refresh_token as application/x-www-form-urlencoded" };
  return { error: `unsupported content type '${type}': use application/x-www-form-urlencoded` };
}

export function tokenEndpoint(auth: TokenAuthority, req: RawRequest): HandlerResult {
  const parsed = parseForm(req);
  if ("error" in parsed) {
    auth.noteRejected();
    return { status: 400, body: { error: parsed.error } };
  }
  const { fields } = parsed;
  if (fields.grant_type !== "refresh_token") {
    auth.noteRejected();
    return { status: 400, body: { error: fields.grant_type ? `unsupported grant_type '${fields.grant_type}'` : "grant_type is required" } };
  }
  if (!fields.refresh_token) {
    auth.noteRejected();
    return { status: 400, body: { error: INVALID_REFRESH_TOKEN_ERROR } };
  }
  const result = auth.exchange(fields.refresh_token);
  if (!result.ok) return { status: 400, body: { error: result.error } };
  return {
    status: 200,
    body: { access_token: result.accessToken, expires_in: result.expiresIn, refresh_token: result.refreshToken, token_type: "Bearer" },
    headers: { "cache-control": "no-store" },
  };
}

export function validateEndpoint(auth: TokenAuthority, req: RawRequest): HandlerResult {
  const parsed = parseForm(req);
  if ("error" in parsed) return { status: 400, body: { error: parsed.error } };
  const token = parsed.fields.access_token;
  if (!token) return { status: 400, body: { error: "access_token is required" } };
  const v = auth.validate(token);
  if (!v) return { status: 400, body: { error: "cannot validate token: token is invalid or expired" } };
  return { status: 200, body: { access_expires_in: v.accessExpiresIn, refresh_expires_in: v.refreshExpiresIn } };
}
