/**
 * The connector row as the token store, with a refresh lease judged by one clock: Dataverse's.
 *
 * - The lease value: w365_tokenleaseholder holds the holder id and a take counter (`<holder>~<n>`), a new
 *   value on every take and extension. No time is stored; nothing any host's clock says is written.
 * - Taking: the row names no other holder, or its lease value is at least a lease old by Dataverse's own
 *   time (the `Date` of the answers that carried the row): old since this waiter first saw the value, or
 *   since `modifiedon` (the value is at least as old as the row's last write). Writes to other columns
 *   (run status, last sync) change neither the value nor how long it has been seen, so they never keep a
 *   crashed holder's lease alive. Then PATCH the lease value with If-Match on the ETag just read. No
 *   host's clock is compared with another's: hosts whose clocks differ by minutes cannot both hold it.
 *   When an answer carries no `Date`, the waiter instead needs the value unchanged for a whole lease of
 *   its own elapsed time (a duration, never a time of day).
 * - Holding: the holder counts its lease from the moment it SENT the take (or the last extension), on
 *   its own elapsed time; a waiter first sees the new value only after that write landed, so the
 *   holder's count ends before any waiter's judgement can. Before an exchange the lease is extended (a
 *   new value) and must still cover the token call's timeout plus the save's Retry-After cap, or nothing
 *   is presented.
 * - Saving: PATCH the new tokens with If-Match, only while the row still holds the token the rotation came
 *   from (re-read on 412). That holds even if the lease moved to a holder that has not exchanged: that
 *   holder's extension then fails on the ETag, it re-reads, and finds the new token.
 */
import { DataverseApiError, DataverseClient, DataverseConcurrencyError, DataverseThrottledError } from "../dataverse";
import { Clock, systemClock } from "../shared/clock";
import { registerSecret } from "../shared/redact";
import { AttemptOutcome, backoffMs, DEFAULT_RETRY, RetryOptions, sleep as realSleep, withRetry } from "../shared/retry";
import { toEpochMs } from "../sync/rows/dates";
import { SETS } from "../sync/schema";
import { TokenLeaseLostError, TokenLeaseTimeoutError, TokenLeaseTooShortError, TokenRotationConflictError } from "./errors";
import type { TokenLease, TokenState, TokenStore } from "./types";

/** The Ion token call's timeout (src/ion DEFAULT_TIMEOUT_MS) the default lease is sized for. */
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 60_000;
/** Longest Retry-After a token save waits out once (the lease covers it). */
export const DEFAULT_SAVE_RETRY_AFTER_CAP_MS = 60_000;
/** Room for the lease's own requests (extension, the save's read and two PATCHes). */
export const DEFAULT_LEASE_MARGIN_MS = 30_000;
/** `Date` and `modifiedon` are whole seconds: a lease is judged old only this much later. */
const SERVER_TIME_RESOLUTION_MS = 2_000;
/** Fresh leases tried when one could not be held for a whole exchange and save. */
const LEASE_ATTEMPTS = 3;
/** A token save answered 500 is repeated up to 3 more times, about 1.4 s of waits at most. */
const SAVE_RETRY: RetryOptions = { ...DEFAULT_RETRY, maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 800, retryInternalErrors: true };

function classifySave(error: unknown): AttemptOutcome {
  return error instanceof DataverseApiError && error.statusCode === 500 ? { status: 500 } : { status: 0 };
}

/**
 * Checks of one holder's lease before giving up, so an injected (frozen) clock cannot make the wait endless.
 * Counted per holder: runs that queue for the lease (each takes it in turn for a second) are progress, not a
 * stuck holder, however many checks the queue costs in all.
 */
export const MAX_LEASE_CHECKS_PER_HOLDER = 400;
/** All checks of one wait, whatever the holders: a bound even when holders keep changing under a frozen clock. */
const MAX_LEASE_CHECKS = 10 * MAX_LEASE_CHECKS_PER_HOLDER;

/**
 * Writes of the connector row (a save, a release) tried before giving up when other writers keep landing
 * between their read and their If-Match PATCH: every run writes its status to this row, and a release that
 * gives up leaves the lease held for a whole lease (minutes), which stalls every other process's refresh.
 */
const ROW_WRITE_ATTEMPTS = 12;
/** Pause after a 412 on the connector row, jittered so that writers that collided do not collide again. */
const ROW_CONFLICT_BACKOFF: RetryOptions = { ...DEFAULT_RETRY, baseDelayMs: 20, maxDelayMs: 500 };

export const TOKEN_COLUMNS = [
  "w365_providerconnectionid",
  "w365_refreshtoken",
  "w365_accesstoken",
  "w365_accesstokenexpireson",
  "w365_refreshtokenexpireson",
  "w365_tokenleaseuntil",
  "w365_tokenleaseholder",
];

const LEASE_READ_COLUMNS = [...TOKEN_COLUMNS, "modifiedon"];

export interface TokenRow {
  "@odata.etag"?: string;
  w365_refreshtoken?: string | null;
  w365_accesstoken?: string | null;
  w365_accesstokenexpireson?: string | null;
  w365_refreshtokenexpireson?: string | null;
  w365_tokenleaseuntil?: string | null;
  w365_tokenleaseholder?: string | null;
  modifiedon?: string | null;
}

export interface DataverseTokenStoreOptions {
  holderId?: string;
  /** The token call's timeout the lease must cover (default DEFAULT_EXCHANGE_TIMEOUT_MS). */
  exchangeTimeoutMs?: number;
  /** The save's Retry-After cap the lease must cover (default DEFAULT_SAVE_RETRY_AFTER_CAP_MS). */
  saveRetryAfterCapMs?: number;
  /** Room for the lease's own requests (default DEFAULT_LEASE_MARGIN_MS). */
  leaseMarginMs?: number;
  /** Longest wait for another holder before giving up (default: one lease plus a minute). */
  maxWaitMs?: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The connector row as just read (with the token columns): saves the first load's request. */
  preloaded?: TokenRow;
}

/** Separates the holder id from the take counter in the lease value. */
const LEASE_VALUE_SEPARATOR = "~";

/** The holder a lease value names (a value without a counter is a bare holder id). */
export function leaseHolderOf(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf(LEASE_VALUE_SEPARATOR);
  return at < 0 ? value : value.slice(0, at);
}

export function connectorKey(dv: DataverseClient, connectionId: string): string {
  return `${(dv.environmentUrl ?? "").toLowerCase()}|${connectionId.toLowerCase()}`;
}

let holderSeq = 0;
export function defaultHolderId(): string {
  holderSeq++;
  return `pid${process.pid}-${Date.now().toString(36)}-${holderSeq}`;
}

export class DataverseTokenStore implements TokenStore {
  readonly holderId: string;
  readonly key: string;
  /** The lease's length: the worst exchange plus save, plus the margin. */
  readonly leaseMs: number;
  private readonly exchangeTimeoutMs: number;
  private readonly saveRetryAfterCapMs: number;
  private readonly maxWaitMs: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random?: () => number;
  private preloaded?: TokenRow;
  private leaseSeed?: TokenRow;
  /** A save under the current lease failed: the lease is not released. */
  private saveFailed = false;
  /** Takes and extensions of this store: each writes a new lease value. */
  private leaseWrites = 0;
  /** Leases taken, saves done, takes lost to another writer, and token calls refused for lack of lease (tests read them). */
  readonly counters = { leases: 0, commits: 0, leaseConflicts: 0, tooShort: 0 };

  constructor(
    private readonly dv: DataverseClient,
    private readonly connectionId: string,
    o: DataverseTokenStoreOptions = {},
  ) {
    // Unique per store even when callers share a process-wide id: two runs in one functions host must
    // not see each other's lease as their own.
    this.holderId = o.holderId ? `${o.holderId}#${++holderSeq}` : defaultHolderId();
    this.exchangeTimeoutMs = o.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS;
    this.saveRetryAfterCapMs = o.saveRetryAfterCapMs ?? DEFAULT_SAVE_RETRY_AFTER_CAP_MS;
    this.leaseMs = this.exchangeTimeoutMs + this.saveRetryAfterCapMs + (o.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS);
    this.maxWaitMs = o.maxWaitMs ?? this.leaseMs + 60_000;
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
    return toState(preloaded ?? (await this.read()).row);
  }

  async withRefreshLease<T>(work: (lease: TokenLease) => Promise<T>, o: { inheritFrom?: string } = {}): Promise<T> {
    // A lease that could not be held long enough (Dataverse throttled its extension) presented nothing: it
    // was released, so take a fresh one, a few times, before giving up.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withRefreshLeaseOnce(work, o);
      } catch (error) {
        if (!(error instanceof TokenLeaseTooShortError) || attempt >= LEASE_ATTEMPTS) throw error;
      }
    }
  }

  private async withRefreshLeaseOnce<T>(work: (lease: TokenLease) => Promise<T>, o: { inheritFrom?: string }): Promise<T> {
    const taken = await this.acquire(o.inheritFrom);
    let heldSince = taken.sentAt;
    const fresh = toState(taken.row);
    const lease: TokenLease = {
      fresh,
      holdFor: async (exchangeMs) => {
        heldSince = await this.extend(fresh.refreshToken, exchangeMs, heldSince);
      },
    };
    this.saveFailed = false;
    try {
      return await work(lease);
    } finally {
      // After a failed save the row still holds the used-up token: the lease is left to run out (by
      // Dataverse's clock) so other processes wait instead of presenting it, while this process retries
      // the save from its journal.
      if (!this.saveFailed) await this.release().catch(() => undefined);
    }
  }

  async save(from: string, next: TokenState): Promise<void> {
    registerSecret(next.refreshToken);
    registerSecret(next.accessToken);
    const tokens: Record<string, unknown> = {
      w365_refreshtoken: next.refreshToken,
      w365_accesstoken: next.accessToken ?? null,
      w365_accesstokenexpireson: next.accessTokenExpiresAt ? new Date(next.accessTokenExpiresAt).toISOString() : null,
      w365_refreshtokenexpireson: next.refreshTokenExpiresAt ? new Date(next.refreshTokenExpiresAt).toISOString() : null,
      w365_refreshtokensavedon: new Date(this.clock.now()).toISOString(),
    };
    try {
      // Compare-and-save is safe to repeat: a 500 on it is retried by the one policy, a few times within the
      // lease's margin (Dataverse's 500s are often passing on this row; 429/503 are retried inside the client).
      await withRetry(() => this.compareAndSave(from, next, tokens), classifySave, SAVE_RETRY, true, {
        sleep: this.sleep,
        random: this.random,
      });
    } catch (error) {
      if (!(error instanceof TokenRotationConflictError)) this.saveFailed = true;
      throw error;
    }
  }

  private async compareAndSave(from: string, next: TokenState, tokens: Record<string, unknown>): Promise<void> {
    for (let attempt = 1; attempt <= ROW_WRITE_ATTEMPTS; attempt++) {
      if (attempt > 1) await this.sleep(backoffMs(attempt - 1, ROW_CONFLICT_BACKOFF, this.random));
      const { row } = await this.read();
      if (row.w365_refreshtoken === next.refreshToken) return; // an earlier attempt landed
      if (row.w365_refreshtoken !== from) {
        throw new TokenRotationConflictError(
          "The connector's refresh token was replaced (new credentials pasted?) before the rotated StreamOne Ion refresh token could be saved; the connector keeps the replacement.",
        );
      }
      const release =
        leaseHolderOf(row.w365_tokenleaseholder) === this.holderId ? { w365_tokenleaseholder: null, w365_tokenleaseuntil: null } : {};
      try {
        await this.dv.update(
          SETS.connection,
          this.connectionId,
          { ...tokens, ...release },
          { ifMatch: etagOf(row), retry: this.saveRetry() },
        );
        this.counters.commits++;
        return;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
        // Another column of the row changed (status, last sync, a lease): read again and repeat.
      }
    }
    throw new TokenLeaseLostError("The connector row kept changing while the rotated StreamOne Ion refresh token was being saved.");
  }

  /** One Retry-After wait, capped, and two attempts: the save fits the lease it was sized for. */
  private saveRetry(): { maxAttempts: number; maxRetryAfterMs: number } {
    return { maxAttempts: 2, maxRetryAfterMs: this.saveRetryAfterCapMs };
  }

  private async read(): Promise<{ row: TokenRow; serverTime?: number }> {
    const result = await this.dv.retrieveWithServerTime<TokenRow>(SETS.connection, this.connectionId, { select: LEASE_READ_COLUMNS });
    registerSecret(result.row.w365_refreshtoken);
    registerSecret(result.row.w365_accesstoken);
    return result;
  }

  /** Takes the lease; returns the row it was taken on and when (own clock) the take was sent. */
  private async acquire(inheritFrom?: string): Promise<{ row: TokenRow; sentAt: number }> {
    const seed = this.leaseSeed;
    this.leaseSeed = undefined;
    if (seed?.["@odata.etag"] && !seed.w365_tokenleaseholder) {
      const sentAt = this.clock.now();
      if (await this.tryTake(seed)) return { row: seed, sentAt };
    }
    const started = this.clock.now();
    /** The other holder's lease value and when this waiter first saw it (Dataverse's time, else own elapsed time). */
    let observed: { value: string; server?: number; local: number } | undefined;
    /** The holder this waiter has seen last, and how many checks it has seen it hold the lease. */
    let waitingOn: { holder: string | undefined; checks: number } = { holder: undefined, checks: 0 };
    for (let attempt = 1; ; attempt++) {
      const { row, serverTime } = await this.read();
      const value = row.w365_tokenleaseholder;
      const holder = leaseHolderOf(value);
      let waitMs = 0;
      // A lease this process kept for its own unsaved rotation is its to take over, at once.
      if (value && holder !== this.holderId && holder !== inheritFrom) {
        if (observed?.value !== value) observed = { value, server: serverTime, local: this.clock.now() };
        let age: number;
        if (serverTime !== undefined && observed.server !== undefined) {
          // Both bounds on Dataverse's clock: seen unchanged this long, and the row unwritten this long.
          age = serverTime - observed.server;
          const modified = toEpochMs(row.modifiedon);
          if (modified !== undefined) age = Math.max(age, serverTime - modified);
        } else {
          age = this.clock.now() - observed.local; // unchanged for this long, on our elapsed time only
        }
        waitMs = this.leaseMs + SERVER_TIME_RESOLUTION_MS - age;
      }
      if (waitMs <= 0) {
        const sentAt = this.clock.now();
        if (await this.tryTake(row)) return { row, sentAt };
        continue;
      }
      waitingOn = waitingOn.holder === holder ? { holder, checks: waitingOn.checks + 1 } : { holder, checks: 1 };
      if (this.clock.now() - started > this.maxWaitMs || waitingOn.checks >= MAX_LEASE_CHECKS_PER_HOLDER || attempt >= MAX_LEASE_CHECKS) {
        const waitedS = Math.round((this.clock.now() - started) / 1000);
        throw new TokenLeaseTimeoutError(
          `Another process (${holder ?? "unknown"}) held the StreamOne Ion token lease of this connector through this process's whole wait (${waitedS} s, ${attempt} checks, ${waitingOn.checks} of them on this holder); try again in a minute.`,
        );
      }
      // Short waits: a refresh takes about a second; the cap keeps a stuck holder from stalling us long.
      await this.sleep(Math.min(backoffMs(attempt, { ...DEFAULT_RETRY, baseDelayMs: 50, maxDelayMs: 2_000 }, this.random), waitMs));
    }
  }

  private async tryTake(row: TokenRow): Promise<boolean> {
    try {
      await this.dv.update(
        SETS.connection,
        this.connectionId,
        { w365_tokenleaseholder: this.nextLeaseValue(), w365_tokenleaseuntil: null },
        // A throttled or refused-connection take wrote nothing, and the If-Match makes a repeat safe.
        { ifMatch: etagOf(row), retry: { maxAttempts: DEFAULT_RETRY.maxAttempts } },
      );
    } catch (error) {
      if (!(error instanceof DataverseConcurrencyError)) throw error;
      this.counters.leaseConflicts++;
      return false;
    }
    this.counters.leases++;
    return true;
  }

  /** A lease value no earlier take or extension wrote: waiters judge its age from when they first see it. */
  private nextLeaseValue(): string {
    return `${this.holderId}${LEASE_VALUE_SEPARATOR}${++this.leaseWrites}`;
  }

  /**
   * Extends the lease before an exchange (a new lease value, so waiters judge from now) and
   * checks it then covers the exchange plus the save. Returns when (own clock) the extension was sent.
   */
  private async extend(presenting: string, exchangeMs: number, heldSince: number): Promise<number> {
    const needMs = exchangeMs + this.saveRetryAfterCapMs;
    for (let attempt = 1; attempt <= 5; attempt++) {
      if (this.clock.now() - heldSince >= this.leaseMs) break;
      const { row } = await this.read();
      if (leaseHolderOf(row.w365_tokenleaseholder) !== this.holderId) {
        throw new TokenLeaseLostError(
          `The token lease of this connector passed to ${leaseHolderOf(row.w365_tokenleaseholder) ?? "nobody"} before the token exchange.`,
        );
      }
      if (row.w365_refreshtoken !== presenting) {
        throw new TokenLeaseLostError(
          "The connector's refresh token changed under the token lease; the exchange starts again from the new one.",
        );
      }
      const sentAt = this.clock.now();
      try {
        await this.dv.update(
          SETS.connection,
          this.connectionId,
          { w365_tokenleaseholder: this.nextLeaseValue() },
          { ifMatch: etagOf(row), retry: { maxAttempts: 1 } },
        );
      } catch (error) {
        // Throttled: nothing was written. Wait as Dataverse asks (capped) and judge the lease again from the top.
        if (error instanceof DataverseThrottledError) {
          await this.sleep(Math.min(error.retryAfterMs ?? 1_000, this.saveRetryAfterCapMs));
          continue;
        }
        if (!(error instanceof DataverseConcurrencyError)) throw error;
        continue; // another column changed: read again, check again
      }
      if (this.clock.now() - sentAt + needMs <= this.leaseMs) return sentAt;
      break;
    }
    this.counters.tooShort++;
    throw new TokenLeaseTooShortError(
      `The StreamOne Ion token lease could not be held for a whole token exchange and save (${Math.round(needMs / 1000)} s); no token was presented. The next call tries again.`,
    );
  }

  private async release(): Promise<void> {
    for (let attempt = 1; attempt <= ROW_WRITE_ATTEMPTS; attempt++) {
      if (attempt > 1) await this.sleep(backoffMs(attempt - 1, ROW_CONFLICT_BACKOFF, this.random));
      const { row } = await this.read();
      if (leaseHolderOf(row.w365_tokenleaseholder) !== this.holderId) return;
      try {
        await this.dv.update(
          SETS.connection,
          this.connectionId,
          { w365_tokenleaseuntil: null, w365_tokenleaseholder: null },
          { ifMatch: etagOf(row) },
        );
        return;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
      }
    }
  }
}

function etagOf(row: TokenRow): string {
  return row["@odata.etag"] ?? "*";
}

function toState(row: TokenRow): TokenState {
  registerSecret(row.w365_refreshtoken);
  registerSecret(row.w365_accesstoken);
  const state: TokenState = { refreshToken: row.w365_refreshtoken ?? "" };
  if (row.w365_accesstoken) state.accessToken = row.w365_accesstoken;
  const accessExp = toEpochMs(row.w365_accesstokenexpireson);
  if (accessExp !== undefined) state.accessTokenExpiresAt = accessExp;
  const refreshExp = toEpochMs(row.w365_refreshtokenexpireson);
  if (refreshExp !== undefined) state.refreshTokenExpiresAt = refreshExp;
  return state;
}
