import { nameForms, type NameForms } from "./similarity";
import { businessEmailDomain, nameTokens, normalizeCountry, normalizePostalCode, normalizeTenantId, organisationDomain } from "./normalize";

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
  tenantId?: string;
  domains: string[];
  postalCode?: string;
  country?: string;
}

/** Name-token buckets larger than this are too common ("services", "solutions") to select candidates. */
const MAX_TOKEN_BUCKET = 250;

export function indexAccount(record: AccountRecord): IndexedAccount {
  const domains = new Set<string>();
  for (const d of [organisationDomain(record.w365_primarydomain), organisationDomain(record.websiteurl), businessEmailDomain(record.emailaddress1)]) {
    if (d) domains.add(d);
  }
  const tokens = nameTokens(record.name);
  return {
    id: record.accountid,
    name: record.name ?? "",
    tokens,
    forms: nameForms(tokens),
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
  private readonly byTenant = new Map<string, number[]>();
  private readonly byDomain = new Map<string, number[]>();
  private readonly byToken = new Map<string, number[]>();
  private readonly byPrefix = new Map<string, number[]>();
  private readonly byId = new Map<string, number>();

  add(record: AccountRecord): void {
    const existing = this.byId.get(record.accountid);
    if (existing !== undefined) return;
    const account = indexAccount(record);
    const at = this.accounts.length;
    this.accounts.push(account);
    this.byId.set(account.id, at);
    push(this.byTenant, account.tenantId, at);
    for (const d of account.domains) push(this.byDomain, d, at);
    for (const t of new Set(account.tokens)) if (t.length >= 3 && t !== "and") push(this.byToken, t, at);
    push(this.byPrefix, prefixKey(account.tokens), at);
  }

  get size(): number {
    return this.accounts.length;
  }

  get(id: string): IndexedAccount | undefined {
    const at = this.byId.get(id);
    return at === undefined ? undefined : this.accounts[at];
  }

  /** Accounts sharing at least one selective signal with the query. */
  candidates(q: { tenantId?: string; domains: string[]; tokens: string[] }): IndexedAccount[] {
    const hits = new Set<number>();
    const addAll = (list: number[] | undefined) => list?.forEach((i) => hits.add(i));
    if (q.tenantId) addAll(this.byTenant.get(q.tenantId));
    for (const d of q.domains) addAll(this.byDomain.get(d));
    const tokenLists = q.tokens.filter((t) => t.length >= 3 && t !== "and").map((t) => this.byToken.get(t) ?? []);
    const selective = tokenLists.filter((l) => l.length <= MAX_TOKEN_BUCKET);
    if (selective.length > 0) selective.forEach(addAll);
    else if (tokenLists.length > 0) addAll(tokenLists.reduce((a, b) => (a.length <= b.length ? a : b)).slice(0, MAX_TOKEN_BUCKET));
    addAll(this.byPrefix.get(prefixKey(q.tokens) ?? ""));
    return [...hits].sort((a, b) => a - b).map((i) => this.accounts[i]!);
  }
}

/** First four letters of the joined name: catches typos in later words of one-word-heavy names. */
export function prefixKey(tokens: string[]): string | undefined {
  const compact = tokens.join("");
  return compact.length >= 3 ? compact.slice(0, 4) : undefined;
}

