/**
 * Cross-process token lease on the connector row (DESIGN.md §5, issue 5 item 6). Ion's refresh token is
 * single-use, so every process that may refresh (syncs, verify, the schedule, manual clicks) serializes
 * through this lease:
 * - take: PATCH w365_tokenleaseuntil/w365_tokenleaseholder with If-Match on the row's ETag; a 412 means
 *   someone else changed the row first: wait with backoff and re-read. A lease past its time may be taken.
 * - under the lease, re-read the freshest tokens (another process may already have rotated; its access
 *   token in w365_accesstoken is reused while valid);
 * - commit(next): PATCH the new refresh token, access token and expiries and release the lease, with
 *   If-Match on the row's current ETag. Other writes to the row (status, last sync) change the ETag
 *   without taking the lease, so on 412 the row is re-read: while the lease is still ours the save is
 *   repeated; if another holder has it, the lease was lost and commit throws.
 * A rotated token that finally could not be saved is remembered per connector for the life of the
 * process (`unsavedRotations`): the next lease of ANY store of that connector in this process (a later
 * run, a verify, the keep-alive) saves it first, instead of presenting the stored, already-used token.
 */
import { DataverseClient, DataverseConcurrencyError } from "../dataverse";
import { IonTokenSaveError, TokenState, TokenStore } from "../ion";
import { Clock, systemClock } from "../shared/clock";
import { ensureError } from "../shared/errors";
import { registerSecret } from "../shared/redact";
import { backoffMs, DEFAULT_RETRY, sleep as realSleep } from "../shared/retry";
import { TokenLeaseLostError, TokenLeaseTimeoutError } from "./errors";
import { toEpochMs } from "./rows/dates";
import { SETS } from "./schema";

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_LEASE_WAIT_MS = 3 * 60_000;
/** Also bounded by attempts, so an injected (frozen) clock cannot make the wait endless. */
const MAX_LEASE_ATTEMPTS = 400;

export const TOKEN_COLUMNS = [
  "w365_providerconnectionid",
  "w365_refreshtoken",
  "w365_accesstoken",
  "w365_accesstokenexpireson",
  "w365_refreshtokenexpireson",
  "w365_tokenleaseuntil",
  "w365_tokenleaseholder",
];

export interface TokenRow {
  "@odata.etag"?: string;
  w365_refreshtoken?: string | null;
  w365_accesstoken?: string | null;
  w365_accesstokenexpireson?: string | null;
  w365_refreshtokenexpireson?: string | null;
  w365_tokenleaseuntil?: string | null;
  w365_tokenleaseholder?: string | null;
}

export interface DataverseTokenStoreOptions {
  holderId?: string;
  leaseMs?: number;
  /** Longest wait for another holder before giving up (TokenLeaseTimeoutError). */
  maxWaitMs?: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The connector row as just read (with the token columns): saves the first load's request. */
  preloaded?: TokenRow;
}

/**
 * Rotated token states Ion issued in this process that could not be saved to the connector row, keyed
 * by Dataverse environment + connector. `from` is the refresh token the row still holds (used up in
 * Ion). Read and written only under the connector's lease, so concurrent runs cannot race on it.
 */
const unsavedRotations = new Map<string, { from: string; next: TokenState }>();

export function connectorKey(dv: DataverseClient, connectionId: string): string {
  return `${(dv.environmentUrl ?? "").toLowerCase()}|${connectionId.toLowerCase()}`;
}

/** True when this process holds a rotated token of the connector that is not saved yet. */
export function hasUnsavedRotation(dv: DataverseClient, connectionId: string): boolean {
  return unsavedRotations.has(connectorKey(dv, connectionId));
}

let holderSeq = 0;
export function defaultHolderId(): string {
  holderSeq++;
  return `pid${process.pid}-${Date.now().toString(36)}-${holderSeq}`;
}

export class DataverseTokenStore implements TokenStore {
  readonly holderId: string;
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random?: () => number;
  private preloaded?: TokenRow;
  /** The preloaded row for the first lease attempt: its ETag takes the lease without a read. */
  private leaseSeed?: TokenRow;
  /** ETag of the row as read right after taking the lease: the save tries it first (no extra read). */
  private leaseEtag?: string;
  /** Leases taken and commits saved by this store (tests read them). */
  readonly counters = { leases: 0, commits: 0, leaseConflicts: 0, recoveredUnsaved: 0 };
  private readonly key: string;

  constructor(
    private readonly dv: DataverseClient,
    private readonly connectionId: string,
    o: DataverseTokenStoreOptions = {},
  ) {
    // Unique per store even when callers share a process-wide id: two runs in one functions host must
    // not see each other's lease as their own (that let both present the same refresh token).
    this.holderId = o.holderId ? `${o.holderId}#${++holderSeq}` : defaultHolderId();
    this.leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    this.maxWaitMs = o.maxWaitMs ?? DEFAULT_LEASE_WAIT_MS;
    this.clock = o.clock ?? systemClock;
    this.sleep = o.sleep ?? realSleep;
    this.random = o.random;
    this.preloaded = o.preloaded;
    this.leaseSeed = o.preloaded;
    this.key = connectorKey(dv, connectionId);
  }

  async load(): Promise<TokenState> {
    const preloaded = this.preloaded;
    this.preloaded = undefined; // only once: later loads must see other processes' rotations
    if (preloaded) {
      registerSecret(preloaded.w365_refreshtoken);
      registerSecret(preloaded.w365_accesstoken);
      return toState(preloaded);
    }
    return toState(await this.read());
  }

  async withRefreshLease<T>(work: (fresh: TokenState, commit: (next: TokenState) => Promise<void>) => Promise<T>): Promise<T> {
    const seeded = await this.acquire();
    let open = true;
    let committed = false;
    /** The refresh token the row holds now (what an unsaved successor was rotated from). */
    let stored = "";
    const commit = async (next: TokenState): Promise<void> => {
      if (!open) throw new TokenLeaseLostError("The token lease was already released when the rotated token was to be saved.");
      try {
        await this.save(next);
      } catch (error) {
        unsavedRotations.set(this.key, { from: stored, next: { ...next } });
        throw error;
      }
      unsavedRotations.delete(this.key);
      stored = next.refreshToken;
      committed = true;
    };
    try {
      // Taken with the preloaded row's ETag: the row is proven unchanged since, so it is the freshest state.
      const row = seeded ?? (await this.read());
      this.leaseEtag = !seeded && row.w365_tokenleaseholder === this.holderId ? row["@odata.etag"] : undefined;
      let fresh = toState(row);
      stored = fresh.refreshToken;
      fresh = await this.saveUnsavedRotation(fresh);
      stored = fresh.refreshToken;
      return await work(fresh, commit);
    } finally {
      open = false;
      if (!committed) await this.release().catch(() => undefined);
    }
  }

  /**
   * An earlier run of this process was issued a rotated token it could not save, and the row still holds
   * the token that rotation used up: save the successor now (keeping the lease) and continue from it.
   */
  private async saveUnsavedRotation(fresh: TokenState): Promise<TokenState> {
    const pending = unsavedRotations.get(this.key);
    if (!pending) return fresh;
    if (pending.from !== fresh.refreshToken) {
      // The row moved on (new credentials pasted, or another process saved): the remembered state is stale.
      unsavedRotations.delete(this.key);
      return fresh;
    }
    try {
      await this.save(pending.next, { keepLease: true });
    } catch (error) {
      throw new IonTokenSaveError(
        `A rotated StreamOne Ion refresh token that an earlier run could not save is still waiting to be saved, and saving it failed again (${ensureError(error).message}). ` +
          "This process keeps it in memory and tries again on its next call.",
        { cause: ensureError(error) },
      );
    }
    unsavedRotations.delete(this.key);
    this.counters.recoveredUnsaved++;
    return { ...pending.next };
  }

  private async read(): Promise<TokenRow> {
    const row = await this.dv.retrieve<TokenRow>(SETS.connection, this.connectionId, { select: TOKEN_COLUMNS });
    registerSecret(row.w365_refreshtoken);
    registerSecret(row.w365_accesstoken);
    return row;
  }

  /** Takes the lease; returns the row it was taken on when that row needs no re-read (the preloaded one). */
  private async acquire(): Promise<TokenRow | undefined> {
    const seed = this.leaseSeed;
    this.leaseSeed = undefined;
    if (seed?.["@odata.etag"]) {
      const now = this.clock.now();
      if ((await this.tryTakeLease(seed, now)) === "taken") return { ...seed, w365_tokenleaseholder: this.holderId };
    }
    const started = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      const row = await this.read();
      const now = this.clock.now();
      const until = toEpochMs(row.w365_tokenleaseuntil) ?? 0;
      if ((await this.tryTakeLease(row, now)) === "taken") return undefined;
      if (now - started > this.maxWaitMs || attempt >= MAX_LEASE_ATTEMPTS) {
        throw new TokenLeaseTimeoutError(
          `Another process (${row.w365_tokenleaseholder ?? "unknown"}) has held the StreamOne Ion token lease of this connector for over ${Math.round(this.maxWaitMs / 1000)} s; try again in a minute.`,
        );
      }
      // Short waits: a refresh takes about a second; the cap keeps a stuck holder from stalling us long.
      await this.sleep(
        Math.min(backoffMs(attempt, { ...DEFAULT_RETRY, baseDelayMs: 50, maxDelayMs: 2_000 }, this.random), Math.max(50, until - now)),
      );
    }
  }

  /**
   * One attempt at the lease on `row` as read: held by another until later → "held"; otherwise a PATCH
   * with If-Match on the row's ETag → "taken", or "held" when someone changed the row first (412).
   */
  private async tryTakeLease(row: TokenRow, now: number): Promise<"taken" | "held"> {
    const until = toEpochMs(row.w365_tokenleaseuntil) ?? 0;
    if (until > now && row.w365_tokenleaseholder && row.w365_tokenleaseholder !== this.holderId) return "held";
    try {
      await this.dv.update(
        SETS.connection,
        this.connectionId,
        { w365_tokenleaseuntil: new Date(now + this.leaseMs).toISOString(), w365_tokenleaseholder: this.holderId },
        { ifMatch: row["@odata.etag"] ?? "*" },
      );
    } catch (error) {
      if (!(error instanceof DataverseConcurrencyError)) throw error;
      this.counters.leaseConflicts++;
      return "held";
    }
    this.counters.leases++;
    return "taken";
  }

  /** Saves the tokens and releases the lease (`keepLease`: saves only, the lease stays ours). */
  private async save(next: TokenState, o: { keepLease?: boolean } = {}): Promise<void> {
    registerSecret(next.refreshToken);
    registerSecret(next.accessToken);
    const body: Record<string, unknown> = {
      w365_refreshtoken: next.refreshToken,
      w365_accesstoken: next.accessToken ?? null,
      w365_accesstokenexpireson: next.accessTokenExpiresAt ? new Date(next.accessTokenExpiresAt).toISOString() : null,
      w365_refreshtokenexpireson: next.refreshTokenExpiresAt ? new Date(next.refreshTokenExpiresAt).toISOString() : null,
      w365_refreshtokensavedon: new Date(this.clock.now()).toISOString(),
    };
    if (!o.keepLease) {
      body.w365_tokenleaseuntil = null;
      body.w365_tokenleaseholder = null;
    }
    const first = this.leaseEtag;
    this.leaseEtag = undefined;
    if (first) {
      try {
        await this.dv.update(SETS.connection, this.connectionId, body, { ifMatch: first });
        this.counters.commits++;
        return;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw ensureError(error);
        // The row changed since the lease was taken: check the lease is still ours, then save again.
      }
    }
    for (let attempt = 1; attempt <= 5; attempt++) {
      const row = await this.read();
      if (row.w365_tokenleaseholder !== this.holderId) {
        throw new TokenLeaseLostError(
          `The token lease of this connector passed to ${row.w365_tokenleaseholder ?? "nobody"} before the rotated StreamOne Ion refresh token could be saved.`,
        );
      }
      try {
        await this.dv.update(SETS.connection, this.connectionId, body, { ifMatch: row["@odata.etag"] ?? "*" });
        this.counters.commits++;
        return;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw ensureError(error);
        // Someone wrote another column of the row; the lease is still ours: read again and repeat.
      }
    }
    throw new TokenLeaseLostError("The connector row kept changing while the rotated StreamOne Ion refresh token was being saved.");
  }

  private async release(): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const row = await this.read();
      if (row.w365_tokenleaseholder !== this.holderId) return;
      try {
        await this.dv.update(
          SETS.connection,
          this.connectionId,
          { w365_tokenleaseuntil: null, w365_tokenleaseholder: null },
          { ifMatch: row["@odata.etag"] ?? "*" },
        );
        return;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
      }
    }
  }
}

function toState(row: TokenRow): TokenState {
  const state: TokenState = { refreshToken: row.w365_refreshtoken ?? "" };
  if (row.w365_accesstoken) state.accessToken = row.w365_accesstoken;
  const accessExp = toEpochMs(row.w365_accesstokenexpireson);
  if (accessExp !== undefined) state.accessTokenExpiresAt = accessExp;
  const refreshExp = toEpochMs(row.w365_refreshtokenexpireson);
  if (refreshExp !== undefined) state.refreshTokenExpiresAt = refreshExp;
  return state;
}
