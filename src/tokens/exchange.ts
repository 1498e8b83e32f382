/**
 * POST /oauth/token (grant_type=refresh_token) through the shared IonTransport. Ion's refresh token is
 * single-use, so the exchange is sent as a non-idempotent call: the one retry policy repeats it only when
 * the request provably never reached Ion (connection refused, DNS), never after a timeout or a reset.
 */
import { IonNetworkError, IonResponseError, IonTransport, REQUEST_NEW_CREDENTIALS_INSTRUCTION } from "../ion";
import { asObject, num, str } from "../ion/parse/common";
import { registerSecret } from "../shared/redact";
import { NOT_SENT_NETWORK_CODES } from "../shared/retry";
import type { TokenState } from "./types";

/** Ion's access-token lifetime when `expires_in` is missing (2 hours, the v3 reference). */
export const ACCESS_TOKEN_LIFETIME_MS = 7200_000;
/**
 * Assumed refresh-token lifetime when Ion does not say. The v3 reference gives 32 days from each issue;
 * one integrator's guide says 30 days, so the shorter figure is assumed: a warning then comes early,
 * never late. Ion's own figure replaces it where Ion answers one (`refresh_expires_in` of
 * /oauth/validateAccess, or of a token answer that carries it).
 */
export const ASSUMED_REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;

export const TOKEN_ENDPOINT = "POST /oauth/token";

export async function exchangeRefreshToken(
  transport: IonTransport,
  baseUrl: string,
  refreshToken: string,
  now: () => number,
): Promise<TokenState> {
  registerSecret(refreshToken);
  const form = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    redirect_uri: "http://localhost/",
  }).toString();
  let body: unknown;
  try {
    body = await transport.request({
      method: "POST",
      url: `${baseUrl.replace(/\/+$/, "")}/oauth/token`,
      endpoint: TOKEN_ENDPOINT,
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      data: form,
      kind: "token",
      idempotent: false,
    });
  } catch (error) {
    if (error instanceof IonNetworkError && !NOT_SENT_NETWORK_CODES.has(error.networkCode)) {
      throw new IonNetworkError(
        `StreamOne Ion token request got no answer (${error.networkCode}); Ion may have used up the refresh token. ` +
          `If the next attempt reports the refresh token as rejected: ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
        error.networkCode,
        { endpoint: TOKEN_ENDPOINT },
      );
    }
    throw error;
  }
  return stateFromTokenResponse(body, refreshToken, now());
}

/** Ion's token answer → state; expiries from what Ion says, else the documented or assumed lifetimes. */
export function stateFromTokenResponse(body: unknown, presented: string, now: number): TokenState {
  const obj = asObject(body);
  const accessToken = str(obj.access_token);
  if (!accessToken)
    throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion's token response has no access_token.", { endpoint: TOKEN_ENDPOINT });
  const refreshToken = str(obj.refresh_token) ?? presented;
  registerSecret(accessToken);
  registerSecret(refreshToken);
  const expiresInS = num(obj.expires_in);
  const refreshExpiresInS = num(obj.refresh_expires_in);
  return {
    refreshToken,
    accessToken,
    accessTokenExpiresAt: now + (expiresInS !== undefined ? expiresInS * 1000 : ACCESS_TOKEN_LIFETIME_MS),
    refreshTokenExpiresAt: now + (refreshExpiresInS !== undefined ? refreshExpiresInS * 1000 : ASSUMED_REFRESH_TOKEN_LIFETIME_MS),
  };
}
