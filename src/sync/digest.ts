/**
 * The subscriptions digest of a customer (`w365_subscriptionsdigest` on its provider account): one short
 * token per subscription, a hash of the Ion id and the content hash (`w365_contenthash`) the sync last
 * wrote or confirmed for that row. When a customer's Ion subscription hashes to a token of its digest,
 * the stored row already holds that content, so a run need not read the customer's stored rows at all.
 *
 * The digest is relied on only while no stored row of the customer may differ from it:
 * - it is written after every row of the customer was written (or found unchanged) by the run, once the
 *   run's writer is drained: an interrupted run leaves the previous digest, whose tokens the rows it
 *   did write no longer match (a mismatch means "read the rows");
 * - a customer with a row that anyone else changed since the last run is not trusted: each run records
 *   the row version at its start (`since`) and after its last write (`until`), and the next run reads
 *   the rows of the connector that another user changed after `since` or anyone changed after `until`
 *   (one small query, `changedSubscriptionCustomers`);
 * - a run reads every stored row at least once a day (`FULL_READ_EVERY_MS`) and whenever the marks are
 *   missing or belong to another user, so what a version query cannot see (a row deleted in Dataverse)
 *   is repaired within a day.
 */
import type { DataverseClient } from "../dataverse";
import { sha256Base64Url } from "./rows/contentHash";
import { SETS } from "./schema";

/** Prefix of the current digest format (another prefix reads as "no digest"). */
export const DIGEST_PREFIX = "d1:";
/** Every stored row is read at least this often (what version queries cannot see: a row deleted in Dataverse). */
export const FULL_READ_EVERY_MS = 24 * 60 * 60 * 1000;
/** More changed rows than this since the last run: read everything instead. */
export const MAX_CHANGED_ROWS = 5_000;

/** Row-version marks of the last run that kept the digests (in the connector's `w365_checkpoint`). */
export interface DigestMarks {
  /** Highest subscription row version when that run started: others' changes after it are not in its digests. */
  since: string;
  /** Highest subscription row version after its last write: anyone's changes after it are not either. */
  until: string;
  /** The Dataverse user the sync writes as (its own writes after `since` are in the digests). */
  user: string;
  /** When every stored row was last read (ISO). */
  fullReadAt: string;
}

/** Pure: the token of one subscription: 12 base64url characters (72 bits) of SHA-256 over id and content hash. */
export function subscriptionToken(ionSubscriptionId: string, contentHash: string): string {
  // One-shot digest (no Hash object per subscription; 50,000 per run): the same bytes as createHash's.
  return sha256Base64Url(`${ionSubscriptionId}\u0000${contentHash}`).slice(0, 12);
}

/** Pure: the stored text of a customer's tokens (sorted, so the same set is the same text). */
export function formatDigest(tokens: Iterable<string>): string {
  return DIGEST_PREFIX + [...tokens].sort().join(",");
}

/** Pure: the tokens of a stored digest; undefined when there is none or it is of another format. */
export function parseDigest(text: string | null | undefined): Set<string> | undefined {
  if (typeof text !== "string" || !text.startsWith(DIGEST_PREFIX)) return undefined;
  const body = text.slice(DIGEST_PREFIX.length);
  return new Set(body ? body.split(",") : []);
}

/** Pure: the marks from a parsed checkpoint value, or undefined when incomplete. */
export function readMarks(value: unknown): DigestMarks | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  const digits = (x: unknown) => typeof x === "string" && /^\d+$/.test(x);
  if (!digits(v.since) || !digits(v.until) || typeof v.user !== "string" || typeof v.fullReadAt !== "string") return undefined;
  return { since: v.since as string, until: v.until as string, user: v.user, fullReadAt: v.fullReadAt };
}

/** Pure: may a run at `now` skip reading rows on the strength of these marks (before knowing its user)? */
export function marksUsable(marks: DigestMarks | undefined, now: number): marks is DigestMarks {
  if (!marks) return false;
  const at = Date.parse(marks.fullReadAt);
  return Number.isFinite(at) && now - at >= 0 && now - at < FULL_READ_EVERY_MS;
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The highest row version of the connector's subscription rows ("0" when it has none). */
export async function subscriptionsVersion(dv: DataverseClient, connectionId: string): Promise<string> {
  const row = await dv.queryFirst<{ versionnumber?: number | string }>(SETS.providerSubscription, {
    select: ["w365_providersubscriptionid", "versionnumber"],
    filter: `_w365_connection_value eq ${connectionId}`,
    orderby: "versionnumber desc",
  });
  return row?.versionnumber !== undefined && row.versionnumber !== null ? String(row.versionnumber) : "0";
}

/** Customers' stored digests by Ion customer id, with the provider account that holds each. */
export type CustomerDigests = Map<string, { providerAccountId: string; text: string }>;

/** The digests among provider-account rows read with their `w365_subscriptionsdigest`, by Ion customer id. */
export function digestsOf(
  rows: Iterable<{ w365_provideraccountid: string; w365_ioncustomerid: string; w365_subscriptionsdigest?: string | null }>,
): CustomerDigests {
  const map: CustomerDigests = new Map();
  for (const r of rows)
    if (typeof r.w365_subscriptionsdigest === "string")
      map.set(String(r.w365_ioncustomerid), { providerAccountId: r.w365_provideraccountid, text: r.w365_subscriptionsdigest });
  return map;
}

/** The stored digests of the connector's customers, by Ion customer id. */
export async function loadDigests(dv: DataverseClient, connectionId: string): Promise<CustomerDigests> {
  const digests: CustomerDigests = new Map();
  // Page by page: only the digests are kept, not every row read.
  for await (const page of dv.queryPages<{ w365_provideraccountid: string; w365_ioncustomerid: string; w365_subscriptionsdigest?: string }>(
    SETS.providerAccount,
    {
      select: ["w365_provideraccountid", "w365_ioncustomerid", "w365_subscriptionsdigest"],
      filter: `_w365_connection_value eq ${connectionId} and w365_subscriptionsdigest ne null`,
      pageSize: 5000,
    },
  ))
    for (const [customerId, digest] of digestsOf(page)) digests.set(customerId, digest);
  return digests;
}

/**
 * The Ion customers with a subscription row that another user changed after `since`, or anyone after
 * `until`; undefined when there are too many (or a row names no customer): then every row is read.
 */
export async function changedSubscriptionCustomers(
  dv: DataverseClient,
  connectionId: string,
  marks: DigestMarks,
): Promise<Set<string> | undefined> {
  if (!guid.test(marks.user)) return undefined;
  const customers = new Set<string>();
  let rows = 0;
  for await (const page of dv.queryPages<{ w365_ioncustomerid?: string | null }>(SETS.providerSubscription, {
    select: ["w365_providersubscriptionid", "w365_ioncustomerid"],
    filter:
      `_w365_connection_value eq ${connectionId} and ((versionnumber gt ${marks.since} and _modifiedby_value ne ${marks.user})` +
      ` or versionnumber gt ${marks.until})`,
    pageSize: 5000,
  })) {
    rows += page.length;
    if (rows > MAX_CHANGED_ROWS) return undefined;
    for (const r of page) {
      if (!r.w365_ioncustomerid) return undefined;
      customers.add(String(r.w365_ioncustomerid));
    }
  }
  return customers;
}

/** OData string literal. */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Customers per query of their stored rows, at most. Dataverse accepts URLs of up to 32,768 characters
 * ("Compose HTTP requests and handle errors", Maximum URL length:
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors);
 * the query is also cut at `MAX_FILTER_URL_CHARS` of its encoded filter, whatever the ids' length.
 */
export const CUSTOMERS_PER_READ = 250;
/**
 * Customers queued for a read of their stored rows that start one while the Ion read goes on: reads keep
 * pace with the changes found, so the one after Ion's last page is small.
 */
export const CUSTOMERS_PER_EARLY_READ = 100;
/**
 * Customers per query, at least, when a read the run waits on is cut into queries side by side: a query's
 * own cost (a round trip and the Web API pipeline, tens of milliseconds) is about that of reading a hundred
 * rows, some twenty customers' subscriptions, so smaller pieces gain little.
 */
export const MIN_CUSTOMERS_PER_PARALLEL_READ = 20;

/**
 * Pure: the customers of a read the run waits on, cut into up to `dopHint` pieces of at least
 * MIN_CUSTOMERS_PER_PARALLEL_READ (Dataverse works on that many requests of one user at once, `x-ms-dop-hint`).
 * Without a hint (no parallelism recommended) one piece.
 */
export function splitForParallelReads(ionCustomerIds: readonly string[], dopHint: number | undefined): string[][] {
  const pieces =
    dopHint === undefined ? 1 : Math.max(1, Math.min(dopHint, Math.floor(ionCustomerIds.length / MIN_CUSTOMERS_PER_PARALLEL_READ)));
  if (pieces === 1) return ionCustomerIds.length > 0 ? [[...ionCustomerIds]] : [];
  const size = Math.ceil(ionCustomerIds.length / pieces);
  const out: string[][] = [];
  for (let at = 0; at < ionCustomerIds.length; at += size) out.push(ionCustomerIds.slice(at, at + size));
  return out;
}

/** The encoded `$filter` of one such query, at most: well under the URL limit with the select and the host. */
export const MAX_FILTER_URL_CHARS = 12_000;

/** Pure: the customers' ids cut into the filters of their stored-row queries (count and encoded length bounded). */
export function customerFilters(connectionId: string, ionCustomerIds: readonly string[]): string[] {
  const head = `_w365_connection_value eq ${connectionId} and (`;
  // The head and the closing parenthesis; each term then adds " or " and itself (the first one's " or " is spare).
  const fixed = encodeURIComponent(`${head})`).length;
  const filters: string[] = [];
  let terms: string[] = [];
  let length = fixed;
  const close = () => {
    if (terms.length > 0) filters.push(`${head}${terms.join(" or ")})`);
    terms = [];
    length = fixed;
  };
  for (const id of ionCustomerIds) {
    const term = `w365_ioncustomerid eq ${literal(id)}`;
    const cost = encodeURIComponent(` or ${term}`).length;
    if (terms.length > 0 && (terms.length >= CUSTOMERS_PER_READ || length + cost > MAX_FILTER_URL_CHARS)) close();
    terms.push(term);
    length += cost;
  }
  close();
  return filters;
}

/** Stored subscription rows of these Ion customers (in queries of `customerFilters`), as `select` says. */
export async function* subscriptionsOfCustomers<T>(
  dv: DataverseClient,
  connectionId: string,
  ionCustomerIds: readonly string[],
  select: readonly string[],
): AsyncIterable<T[]> {
  for (const filter of customerFilters(connectionId, ionCustomerIds))
    yield* dv.queryPages<T>(SETS.providerSubscription, { select: [...select], filter, pageSize: 5000 });
}

/** One key of the connector's `w365_checkpoint` JSON (undefined when absent or unreadable). */
export function connectorCheckpointValue(text: string | null | undefined, key: string): unknown {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    return v && typeof v === "object" ? v[key] : undefined;
  } catch {
    return undefined;
  }
}
