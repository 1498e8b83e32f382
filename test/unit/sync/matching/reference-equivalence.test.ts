import fc from "fast-check";

import { matchingData } from "../../../../bench/micro/matching";
import {
  AccountIndex,
  type AccountRecord,
  type Candidate,
  decideMatch,
  indexableToken,
  indexAccount,
  type IndexedAccount,
  isShortenedName,
  MATCH_PENALTIES,
  MATCH_WEIGHTS,
  matchCustomer,
  type MatchDecision,
  type MatchQuery,
  NAME_SIMILARITY_FLOOR,
  nameSimilarityAtLeast,
  prefixKey,
  prepareQuery,
  rankCandidates,
  transliterable,
  TRANSLITERATED_NAME_CAP,
} from "../../../../src/sync/matching";

/**
 * The matcher as it was before its shortcuts (candidate marker, name bounds before scoring):
 * every candidate of every signal scored in full. The product must
 * decide exactly as this does: same decision, candidates, scores and reason text. It knows the rules for names in
 * other scripts too: such a name is also indexed and looked up by its Latin spelling, compared in it with a Latin
 * name, and capped at TRANSLITERATED_NAME_CAP when nothing else identifies the account.
 */
class ReferenceMatcher {
  private readonly accounts: IndexedAccount[] = [];
  private readonly byTenant = new Map<string, number[]>();
  private readonly byDomain = new Map<string, number[]>();
  private readonly byToken = new Map<string, number[]>();
  private readonly byPrefix = new Map<string, number[]>();
  private readonly ids = new Set<string>();

  add(record: AccountRecord): void {
    if (this.ids.has(record.accountid)) return;
    this.ids.add(record.accountid);
    const account = indexAccount(record);
    const at = this.accounts.length;
    this.accounts.push(account);
    const push = (map: Map<string, number[]>, key: string | undefined) => {
      if (!key) return;
      const list = map.get(key);
      if (list) list.push(at);
      else map.set(key, [at]);
    };
    push(this.byTenant, account.tenantId);
    for (const d of account.domains) push(this.byDomain, d);
    // A name in another script is also found by its Latin spelling.
    const latin = account.latin?.tokens ?? [];
    for (const t of new Set([...account.tokens, ...latin])) if (indexableToken(t)) push(this.byToken, t);
    for (const key of new Set([prefixKey(account.tokens), prefixKey(latin)])) push(this.byPrefix, key);
  }

  candidates(q: { tenantId?: string; domains: string[]; tokens: string[]; latinTokens?: string[] }): IndexedAccount[] {
    const hits = new Set<number>();
    const addAll = (list: number[] | undefined) => list?.forEach((i) => hits.add(i));
    if (q.tenantId) addAll(this.byTenant.get(q.tenantId));
    for (const d of q.domains) addAll(this.byDomain.get(d));
    const latin = q.latinTokens ?? [];
    const tokenLists = [...q.tokens, ...latin].filter(indexableToken).map((t) => this.byToken.get(t) ?? []);
    const selective = tokenLists.filter((l) => l.length <= 250);
    if (selective.length > 0) selective.forEach(addAll);
    else if (tokenLists.length > 0) addAll(tokenLists.reduce((a, b) => (a.length <= b.length ? a : b)).slice(0, 250));
    addAll(this.byPrefix.get(prefixKey(q.tokens) ?? ""));
    addAll(this.byPrefix.get(prefixKey(latin) ?? ""));
    return [...hits].sort((a, b) => a - b).map((i) => this.accounts[i]!);
  }

  rank(query: MatchQuery, limit = 5): Candidate[] {
    const q = prepareQuery(query);
    const domains = [q.domain, q.emailDomain].filter((d): d is string => Boolean(d));
    const scored: Candidate[] = [];
    for (const account of this.candidates({ tenantId: q.tenantId, domains, tokens: q.tokens, latinTokens: q.latin?.tokens })) {
      const c = referenceScore(q, account);
      if (c) scored.push(c);
    }
    scored.sort((x, y) => y.score - x.score || (x.accountId < y.accountId ? -1 : x.accountId > y.accountId ? 1 : 0));
    return scored.slice(0, limit);
  }

  match(query: MatchQuery): MatchDecision {
    return decideMatch(this.rank(query));
  }
}

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

function referenceScore(q: ReturnType<typeof prepareQuery>, a: IndexedAccount): Candidate | undefined {
  const evidence: number[] = [];
  const reasons: string[] = [];
  let penalty = 1;
  let identifying = false;
  if (q.tenantId && a.tenantId) {
    if (q.tenantId === a.tenantId) {
      evidence.push(MATCH_WEIGHTS.tenant);
      reasons.push("tenant id matches");
      identifying = true;
    } else {
      penalty *= MATCH_PENALTIES.differentTenant;
      reasons.push("different Microsoft tenant");
    }
  }
  if (q.domain && a.domains.includes(q.domain)) {
    evidence.push(MATCH_WEIGHTS.domain);
    reasons.push(`domain matches (${q.domain})`);
    identifying = true;
  } else if (q.emailDomain && a.domains.includes(q.emailDomain)) {
    evidence.push(MATCH_WEIGHTS.emailDomain);
    reasons.push(`contact email domain matches (${q.emailDomain})`);
    identifying = true;
  }
  const identifiedOtherwise = identifying;
  let transliterated = false;
  // The scorer's own floor shortcut (test/sync/matching/similarity-bound.test.ts proves it equals
  // nameSimilarity at or above the floor), which keeps the 2,000-customer comparison fast.
  const similarity = nameSimilarityAtLeast(q.tokens, a.tokens, NAME_SIMILARITY_FLOOR, q.forms, a.forms);
  if (similarity >= 1) {
    evidence.push(MATCH_WEIGHTS.exactName);
    reasons.push("name matches");
    identifying = true;
  } else if (similarity >= NAME_SIMILARITY_FLOOR) {
    evidence.push(MATCH_WEIGHTS.exactName * Math.min(1, (similarity - 0.75) / 0.2));
    reasons.push(`name similar (${similarity.toFixed(2)})`);
    identifying = true;
  } else if (transliterable(q, a)) {
    const x = q.latin ?? q;
    const y = a.latin ?? a;
    const latinSimilarity = nameSimilarityAtLeast(x.tokens, y.tokens, NAME_SIMILARITY_FLOOR, x.forms, y.forms);
    if (latinSimilarity >= NAME_SIMILARITY_FLOOR) {
      evidence.push(MATCH_WEIGHTS.exactName * Math.min(1, (latinSimilarity - 0.75) / 0.2));
      reasons.push(
        latinSimilarity >= 1 ? "name matches when transliterated" : `name similar when transliterated (${latinSimilarity.toFixed(2)})`,
      );
      identifying = true;
      transliterated = true;
    }
  } else if (isShortenedName(q.tokens, a.tokens)) {
    evidence.push(MATCH_WEIGHTS.shortenedName);
    reasons.push("name shortened");
  }
  if (!identifying) return undefined;
  if (q.postalCode && a.postalCode) {
    if (q.postalCode === a.postalCode) {
      evidence.push(MATCH_WEIGHTS.postalCode);
      reasons.push("postal code matches");
    } else penalty *= MATCH_PENALTIES.differentPostalCode;
  }
  if (q.country && a.country) {
    if (q.country === a.country) {
      evidence.push(MATCH_WEIGHTS.country);
      reasons.push("country matches");
    } else {
      penalty *= MATCH_PENALTIES.differentCountry;
      reasons.push("different country");
    }
  }
  const combined = 1 - evidence.reduce((acc, w) => acc * (1 - w), 1);
  const score = round(combined * penalty);
  // A transliterated name alone never reaches the auto-map threshold.
  if (transliterated && !identifiedOtherwise && score > TRANSLITERATED_NAME_CAP) {
    return {
      accountId: a.id,
      accountName: a.name,
      score: TRANSLITERATED_NAME_CAP,
      reasons: [...reasons, "transliterated name: suggested only"],
    };
  }
  return { accountId: a.id, accountName: a.name, score, reasons };
}

function both(records: AccountRecord[]): { index: AccountIndex; reference: ReferenceMatcher } {
  const index = new AccountIndex();
  const reference = new ReferenceMatcher();
  for (const r of records) {
    index.add(r);
    reference.add(r);
  }
  return { index, reference };
}

// Generated organisations: few words, near-miss spellings, legal forms, shared tenants and domains, so
// that typos, shortened names, ties and contradicting signals are all common.
const word = fc.oneof(
  fc.constantFrom(
    "contoso",
    "contosso",
    "cnotoso",
    "fabrikam",
    "fabrikan",
    "northwind",
    "traders",
    "and",
    "smith",
    "jones",
    "services",
    "a",
    "co",
    "ltd",
    "gmbh",
    "the",
    "müller",
    "acme",
    // Other scripts: identical, one letter off, transliterated, legal forms and two-character words.
    "газпром",
    "Газпрам",
    "gazprom",
    "ООО",
    "αθηνα",
    "Athina",
    "腾讯",
    "腾讯科技有限公司",
    "トヨタ",
    "toyota",
    "삼성전자",
    "A/S",
  ),
  fc.string({ unit: fc.constantFrom("a", "b", "c", "e", "n", "o", " ", "&", "."), minLength: 1, maxLength: 8 }),
);
const organisation = fc.array(word, { minLength: 0, maxLength: 4 }).map((w) => w.join(" "));
const tenant = fc.option(
  fc.constantFrom(
    "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "{11111111-2222-3333-4444-555555555555}",
    "AAAAAAAA-2222-3333-4444-555555555555",
    "not-a-guid",
  ),
  { nil: null },
);
const domain = fc.option(fc.constantFrom("contoso.com", "www.contoso.com", "https://fabrikam.de/", "gmail.com", "northwind.co.uk"), {
  nil: null,
});
const email = fc.option(fc.constantFrom("jane@contoso.com", "bob@gmail.com", "x@fabrikam.de", "nobody"), { nil: null });
const postalCode = fc.option(fc.constantFrom("10115", "SW1A 1AA", "sw1a1aa", "98052"), { nil: null });
const country = fc.option(fc.constantFrom("US", "us", "Germany", "DE", "United Kingdom", "Narnia"), { nil: null });
const record = fc.record({
  name: fc.option(organisation, { nil: null }),
  w365_microsofttenantid: tenant,
  w365_primarydomain: domain,
  websiteurl: domain,
  emailaddress1: email,
  address1_postalcode: postalCode,
  address1_country: country,
});
const query: fc.Arbitrary<MatchQuery> = fc.record({
  organization: fc.option(organisation, { nil: null }),
  tenantId: tenant,
  domain,
  email,
  postalCode,
  country,
});

describe("matching shortcuts decide exactly as the full scorer", () => {
  it("gives the same decision, candidates and reasons on generated accounts and customers", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), fc.array(query, { minLength: 1, maxLength: 8 }), (records, queries) => {
        const { index, reference } = both(records.map((r, i) => ({ ...r, accountid: `acc-${(i * 7919) % 101}` })));
        for (const q of queries) {
          expect(matchCustomer(index, q)).toStrictEqual(reference.match(q));
          expect(rankCandidates(index, q, 50)).toStrictEqual(reference.rank(q, 50));
          const p = prepareQuery(q);
          const signals = {
            tenantId: p.tenantId,
            domains: [p.domain, p.emailDomain].filter((d): d is string => Boolean(d)),
            tokens: p.tokens,
            latinTokens: p.latin?.tokens,
          };
          expect(index.candidates(signals)).toStrictEqual(reference.candidates(signals));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("selects the same candidates after accounts are added between queries, common words included", () => {
    const index = new AccountIndex();
    const reference = new ReferenceMatcher();
    // Both words of the query grow past the common-word bucket size (250): only the first accounts of
    // one of them are candidates, and "Worldwide Services" does not share the query's name prefix.
    const q: MatchQuery = {
      organization: "Services Worldwide Ltd",
      tenantId: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
      domain: "contoso.com",
    };
    for (let i = 0; i < 700; i++) {
      const name = i % 3 === 0 ? "Worldwide Services" : i % 3 === 1 ? "Worldwide Services Hub" : "Services Worldwide";
      const r: AccountRecord = {
        accountid: `a${(i * 7919) % 1000}`,
        name,
        w365_primarydomain: i % 97 === 0 ? "contoso.com" : null,
        address1_postalcode: i % 2 ? "98052" : null,
      };
      index.add(r);
      reference.add(r);
      if (i % 37 === 0) expect(rankCandidates(index, q, 1000)).toStrictEqual(reference.rank(q, 1000));
    }
    expect(rankCandidates(index, q, 1000)).toStrictEqual(reference.rank(q, 1000));
    expect(matchCustomer(index, q)).toStrictEqual(reference.match(q));
  });

  it("gives the same decisions on the bench's customers and accounts (2,000 customers, seed 8)", () => {
    const { accounts, queries } = matchingData(8, 2000);
    const { index, reference } = both(accounts);
    const decisions = queries.map((q) => matchCustomer(index, q));
    expect(decisions).toStrictEqual(queries.map((q) => reference.match(q)));
    // Every kind of decision occurs, so the comparison covers each path.
    const kinds = new Set(decisions.map((d) => d.decision));
    expect([...kinds].sort()).toStrictEqual(["map", "none", "suggest"]);
  });
});
