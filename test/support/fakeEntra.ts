/**
 * Local stand-ins for the two token services msal-node talks to, so the Dataverse sign-in runs MSAL's own
 * code (request building, client assertion, caching, response parsing) as in Azure:
 *
 * - the App Service / Functions managed identity endpoint that MSAL finds through IDENTITY_ENDPOINT and
 *   IDENTITY_HEADER (GET, api-version 2019-08-01, `resource`, optional `client_id`, header
 *   `X-IDENTITY-HEADER`; answers `access_token`, `expires_on` in epoch seconds, `resource`, `token_type`,
 *   `client_id`), as https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 *   describes it;
 * - a Microsoft Entra authority over TLS (MSAL refuses a non-https authority): the v2.0 OpenID
 *   configuration document and the token endpoint's client credentials grant, with a client secret or a
 *   signed client assertion (JWT with `x5t#S256`, audience = the token endpoint), as
 *   https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow and
 *   https://learn.microsoft.com/entra/identity-platform/certificate-credentials describe them.
 */
import { constants, createPublicKey, verify, type X509Certificate } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

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

async function serve(
  server: http.Server,
  handle: (req: http.IncomingMessage, url: URL, body: string) => Answer,
  scheme: "http" | "https",
): Promise<string> {
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = handle(req, new URL(req.url ?? "/", "http://local"), Buffer.concat(chunks).toString("utf8"));
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: http.Server) => () => new Promise<void>((resolve) => server.close(() => resolve()));

/** App Service's identity endpoint: `identities` maps a client id ("" = system-assigned) to the token it gets. */
export async function startFakeManagedIdentityEndpoint(o: {
  identityHeader: string;
  identities: Record<string, string>;
}): Promise<FakeTokenService> {
  const requests: TokenRequest[] = [];
  const server = http.createServer();
  const url = await serve(
    server,
    (req, u) => {
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
    },
    "http",
  );
  return { url: `${url}/msi/token`, requests, close: close(server) };
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
  const server = https.createServer({ key: o.tls.key, cert: o.tls.cert });
  let origin = "";
  const refuse = (description: string): Answer => ({ status: 401, body: { error: "invalid_client", error_description: description } });
  origin = await serve(
    server,
    (req, u, body) => {
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
    },
    "https",
  );
  return { url: origin, requests, close: close(server) };
}
