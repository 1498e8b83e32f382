/**
 * Sync Subscriptions: Ion subscriptions of mapped customers → w365_providersubscription
 * rows linked to provider account and account. One account-wide paged read of Ion subscriptions (not one
 * call per customer), one paged read of the existing rows, writes only for changed content hashes.
 * Changes made outside Work 365 (quantity, status, cancellation window) are reported with before/after.
 */
import type { BatchOperation, BatchResult, DataverseClient } from "../dataverse";
import type { IonSubscriptionRecord } from "../ion/parse/subscription";
import { ensureError, errorCode } from "../shared/errors";
import { eventLoopSlicer, readAheadUntil } from "../shared/pool";
import { pagesToSkip } from "./checkpoint";
import { readListShape } from "./connectorCheckpoint";
import type { SyncContext } from "./context";
import {
  changedSubscriptionCustomers,
  connectorCheckpointValue,
  type CustomerDigests,
  CUSTOMERS_PER_EARLY_READ,
  CUSTOMERS_PER_READ,
  DIGEST_PREFIX,
  type DigestMarks,
  formatDigest,
  loadDigests,
  marksUsable,
  parseDigest,
  readMarks,
  splitForParallelReads,
  subscriptionsOfCustomers,
  subscriptionsVersion,
  subscriptionToken,
} from "./digest";
import { SyncError } from "./errors";
import { confirmGone } from "./gone";
import { ION_PAGE_CONCURRENCY, type ListShape, openingOffsets, subscriptionPages } from "./ionPages";
import { RunYield } from "./itemClaim";
import type { CustomerLinks, LinkDecision } from "./links";
import { CHANGED_BY_ADMIN, CHANGED_BY_ADMIN_MESSAGE } from "./messages";
import { hasRequest, pendingAutoRenew, statusBucket } from "./outbound/policy";
import { outboundFilter, type OutboundRow } from "./outbound/runner";
import { PageCheckpoints, type PageReport } from "./pages";
import { sameInstant } from "./rows/dates";
import { toProviderSubscriptionRow } from "./rows/toProviderSubscriptionRow";
import type { RunRecorder } from "./runs";
import { ALTERNATE_KEYS, MappingStatus, OUTBOUND_COLUMNS, PROVIDER_SUBSCRIPTION_STATE_COLUMNS, SETS, SyncState } from "./schema";
import { isFullScope, scopedProviderAccount, type SyncScope } from "./scope";
import type { WritePlan, WriteSink } from "./sink";

export const DEFAULT_SUBSCRIPTION_PAGE_LIMIT = 1000;
/**
 * Subscriptions held for customers the concurrent accounts phase has not decided yet, at most (then the
 * Ion reads pause until half are released): five Ion pages, about the subscriptions of one $batch of new
 * customers, so memory stays bounded whatever order Ion lists them in.
 */
export const MAX_HELD_SUBSCRIPTIONS = 5_000;
/**
 * The same bound when the digests spare the stored rows (the run holds a fraction of a full read's memory):
 * the Ion reads then go on while the accounts phase reads the accounts and the changed customers' profiles,
 * instead of pausing every 5,000 subscriptions of customers it has not reached yet.
 */
export const MAX_HELD_SUBSCRIPTIONS_SPARED = 15_000;
/**
 * Ion subscription pages read ahead while the stored rows are still being read (about 3 MB each): the two
 * reads overlap instead of following each other (a no-change run of a large reseller is mostly
 * these two reads).
 */
export const EARLY_ION_PAGES = 8;
/**
 * Ion subscription pages asked for at once when the digests spare the stored rows: as many as Ion's 8 calls.
 * The transport's cap holds them (its queue is on the Ion I/O thread, the customer pages first), so a page is
 * always waiting when a slot frees, while the customer pages and cloud profiles still take theirs. With 6 (of 8)
 * the slots the profiles did not use stayed idle; measured in bench/README.md ("Ion's answers on their own
 * thread"): the 1% run 1.51-1.58 × its bound with 6, 1.38-1.42 with 8.
 */
export const ION_PAGE_CONCURRENCY_SPARED = 8;

/**
 * Writes in one change set at most: a customer's row writes and its digest (Dataverse accepts up to 1,000
 * operations in a change set; a customer with more changed rows than this writes them and its digest apart).
 */
export const MAX_WRITES_WITH_DIGEST = 100;

/**
 * Ion subscription pages in flight at the start of a read: as many as when the digests spare the stored rows
 * once the marks may allow it (the reads the run waits on before knowing are small), else ION_PAGE_CONCURRENCY.
 */
function openingConcurrency(keepDigests: boolean, marks: DigestMarks | undefined, now: number): number {
  return keepDigests && marksUsable(marks, now) ? ION_PAGE_CONCURRENCY_SPARED : ION_PAGE_CONCURRENCY;
}

/**
 * Asks Ion now for the pages a fresh full run's subscriptions phase opens with (its first page and the guesses
 * beside it, as `subscriptionPages` will ask for them), while the run's own row is still being written.
 */
export function speculateOpeningPages(ctx: SyncContext): void {
  const limit = ctx.deps.ion?.subscriptionPageLimit ?? DEFAULT_SUBSCRIPTION_PAGE_LIMIT;
  const marks = readMarks(connectorCheckpointValue(ctx.connection.checkpoint, "subscriptionDigest"));
  const expected = readListShape(connectorCheckpointValue(ctx.connection.checkpoint, "ionSubscriptions"));
  // Such a run keeps digests (full scope, writing, from the first page, no stored rows handed in): `keepDigests`.
  for (const offset of openingOffsets(limit, expected, openingConcurrency(true, marks, ctx.clock.now())))
    ctx.ion.subscriptions.speculatePage(offset, limit);
}

/** A row write held until its customer's other subscriptions are compared (`releaseRows`). */
interface RowWrite {
  op: BatchOperation;
  plan: WritePlan;
  onResult: (result: BatchResult) => void;
}

/** The write of a customer's subscriptions digest on its provider account (null clears it). */
function digestOperation(providerAccountId: string, want: string | null): BatchOperation {
  return { method: "PATCH", entitySet: SETS.providerAccount, key: providerAccountId, body: { w365_subscriptionsdigest: want } };
}

/** A subscription waiting for its customer's link, and the page it came from (for the page checkpoints). */
export interface HeldSubscription {
  sub: IonSubscriptionRecord;
  page: number;
}

/** A stored subscription row as the run reads it: the outbound columns plus change-detection state. */
export interface ExistingProviderSubscription extends OutboundRow {
  w365_contenthash?: string | null;
  w365_cancellationalloweduntil?: string | null;
  w365_missingsince?: string | null;
  /**
   * The row's ETag when this run read it: the run's write goes onto that version only (If-Match), so a
   * request an admin saves meanwhile is neither cleared nor robbed of its conflict check. Not named
   * `@odata.etag`: the outbound step re-reads rows whose ETag it does not hold itself.
   */
  etagAtRead?: string;
}

export interface MappedCustomer {
  providerAccountId: string;
  accountId?: string | null;
}

export function requestPending(row: ExistingProviderSubscription | undefined): boolean {
  if (!row) return false;
  return hasRequest({ quantity: row.w365_requestedquantity, status: row.w365_requestedstatus, autoRenew: pendingAutoRenew(row) });
}

/** Pure: Ion values that changed outside Work 365 since the row was last written. */
export function externalChanges(
  row: ExistingProviderSubscription,
  sub: { quantity: number; status: string; cancellationAllowedUntil?: string | null; autoRenew: boolean },
): { before: Record<string, unknown>; after: Record<string, unknown> } | undefined {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  if (typeof row.w365_quantity === "number" && row.w365_quantity !== sub.quantity) {
    before.quantity = row.w365_quantity;
    after.quantity = sub.quantity;
  }
  if (row.w365_status && row.w365_status !== sub.status.toLowerCase()) {
    before.status = row.w365_status;
    after.status = sub.status.toLowerCase();
    if (statusBucket(sub.status) === "deleted") after.cancelled = true;
  }
  if (typeof row.w365_autorenew === "boolean" && row.w365_autorenew !== sub.autoRenew) {
    before.autoRenew = row.w365_autorenew;
    after.autoRenew = sub.autoRenew;
  }
  const cau = sub.cancellationAllowedUntil ?? null;
  if ((row.w365_cancellationalloweduntil ?? null) !== null || cau !== null) {
    if (!sameInstant(row.w365_cancellationalloweduntil ?? undefined, cau ?? undefined)) {
      before.cancellationAllowedUntil = row.w365_cancellationalloweduntil ?? null;
      after.cancellationAllowedUntil = cau;
    }
  }
  return Object.keys(after).length > 0 ? { before, after } : undefined;
}

export async function loadMappedCustomers(
  dv: DataverseClient,
  connectionId: string,
  providerAccountId?: string,
): Promise<{ mapped: Map<string, MappedCustomer>; unmapped: Set<string> }> {
  const mapped = new Map<string, MappedCustomer>();
  const unmapped = new Set<string>();
  const filter = `_w365_connection_value eq ${connectionId}${providerAccountId ? ` and w365_provideraccountid eq ${providerAccountId}` : ""}`;
  for await (const page of dv.queryPages<{
    w365_provideraccountid: string;
    w365_ioncustomerid: string;
    w365_mappingstatus?: number;
    _w365_account_value?: string | null;
  }>(SETS.providerAccount, {
    select: ["w365_provideraccountid", "w365_ioncustomerid", "w365_mappingstatus", "_w365_account_value"],
    filter,
    pageSize: 5000,
  })) {
    for (const r of page) {
      if (r.w365_mappingstatus === MappingStatus.Mapped && r._w365_account_value)
        mapped.set(String(r.w365_ioncustomerid), { providerAccountId: r.w365_provideraccountid, accountId: r._w365_account_value });
      else unmapped.add(String(r.w365_ioncustomerid));
    }
  }
  return { mapped, unmapped };
}

/**
 * Keeps only what change detection needs for the ~50,000 rows of a large reseller (memory);
 * rows with a pending request or an order in flight keep everything, the outbound phase uses them.
 */
function slimExisting(row: ExistingProviderSubscription & { "@odata.etag"?: string }): ExistingProviderSubscription {
  const etag = row["@odata.etag"];
  if (
    requestPending(row) ||
    row.w365_syncstate === SyncState.SentToIon ||
    row.w365_syncstate === SyncState.Conflict ||
    row.w365_syncstate === SyncState.Error
  ) {
    delete row["@odata.etag"];
    if (etag) row.etagAtRead = etag;
    return row;
  }
  return {
    w365_providersubscriptionid: row.w365_providersubscriptionid,
    w365_ionsubscriptionid: row.w365_ionsubscriptionid,
    ...(row.w365_ioncustomerid ? { w365_ioncustomerid: row.w365_ioncustomerid } : {}),
    ...(etag ? { etagAtRead: etag } : {}),
    w365_contenthash: row.w365_contenthash,
    w365_quantity: row.w365_quantity,
    w365_status: row.w365_status,
    w365_autorenew: row.w365_autorenew,
    w365_cancellationalloweduntil: row.w365_cancellationalloweduntil,
    w365_requestedautorenew: row.w365_requestedautorenew,
    w365_syncstate: row.w365_syncstate,
    ...(row.w365_missingsince ? { w365_missingsince: row.w365_missingsince } : {}),
  };
}

/**
 * A stored row as the run keeps it: the row (pending request, order in flight, or a value the packing
 * cannot hold), or, for the tens of thousands of quiet rows, its slim form packed into one string
 * (a third of the memory of the object and its strings; the live set is what V8 multiplies into
 * the heap it lets grow).
 */
export type StoredSubscription = ExistingProviderSubscription | string;
export type StoredSubscriptions = Map<string, StoredSubscription>;

const SEP = "\u0001";

/** Pure: the slim row as one string (hash first, missing-since last), or undefined when a value does not fit. */
export function packStoredSubscription(row: ExistingProviderSubscription): string | undefined {
  const text = [
    row.w365_contenthash,
    row.w365_providersubscriptionid,
    row.w365_ionsubscriptionid,
    row.w365_ioncustomerid,
    row.etagAtRead,
    row.w365_status,
    row.w365_cancellationalloweduntil,
    row.w365_missingsince,
  ];
  // null and undefined both unpack as null; an empty or separator-holding string would not round-trip.
  if (text.some((v) => v !== null && v !== undefined && (typeof v !== "string" || v === "" || v.includes(SEP)))) return undefined;
  const nums = [row.w365_quantity, row.w365_syncstate];
  if (nums.some((v) => v !== null && v !== undefined && (typeof v !== "number" || !Number.isFinite(v)))) return undefined;
  const bools = [row.w365_autorenew, row.w365_requestedautorenew];
  if (bools.some((v) => v !== null && v !== undefined && typeof v !== "boolean")) return undefined;
  const b = (v: boolean | null | undefined) => (v === true ? "1" : v === false ? "0" : "");
  return [
    row.w365_contenthash ?? "",
    row.w365_providersubscriptionid ?? "",
    row.w365_ionsubscriptionid ?? "",
    row.w365_ioncustomerid ?? "",
    row.etagAtRead ?? "",
    row.w365_quantity ?? "",
    row.w365_status ?? "",
    b(row.w365_autorenew),
    row.w365_cancellationalloweduntil ?? "",
    b(row.w365_requestedautorenew),
    row.w365_syncstate ?? "",
    row.w365_missingsince ?? "",
  ].join(SEP);
}

/** Pure: the slim row back from `packStoredSubscription` (absent values as null). */
export function unpackStoredSubscription(packed: string): ExistingProviderSubscription {
  const [hash, id, ionId, customerId, etag, quantity, status, autoRenew, cau, requestedAutoRenew, syncState, missingSince] =
    packed.split(SEP);
  const text = (v: string | undefined) => (v ? v : null);
  const bool = (v: string | undefined) => (v === "1" ? true : v === "0" ? false : null);
  const num = (v: string | undefined) => (v ? Number(v) : null);
  return {
    w365_providersubscriptionid: id ?? "",
    w365_ionsubscriptionid: ionId ?? "",
    ...(customerId ? { w365_ioncustomerid: customerId } : {}),
    ...(etag ? { etagAtRead: etag } : {}),
    w365_contenthash: text(hash),
    w365_quantity: num(quantity),
    w365_status: text(status),
    w365_autorenew: bool(autoRenew),
    w365_cancellationalloweduntil: text(cau),
    w365_requestedautorenew: bool(requestedAutoRenew),
    w365_syncstate: num(syncState),
    ...(missingSince ? { w365_missingsince: missingSince } : {}),
  };
}

export function storedRow(stored: StoredSubscription | undefined): ExistingProviderSubscription | undefined {
  return typeof stored === "string" ? unpackStoredSubscription(stored) : stored;
}

/** True when a packed row has this content hash and is not flagged missing: nothing to write, nothing to unpack. */
function packedUnchanged(packed: string, hash: string): boolean {
  return packed.startsWith(hash) && packed.charCodeAt(hash.length) === 1 && packed.endsWith(SEP);
}

export async function loadExistingSubscriptions(
  dv: DataverseClient,
  connectionId: string,
  providerAccountId?: string,
): Promise<StoredSubscriptions> {
  const map: StoredSubscriptions = new Map();
  const filter = `_w365_connection_value eq ${connectionId}${providerAccountId ? ` and _w365_provideraccount_value eq ${providerAccountId}` : ""}`;
  for await (const page of dv.queryPages<ExistingProviderSubscription>(SETS.providerSubscription, {
    select: [...PROVIDER_SUBSCRIPTION_STATE_COLUMNS],
    filter,
    pageSize: 5000,
  })) {
    for (const full of page) addStoredRow(map, full);
  }
  return map;
}

/** Keeps one stored row as the run holds it (slim, packed when quiet). */
function addStoredRow(map: StoredSubscriptions, full: ExistingProviderSubscription): void {
  const row = slimExisting(full);
  // Only rows the run treats as quiet are packed, so a packed row never needs its pending state.
  const packed = row !== full && !requestPending(row) ? packStoredSubscription(row) : undefined;
  map.set(String(full.w365_ionsubscriptionid), packed ?? row);
}

/**
 * The digests a run trusts: those of customers whose rows nobody else changed since the last run, parsed on
 * first use. A digest still on its way is not trusted yet (its customer's rows are read instead, as for one
 * without a digest); beside the accounts phase that does not happen, since a customer's subscriptions wait for
 * its link, decided only once its row is read.
 */
class TrustedDigests {
  private readonly parsed = new Map<string, Set<string> | null>();
  constructor(
    private readonly digests: CustomerDigests,
    private readonly changed: Set<string>,
  ) {}

  get(customerId: string): Set<string> | undefined {
    const known = this.parsed.get(customerId);
    if (known !== undefined) return known ?? undefined;
    if (this.changed.has(customerId)) {
      this.parsed.set(customerId, null);
      return undefined;
    }
    const digest = this.digests.get(customerId);
    if (!digest) return undefined;
    const tokens = parseDigest(digest.text) ?? null;
    this.parsed.set(customerId, tokens);
    return tokens ?? undefined;
  }

  /** Customers trusted (every digest read). */
  get size(): number {
    let n = 0;
    for (const customerId of this.digests.keys()) if (this.get(customerId)) n++;
    return n;
  }
}

export interface SubscriptionsPhaseResult {
  /**
   * The rows the outbound phase of the same run must look at (a pending request, or an order being
   * tracked), as the phase found them at its start: from its read of every row, or from one query of
   * those rows when the digests spared that read; undefined: the outbound phase queries them.
   */
  outbound?: ExistingProviderSubscription[];
  /** The marks to keep in the connector's checkpoint for the digests (null: forget them; undefined: leave them). */
  digestMarks?: DigestMarks | null;
  /** Ion's subscription list as this phase read it from its first page (undefined when it did not). */
  listShape?: ListShape;
}

/**
 * The subscriptions phase over `scope`, writing through `writer` (the run's sink: it may already hold the
 * accounts phase's deferred updates, which then share batches; a dry run's sink reports what it would write).
 */
export async function runSubscriptionsPhase(
  ctx: SyncContext,
  run: RunRecorder,
  scope: SyncScope,
  writer: WriteSink,
  o: {
    mapping?: { mapped: Map<string, MappedCustomer>; unmapped: Set<string> };
    /** The connector's stored rows, already being read (started by the run beside the accounts phase). */
    existing?: Promise<StoredSubscriptions>;
    /**
     * The customers' digests, being read with the provider accounts the accounts phase beside this one reads:
     * `live` fills page by page (a customer's link is decided only once its row, digest included, is in, so
     * comparing need not wait for the whole read); `complete` resolves to it once every page is in.
     */
    digests?: { live: CustomerDigests; complete: Promise<CustomerDigests> };
    /**
     * The accounts phase runs at the same time and decides customers into these (src/sync/links.ts);
     * `gate` resolves once it is recorded as done (this phase's checkpoints wait for it).
     */
    concurrent?: {
      links: CustomerLinks<HeldSubscription>;
      gate: Promise<void>;
      /**
       * The work item's budget is spent: read no further Ion page, let every page read so far be decided,
       * written and checkpointed (after `gate`), then stop with RunYield; the next item resumes after them.
       */
      stopReading?: () => boolean;
    };
  },
): Promise<SubscriptionsPhaseResult> {
  const { dv, ion, connection, clock } = ctx;
  const report = run.report;
  const oneAccount = scopedProviderAccount(scope);
  const concurrent = isFullScope(scope) && writer.applies ? o.concurrent : undefined;
  // The accounts phase of the same run hands over the mapping it just wrote (or, running beside this
  // phase, decides it customer by customer); otherwise read it.
  const { mapped, unmapped } = concurrent
    ? { mapped: new Map<string, MappedCustomer>(), unmapped: new Set<string>() }
    : o.mapping && !oneAccount
      ? o.mapping
      : await loadMappedCustomers(dv, connection.id, oneAccount);
  const limit = ctx.deps.ion?.subscriptionPageLimit ?? DEFAULT_SUBSCRIPTION_PAGE_LIMIT;
  const skip = pagesToSkip(run.checkpoint, "subscriptions");
  const runStartIso = new Date(clock.now()).toISOString();
  // Digests are kept by runs that read Ion's whole list from its first page and write (src/sync/digest.ts).
  // (Not when the stored rows were already being read: the start version must be read before them.)
  const keepDigests = isFullScope(scope) && writer.applies && skip === 0 && !o.existing;
  const marks = readMarks(connectorCheckpointValue(connection.checkpoint, "subscriptionDigest"));
  // Read before anything else: the row version at the start bounds what the next run must look at again.
  const since = keepDigests ? subscriptionsVersion(dv, connection.id) : undefined;
  const user = keepDigests
    ? dv.whoAmI().then(
        (w) => String(w.UserId).toLowerCase(),
        () => undefined,
      )
    : undefined;
  const digestsRead = keepDigests ? (o.digests?.complete ?? loadDigests(dv, connection.id)) : undefined;
  since?.catch(() => undefined);
  digestsRead?.catch(() => undefined);
  /**
   * The stored state: every row (one paged read), or, when the marks allow it, only the customers whose
   * rows changed since the last run (`changed`); the others are trusted to their digests.
   */
  // When the digests may spare the full read, the outbound phase's rows are read now, as the full read
  // would have found them (a request saved later is the webhook's, as before).
  const outboundRead =
    keepDigests && marksUsable(marks, clock.now())
      ? dv.queryAll<ExistingProviderSubscription>(SETS.providerSubscription, {
          select: [...OUTBOUND_COLUMNS],
          filter: outboundFilter(connection.id),
          pageSize: 5000,
        })
      : undefined;
  outboundRead?.catch(() => undefined);
  const prepare = async (): Promise<{
    existing: StoredSubscriptions;
    changed?: Set<string>;
    digests?: CustomerDigests;
    digestsComplete?: Promise<unknown>;
  }> => {
    // The start version is read before any stored row: a change made after it is seen by the next run.
    if (since) await since.catch(() => undefined);
    if (keepDigests && marksUsable(marks, clock.now())) {
      const who = await user;
      const changed = who && who === marks.user.toLowerCase() ? await changedSubscriptionCustomers(dv, connection.id, marks) : undefined;
      // The digests are part of the state: Ion pages are read ahead (EARLY_ION_PAGES) until they are in.
      if (changed && concurrent && o.digests)
        return { existing: new Map(), changed, digests: o.digests.live, digestsComplete: o.digests.complete };
      if (changed) return { existing: new Map(), changed, digests: await digestsRead };
    }
    const existing = o.existing && !oneAccount ? o.existing : loadExistingSubscriptions(dv, connection.id, oneAccount);
    return { existing: await existing, digests: digestsRead ? await digestsRead : undefined };
  };
  const stored = prepare();
  // The Ion pages download while the stored rows are read (up to EARLY_ION_PAGES of them), then one ahead.
  // More Ion pages at once when the digests spare the stored rows (memory is then far below a full read's).
  // A run whose marks may spare the stored rows asks for that many from the start (the reads it waits on
  // before knowing are small); it falls back below when they do not.
  let pagesAtOnce = openingConcurrency(keepDigests, marks, clock.now());
  // And then the next pages are asked for as soon as one answers, while those read ahead are compared.
  let pagesBuffered = 0;
  /** The list's shape as this read found it (kept for the next run's read). */
  let listShape: ListShape | undefined;
  const fullPass = oneAccount
    ? undefined
    : readAheadUntil(
        subscriptionPages(ion, limit, {
          concurrency: () => pagesAtOnce,
          buffered: () => pagesBuffered,
          expected: readListShape(connectorCheckpointValue(connection.checkpoint, "ionSubscriptions")),
          onShape: (shape) => (listShape = shape),
        }),
        stored,
        EARLY_ION_PAGES,
      );
  const prepared = await stored;
  let existing = prepared.existing;
  const digests: CustomerDigests = prepared.digests ?? new Map();
  // Trusted digests (customers whose rows nobody else changed since the last run): set only when not every row was read.
  let trusted: TrustedDigests | undefined;
  if (prepared.changed) {
    pagesAtOnce = ION_PAGE_CONCURRENCY_SPARED;
    pagesBuffered = ION_PAGE_CONCURRENCY_SPARED;
    trusted = new TrustedDigests(digests, prepared.changed);
  } else pagesAtOnce = ION_PAGE_CONCURRENCY;
  let page = 0;
  let read = 0;
  let skippedUnmapped = 0;
  const seen = new Set<string>();

  let pages: AsyncIterable<IonSubscriptionRecord[]>;
  if (oneAccount && mapped.size === 0) {
    throw new SyncError(
      "SYNC_NOT_MAPPED",
      unmapped.size > 0
        ? `Provider account ${oneAccount} is not mapped to an account: map it (or create a new account) before syncing its subscriptions.`
        : `Provider account ${oneAccount} was not found for this connector.`,
    );
  }
  if (oneAccount) {
    const only = [...mapped.keys()][0];
    pages = only ? ion.subscriptions.listPages({ customerId: only, limit }) : (async function* () {})();
  } else pages = fullPass!;

  if (concurrent) await run.progress("subscriptions: reading Ion subscriptions");
  else await run.event({ type: "phase-start", phase: "subscriptions", at: clock.now() }, "subscriptions: reading Ion subscriptions");
  const pageCheckpoints = new PageCheckpoints(ctx, run, writer, "subscriptions", { gate: concurrent?.gate });
  const linkedCustomers = new Set<string>();

  // Digests: each linked customer's tokens as this run leaves its rows; customers whose rows were not all
  // written or confirmed (their digest is cleared, never claimed); customers seen unmapped.
  const tokensOf = new Map<string, { providerAccountId: string; tokens: string[] }>();
  const unconfirmed = new Set<string>();
  // Row writes of each customer still waiting for their answer: its digest is written once none is left.
  const writesInFlight = new Map<string, number>();
  const beginWrite = (customerId: string) => writesInFlight.set(customerId, (writesInFlight.get(customerId) ?? 0) + 1);
  /** Subscription rows this phase sent an update for (the digest marks' `until` is read only after such writes). */
  let rowWritesSent = 0;
  const endWrite = (customerId: string) => {
    const left = (writesInFlight.get(customerId) ?? 1) - 1;
    if (left > 0) writesInFlight.set(customerId, left);
    else {
      writesInFlight.delete(customerId);
      if (stampWhenWritten) stampWhenWritten(customerId);
      else if (storedIdsOf.has(customerId)) {
        stampCandidates.add(customerId);
        stampEarlySoon();
      }
    }
  };
  let stampWhenWritten: ((customerId: string) => void) | undefined;
  // Digests written while Ion's list is still read (`stampEarly`): the stored rows' Ion ids of each customer
  // whose rows this run read, the customers to look at again at the next page boundary, and the text written.
  const storedIdsOf = new Map<string, string[]>();
  const stampCandidates = new Set<string>();
  const earlyStamped = new Map<string, string>();
  // True between two Ion pages (every subscription seen so far is compared); early digests are written only then.
  let betweenPages = false;
  // Rows read or writes answered while the run waits for the next Ion page: their customers' digests go out then,
  // once per turn of the event loop, not at the next page (which may be long in coming).
  let stampScheduled = false;
  const stampEarlySoon = () => {
    if (stampScheduled || !betweenPages) return;
    stampScheduled = true;
    setImmediate(() => {
      stampScheduled = false;
      if (stampCandidates.size > 0) stampEarly();
    });
  };
  const noteStoredRow = (row: ExistingProviderSubscription) => {
    const customerId = row.w365_ioncustomerid ? String(row.w365_ioncustomerid) : undefined;
    if (!customerId || !keepDigests) return;
    let ids = storedIdsOf.get(customerId);
    if (!ids) storedIdsOf.set(customerId, (ids = []));
    ids.push(String(row.w365_ionsubscriptionid));
  };
  const seenUnmapped = new Set<string>();
  const matched = new Map<string, number>();
  /**
   * Every token of the customer's trusted digest was matched by an Ion subscription (and, when `listed` is given,
   * Ion listed no other): its stored rows hold what Ion lists, and the digest stays as it is.
   */
  const matchedInFull = (customerId: string, listed?: number): boolean => {
    const tokens = trusted?.get(customerId);
    const n = matched.get(customerId) ?? 0;
    return tokens !== undefined && n === tokens.size && (listed === undefined || listed === n);
  };
  // Rows read per customer when the digests spare the full read: subscriptions wait here for their customer's rows.
  const rowsLoading = new Set<string>();
  const rowsLoaded = new Set<string>();
  const waitingForRows = new Map<string, { sub: IonSubscriptionRecord; link: MappedCustomer; page: number }[]>();
  let heldForRows = 0;
  let loadQueue: string[] = [];
  const loads = new Set<Promise<void>>();
  let loadError: unknown;

  // The row writes of the customer `releaseRows` is comparing: sent once all its subscriptions are compared.
  let collecting: RowWrite[] | undefined;
  const queueRowWrite = (op: BatchOperation, plan: WritePlan, onResult: (result: BatchResult) => void) => {
    if (collecting) collecting.push({ op, plan, onResult });
    else writer.write(op, plan, onResult);
  };

  /** A subscription whose comparison threw: reported failed, and its customer's rows left unconfirmed (no digest claimed). */
  const failSubscription = (s: IonSubscriptionRecord, report: PageReport, error: unknown) => {
    unconfirmed.add(String(s.customerId));
    report.add({
      entity: "providersubscription",
      key: s.id,
      name: s.name,
      action: "failed",
      error: { code: errorCode(error), message: ensureError(error).message },
    });
  };

  // The report of the page being processed, built once per page rather than once per subscription.
  let reportPage = -1;
  let pageReport: PageReport | undefined;
  const reportOf = (onPage: number): PageReport => {
    if (onPage !== reportPage || !pageReport) {
      reportPage = onPage;
      pageReport = pageCheckpoints.reportFor(onPage);
    }
    return pageReport;
  };

  /** One Ion subscription of a decided customer (from page `onPage`): compare with the stored row, queue the write if it changed. */
  const processSubscription = (s: IonSubscriptionRecord, link: LinkDecision | undefined, onPage: number) => {
    const report = reportOf(onPage);
    const customerId = String(s.customerId);
    if (!link) {
      skippedUnmapped++;
      report.count("skipped-unmapped");
      seenUnmapped.add(customerId);
      return;
    }
    if (concurrent) linkedCustomers.add(customerId);
    try {
      // The digest's token is of the quiet row (no request pending): the same whatever the stored row holds.
      const quiet = toProviderSubscriptionRow(connection.id, s, link, false);
      if (keepDigests) {
        const token = subscriptionToken(s.id, quiet.hash);
        let own = tokensOf.get(customerId);
        if (!own) tokensOf.set(customerId, (own = { providerAccountId: link.providerAccountId, tokens: [] }));
        own.tokens.push(token);
        if (trusted && !rowsLoaded.has(customerId)) {
          if (trusted.get(customerId)?.has(token)) {
            matched.set(customerId, (matched.get(customerId) ?? 0) + 1);
            // Counted only (the run's report keeps no unchanged entry), so no entry is built.
            report.count("unchanged");
            return;
          }
          waitForRows(customerId, { sub: s, link, page: onPage });
          return;
        }
      }
      compare(s, link, report, quiet);
    } catch (error) {
      failSubscription(s, report, error);
    }
  };

  /** Holds a subscription until its customer's stored rows are read (a query once CUSTOMERS_PER_EARLY_READ wait). */
  const waitForRows = (customerId: string, item: { sub: IonSubscriptionRecord; link: MappedCustomer; page: number }) => {
    let list = waitingForRows.get(customerId);
    if (!list) waitingForRows.set(customerId, (list = []));
    list.push(item);
    heldForRows++;
    heldOnPage.set(item.page, (heldOnPage.get(item.page) ?? 0) + 1);
    if (!rowsLoading.has(customerId)) {
      rowsLoading.add(customerId);
      loadQueue.push(customerId);
      if (loadQueue.length >= CUSTOMERS_PER_EARLY_READ) startLoad();
    }
  };
  const releaseRows = (customerId: string) => {
    rowsLoaded.add(customerId);
    const held = waitingForRows.get(customerId) ?? [];
    waitingForRows.delete(customerId);
    heldForRows -= held.length;
    const rows: RowWrite[] = [];
    collecting = rows;
    try {
      for (const h of held) {
        compareSafely(h.sub, h.link, reportOf(h.page));
        heldOnPage.set(h.page, (heldOnPage.get(h.page) ?? 1) - 1);
      }
    } finally {
      collecting = undefined;
    }
    sendRows(customerId, rows);
  };
  /**
   * The digest that may go with a customer's row writes, its subscriptions just compared at once after its stored
   * rows were read: the rule of `stampEarly` (every stored row listed by Ion, every subscription seen so far
   * compared, none failed), checked before the writes rather than after their answers. Undefined when the rule
   * does not hold or the digest would not change.
   */
  const digestBesideRows = (customerId: string, rows: number): { providerAccountId: string; want: string } | undefined => {
    if (!trusted || stopped || !(betweenPages || listRead) || rows + 1 > MAX_WRITES_WITH_DIGEST) return undefined;
    if (stamped.has(customerId) || writesInFlight.get(customerId) !== rows || !storedRowsListed(customerId)) return undefined;
    return earlyDigest(customerId);
  };
  /** Ion has listed every stored row of the customer this run read (none of its subscriptions waits for them). */
  const storedRowsListed = (customerId: string): boolean => (storedIdsOf.get(customerId) ?? []).every((id) => seen.has(id));
  /**
   * The customer's digest as its subscriptions compared so far make it, when it may be written before the end
   * (none of its writes failed) and differs from what is stored or already written; else undefined.
   */
  const earlyDigest = (customerId: string): { providerAccountId: string; want: string } | undefined => {
    const own = tokensOf.get(customerId);
    if (!own || unconfirmed.has(customerId)) return undefined;
    const want = formatDigest(own.tokens);
    if (want === (earlyStamped.get(customerId) ?? digests.get(customerId)?.text ?? null)) return undefined;
    return { providerAccountId: own.providerAccountId, want };
  };
  /**
   * Sends a customer's row writes from `releaseRows`. With a digest that may be written now they form one change
   * set: written together or not at all, so the digest never names a row that is not stored, and the run's end
   * need not wait for a round of digest writes after the last row writes. If the change set fails, the rows go
   * again alone (the writer resends them) and the digest is left to the usual stamps once they are answered.
   */
  const sendRows = (customerId: string, rows: RowWrite[]) => {
    const digest = rows.length > 0 ? digestBesideRows(customerId, rows.length) : undefined;
    if (!digest) {
      for (const r of rows) writer.write(r.op, r.plan, r.onResult);
      return;
    }
    writer.writeTogether([
      {
        // First: its callback records the digest before the rows' callbacks look for one to write.
        op: digestOperation(digest.providerAccountId, digest.want),
        plan: null,
        alone: false,
        onResult: (result) => {
          if (!result.ok) return;
          digestsWritten++;
          earlyStamped.set(customerId, digest.want);
        },
      },
      ...rows.map((r) => ({ op: r.op, plan: r.plan, alone: true, onResult: r.onResult })),
    ]);
  };
  // Once Ion's list is read nothing else is left to overlap a read of stored rows with: the run waits on it.
  let listRead = false;
  const startLoad = () => {
    const ids = loadQueue;
    loadQueue = [];
    if (ids.length === 0) return;
    // Then it goes as several smaller queries side by side, as many as Dataverse hints it works on at once.
    for (const part of listRead ? splitForParallelReads(ids, dv.dopHint) : [ids]) loadRows(part);
  };
  const loadRows = (ids: string[]) => {
    const load = (async () => {
      for await (const page of subscriptionsOfCustomers<ExistingProviderSubscription>(
        dv,
        connection.id,
        ids,
        PROVIDER_SUBSCRIPTION_STATE_COLUMNS,
      ))
        for (const row of page) {
          addStoredRow(existing, row);
          noteStoredRow(row);
        }
      for (const id of ids) {
        releaseRows(id);
        if (storedIdsOf.has(id)) stampCandidates.add(id);
      }
      stampEarlySoon();
      advancePages();
    })().catch((error: unknown) => {
      loadError ??= error;
    });
    loads.add(load);
    void load.finally(() => loads.delete(load));
  };
  const settleLoads = async () => {
    startLoad();
    while (loads.size > 0) await Promise.all([...loads]);
    if (loadError) throw loadError;
  };
  /** Too many subscriptions wait for rows (many customers changed): read every stored row instead. */
  const readEverything = async () => {
    await settleLoads();
    existing = await loadExistingSubscriptions(dv, connection.id);
    trusted = undefined;
    for (const id of [...waitingForRows.keys()]) releaseRows(id);
    advancePages();
  };
  const compareSafely = (s: IonSubscriptionRecord, link: MappedCustomer, report: PageReport) => {
    try {
      compare(s, link, report);
    } catch (error) {
      failSubscription(s, report, error);
    }
  };

  /** Compares with the stored row and queues the write when it differs (throws on a row it cannot build). */
  const compare = (
    s: IonSubscriptionRecord,
    link: MappedCustomer,
    report: PageReport,
    quiet?: ReturnType<typeof toProviderSubscriptionRow>,
  ) => {
    const customerId = String(s.customerId);
    {
      const stored = existing.get(s.id);
      // A packed row is quiet (no request pending): compare its hash without unpacking it.
      const pending = typeof stored === "string" ? false : requestPending(stored);
      const built = !pending && quiet ? quiet : toProviderSubscriptionRow(connection.id, s, link, pending);
      if (typeof stored === "string" && packedUnchanged(stored, built.hash)) {
        report.count("unchanged");
        return;
      }
      const row = storedRow(stored);
      const name = built.data.w365_name;
      // A row flagged missing that Ion returns again is rewritten with the flag cleared.
      const reappeared = Boolean(row?.w365_missingsince);
      if (row && row.w365_contenthash === built.hash && !reappeared) {
        report.count("unchanged");
        return;
      }
      if (reappeared) built.body.w365_missingsince = null;
      const ext = row ? externalChanges(row, s) : undefined;
      if (ext)
        report.add({
          entity: "providersubscription",
          key: s.id,
          name,
          action: "external-change",
          before: ext.before,
          after: ext.after,
          message: "changed outside Work 365",
        });
      const action = row ? "updated" : "created";
      const returned = reappeared
        ? {
            before: { w365_missingsince: row?.w365_missingsince },
            after: { w365_missingsince: null },
            message: "returned by StreamOne Ion again",
          }
        : {};
      const planned: WritePlan = {
        report,
        entry: {
          entity: "providersubscription",
          key: s.id,
          name,
          action: row ? "would-update" : "would-create",
          after: row ? undefined : { quantity: built.data.w365_quantity, status: built.data.w365_status },
          ...returned,
        },
      };
      // The request columns are what the outbound webhook step watches (Dataverse fires it when they are
      // in the update, changed or not): leave the auto-renew one out when it already holds the value, so
      // the sync's own updates set off no webhook per changed subscription.
      if (row && "w365_requestedautorenew" in built.body && row.w365_requestedautorenew === built.body.w365_requestedautorenew)
        delete built.body.w365_requestedautorenew;
      const key = row ? row.w365_providersubscriptionid : ALTERNATE_KEYS.providerSubscription(connection.id, s.id);
      // The callback keeps only the id and name, not the Ion object (memory while writes are queued).
      const sid = s.id;
      // Onto the version read only: a request saved after the read (412) keeps its baseline for the conflict check.
      const etag = row?.etagAtRead;
      const op = {
        method: "PATCH" as const,
        entitySet: SETS.providerSubscription,
        key,
        body: built.body,
        ...(etag ? { ifMatch: etag } : {}),
      };
      beginWrite(customerId);
      rowWritesSent++;
      queueRowWrite(op, planned, (result: BatchResult) => {
        if (!result.ok) unconfirmed.add(customerId);
        if (!result.ok && result.status === 412 && etag) {
          report.add({ entity: "providersubscription", key: sid, name, action: "skipped", message: CHANGED_BY_ADMIN_MESSAGE });
          report.count(CHANGED_BY_ADMIN);
        } else if (result.ok) report.add({ entity: "providersubscription", key: sid, name, action, ...returned });
        else
          report.add({
            entity: "providersubscription",
            key: sid,
            name,
            action: "failed",
            error: { code: result.error.code, message: result.error.message },
          });
        endWrite(customerId);
      });
    }
  };

  // Pages count as done in order, each once none of its subscriptions waits for its customer any more.
  const heldOnPage = new Map<number, number>();
  const pagesWaiting: { page: number; progress: string }[] = [];
  let pageChain: Promise<void> = Promise.resolve();
  const advancePages = () => {
    while (pagesWaiting.length > 0 && !heldOnPage.get(pagesWaiting[0]!.page)) {
      const { page: done, progress } = pagesWaiting.shift()!;
      heldOnPage.delete(done);
      pageChain = pageChain.then(() => pageCheckpoints.pageDone(done, progress));
      // Awaited by the page loop or its catch; a release between those must not leave the rejection unhandled.
      pageChain.catch(() => undefined);
    }
  };
  // Comparing a page holds the thread: answers of requests in flight are taken between slices of it.
  const slice = eventLoopSlicer();
  // Subscriptions handed back by the accounts phase, compared in slices of the event loop as the pages are: a
  // decision can release thousands at once (the stored rows' page of 5,000 customers), and comparing them in one
  // go held every answer in flight for over 0.1 s.
  const released: { items: HeldSubscription[]; link: LinkDecision }[] = [];
  /** Subscriptions released and not compared yet (they count with the held ones against the bound). */
  let releasedCount = 0;
  let releasing = false;
  let releasedDone: Promise<void> = Promise.resolve();
  let releaseStopped = false;
  const compareReleased = async () => {
    releasing = true;
    try {
      while (released.length > 0 && !releaseStopped) {
        const { items, link } = released.shift()!;
        for (const item of items) {
          const turn = slice();
          if (turn) await turn;
          if (releaseStopped) return;
          releasedCount--;
          processSubscription(item.sub, link, item.page);
          heldOnPage.set(item.page, (heldOnPage.get(item.page) ?? 1) - 1);
        }
        advancePages();
      }
    } finally {
      releasing = false;
    }
  };
  /** Resolves once every subscription released so far is compared. */
  const allReleasedCompared = async () => {
    while (releasing || (released.length > 0 && !releaseStopped)) {
      if (!releasing) releasedDone = compareReleased();
      await releasedDone;
    }
  };
  if (concurrent) {
    concurrent.links.onRelease = (items, link) => {
      released.push({ items, link });
      releasedCount += items.length;
      if (!releasing) releasedDone = compareReleased();
    };
  }
  /**
   * Waits until fewer than `below` subscriptions are held. While the accounts phase runs, its complete
   * batches release them; once it has planned everything, its last writes are still queued in the shared
   * writer, and only this phase sends them (flush), so that no write waits for the other phase forever.
   */
  const waitForLinks = async (below: number) => {
    const links = concurrent!.links;
    while (links.heldCount >= below) {
      if (links.allPlanned) {
        await writer.flush();
        await links.whenHeldBelow(below);
        return;
      }
      await Promise.race([links.whenHeldBelow(below), links.whenAllPlanned()]);
    }
  };

  let stopped = false;
  // A customer's digest goes into the writer once it is final: Ion's whole list read and compared, and every
  // row write of the customer answered (written or failed). Each customer once.
  let digestWriteFailed = false;
  let digestsWritten = 0;
  const stamped = new Set<string>();
  const writeDigest = (providerAccountId: string, want: string | null) => {
    digestsWritten++;
    writer.write(digestOperation(providerAccountId, want), null, (result: BatchResult) => {
      if (!result.ok) digestWriteFailed = true;
    });
  };
  const stamp = (customerId: string) => {
    if (stamped.has(customerId)) return;
    stamped.add(customerId);
    const storedDigest = digests.get(customerId);
    const own = tokensOf.get(customerId);
    const providerAccountId = own?.providerAccountId ?? storedDigest?.providerAccountId;
    if (!providerAccountId) return;
    // Each Ion subscription matched a token of the trusted digest, and as many as it holds (the rule that spares
    // the customer's rows below): the digest stays, without formatting it only to compare (10,000 customers
    // held the run's end for about 0.1 s).
    if (own && !unconfirmed.has(customerId) && !earlyStamped.has(customerId) && matchedInFull(customerId, own.tokens.length)) return;
    // Not all written or confirmed, or not linked now: no digest. No Ion subscription left: an empty one.
    const want =
      unconfirmed.has(customerId) || (!own && seenUnmapped.has(customerId)) ? null : own ? formatDigest(own.tokens) : DIGEST_PREFIX;
    if (want === (earlyStamped.get(customerId) ?? storedDigest?.text ?? null)) return;
    writeDigest(providerAccountId, want);
  };
  /**
   * Digests that need not wait for the end of Ion's list, written at a page boundary (every subscription seen so
   * far is compared then). A customer qualifies once this run read its stored rows, Ion listed every one of them,
   * and all its writes are answered, none failed: each token of the digest then names a row stored as Ion
   * lists it. A subscription of the customer on a later page is new (no stored row): the digest merely lacks its
   * token, which costs the next run a read of the customer's rows, never a missed change, and the digest is
   * written again at the end with it. So the run's digest writes, a write per changed customer, go out while
   * Dataverse has little else to do rather than all after the list.
   */
  const stampEarly = () => {
    if (!trusted || stopped || !betweenPages) return;
    for (const customerId of stampCandidates) {
      if (writesInFlight.has(customerId) || stamped.has(customerId)) continue;
      // A candidate's stored rows are read (`storedIdsOf`): none of its subscriptions waits for them any more.
      if (!storedRowsListed(customerId)) continue;
      stampCandidates.delete(customerId);
      const digest = earlyDigest(customerId);
      if (!digest) continue;
      earlyStamped.set(customerId, digest.want);
      writeDigest(digest.providerAccountId, digest.want);
    }
    // Sent now, under the writer's rules for early batches, rather than when 100 rows wait or at the end: the
    // point is to have them written while Ion's list is still read.
    writer.sendBuffered();
  };
  const customersWithDigests = () => [...tokensOf.keys(), ...digests.keys()];
  try {
    for await (const subs of pages) {
      betweenPages = false;
      read += subs.length;
      for (const s of subs) seen.add(s.id);
      if (page < skip) {
        page++;
        continue;
      }
      page++;
      for (const s of subs) {
        const turn = slice();
        if (turn) await turn;
        if (!concurrent) {
          processSubscription(s, mapped.get(String(s.customerId)), page);
          continue;
        }
        const link = concurrent.links.lookup(String(s.customerId));
        if (link !== "pending") processSubscription(s, link, page);
        else {
          // Ion's page is read as records (no wire object), so a held subscription is only the fields the row needs.
          concurrent.links.hold(String(s.customerId), { sub: s, page });
          heldOnPage.set(page, (heldOnPage.get(page) ?? 0) + 1);
        }
      }
      // A page boundary: every subscription seen so far is compared (or waits for its rows or its link).
      betweenPages = true;
      if (stampCandidates.size > 0) stampEarly();
      pagesWaiting.push({ page, progress: `subscriptions: ${read} Ion subscriptions read` });
      advancePages();
      await pageChain;
      const maxHeld = trusted ? MAX_HELD_SUBSCRIPTIONS_SPARED : MAX_HELD_SUBSCRIPTIONS;
      if (concurrent && concurrent.links.heldCount >= maxHeld) await waitForLinks(maxHeld / 2);
      if (releasedCount >= maxHeld / 2) await allReleasedCompared();
      if (loadError) throw loadError;
      concurrent?.links.throwIfFailed();
      if (trusted && heldForRows >= MAX_HELD_SUBSCRIPTIONS) await readEverything();
      if (concurrent?.stopReading?.()) {
        stopped = true;
        break;
      }
    }
    // The list is read: the digests still to write go out with the end's (below), no longer early.
    betweenPages = false;
    listRead = true;
    // Everything read. The customers already waiting for their rows need no more of Ion's list: read them now,
    // while the accounts phase finishes.
    startLoad();
    // The drain below must carry the accounts phase's last writes too, so wait until it has
    // queued them all; then until nothing is held (not for the accounts phase's end: that waits for the drain).
    if (concurrent) {
      await concurrent.links.whenAllPlanned();
      if (concurrent.links.heldCount > 0) await waitForLinks(1);
      await allReleasedCompared();
    }
    // Ion is read: the rows still to come go out with the last ones, side by side.
    writer.readsDone();
    // The customers without a subscription left and the stamps below need every digest.
    await prepared.digestsComplete;
    if (trusted && !stopped) {
      // Customers whose digest was not matched in full, or whose rows changed since the last run: their
      // rows are read, so that a subscription gone from Ion is flagged.
      const toRead = new Set<string>([...digests.keys(), ...(prepared.changed ?? [])]);
      for (const customerId of toRead) {
        if (rowsLoading.has(customerId)) continue;
        if (matchedInFull(customerId)) continue;
        rowsLoading.add(customerId);
        loadQueue.push(customerId);
        // The Ion read is over: the rest go in full queries, side by side.
        if (loadQueue.length >= CUSTOMERS_PER_READ) startLoad();
      }
    }
    if (keepDigests && !stopped) {
      // The digests already final go out now, beside the last reads of stored rows, not after them: every
      // customer whose subscriptions are all compared (its rows not still to be read) and whose stored rows
      // Ion listed in full (nothing for the missing-row check below to flag), once its writes are answered.
      const rowsStillToRead = new Set([...rowsLoading].filter((customerId) => !rowsLoaded.has(customerId)));
      const withUnlistedRows = customersWithUnlistedRows(existing, seen);
      if (withUnlistedRows) {
        const finalNow = (customerId: string) => !rowsStillToRead.has(customerId) && !withUnlistedRows.has(customerId);
        stampWhenWritten = (customerId) => {
          if (finalNow(customerId)) stamp(customerId);
        };
        for (const customerId of customersWithDigests()) if (!writesInFlight.has(customerId) && finalNow(customerId)) stamp(customerId);
      }
    }
    await settleLoads();
    advancePages();
    await pageChain;
    if (stopped) {
      // Every page read is done: its checkpoint (after the accounts phase's) carries its counts, nothing beyond it.
      await writer.drain();
      await pageCheckpoints.settled();
      throw new RunYield();
    }
  } catch (error) {
    betweenPages = false;
    // Customers decided from now on have nothing waiting here any more (the run is failing).
    if (concurrent) concurrent.links.onRelease = () => undefined;
    releaseStopped = true;
    await releasedDone;
    await Promise.all([...loads]);
    await pageChain.catch(() => undefined);
    await pageCheckpoints.abort();
    throw error;
  }
  // Ion's full list for this scope (the account, or the one customer) was read to the end, so a stored
  // row it did not return has vanished from Ion: flag it on the row (never deleted). A read that failed
  // part-way threw above and flags nothing.
  const missing = await flagMissingSubscriptions(ctx, run, { existing, seen, writer, unconfirmed, beginWrite, endWrite });
  let digestMarks: DigestMarks | null | undefined;
  if (!keepDigests) await writer.drain();
  else {
    // Every Ion subscription is read and compared, every missing row flagged: the other digests are final
    // once their customers' row writes are answered, and share the batches of the last row writes.
    // `until` bounds this run's own row writes. With none (a run where nothing changed), the start version
    // serves: the next run then looks at every row changed after it, by anyone, which includes all that the
    // read after the writes would have made it look at. One request less at the end of the run. The stamps
    // below are provider-account writes: the probe goes out once the last row write is answered, beside them.
    const lastRowWrite = writer.lastSeq;
    const untilRead =
      rowWritesSent + missing.flagged > 0
        ? writer
            .whenWritten(lastRowWrite)
            .then(() => subscriptionsVersion(dv, connection.id))
            .catch(() => undefined)
        : undefined;
    stampWhenWritten = stamp;
    for (const customerId of customersWithDigests()) if (!writesInFlight.has(customerId)) stamp(customerId);
    // Complete batches go out as the answers add digests; the remainder at once, beside the writes still out (not
    // after them: a 100-row batch takes Dataverse a good half second), and the digests their answers add after it.
    while (writer.hasFullBatch) await writer.flush({ onlyFull: true });
    do await writer.drain();
    while (writer.pending > 0);
    const [sinceVersion, who] = await Promise.all([since!.catch(() => undefined), user]);
    const until = untilRead ? await untilRead : sinceVersion;
    // A digest that could not be written or cleared keeps the last marks: the rows this run wrote are after them.
    digestMarks = digestWriteFailed
      ? undefined
      : sinceVersion && until && who
        ? { since: sinceVersion, until, user: who, fullReadAt: trusted && marks ? marks.fullReadAt : runStartIso }
        : null;
  }
  await pageCheckpoints.settled();
  report.phase("subscriptions", {
    ionSubscriptions: read,
    mappedCustomers: concurrent ? linkedCustomers.size : mapped.size,
    unmappedCustomers: concurrent ? undefined : unmapped.size,
    linkedBesideAccountsPhase: Boolean(concurrent),
    heldForCustomersAtMost: concurrent?.links.peakHeld,
    skippedUnmapped,
    existingRows: existing.size,
    missingInIon: missing.total,
    newlyMissing: missing.flagged,
    resumedAfterPages: skip,
    mappingFromAccountsPhase: Boolean(o.mapping && !oneAccount),
    digests: keepDigests
      ? {
          everyRowRead: !trusted,
          customersTrusted: trusted?.size ?? 0,
          customersWithRowsChanged: prepared.changed?.size,
          customersRead: trusted ? rowsLoaded.size : undefined,
          written: digestsWritten,
        }
      : undefined,
  });
  await run.phaseDone("subscriptions", `subscriptions: done (${read} read)`);
  // Not every row was read: the outbound rows are those read at the start.
  if (trusted && outboundRead) return { outbound: await outboundRead, digestMarks, listShape };
  const outbound: ExistingProviderSubscription[] = [];
  for (const row of existing.values())
    if (typeof row !== "string" && (requestPending(row) || row.w365_syncstate === SyncState.SentToIon)) outbound.push(row);
  return { outbound, digestMarks, listShape };
}

/**
 * Customers with a stored row (read this run) that Ion's list did not return: the missing-row check may still
 * write for them. Undefined when such a row names no customer (then no customer can be told final early).
 */
function customersWithUnlistedRows(existing: StoredSubscriptions, seen: Set<string>): Set<string> | undefined {
  const customers = new Set<string>();
  for (const [ionId, stored] of existing) {
    if (seen.has(ionId)) continue;
    const customerId = storedRow(stored)?.w365_ioncustomerid;
    if (!customerId) return undefined;
    customers.add(String(customerId));
  }
  return customers;
}

/**
 * Rows of the scope Ion no longer returned: `w365_missingsince` is set the first time (reported once as
 * `missing`, counted as `missing-subscription`), left as it is on later runs, cleared when Ion returns the
 * subscription again (in the upsert above).
 */
async function flagMissingSubscriptions(
  ctx: SyncContext,
  run: RunRecorder,
  o: {
    existing: StoredSubscriptions;
    seen: Set<string>;
    writer: WriteSink;
    /** Customers with a row left unflagged that Ion did not list, or whose flag failed (no digest claims them). */
    unconfirmed: Set<string>;
    /** A flag write of the customer's row is queued / answered (its digest waits for the answer). */
    beginWrite: (customerId: string) => void;
    endWrite: (customerId: string) => void;
  },
): Promise<{ total: number; flagged: number }> {
  const report = run.report;
  const nowIso = new Date(ctx.clock.now()).toISOString();
  let total = 0;
  let flagged = 0;
  const unseen: [string, ExistingProviderSubscription][] = [];
  for (const [ionId, stored] of o.existing) {
    if (o.seen.has(ionId)) continue;
    const row = storedRow(stored)!;
    total++;
    if (!row.w365_missingsince) unseen.push([ionId, row]);
  }
  // A row a direct read still finds slipped between two pages (a record before it was deleted meanwhile).
  const gone = await confirmGone(ctx, run, unseen, ([ionId, row]) => ({
    key: ionId,
    name: row.w365_name ?? undefined,
    read: row.w365_ioncustomerid ? () => ctx.ion.subscriptions.get(String(row.w365_ioncustomerid), ionId) : undefined,
  }));
  const flagging = new Set(gone.map(([ionId]) => ionId));
  for (const [ionId, row] of unseen) if (!flagging.has(ionId) && row.w365_ioncustomerid) o.unconfirmed.add(String(row.w365_ioncustomerid));
  for (const [ionId, row] of gone) {
    flagged++;
    report.count("missing-subscription");
    const entry = {
      entity: "providersubscription" as const,
      key: ionId,
      name: row.w365_name ?? undefined,
      message: "no longer returned by StreamOne Ion",
    };
    const customerId = row.w365_ioncustomerid ? String(row.w365_ioncustomerid) : undefined;
    if (customerId) o.beginWrite(customerId);
    o.writer.write(
      { method: "PATCH", entitySet: SETS.providerSubscription, key: row.w365_providersubscriptionid, body: { w365_missingsince: nowIso } },
      { report, entry: { ...entry, action: "missing" } },
      (result: BatchResult) => {
        if (result.ok) {
          report.add({ ...entry, action: "missing", after: { w365_missingsince: nowIso } });
          report.count("updated");
        } else {
          if (customerId) o.unconfirmed.add(customerId);
          report.add({ ...entry, action: "failed", error: { code: result.error.code, message: result.error.message } });
        }
        if (customerId) o.endWrite(customerId);
      },
    );
  }
  return { total, flagged };
}
