import {
  businessEmailDomain,
  isDenseWord,
  latinNameTokens,
  nameTokens,
  normalizeCountry,
  normalizePostalCode,
  normalizeTenantId,
  organisationDomain,
} from "./normalize";
import {
  type DenseLetters,
  letterBoundReaches,
  type LetterProfile,
  letterProfile,
  letterSurplus,
  maskSurplus,
  type NameForms,
  nameForms,
  surplusAllowance,
} from "./similarity";

/** An existing Work 365 account as read from Dataverse (only the matching columns). */
export interface AccountRecord {
  accountid: string;
  name?: string | null;
  w365_microsofttenantid?: string | null;
  w365_primarydomain?: string | null;
  websiteurl?: string | null;
  emailaddress1?: string | null;
  address1_postalcode?: string | null;
  address1_country?: string | null;
}

/** Compact, pre-normalised form of an account: what the scorer compares. */
export interface IndexedAccount {
  id: string;
  name: string;
  tokens: string[];
  /** The name joined as written and sorted, computed once per account (the scorer compares every candidate). */
  forms: NameForms;
  /** The name spelled in Latin letters when it is written in another script (`latinNameTokens`). */
  latin?: LatinName;
  tenantId?: string;
  domains: string[];
  postalCode?: string;
  country?: string;
}

/** A non-Latin name's transliteration, compared with Latin names (a suggestion at most; see score.ts). */
export interface LatinName {
  tokens: string[];
  forms: NameForms;
}

export function latinName(tokens: string[]): LatinName | undefined {
  const latin = latinNameTokens(tokens);
  return latin ? { tokens: latin, forms: nameForms(latin) } : undefined;
}

/**
 * Whether the index keeps a list of accounts for this name word: three letters or more ("and" excepted), or two
 * Chinese characters or kana (a two-character word is a whole name there: 腾讯, トヨタ is three).
 */
export function indexableToken(token: string): boolean {
  return token !== "and" && (token.length >= 3 || (token.length === 2 && isDenseWord(token)));
}

/** Name-token buckets larger than this are too common ("services", "solutions") to select candidates. */
const MAX_TOKEN_BUCKET = 250;

export function indexAccount(record: AccountRecord): IndexedAccount {
  const domains = new Set<string>();
  for (const d of [
    organisationDomain(record.w365_primarydomain),
    organisationDomain(record.websiteurl),
    businessEmailDomain(record.emailaddress1),
  ]) {
    if (d) domains.add(d);
  }
  const tokens = nameTokens(record.name);
  const latin = latinName(tokens);
  return {
    id: record.accountid,
    name: record.name ?? "",
    tokens,
    forms: nameForms(tokens),
    ...(latin ? { latin } : {}),
    tenantId: normalizeTenantId(record.w365_microsofttenantid),
    domains: [...domains],
    postalCode: normalizePostalCode(record.address1_postalcode),
    country: normalizeCountry(record.address1_country),
  };
}

const push = (map: Map<string, number[]>, key: string | undefined, at: number) => {
  if (!key) return;
  const list = map.get(key);
  if (list) list.push(at);
  else map.set(key, [at]);
};

/**
 * In-memory index of the existing accounts, built once per run from one paged read: lookups by tenant,
 * by domain, by name token and by name prefix, so each Ion customer is scored only against plausible
 * candidates (10,000 accounts stay a few MB).
 */
export class AccountIndex {
  private readonly accounts: IndexedAccount[] = [];
  /** Letter counts of each account's name, by the same position as `accounts` (for the scorer's prefilter). */
  private readonly letters: LetterProfile[] = [];
  private readonly byTenant = new Map<string, number[]>();
  private readonly byDomain = new Map<string, number[]>();
  private readonly byToken = new Map<string, number[]>();
  private readonly byPrefix = new Map<string, number[]>();
  private readonly byId = new Map<string, number>();
  /**
   * Accounts whose name has a Latin transliteration: compared with Latin names in that spelling, so the letters
   * of the name as written bound nothing for them and they are never left out by name.
   */
  private readonly transliterated: boolean[] = [];
  /**
   * Name-token and prefix lists ordered by name length, made when first queried with a name floor. The
   * lists only grow, so an order is current while it holds as many accounts as its list.
   */
  private readonly byNameLength = new Map<number[], NameLengthOrder>();
  /** `seen[i] === generation` marks account i as already visited by the current query (no Set per query). */
  private seen = new Uint32Array(0);
  private generation = 0;

  add(record: AccountRecord): void {
    const existing = this.byId.get(record.accountid);
    if (existing !== undefined) return;
    const account = indexAccount(record);
    const at = this.accounts.length;
    this.accounts.push(account);
    this.letters.push(letterProfile(account.forms.joined));
    this.transliterated.push(account.latin !== undefined);
    this.byId.set(account.id, at);
    push(this.byTenant, account.tenantId, at);
    for (const d of account.domains) push(this.byDomain, d, at);
    const latinTokens = account.latin?.tokens ?? EMPTY_TOKENS;
    for (const t of new Set([...account.tokens, ...latinTokens])) if (indexableToken(t)) push(this.byToken, t, at);
    for (const key of new Set([prefixKey(account.tokens), prefixKey(latinTokens)])) push(this.byPrefix, key, at);
  }

  get size(): number {
    return this.accounts.length;
  }

  get(id: string): IndexedAccount | undefined {
    const at = this.byId.get(id);
    return at === undefined ? undefined : this.accounts[at];
  }

  /** Accounts sharing at least one selective signal with the query, in index order. */
  candidates(q: CandidateQuery): IndexedAccount[] {
    const positions: number[] = [];
    this.visitCandidates(q, (_account, at) => positions.push(at));
    return positions.sort((a, b) => a - b).map((i) => this.accounts[i]!);
  }

  /**
   * Calls `visit` once for each account `candidates(q)` returns, in no particular order, without building
   * the list (the scorer keeps a handful of the ~250 candidates per customer). With
   * `q.nameFloor`, accounts found by name alone (not by tenant or domain) whose name cannot reach the
   * floor by the length and letters bounds are left out: the scorer could not use them.
   */
  visitCandidates(q: CandidateQuery, visit: (account: IndexedAccount, at: number) => void): void {
    if (this.seen.length < this.accounts.length) {
      this.seen = new Uint32Array(Math.max(this.accounts.length, this.seen.length * 2));
      this.generation = 0;
    }
    if (++this.generation > 0xffffffff) {
      this.seen.fill(0);
      this.generation = 1;
    }
    const generation = this.generation;
    const seen = this.seen;
    const accounts = this.accounts;
    const letters = this.letters;
    const transliterated = this.transliterated;
    const visitAll = (list: number[] | undefined) => {
      if (!list) return;
      for (let k = 0; k < list.length; k++) {
        const at = list[k]!;
        if (seen[at] === generation) continue;
        seen[at] = generation;
        visit(accounts[at]!, at);
      }
    };
    // Every account sharing the tenant or a domain is visited here, so the name filter below never drops one.
    if (q.tenantId) visitAll(this.byTenant.get(q.tenantId));
    for (const d of q.domains) visitAll(this.byDomain.get(d));
    const nameFloor = q.nameFloor;
    const visitByName = (list: number[] | undefined, limit = Infinity) => {
      if (!list) return;
      const end = Math.min(list.length, limit);
      for (let k = 0; k < end; k++) {
        const at = list[k]!;
        if (seen[at] === generation) continue;
        // The bound depends on the account alone, so an account left out here is left out by every list.
        if (nameFloor && !transliterated[at] && !letterBoundReaches(nameFloor.letters, letters[at]!, nameFloor.floor)) continue;
        seen[at] = generation;
        visit(accounts[at]!, at);
      }
    };
    // A whole list with a name floor: only its run of name lengths that can pass the length bound (which
    // rises to 1 at the query's length and falls after it) is read, about a third of it.
    const visitWholeByName = (list: number[] | undefined) => {
      if (!list || !nameFloor) return visitByName(list);
      const { positions, lengths, masks, repeatedMasks, unbounded } = this.lengthOrder(list);
      for (let k = 0; k < unbounded.length; k++) {
        const at = unbounded[k]!;
        if (seen[at] === generation) continue;
        seen[at] = generation;
        visit(accounts[at]!, at);
      }
      const length = nameFloor.letters.length;
      const reaches = (other: number) => 1 - Math.abs(length - other) / Math.max(length, other) >= nameFloor.floor;
      let lo = 0;
      let hi = lengths.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (lengths[mid]! >= length || reaches(lengths[mid]!)) hi = mid;
        else lo = mid + 1;
      }
      // Every length in this run passes the length bound; the mask and letters bounds are integer
      // comparisons with the surplus that length allows (recomputed as the sorted lengths change).
      let allowanceFor = -1;
      let allowance = 0;
      for (let k = lo; k < lengths.length && (lengths[k]! <= length || reaches(lengths[k]!)); k++) {
        const other = lengths[k]!;
        if (other !== allowanceFor) {
          allowanceFor = other;
          allowance = surplusAllowance(length, other, nameFloor.floor);
        }
        if (maskSurplus(nameFloor.letters, masks[k]!, repeatedMasks[k]!) > allowance) continue;
        const at = positions[k]!;
        if (seen[at] === generation) continue;
        if (letterSurplus(nameFloor.letters, letters[at]!) > allowance) continue;
        seen[at] = generation;
        visit(accounts[at]!, at);
      }
    };
    let selective = 0;
    let smallest: number[] | undefined;
    const latinTokens = q.latinTokens ?? EMPTY_TOKENS;
    for (const t of latinTokens.length > 0 ? [...q.tokens, ...latinTokens] : q.tokens) {
      if (!indexableToken(t)) continue;
      const list = this.byToken.get(t) ?? EMPTY;
      if (list.length <= MAX_TOKEN_BUCKET) {
        visitWholeByName(list);
        selective++;
      } else if (!smallest || list.length < smallest.length) smallest = list;
    }
    // Only common words: the first accounts of the least common one (the first such word on ties).
    if (selective === 0 && smallest) visitByName(smallest, MAX_TOKEN_BUCKET);
    const prefix = prefixKey(q.tokens);
    visitWholeByName(this.byPrefix.get(prefix ?? ""));
    const latinPrefix = prefixKey(latinTokens);
    if (latinPrefix !== prefix) visitWholeByName(this.byPrefix.get(latinPrefix ?? ""));
  }

  private lengthOrder(list: number[]): NameLengthOrder {
    let order = this.byNameLength.get(list);
    if (!order || order.positions.length + order.unbounded.length !== list.length) {
      const profileAt = (at: number) => this.letters[at]!;
      const bounded = list.filter((at) => !this.transliterated[at]);
      const positions = Int32Array.from(bounded).sort((a, b) => profileAt(a).length - profileAt(b).length || a - b);
      order = {
        unbounded: Int32Array.from(list.filter((at) => this.transliterated[at])),
        positions,
        lengths: positions.map((at) => profileAt(at).length),
        masks: positions.map((at) => profileAt(at).mask),
        repeatedMasks: positions.map((at) => profileAt(at).repeatedMask),
      };
      this.byNameLength.set(list, order);
    }
    return order;
  }
}

/** A list's accounts ordered by the length of their joined name, with those lengths and letter masks (read without touching the accounts). */
interface NameLengthOrder {
  /** Transliterated accounts (see `transliterated`): always visited, so kept out of the length order. */
  unbounded: Int32Array;
  positions: Int32Array;
  lengths: Int32Array;
  masks: Int32Array;
  repeatedMasks: Int32Array;
}

const EMPTY: number[] = [];
const EMPTY_TOKENS: string[] = [];

export interface CandidateQuery {
  tenantId?: string;
  domains: string[];
  tokens: string[];
  /** The query name's Latin transliteration (`latinName`), looked up like its tokens. */
  latinTokens?: string[];
  /** Leave out accounts found by name alone whose name is surely below `floor` against these letters. */
  nameFloor?: { letters: DenseLetters; floor: number };
}

/**
 * First four letters of the joined name: catches typos in later words of one-word-heavy names. Two Chinese
 * characters or kana (see `indexableToken`) for names that start with them.
 */
export function prefixKey(tokens: string[]): string | undefined {
  const compact = tokens.join("");
  if (compact.length >= 2 && isDenseWord(compact.charAt(0))) return compact.slice(0, 2);
  return compact.length >= 3 ? compact.slice(0, 4) : undefined;
}
