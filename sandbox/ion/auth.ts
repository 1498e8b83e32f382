/**
 * The simulator's token authority (docs/platform/ion-api.md §2): portal-issued refresh tokens, single-use rotation
 * on every exchange, 7200 s access tokens, 32-day refresh tokens (sliding or absolute), revocation.
 * Tokens are opaque 48-character upper-case strings, random (never derived from the seed).
 */
import { randomBytes } from "node:crypto";

import type { TokenUsage } from "./types";

export const ACCESS_TOKEN_TTL_S = 7200;
export const REFRESH_TOKEN_TTL_S = 32 * 86_400;
/** Ion's own text for an unknown, used or expired refresh token (§2.2). */
export const INVALID_REFRESH_TOKEN_ERROR = "cannot validate token: redis: nil";

interface RefreshRecord {
  chainId: number;
  issuedAt: number;
  expiresAt: number;
  used: boolean;
  revoked: boolean;
}

interface AccessRecord {
  chainId: number;
  accountId: string;
  expiresAt: number;
  revoked: boolean;
}

interface Chain {
  portalIssuedAt: number;
  /** The newest refresh token of the chain (the one a connector should hold). */
  current: string;
}

export type ExchangeResult =
  { ok: true; accessToken: string; refreshToken: string; expiresIn: number } | { ok: false; error: string; reused: boolean };

export type BearerCheck = { ok: true; accountId: string } | { ok: false; reason: "missing" | "unknown" | "expired" | "revoked" };

function opaqueToken(): string {
  // 48 characters from A-Z0-9, like the portal's tokens.
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const bytes = randomBytes(48);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export class TokenAuthority {
  private readonly refresh = new Map<string, RefreshRecord>();
  private readonly access = new Map<string, AccessRecord>();
  private readonly chains = new Map<number, Chain>();
  private nextChain = 1;
  private usage: TokenUsage = { presented: 0, reusedRefreshTokens: 0, rejected: 0 };

  constructor(
    private readonly accountId: string,
    private readonly now: () => number,
    private readonly lifetime: "sliding" | "absolute",
  ) {}

  /** "Request New Credentials" in the portal: a new refresh token (earlier ones stay valid, §2.3). */
  issuePortalCredentials(): { refreshToken: string; accessToken: string } {
    const chainId = this.nextChain++;
    const at = this.now();
    const refreshToken = opaqueToken();
    this.chains.set(chainId, { portalIssuedAt: at, current: refreshToken });
    this.refresh.set(refreshToken, { chainId, issuedAt: at, expiresAt: at + REFRESH_TOKEN_TTL_S * 1000, used: false, revoked: false });
    const accessToken = this.issueAccess(chainId);
    return { refreshToken, accessToken };
  }

  private issueAccess(chainId: number): string {
    const token = opaqueToken();
    this.access.set(token, { chainId, accountId: this.accountId, expiresAt: this.now() + ACCESS_TOKEN_TTL_S * 1000, revoked: false });
    return token;
  }

  /** POST /oauth/token with grant_type=refresh_token. */
  exchange(refreshToken: string): ExchangeResult {
    this.usage.presented++;
    const record = this.refresh.get(refreshToken);
    const at = this.now();
    if (!record || record.revoked || record.expiresAt <= at || record.used) {
      this.usage.rejected++;
      const reused = record?.used === true;
      if (reused) this.usage.reusedRefreshTokens++;
      return { ok: false, error: INVALID_REFRESH_TOKEN_ERROR, reused };
    }
    record.used = true;
    const chain = this.chains.get(record.chainId) as Chain;
    const newRefresh = opaqueToken();
    const expiresAt = this.lifetime === "absolute" ? chain.portalIssuedAt + REFRESH_TOKEN_TTL_S * 1000 : at + REFRESH_TOKEN_TTL_S * 1000;
    this.refresh.set(newRefresh, { chainId: record.chainId, issuedAt: at, expiresAt, used: false, revoked: false });
    chain.current = newRefresh;
    return { ok: true, accessToken: this.issueAccess(record.chainId), refreshToken: newRefresh, expiresIn: ACCESS_TOKEN_TTL_S };
  }

  /** Counts a token request rejected before the token was looked at (bad encoding, grant type). */
  noteRejected(): void {
    this.usage.rejected++;
  }

  /** POST /oauth/validateAccess: seconds left on the access token and on its chain's newest refresh token. */
  validate(accessToken: string): { accessExpiresIn: number; refreshExpiresIn: number } | undefined {
    const record = this.access.get(accessToken);
    const at = this.now();
    if (!record || record.revoked || record.expiresAt <= at) return undefined;
    const chain = this.chains.get(record.chainId) as Chain;
    const refresh = this.refresh.get(chain.current);
    const refreshLeft = refresh && !refresh.revoked ? Math.max(0, Math.floor((refresh.expiresAt - at) / 1000)) : 0;
    return { accessExpiresIn: Math.floor((record.expiresAt - at) / 1000), refreshExpiresIn: refreshLeft };
  }

  checkBearer(header: string | undefined): BearerCheck {
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return { ok: false, reason: "missing" };
    const record = this.access.get(match[1] as string);
    if (!record) return { ok: false, reason: "unknown" };
    if (record.revoked) return { ok: false, reason: "revoked" };
    if (record.expiresAt <= this.now()) return { ok: false, reason: "expired" };
    return { ok: true, accountId: record.accountId };
  }

  /** Every refresh token stops working (the portal user was disabled or credentials were reset). */
  revokeRefreshTokens(): void {
    for (const r of this.refresh.values()) r.revoked = true;
  }

  revokeAccessTokens(): void {
    for (const a of this.access.values()) a.revoked = true;
  }

  tokenUsage(): TokenUsage {
    return { ...this.usage };
  }

  resetTokenUsage(): void {
    this.usage = { presented: 0, reusedRefreshTokens: 0, rejected: 0 };
  }
}
