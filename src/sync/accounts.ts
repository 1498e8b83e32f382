/**
 * Sync Provider Accounts: Ion customers → w365_provideraccount rows, matched to accounts.
 * Reads: Ion customer pages (streamed), one paged read of the connector's provider accounts (state
 * columns only), accounts once (only when something needs matching), cloud profiles only for new or
 * changed customers. Writes: only rows whose content hash or mapping decision changed, in $batch.
 */
import type { BatchResult, DataverseClient } from "../dataverse";
import { DataverseValidationError } from "../dataverse";
import type { IonCustomer } from "../ion";
import { ensureError, errorCode } from "../shared/errors";
import { ConcurrencyLimiter } from "../shared/limiter";
import { eventLoopSlicer, readAhead } from "../shared/pool";
import { pagesToSkip } from "./checkpoint";
import type { SyncContext } from "./context";
import { confirmGone } from "./gone";
import type { LinkDecision } from "./links";
import { AccountIndex, AccountRecord, matchCustomer, MatchDecision } from "./matching";
import { CHANGED_BY_ADMIN, CHANGED_BY_ADMIN_MESSAGE, type MappingTotals } from "./messages";
import { PageCheckpoints, type PageReport } from "./pages";
import { sameInstant } from "./rows/dates";
import { MicrosoftProfileInput, ProviderAccountData, providerAccountHash, toProviderAccountRow } from "./rows/toProviderAccountRow";
import type { RunRecorder } from "./runs";
import { ACCOUNT_MATCH_COLUMNS, ALTERNATE_KEYS, bind, MappingStatus, PROVIDER_ACCOUNT_STATE_COLUMNS, SETS } from "./schema";
import { isFullScope, scopedProviderAccount, type SyncScope } from "./scope";
import type { WritePlan, WriteSink } from "./sink";

/** Reason prefix of rows an admin unmapped: the sync then only suggests, never auto-maps them again. */
export const ADMIN_UNMAPPED_MARKER = "Unmapped by an admin";
/** Ion customer pages kept fetched ahead of the matching (one cursor chain; a page of 1,000 is a few hundred KB). */
export const CUSTOMER_PAGES_AHEAD = 3;
/**
 * Ion customer pages kept fetched ahead while the phase waits on Dataverse (its stored rows, the accounts to
 * match against): the cursor chain, the no-change run's bound, keeps going through those reads.
 */
export const CUSTOMER_PAGES_WHILE_WAITING = 10;
/** Cloud-profile reads in flight, all pages together (Ion's accepted concurrency; the Ion client caps its calls too). */
export const PROFILE_CONCURRENCY = 8;

export interface ExistingProviderAccount {
  w365_provideraccountid: string;
  w365_ioncustomerid: string;
  w365_name?: string | null;
  w365_contenthash?: string | null;
  w365_ionupdatedon?: string | null;
  w365_tenantid?: string | null;
  w365_domain?: string | null;
  w365_contactemail?: string | null;
  w365_postalcode?: string | null;
  w365_country?: string | null;
  w365_mappingstatus?: number | null;
  _w365_account_value?: string | null;
  _w365_suggestedaccount_value?: string | null;
  w365_matchscore?: number | null;
  w365_matchreason?: string | null;
  w365_missingsince?: string | null;
  /** Read only when the subscriptions phase beside this one takes its digests from the same read (./digest.ts). */
  w365_subscriptionsdigest?: string | null;
  /** The row version this run read: its mapping decision is written only onto that version. */
  "@odata.etag"?: string;
}

export interface ProviderAccountPlan {
  kind: "create" | "update" | "unchanged";
  body: Record<string, unknown>;
  data: ProviderAccountData;
  hash: string;
  mapping?: { decision: MatchDecision["decision"]; accountId?: string; reason: string; score: number };
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

const sameNumber = (a: unknown, b: unknown) =>
  (typeof a === "number" ? Math.round(a * 10_000) : null) === (typeof b === "number" ? Math.round(b * 10_000) : null);
const sameId = (a: unknown, b: unknown) => String(a ?? "").toLowerCase() === String(b ?? "").toLowerCase();

/** The page decided it needs no matching: a plan that matches anyway would match against nothing. */
function unreadIndex(): never {
  throw new Error("internal: a customer was matched on a page that read no accounts (needsMatching disagrees with planProviderAccount)");
}

/** Mapped and Ignored rows keep their mapping whatever the match says (an admin's decision, or an auto-map accepted). */
function isFinal(row: ExistingProviderAccount | undefined): boolean {
  return row?.w365_mappingstatus === MappingStatus.Mapped || row?.w365_mappingstatus === MappingStatus.Ignored;
}

/**
 * Pure: does a column matching reads (`matchCustomer`: name, tenant, domain, contact e-mail, postal code, country)
 * differ from the stored row's? The stored row holds what the customer was last matched on, so with the same
 * inputs and no account changed since (`rematch`) the match would only repeat the stored decision.
 */
export function matchInputsChanged(row: ExistingProviderAccount, data: ProviderAccountData): boolean {
  return (
    (row.w365_name ?? null) !== data.w365_name ||
    (row.w365_tenantid ?? null) !== data.w365_tenantid ||
    (row.w365_domain ?? null) !== data.w365_domain ||
    (row.w365_contactemail ?? null) !== data.w365_contactemail ||
    (row.w365_postalcode ?? null) !== data.w365_postalcode ||
    (row.w365_country ?? null) !== data.w365_country
  );
}

/** Pure: will planProviderAccount match this customer (and so need the account index)? */
export function needsMatching(row: ExistingProviderAccount | undefined, data: ProviderAccountData, rematch: boolean): boolean {
  return !row || (!isFinal(row) && (rematch || matchInputsChanged(row, data)));
}

/** The cloud profile a customer's plan uses when its profile is not read this run: the stored tenant and domain. */
export function storedProfileOf(row: ExistingProviderAccount | undefined): MicrosoftProfileInput | undefined {
  return row ? { tenantId: row.w365_tenantid ?? undefined, domain: row.w365_domain ?? undefined } : undefined;
}

/**
 * Pure: what to write for one Ion customer. Mapped and Ignored rows keep their mapping whatever the
 * match says (an admin's decision, or an auto-map already accepted); Unmapped/Suggested rows are
 * re-matched when new, when a column matching reads changed, or when `rematch` (accounts changed since
 * last time): a change elsewhere (a contact name, the status) keeps the stored decision.
 */
export function planProviderAccount(o: {
  connectionId: string;
  customer: IonCustomer | Parameters<typeof toProviderAccountRow>[0];
  profile: MicrosoftProfileInput | undefined;
  existing?: ExistingProviderAccount;
  match: (data: ProviderAccountData, customer: Parameters<typeof toProviderAccountRow>[0]) => MatchDecision;
  rematch: boolean;
  /** Keep the stored w365_ionupdatedon (the profile read failed: retry it next run). */
  keepUpdatedOn?: boolean;
}): ProviderAccountPlan {
  const { existing } = o;
  const data = toProviderAccountRow(o.customer, o.profile);
  if (o.keepUpdatedOn) data.w365_ionupdatedon = existing?.w365_ionupdatedon ?? null;
  const hash = providerAccountHash(data);
  const body: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const dataChanged = !existing || existing.w365_contenthash !== hash;
  if (dataChanged) {
    Object.assign(body, data, { w365_contenthash: hash, "w365_connection@odata.bind": bind(SETS.connection, o.connectionId) });
    if (existing) {
      for (const k of ["w365_name", "w365_tenantid", "w365_domain"] as const) {
        if ((existing[k] ?? null) !== data[k]) {
          before[k] = existing[k] ?? null;
          after[k] = data[k];
        }
      }
      if (existing.w365_missingsince) {
        before.w365_missingsince = existing.w365_missingsince;
        after.w365_missingsince = null;
      }
    }
  }
  let mapping: ProviderAccountPlan["mapping"];
  if (needsMatching(existing, data, o.rematch)) {
    const decision = o.match(data, o.customer);
    const adminUnmapped = (existing?.w365_matchreason ?? "").startsWith(ADMIN_UNMAPPED_MARKER);
    const kind = decision.decision === "map" && adminUnmapped ? "suggest" : decision.decision;
    const reasonText = (adminUnmapped ? `${ADMIN_UNMAPPED_MARKER}; ${decision.reason}` : decision.reason).slice(0, 1000);
    const wanted: Record<string, unknown> = {
      w365_mappingstatus: kind === "map" ? MappingStatus.Mapped : kind === "suggest" ? MappingStatus.Suggested : MappingStatus.Unmapped,
      w365_matchscore: decision.score,
      w365_matchreason: reasonText,
    };
    const suggested = kind === "suggest" ? decision.best?.accountId : undefined;
    const changedMapping =
      !existing ||
      existing.w365_mappingstatus !== wanted.w365_mappingstatus ||
      !sameNumber(existing.w365_matchscore, decision.score) ||
      (existing.w365_matchreason ?? "") !== reasonText ||
      !sameId(existing._w365_suggestedaccount_value, suggested) ||
      (kind === "map" && !sameId(existing._w365_account_value, decision.best?.accountId));
    if (changedMapping) {
      Object.assign(body, wanted);
      if (kind === "map" && decision.best) body["w365_account@odata.bind"] = bind(SETS.account, decision.best.accountId);
      if (suggested) body["w365_suggestedaccount@odata.bind"] = bind(SETS.account, suggested);
      else if (existing?._w365_suggestedaccount_value) body["w365_suggestedaccount@odata.bind"] = null;
      before.w365_mappingstatus = existing?.w365_mappingstatus ?? null;
      after.w365_mappingstatus = wanted.w365_mappingstatus;
      if (kind !== "none") after.account = decision.best?.accountName;
      after.w365_matchreason = reasonText;
    }
    mapping = { decision: kind, accountId: decision.best?.accountId, reason: reasonText, score: decision.score };
  }
  const kind = Object.keys(body).length === 0 ? "unchanged" : existing ? "update" : "create";
  return { kind, body, data, hash, mapping, before: existing ? before : undefined, after };
}

/** The link a customer's subscriptions get from its final state this run (null: not mapped, skipped). */
function linkOf(state: { id?: string; status: number; accountId?: string | null } | undefined): LinkDecision {
  return state && state.status === MappingStatus.Mapped && state.accountId && state.id
    ? { providerAccountId: state.id, accountId: state.accountId }
    : null;
}

/**
 * One paged read of the connector's provider accounts (state columns only; with `withDigests`, the
 * subscriptions digests too, so that a subscriptions phase running beside this one needs no read of its own).
 */
export async function loadExistingProviderAccounts(
  dv: DataverseClient,
  connectionId: string,
  o: { withDigests?: boolean; onPage?: (rows: ExistingProviderAccount[]) => void } = {},
): Promise<Map<string, ExistingProviderAccount>> {
  const map = new Map<string, ExistingProviderAccount>();
  for await (const page of dv.queryPages<ExistingProviderAccount>(SETS.providerAccount, {
    select: [...PROVIDER_ACCOUNT_STATE_COLUMNS, ...(o.withDigests ? ["w365_subscriptionsdigest"] : [])],
    filter: `_w365_connection_value eq ${connectionId}`,
    pageSize: 5000,
  })) {
    for (const row of page) map.set(String(row.w365_ioncustomerid), row);
    o.onPage?.(page);
  }
  return map;
}

/**
 * Mapped and Ignored rows keep their mapping whatever this run reads (`planProviderAccount`): their customers'
 * links are final as soon as the rows are read, and their subscriptions need not wait for the accounts phase.
 */
export function decideSettledLinks(links: Pick<LinkDecider, "decide">, rows: Iterable<ExistingProviderAccount>): void {
  for (const row of rows)
    if (row.w365_mappingstatus === MappingStatus.Mapped || row.w365_mappingstatus === MappingStatus.Ignored)
      links.decide(
        String(row.w365_ioncustomerid),
        linkOf({ id: row.w365_provideraccountid, status: row.w365_mappingstatus, accountId: row._w365_account_value }),
      );
}

/**
 * Existing accounts, indexed for matching (one paged read, only the matching columns), and the highest
 * row version seen: the next run asks "any account with a higher version?" to know whether Unmapped
 * and Suggested rows need matching again. Row versions are monotonic; modifiedon has one-second grain.
 */
export async function loadAccountIndex(dv: DataverseClient): Promise<AccountIndex & { maxVersion?: string }> {
  const index: AccountIndex & { maxVersion?: string } = new AccountIndex();
  let max: bigint | undefined;
  const read = async (select: string[]) => {
    for await (const page of dv.queryPages<AccountRecord & { versionnumber?: number | string }>(SETS.account, { select, pageSize: 5000 })) {
      for (const r of page) {
        index.add(r);
        if (r.versionnumber !== undefined && r.versionnumber !== null) {
          const v = BigInt(r.versionnumber);
          if (max === undefined || v > max) max = v;
        }
      }
    }
  };
  try {
    await read([...ACCOUNT_MATCH_COLUMNS, "versionnumber"]);
  } catch (error) {
    // An environment without some optional account columns still matches on the rest.
    if (!(error instanceof DataverseValidationError)) throw error;
    await read(["accountid", "name", "w365_microsofttenantid", "w365_primarydomain"]);
  }
  if (max !== undefined) index.maxVersion = max.toString();
  return index;
}

/** Has any account changed since the version stored by the last accounts phase? (one tiny query; true when unknown) */
async function accountsChangedSince(dv: DataverseClient, version: string | undefined): Promise<boolean> {
  if (!version || !/^\d+$/.test(version)) return true;
  try {
    return (await dv.queryFirst(SETS.account, { select: ["accountid"], filter: `versionnumber gt ${version}` })) !== undefined;
  } catch {
    return true;
  }
}

export interface AccountsPhaseOptions {
  /** The connector's provider accounts, already being read (by the orchestrator of a run beside the subscriptions phase). */
  existing?: Promise<Map<string, ExistingProviderAccount>>;
  /** Highest account row version the last accounts phase saw (connector checkpoint): skip re-matching when none is newer. */
  accountsVersion?: string;
  /** The newest account row version now (read with the run's first requests); saves the probe query. */
  accountsMaxVersion?: string;
  /** The newest Ion update time among the stored provider accounts (Ion's clock; undefined: none stored yet). */
  ionCustomersSeenUntil?: string;
  /** A later phase of this run drains the writer: plain data updates may wait for it (one $batch less). */
  deferWrites?: boolean;
  /**
   * The subscriptions phase runs at the same time and links subscriptions as customers are decided here
   * (src/sync/links.ts). The phase then never drains the writer for its mapping writes: each customer is
   * decided when its write is done, and the last ones when the run's writer sends them.
   */
  links?: LinkDecider;
}

/** What the accounts phase tells a concurrent subscriptions phase (CustomerLinks implements it). */
export interface LinkDecider {
  decide(ionCustomerId: string, link: LinkDecision): void;
  close(fallback: (ionCustomerId: string) => LinkDecision): void;
  fail(error: unknown): void;
  /** The phase has planned every customer and queued every write: what is still undecided only waits for its write. */
  markAllPlanned(): void;
}

/** Mapping state after the accounts phase, handed to the subscriptions phase of the same run (saves re-reading). */
export interface MappingSnapshot {
  mapped: Map<string, { providerAccountId: string; accountId?: string | null }>;
  unmapped: Set<string>;
}

export interface AccountsPhaseResult {
  /** Undefined when the mapping is not fully known in memory (dry run, one account, resumed, unknown ids). */
  mapping?: MappingSnapshot;
  /** Account row version to remember (set when the accounts were read this run). */
  accountsVersion?: string;
  /** When writes were deferred: resolves once they are written and the phase is checkpointed as done. */
  phaseDone?: Promise<void>;
  /** What is left for the admin after this phase (for the run message); with deferred writes, final once `phaseDone` resolves. */
  mappingTotals: MappingTotals;
}

/**
 * The accounts phase over `scope`, writing through `writer` (the run's sink, shared with the subscriptions
 * phase so small changes of both share one $batch; a dry run's sink reports what it would write).
 */
export async function runAccountsPhase(
  ctx: SyncContext,
  run: RunRecorder,
  scope: SyncScope,
  writer: WriteSink,
  o: AccountsPhaseOptions,
): Promise<AccountsPhaseResult> {
  const { dv, ion, connection, clock, logger } = ctx;
  const report = run.report;
  const oneAccount = scopedProviderAccount(scope);
  let index: (AccountIndex & { maxVersion?: string }) | undefined;
  let indexLoading: Promise<AccountIndex & { maxVersion?: string }> | undefined;
  const startIndex = () => {
    if (!indexLoading) {
      indexLoading = loadAccountIndex(dv);
      // Awaited by the page that needs it; a read started ahead that no page needs must not go unhandled.
      indexLoading.catch(() => undefined);
    }
    return indexLoading;
  };
  // The accounts are read once a page needs matching. A customer Ion updated after every update the stored rows
  // hold (Ion's clock on both sides) is the first sign that one will: the read starts as its page arrives,
  // beside the stored rows' read, instead of after it.
  const seenUntil = o.ionCustomersSeenUntil ? Date.parse(o.ionCustomersSeenUntil) : NaN;
  // Rows hold the time to the second (what the sync writes), Ion's answer to the millisecond.
  const updatedAfterStoredRows = (c: IonCustomer) => !c.updateTime || !(Math.floor(Date.parse(c.updateTime) / 1000) * 1000 <= seenUntil);
  // One queue for every page's cloud profiles, first come first served: a page's profiles go before the next
  // page's, so each page is matched and written as early as it can be while the next one keeps Ion busy.
  const profileSlots = new ConcurrencyLimiter(PROFILE_CONCURRENCY);
  // Once the phase has failed, early reads still queued are not sent.
  let phaseFailed = false;
  const readProfile = (customerId: string) =>
    profileSlots.run(() =>
      phaseFailed ? Promise.reject(new Error("the accounts phase ended")) : ion.customers.microsoftProfile(customerId),
    );
  // Such a customer needs its cloud profile whatever its stored row says (its row holds an older update): the
  // read goes out as its page arrives, not once the stored rows are in. Not in a first sync (nothing stored).
  const earlyProfiles = new Map<string, ReturnType<typeof readProfile>>();
  const skip = pagesToSkip(run.checkpoint, "accounts");
  // A changed customer needs matching when it is new, or not Mapped/Ignored with a column matching reads changed
  // (its cloud profile may change the tenant and domain too: the page's matching sees that). The stored rows
  // tell which, so changed customers that arrive before them wait here for that check, except one Ion created
  // after every update the rows hold: it is new.
  const createdAfterStoredRows = (c: IonCustomer) =>
    c.createTime !== undefined && Math.floor(Date.parse(c.createTime) / 1000) * 1000 > seenUntil;
  const stored: { rows?: Map<string, ExistingProviderAccount> } = {};
  const changedBeforeRows: IonCustomer[] = [];
  const startIndexIfMatching = (c: IonCustomer) => {
    const row = stored.rows?.get(c.id);
    if (needsMatching(row, toProviderAccountRow(c, storedProfileOf(row)), false)) startIndex();
  };
  const watchForChanges = async function* (source: AsyncIterable<IonCustomer[]>) {
    let arrived = 0;
    for await (const customers of source) {
      // Without the stored rows' newest update (none stored, or not read), the phase reads what it needs once they are in.
      const changed = Number.isNaN(seenUntil) ? [] : customers.filter(updatedAfterStoredRows);
      for (const c of changed) {
        if (indexLoading) break;
        if (stored.rows) startIndexIfMatching(c);
        else if (createdAfterStoredRows(c)) startIndex();
        else changedBeforeRows.push(c);
      }
      if (arrived++ >= skip)
        for (const c of changed) {
          const profile = readProfile(c.id);
          // Awaited by the page's matching; a run that fails first must not leave it unhandled.
          profile.catch(() => undefined);
          earlyProfiles.set(c.id, profile);
        }
      yield customers;
    }
  };
  // The first Ion pages download while the stored rows are read. Customer pages follow a cursor, so their
  // chain is the shortest a run can take: pages are kept fetched ahead so that it never waits on the matching,
  // and further ahead while the phase waits on a Dataverse read.
  const fullPass = oneAccount
    ? undefined
    : readAhead(watchForChanges(ion.customers.listPages({ pageSize: ctx.deps.ion?.customerPageSize })), CUSTOMER_PAGES_AHEAD);
  const waitOnDataverse = <W>(read: Promise<W>) => (fullPass ? fullPass.whileWaiting(read, CUSTOMER_PAGES_WHILE_WAITING) : read);
  const existing = await waitOnDataverse(o.existing ?? loadExistingProviderAccounts(dv, connection.id));
  stored.rows = existing;
  for (const c of changedBeforeRows.splice(0)) if (!indexLoading) startIndexIfMatching(c);
  const rematch =
    o.accountsMaxVersion !== undefined &&
    o.accountsVersion !== undefined &&
    /^\d+$/.test(o.accountsVersion) &&
    /^\d+$/.test(o.accountsMaxVersion)
      ? BigInt(o.accountsMaxVersion) > BigInt(o.accountsVersion)
      : await accountsChangedSince(dv, o.accountsVersion);
  const getIndex = async () => {
    if (index) return index;
    // A first sync (nothing stored) waits here on its first page and then on Ion's cloud profiles, not on the
    // chain: pages read ahead would only sit in memory.
    index = await (existing.size > 0 ? waitOnDataverse(startIndex()) : startIndex());
    return index;
  };
  const seen = new Set<string>();
  // Final mapping per Ion customer as this run leaves it; incomplete when a written row's id is unknown.
  const finalState = new Map<string, { id?: string; status: number; accountId?: string | null }>();
  // New rows and mapping changes must be written before the subscriptions phase relies on them.
  let mappingWritesPending = false;
  let snapshotComplete = writer.applies && isFullScope(scope) && pagesToSkip(run.checkpoint, "accounts") === 0;
  for (const [ionId, row] of existing)
    finalState.set(ionId, {
      id: row.w365_provideraccountid,
      status: row.w365_mappingstatus ?? MappingStatus.Unmapped,
      accountId: row._w365_account_value,
    });
  const links = writer.applies && isFullScope(scope) ? o.links : undefined;
  /** The customer's link as this run leaves it so far (stored state, or a write that came back). */
  const linkNow = (ionId: string) => linkOf(finalState.get(ionId));
  // Mapped and Ignored rows keep their mapping whatever this run reads: their subscriptions need not wait.
  if (links) decideSettledLinks(links, existing.values());
  let page = 0;
  let customersSeen = 0;

  let pages: AsyncIterable<IonCustomer[]>;
  if (oneAccount) {
    const row = [...existing.values()].find((r) => sameId(r.w365_provideraccountid, oneAccount));
    pages = (async function* () {
      if (row) yield [await ion.customers.get(row.w365_ioncustomerid)];
    })();
  } else {
    pages = fullPass!;
  }

  await run.event({ type: "phase-start", phase: "accounts", at: clock.now() }, "accounts: reading Ion customers");
  const pageCheckpoints = new PageCheckpoints(ctx, run, writer, "accounts");
  /** Cloud profiles only for customers that are new or changed in Ion since the last sync. */
  const readProfiles = (customers: IonCustomer[], pageReport: PageReport) => {
    const needsProfile = customers.map((c) => {
      const row = existing.get(c.id);
      return !row || !row.w365_contenthash || !c.updateTime || !sameInstant(row.w365_ionupdatedon, c.updateTime);
    });
    const profiles = Promise.all(
      customers.map(async (c, i) => {
        const early = earlyProfiles.get(c.id);
        earlyProfiles.delete(c.id);
        if (!needsProfile[i]) return { ok: true as const, profile: undefined, fetched: false };
        try {
          return { ok: true as const, profile: await (early ?? readProfile(c.id)), fetched: true };
        } catch (error) {
          logger.warn("cloud profile read failed; keeping the stored tenant and retrying next run", {
            customer: c.id,
            error: ensureError(error).message,
          });
          pageReport.count("profile-read-failed");
          return { ok: false as const, profile: undefined, fetched: false };
        }
      }),
    );
    return { customers, needsProfile, profiles };
  };
  // A page's cloud profiles are asked for as soon as the page arrives, one page ahead of the matching:
  // Ion keeps working while the page before is matched and written (a first sync is mostly these calls).
  const withProfiles = (async function* () {
    let at = 0;
    let ahead: ReturnType<typeof readProfiles> | { customers: IonCustomer[]; skipped: true } | undefined;
    for await (const customers of pages) {
      // Pages are numbered from 1 as the loop below counts them (skipped ones included).
      const next = at++ < skip ? { customers, skipped: true as const } : readProfiles(customers, pageCheckpoints.reportFor(at));
      if (ahead) yield ahead;
      ahead = next;
    }
    if (ahead) yield ahead;
  })();
  // Matching holds the thread: Ion's answers (the next pages' profiles) are taken between slices of it.
  const slice = eventLoopSlicer();
  try {
    for await (const item of withProfiles) {
      const customers = item.customers;
      for (const c of customers) seen.add(c.id);
      customersSeen += customers.length;
      if ("skipped" in item) {
        page++;
        continue;
      }
      const pageReport = pageCheckpoints.reportFor(page + 1);
      const profiles = await item.profiles;
      // The profile each plan uses: the one read this run, else the stored tenant and domain.
      const profileOf = (i: number): MicrosoftProfileInput | undefined => {
        const p = profiles[i]!;
        return p.fetched ? p.profile : storedProfileOf(existing.get(customers[i]!.id));
      };
      // What planProviderAccount will decide to match (only the unchanged Mapped/Ignored majority is skipped cheaply).
      const needMatching = customers.some((c, i) => {
        const row = existing.get(c.id);
        return !isFinal(row) && needsMatching(row, toProviderAccountRow(c, profileOf(i)), rematch);
      });
      const idx = needMatching ? await getIndex() : undefined;
      for (let i = 0; i < customers.length; i++) {
        const turn = slice();
        if (turn) await turn;
        const c = customers[i]!;
        const row = existing.get(c.id);
        const p = profiles[i]!;
        const profile = profileOf(i);
        try {
          const plan = planProviderAccount({
            connectionId: connection.id,
            customer: c,
            profile,
            existing: row,
            rematch,
            keepUpdatedOn: !p.ok,
            match: (data, customer) =>
              matchCustomer(idx ?? unreadIndex(), {
                organization: data.w365_name,
                tenantId: data.w365_tenantid,
                domain: data.w365_domain,
                email: customer.email,
                postalCode: data.w365_postalcode,
                country: data.w365_country,
              }),
          });
          record(plan, c, row, pageReport);
        } catch (error) {
          pageReport.add({
            entity: "provideraccount",
            key: c.id,
            name: c.organization,
            action: "failed",
            error: { code: errorCode(error), message: ensureError(error).message },
          });
          links?.decide(c.id, linkNow(c.id));
        }
      }
      page++;
      // Pipelined: full batches go out while the next Ion page and its profiles are read.
      await pageCheckpoints.pageDone(page, `accounts: ${customersSeen} Ion customers read`);
    }
  } catch (error) {
    phaseFailed = true;
    await pageCheckpoints.abort();
    throw error;
  }

  function record(plan: ProviderAccountPlan, c: IonCustomer, row: ExistingProviderAccount | undefined, report: PageReport) {
    if (plan.mapping?.decision === "map" && plan.body.w365_mappingstatus !== undefined) report.count("auto-mapped");
    if (plan.mapping?.decision === "suggest" && plan.body.w365_mappingstatus !== undefined) report.count("suggestions");
    if (plan.kind === "unchanged") {
      report.add({ entity: "provideraccount", key: c.id, name: c.organization, action: "unchanged" });
      links?.decide(c.id, linkNow(c.id));
      return;
    }
    const action = plan.kind === "create" ? "created" : "updated";
    const entryBase = {
      entity: "provideraccount" as const,
      key: c.id,
      name: plan.data.w365_name,
      before: plan.before,
      after: plan.after,
      message: plan.mapping?.reason,
    };
    const planned: WritePlan = {
      report,
      entry: { ...entryBase, action: plan.kind === "create" ? "would-create" : "would-update" },
      // Planned state, for the totals of the run message (a dry run hands over no mapping snapshot).
      onPlanned: () =>
        finalState.set(c.id, {
          id: row?.w365_provideraccountid,
          status:
            typeof plan.body.w365_mappingstatus === "number"
              ? plan.body.w365_mappingstatus
              : (row?.w365_mappingstatus ?? MappingStatus.Unmapped),
          accountId: row?._w365_account_value,
        }),
    };
    const key = row ? row.w365_provideraccountid : ALTERNATE_KEYS.providerAccount(connection.id, c.id);
    const linkWaitsForWrite = plan.body.w365_mappingstatus !== undefined || !row;
    if (linkWaitsForWrite) mappingWritesPending = true;
    // A data-only update of a stored row leaves its link as it is; a new row or a new mapping counts once written.
    else links?.decide(c.id, linkNow(c.id));
    // A mapping decision is written only onto the row version it was made from: an admin's Map, Ignore or
    // Unmap landing after the read answers 412 and stands. Data-only updates touch no mapping column.
    const etag = row && plan.body.w365_mappingstatus !== undefined ? row["@odata.etag"] : undefined;
    const op = { method: "PATCH" as const, entitySet: SETS.providerAccount, key, body: plan.body, ...(etag ? { ifMatch: etag } : {}) };
    writer.write(op, planned, (result: BatchResult) => {
      if (!result.ok && result.status === 412 && etag) {
        report.add({ ...entryBase, action: "skipped", message: CHANGED_BY_ADMIN_MESSAGE });
        report.count(CHANGED_BY_ADMIN);
        // Its state is now the admin's, unknown here: the next phase reads the mapping itself.
        snapshotComplete = false;
        links?.decide(c.id, null);
        return;
      }
      if (result.ok) {
        report.add({ ...entryBase, action });
        const id = row?.w365_provideraccountid ?? result.id;
        if (!id) snapshotComplete = false;
        const status =
          typeof plan.body.w365_mappingstatus === "number"
            ? plan.body.w365_mappingstatus
            : (row?.w365_mappingstatus ?? MappingStatus.Unmapped);
        const accountId =
          plan.body.w365_mappingstatus === MappingStatus.Mapped && plan.mapping?.decision === "map"
            ? plan.mapping.accountId
            : row?._w365_account_value;
        finalState.set(c.id, { id, status, accountId });
      } else report.add({ ...entryBase, action: "failed", error: { code: result.error.code, message: result.error.message } });
      links?.decide(c.id, linkNow(c.id));
    });
  }

  // Customers no longer in Ion: flagged, never deleted (their subscriptions and history stay).
  if (isFullScope(scope)) {
    const nowIso = new Date(clock.now()).toISOString();
    const unseen = [...existing.values()].filter((row) => !seen.has(String(row.w365_ioncustomerid)) && !row.w365_missingsince);
    const gone = await confirmGone(ctx, run, unseen, (row) => ({
      key: String(row.w365_ioncustomerid),
      name: row.w365_name ?? undefined,
      read: () => ion.customers.get(String(row.w365_ioncustomerid)),
    }));
    for (const row of gone) {
      const entry = {
        entity: "provideraccount" as const,
        key: String(row.w365_ioncustomerid),
        name: row.w365_name ?? undefined,
        message: "no longer returned by StreamOne Ion",
      };
      report.count("missing-customer");
      // The hash is reset so the row is rewritten in full if the customer comes back.
      writer.write(
        {
          method: "PATCH",
          entitySet: SETS.providerAccount,
          key: row.w365_provideraccountid,
          body: { w365_missingsince: nowIso, w365_ionstatus: "missing", w365_contenthash: "missing" },
        },
        { report, entry: { ...entry, action: "missing" } },
        (result) => {
          if (result.ok) {
            report.add({ ...entry, action: "missing", after: { w365_missingsince: nowIso, w365_ionstatus: "missing" } });
            report.count("updated");
          } else report.add({ ...entry, action: "failed", error: { code: result.error.code, message: result.error.message } });
        },
      );
    }
  }
  // Plain data updates may ride along with the subscriptions' writes (one $batch for both); anything the
  // next phase depends on (new rows, mapping changes) is written now.
  // With a concurrent subscriptions phase, links replace the drain: what its subscriptions wait for goes
  // out now, anything else rides with its writes.
  // (A sink that only records has nothing to defer.)
  const defer = writer.applies && o.deferWrites === true && (!mappingWritesPending || links !== undefined);
  // The subscriptions phase sends these last writes (it flushes before it waits on a held customer, and its
  // drain waits for this mark): the run's last partial batch carries both phases' remainders.
  links?.markAllPlanned();
  if (!defer) await writer.drain();
  // What is left for the admin: customers present in Ion still Suggested or Unmapped after this phase
  // (counted again once deferred writes are done: a new row's state is known only then).
  const mappingTotals: MappingTotals = { autoMapped: 0, suggested: 0, unmapped: 0 };
  const writesDeferred = defer ? writer.pending : 0;
  const countWaitingForAdmin = () => {
    Object.assign(mappingTotals, { autoMapped: report.n("auto-mapped"), suggested: 0, unmapped: 0 });
    for (const ionId of seen) {
      const st = finalState.get(ionId)?.status;
      if (st === MappingStatus.Suggested) mappingTotals.suggested++;
      else if (st === MappingStatus.Unmapped) mappingTotals.unmapped++;
    }
    report.phase("accounts", {
      ionCustomers: customersSeen,
      existingRows: existing.size,
      accountsIndexed: index?.size ?? 0,
      rematchedForAccountChanges: rematch,
      resumedAfterPages: skip,
      writesDeferred,
      waitingForAdmin: { suggested: mappingTotals.suggested, unmapped: mappingTotals.unmapped },
    });
  };
  countWaitingForAdmin();
  const phaseSeq = writer.lastSeq;
  const phaseDone = pageCheckpoints
    .settled()
    .then(() => writer.whenWritten(phaseSeq))
    .then(
      // Every write of the phase is done: whoever is still undecided keeps its stored state.
      () => {
        countWaitingForAdmin();
        links?.close(linkNow);
      },
      (error: unknown) => {
        links?.fail(error);
        throw error;
      },
    )
    .then(() => run.phaseDone("accounts", `accounts: done (${customersSeen} customers)`));
  if (!defer) await phaseDone;
  else phaseDone.catch(() => undefined);
  const accountsVersion = index?.maxVersion ?? (rematch ? undefined : o.accountsVersion);
  if (!snapshotComplete) return { accountsVersion, phaseDone: defer ? phaseDone : undefined, mappingTotals };
  const snapshot: MappingSnapshot = { mapped: new Map(), unmapped: new Set() };
  for (const [ionId, st] of finalState) {
    if (st.status === MappingStatus.Mapped && st.accountId && st.id)
      snapshot.mapped.set(ionId, { providerAccountId: st.id, accountId: st.accountId });
    else snapshot.unmapped.add(ionId);
  }
  return { mapping: snapshot, accountsVersion, phaseDone: defer ? phaseDone : undefined, mappingTotals };
}
